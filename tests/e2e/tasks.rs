//! Invoices as MCP tasks (MCP 2026-07-28 with the tasks extension), through rmcp's client:
//! followed to each outcome, answered with a decision, read by a restarted server, cancelled;
//! and clients without the extension keep the plain tools.

use crate::STEP;
use harness::{
    DevServer, WorkerProcess,
    protocol::{CLIENT_NAME, VersionedSession},
    tutorial_invoice,
};
use rmcp::model::{
    CallToolResponse, CallToolResult, CancelTaskParams, ElicitResult, ElicitationAction,
    GetTaskParams, InputRequest, ProtocolVersion, TaskPayload, TaskStatus, UpdateTaskParams,
};
use serde_json::{Value, json};
use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

const V2026: ProtocolVersion = ProtocolVersion::V_2026_07_28;

/// Starts `invoice` and answers the task it became.
async fn start_task(session: &VersionedSession, invoice: Value) -> String {
    match session
        .call("process_invoice", json!({ "invoice_data": invoice }))
        .await
    {
        CallToolResponse::Task(created) => {
            assert_eq!(created.task.status, TaskStatus::Working, "{created:?}");
            created.task.task_id
        }
        other => panic!("expected a task, got {other:?}"),
    }
}

/// Polls `tasks/get` until the task is in `status`; answers its payload.
async fn await_task(session: &VersionedSession, task_id: &str, status: TaskStatus) -> TaskPayload {
    let deadline = Instant::now() + STEP;
    loop {
        let got = tokio::time::timeout(
            harness::CALL_BOUND,
            session.service.get_task(GetTaskParams::new(task_id)),
        )
        .await
        .expect("tasks/get answered in time")
        .expect("tasks/get succeeded");
        if got.task.status() == status {
            return got.task.payload;
        }
        assert!(
            Instant::now() < deadline,
            "{task_id} never reached {status:?}; last: {got:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The structured view of a completed task's result.
fn completed_view(payload: TaskPayload) -> Value {
    let TaskPayload::Completed { result } = payload else {
        panic!("expected a completed task, got {payload:?}");
    };
    let result: CallToolResult =
        serde_json::from_value(Value::Object(result)).expect("a tool result");
    assert_ne!(result.is_error, Some(true), "{result:?}");
    result.structured_content.expect("structured content")
}

/// Answers the task's decision form.
async fn answer(session: &VersionedSession, task_id: &str, decision: &str, name: &str) {
    let form = ElicitResult::new(ElicitationAction::Accept)
        .with_content(json!({"decision": decision, "name": name, "reason": "checked"}));
    let responses = BTreeMap::from([(
        "decision".to_owned(),
        serde_json::to_value(form).expect("a form answer"),
    )]);
    tokio::time::timeout(
        harness::CALL_BOUND,
        session
            .service
            .update_task(UpdateTaskParams::new(task_id, responses)),
    )
    .await
    .expect("tasks/update answered in time")
    .expect("tasks/update accepted");
}

fn one_line(id: &str, item: &str) -> Value {
    json!({"id": id, "lines": [{"item": item, "amount": 12.34}]})
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invoice_is_a_task_whose_input_is_the_decision() {
    let server = DevServer::start().await;
    let _worker = WorkerProcess::start(&server);
    let session = VersionedSession::start(&server, &[], V2026, true).await;

    let task = start_task(&session, tutorial_invoice("T-APPROVE")).await;
    assert_eq!(task, "invoice-T-APPROVE");
    let TaskPayload::InputRequired { input_requests } =
        await_task(&session, &task, TaskStatus::InputRequired).await
    else {
        unreachable!()
    };
    let Some(InputRequest::Elicitation(form)) = input_requests.get("decision") else {
        panic!("expected the decision form, got {input_requests:?}");
    };
    let form = serde_json::to_value(form).expect("a form");
    assert!(
        form["params"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("Invoice T-APPROVE: $7,000.00")),
        "{form}"
    );
    assert!(
        form["params"]["requestedSchema"]["properties"]["decision"].is_object(),
        "{form}"
    );

    answer(&session, &task, "approve", "ana").await;
    let view = completed_view(await_task(&session, &task, TaskStatus::Completed).await);
    assert_eq!(view["state"], "approved", "{view}");
    assert_eq!(view["decision"]["by"], "ana", "{view}");
    assert_eq!(
        view["decision"]["via"],
        format!("{CLIENT_NAME} task"),
        "{view}"
    );
    server.books().assert_invoice("T-APPROVE", 2, false);
}

#[tokio::test(flavor = "multi_thread")]
async fn tasks_end_in_every_outcome() {
    let server = DevServer::start().await;
    let _worker = WorkerProcess::start_with(
        &server,
        &[
            ("PAYMENT_GATEWAY_DECLINE", "Declined card"),
            ("PAYMENT_GATEWAY_REFUND_DECLINE", "Stuck refund"),
        ],
    );
    let session = VersionedSession::start(&server, &[], V2026, true).await;
    let expiring =
        VersionedSession::start(&server, &[("INVOICE_APPROVAL_TIMEOUT", "2s")], V2026, true).await;

    let rejected = start_task(&session, tutorial_invoice("T-REJECT")).await;
    let expired = start_task(&expiring, tutorial_invoice("T-EXPIRE")).await;
    let failed = start_task(&session, one_line("T-FAIL", "Declined card")).await;
    let stuck = start_task(&session, one_line("T-STUCK", "Stuck refund")).await;
    for task in [&rejected, &stuck] {
        await_task(&session, task, TaskStatus::InputRequired).await;
        answer(&session, task, "reject", "ana").await;
    }

    let view = completed_view(await_task(&session, &rejected, TaskStatus::Completed).await);
    assert_eq!(view["state"], "rejected", "{view}");
    let view = completed_view(await_task(&session, &expired, TaskStatus::Completed).await);
    assert_eq!(view["state"], "timed_out", "{view}");
    // A refund that keeps failing: the invoice goes on (retried until settled), so does its task.
    let deadline = Instant::now() + STEP;
    loop {
        let got = tokio::time::timeout(
            harness::CALL_BOUND,
            session.service.get_task(GetTaskParams::new(stuck.as_str())),
        )
        .await
        .expect("tasks/get answered in time")
        .expect("tasks/get succeeded");
        let message = got.task.task.status_message.clone().unwrap_or_default();
        if message == "Needs attention - a refund failed" {
            assert_eq!(got.task.status(), TaskStatus::Working, "{got:?}");
            break;
        }
        assert!(Instant::now() < deadline, "{got:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let TaskPayload::Failed { error } = await_task(&session, &failed, TaskStatus::Failed).await
    else {
        unreachable!()
    };
    let message = error["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("Invoice T-FAIL failed: Failed: payment for line 1")
            && message.contains("the card was declined for Declined card"),
        "{error:?}"
    );
    let books = server.books();
    books.assert_moved("T-REJECT", &[1, 2], &[1, 2]);
    books.assert_moved("T-EXPIRE", &[1, 2], &[1, 2]);
    books.assert_moved("T-FAIL", &[], &[]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restarted_server_answers_for_the_tasks_of_the_one_before() {
    let server = DevServer::start().await;
    let _worker = WorkerProcess::start(&server);
    let first = VersionedSession::start(&server, &[], V2026, true).await;
    let task = start_task(&first, tutorial_invoice("T-RESTART")).await;
    await_task(&first, &task, TaskStatus::InputRequired).await;
    drop(first); // The client goes, and with it the server process.

    let second = VersionedSession::start(&server, &[], V2026, true).await;
    await_task(&second, &task, TaskStatus::InputRequired).await;
    answer(&second, &task, "approve", "ana").await;
    let view = completed_view(await_task(&second, &task, TaskStatus::Completed).await);
    assert_eq!(view["state"], "approved", "{view}");
}

#[tokio::test(flavor = "multi_thread")]
async fn cancelling_a_task_rejects_the_invoice_where_the_client_may_decide() {
    let server = DevServer::start().await;
    let _worker = WorkerProcess::start(&server);
    let agent = VersionedSession::start(&server, &[], V2026, true).await;
    let human =
        VersionedSession::start(&server, &[("INVOICE_DECISIONS", "human")], V2026, true).await;
    let cancel = |session: &'static str, task: String| {
        let session = if session == "agent" { &agent } else { &human };
        async move {
            tokio::time::timeout(
                harness::CALL_BOUND,
                session.service.cancel_task(CancelTaskParams::new(task)),
            )
            .await
            .expect("tasks/cancel answered in time")
        }
    };

    // A person-only server refuses, says why, and decides nothing.
    let kept = start_task(&human, tutorial_invoice("T-KEEP")).await;
    await_task(&human, &kept, TaskStatus::InputRequired).await;
    let refused = cancel("human", kept.clone())
        .await
        .expect_err("a person-only server refuses to cancel");
    let refused = refused.to_string();
    assert!(
        refused.contains("takes decisions from a person only")
            && refused.contains("/invoices/T-KEEP"),
        "{refused}"
    );
    await_task(&human, &kept, TaskStatus::InputRequired).await;

    // Where the client may decide, a cancel is a rejection, refunded, signed by the approver.
    let task = start_task(&agent, tutorial_invoice("T-CANCEL")).await;
    await_task(&agent, &task, TaskStatus::InputRequired).await;
    cancel("agent", task.clone()).await.expect("cancelled");
    let view = completed_view(await_task(&agent, &task, TaskStatus::Completed).await);
    assert_eq!(view["state"], "rejected", "{view}");
    assert_eq!(
        view["decision"]["via"],
        format!("{CLIENT_NAME} tasks/cancel"),
        "{view}"
    );
    server.books().assert_moved("T-CANCEL", &[1, 2], &[1, 2]);
    // A finished task's cancel changes nothing.
    cancel("agent", task.clone()).await.expect("acknowledged");
    let unknown = cancel("agent", "invoice-NOPE".to_owned()).await;
    assert!(unknown.is_err(), "{unknown:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn clients_without_the_extension_keep_the_plain_tools() {
    let server = DevServer::start().await;
    let _worker = WorkerProcess::start(&server);
    for (version, tasks, id) in [
        (V2026, false, "T-PLAIN-1"),
        // The extension is MCP 2026-07-28's: an older session gets the plain tool even so.
        (ProtocolVersion::V_2025_11_25, true, "T-PLAIN-2"),
    ] {
        let session = VersionedSession::start(&server, &[], version, tasks).await;
        crate::versions::process(&session, id).await;
    }
}
