//! Money is never left charged: cancellation refunds, time without a worker never counts
//! against a retry limit, refunds that fail are retried until refunded or settled by hand, a
//! finished invoice resubmitted is answered as finished, and a decision refused after it was
//! sent is recorded. Every case ends with the ledger check: what is charged minus what is
//! refunded is exactly what the final state keeps.

use crate::{APPROVER, STEP, payments::await_state, record_history, start_and_await_approval};
use harness::{
    DevServer, History, McpSession, WorkerProcess,
    web::{Browser, InboxProcess, http},
};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use temporalio_client::WorkflowCancelOptions;
use workflows::InvoiceWorkflow;

/// Polls until the invoice is running in `state`.
async fn await_running(mcp: &McpSession, id: &str, state: &str) -> Value {
    mcp.await_view(id, &format!("ran in {state}"), STEP, |view| {
        view["state"] == state && view["closed_at"].is_null()
    })
    .await
}

/// Polls the invoice list for `state` until it does, or does not, list `id`.
async fn await_listed(mcp: &McpSession, state: &str, id: &str, listed: bool) {
    let deadline = Instant::now() + STEP;
    loop {
        let reply = mcp.call("list_invoices", json!({"state": state})).await;
        let found = reply.structured.as_ref().is_some_and(|list| {
            list["invoices"]
                .as_array()
                .is_some_and(|all| all.iter().any(|entry| entry["invoice_id"] == id))
        });
        if found == listed {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{id} listed under {state}: {found}, wanted {listed}; {}",
            reply.text
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn cancelling_an_invoice_awaiting_approval_refunds_every_line() {
    let server = DevServer::start().await;
    let _worker = WorkerProcess::start(&server);
    let mcp = McpSession::start(&server, &[]).await;
    start_and_await_approval(&mcp, "CANCEL-1").await;
    await_listed(&mcp, "awaiting_approval", "CANCEL-1", true).await;

    // As an operator would, from a terminal.
    server.cli(&["workflow", "cancel", "--workflow-id", "invoice-CANCEL-1"]);

    let view = await_state(&mcp, "CANCEL-1", "cancelled", STEP).await;
    assert_eq!(view["status"], "Cancelled - charged lines refunded");
    let cancellation = &view["cancellation"];
    assert!(
        cancellation["by"]
            .as_str()
            .is_some_and(|by| by.contains("temporal-cli")),
        "who asked comes from the history: {view}"
    );
    assert!(cancellation["at"].is_string(), "{view}");
    let result = view["result"].as_str().unwrap_or_default();
    assert!(
        result.starts_with("Invoice cancelled: every charged line refunded")
            && result.contains("Refunded payment for Web Development: $5000.00")
            && result.contains("Refunded payment for Design Services: $2000.00"),
        "{result}"
    );
    // Temporal's own record says cancelled, with the outcome as its details.
    let client = server.client().await;
    let history = History::of(&client, "invoice-CANCEL-1").await;
    let outcome = history.cancelled_outcome().expect("cancelled with details");
    assert_eq!(outcome["state"], "cancelled");
    // No longer waiting: not listed as awaiting approval, listed as cancelled.
    await_listed(&mcp, "awaiting_approval", "CANCEL-1", false).await;
    await_listed(&mcp, "cancelled", "CANCEL-1", true).await;
    // Its story tells who asked.
    let story = http_story(&mcp, "CANCEL-1").await;
    assert!(
        story
            .iter()
            .any(|line| line.contains("Cancellation requested by")),
        "{story:#?}"
    );
    server.books().assert_kept("CANCEL-1", &[]);
    record_history(&client, "invoice-CANCEL-1", "cancelled_awaiting").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cancelling_during_a_slow_charge_leaves_nothing_charged() {
    let server = DevServer::start().await;
    let _worker = WorkerProcess::start_with(&server, &[("PAYMENT_GATEWAY_LATENCY", "2s")]);
    let mcp = McpSession::start(&server, &[]).await;
    mcp.call(
        "process_invoice",
        json!({"invoice_data": harness::tutorial_invoice("CANCEL-2")}),
    )
    .await
    .ok();
    // The first charge has moved the money and is still answering (the latency comes after).
    let deadline = Instant::now() + STEP;
    while server.books().lines("CANCEL-2", "charge").is_empty() {
        assert!(Instant::now() < deadline, "the first charge never happened");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let client = server.client().await;
    client
        .get_workflow_handle::<InvoiceWorkflow>("invoice-CANCEL-2")
        .cancel(WorkflowCancelOptions::builder().reason("duplicate").build())
        .await
        .expect("cancel");

    let view = await_state(&mcp, "CANCEL-2", "cancelled", STEP).await;
    assert_eq!(view["cancellation"]["reason"], "duplicate", "{view}");
    // The charge under way when the cancel came was waited for, and refunded with the rest.
    let books = server.books();
    assert!(!books.lines("CANCEL-2", "charge").is_empty());
    books.assert_kept("CANCEL-2", &[]);
    record_history(&client, "invoice-CANCEL-2", "cancelled_charging").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn time_without_a_worker_never_counts_against_the_retry_limit() {
    let server = DevServer::start().await;
    let limit = Duration::from_secs(4);
    let mcp = McpSession::start(&server, &[("PAYMENT_RETRY_LIMIT", "4s")]).await;
    // The gateway fails the first charge once; then the worker is gone.
    let failing = WorkerProcess::start_with(
        &server,
        &[("PAYMENT_GATEWAY_UNAVAILABLE", "Web Development")],
    );
    mcp.call(
        "process_invoice",
        json!({"invoice_data": harness::tutorial_invoice("NOWORKER-1")}),
    )
    .await
    .ok();
    let log = server.dir().join("worker.log");
    let deadline = Instant::now() + STEP;
    while !std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("no answer while charging Web Development")
    {
        assert!(Instant::now() < deadline, "the first charge never failed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    failing.kill();
    let gone = Instant::now();

    // No worker for longer than the retry limit, twice over...
    let deadline = Instant::now() + STEP;
    while gone.elapsed() <= 2 * limit {
        let view = mcp.status("NOWORKER-1").await;
        assert!(view.is_error, "no worker, no status: {}", view.text);
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // ...then a worker, and a gateway that answers: the charge goes through.
    let _worker = WorkerProcess::start(&server);
    mcp.await_status("NOWORKER-1", "Awaiting approval", STEP)
        .await;
    server.books().assert_kept("NOWORKER-1", &[1, 2]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_declined_refund_needs_attention_until_it_is_retried_or_settled() {
    let server = DevServer::start().await;
    let stuck = [("PAYMENT_GATEWAY_REFUND_DECLINE", "Web Development")];
    let worker = WorkerProcess::start_with(&server, &stuck);
    let mcp = McpSession::start(&server, &[APPROVER]).await;
    for id in ["STUCK-1", "STUCK-2"] {
        start_and_await_approval(&mcp, id).await;
        mcp.call(
            "reject_invoice",
            json!({"invoice_id": id, "reason": "duplicate"}),
        )
        .await
        .ok();
    }

    // Still running, money still charged, and saying so.
    let view = await_running(&mcp, "STUCK-1", "needs_attention").await;
    assert_eq!(view["status"], "Needs attention - a refund failed");
    let failing = &view["failing_refunds"];
    assert_eq!(failing.as_array().map(Vec::len), Some(1), "{view}");
    assert_eq!(failing[0]["line_number"], 1);
    assert!(
        failing[0]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("the refund of Web Development was refused")),
        "{view}"
    );
    assert!(view["next_refund_retry"].is_string(), "{view}");
    // Every charged line's refund was attempted: line 2 went through after line 1 failed.
    server.books().assert_moved("STUCK-1", &[1, 2], &[2]);
    await_listed(&mcp, "needs_attention", "STUCK-1", true).await;

    // A person retries in the inbox while the gateway still refuses: still failing.
    let inbox = InboxProcess::start(&server, &[]);
    let browser = Browser::start().await;
    let page = browser
        .open(&format!("{}/invoices/STUCK-1", inbox.url))
        .await;
    assert!(
        page.contains("These refunds failed, and the money is still charged"),
        "{page}"
    );
    let retried = browser.click("retry").await;
    assert!(
        retried.contains("Retried, but 1 refund(s) still fail"),
        "{retried}"
    );

    // The other invoice: a person settles its line by hand, with a reason.
    await_running(&mcp, "STUCK-2", "needs_attention").await;
    browser
        .open(&format!("{}/invoices/STUCK-2", inbox.url))
        .await;
    browser.fill("by", "ana").await;
    browser
        .fill("settle-reason", "paid back by bank transfer")
        .await;
    let settled = browser.click("settle").await;
    assert!(
        settled.contains("Settled: no refund is failing any more")
            && settled
                .contains("Settled by hand: line 1 (Web Development $5,000.00) by ana via inbox"),
        "{settled}"
    );
    browser.close().await;
    let view = await_state(&mcp, "STUCK-2", "rejected", STEP).await;
    assert_eq!(
        view["settled_by_hand"][0]["reason"],
        "paid back by bank transfer"
    );
    assert_eq!(view["settled_by_hand"][0]["by"], "ana");
    // Settled by hand: the gateway still holds line 1, which the person says was repaid.
    server.books().assert_kept("STUCK-2", &[1]);

    // The gateway takes refunds again; an operator retries at once, from a terminal.
    worker.kill();
    let _worker = WorkerProcess::start(&server);
    let answer = server.cli(&[
        "workflow",
        "update",
        "execute",
        "--workflow-id",
        "invoice-STUCK-1",
        "--name",
        "retry_refunds",
    ]);
    assert!(answer.contains("rejected"), "{answer}");
    let view = await_state(&mcp, "STUCK-1", "rejected", STEP).await;
    assert_eq!(view["failing_refunds"], json!([]));
    server.books().assert_kept("STUCK-1", &[]);
    await_listed(&mcp, "needs_attention", "STUCK-1", false).await;
    record_history(
        &server.client().await,
        "invoice-STUCK-1",
        "needs_attention_retried",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_finished_invoice_sent_again_is_answered_as_finished() {
    let server = DevServer::start().await;
    let _worker = WorkerProcess::start(&server);
    let mcp = McpSession::start(&server, &[]).await;
    start_and_await_approval(&mcp, "DONE-1").await;
    mcp.call("approve_invoice", json!({"invoice_id": "DONE-1"}))
        .await
        .ok();
    mcp.await_status("DONE-1", "Approved and finalized", STEP)
        .await;

    let again = mcp
        .call(
            "process_invoice",
            json!({"invoice_data": harness::tutorial_invoice("DONE-1")}),
        )
        .await
        .err();
    assert!(
        again.starts_with("Invoice DONE-1 already finished: Approved and finalized, at ")
            && again.contains("Nothing new was started"),
        "{again}"
    );
    assert!(!again.contains("Started"), "{again}");
    server.books().assert_kept("DONE-1", &[1, 2]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_submitters_own_approval_sent_without_a_worker_is_refused_and_shown() {
    let server = DevServer::start().await;
    let first = WorkerProcess::start(&server);
    let mcp = McpSession::start(&server, &[APPROVER, ("INVOICE_SEPARATION_OF_DUTIES", "on")]).await;
    start_and_await_approval(&mcp, "OWN-1").await;
    first.kill();

    // No worker to ask: the decision goes by signal, kept, never said to be recorded.
    let sent = mcp
        .call(
            "approve_invoice",
            json!({"invoice_id": "OWN-1", "reason": "looks fine to me"}),
        )
        .await
        .ok();
    assert!(sent.contains("the decision is kept"), "{sent}");
    assert!(!sent.contains("recorded"), "{sent}");

    let _second = WorkerProcess::start(&server);
    let view = mcp
        .await_view("OWN-1", "showed the refusal", STEP, |view| {
            view["refused_decisions"]
                .as_array()
                .is_some_and(|refused| !refused.is_empty())
        })
        .await;
    assert_eq!(view["state"], "awaiting_approval", "{view}");
    let refused = &view["refused_decisions"][0];
    assert_eq!(refused["decision"], "approve");
    assert_eq!(refused["by"], "ana");
    assert_eq!(refused["via"], "rmcp");
    assert_eq!(refused["reason"], "looks fine to me");
    assert!(refused["at"].is_string(), "{view}");
    assert!(
        refused["refused_because"]
            .as_str()
            .is_some_and(|why| why.contains("separation of duties")),
        "{view}"
    );
    // In the story, in the inbox, and in the worker's audit log.
    let story = http_story(&mcp, "OWN-1").await;
    assert!(
        story
            .iter()
            .any(|line| line.contains("Approval by ana via rmcp refused at ")),
        "{story:#?}"
    );
    let inbox = InboxProcess::start(&server, &[]);
    let (status, page) = http("GET", &format!("{}/invoices/OWN-1", inbox.url), None, &[]);
    assert_eq!(status, 200);
    assert!(
        page.contains("Decisions refused after they were sent")
            && page.contains("cannot approve it too (separation of duties)"),
        "{page}"
    );
    let log = std::fs::read_to_string(server.dir().join("worker.log")).unwrap_or_default();
    assert!(
        log.contains("decision_refused") && log.contains("OWN-1"),
        "no audit line in the worker log"
    );
    server.books().assert_kept("OWN-1", &[1, 2]);
}

/// The invoice's story, as its resource tells it.
async fn http_story(mcp: &McpSession, id: &str) -> Vec<String> {
    use rmcp::model::ReadResourceRequestParams;
    let read = harness::bounded(
        mcp.client()
            .read_resource(ReadResourceRequestParams::new(format!("invoice://{id}"))),
    )
    .await
    .expect("the invoice resource");
    let text = match &read.contents[0] {
        rmcp::model::ResourceContents::TextResourceContents { text, .. } => text.clone(),
        other => panic!("not text: {other:?}"),
    };
    let body: Value = serde_json::from_str(&text).expect("JSON");
    body["history"]
        .as_array()
        .expect("a history")
        .iter()
        .map(|line| line.as_str().unwrap_or_default().to_owned())
        .collect()
}
