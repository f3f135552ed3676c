//! Decisions the workflow owns: judged by workflow time, kept through crashes, applied when a
//! worker returns, and refused on a finished invoice, whoever sends them.

use crate::{APPROVER, STEP, assert_decision, start_and_await_approval};
use harness::{DevServer, History, McpSession, WorkerProcess};
use serde_json::json;
use std::time::{Duration, Instant};
use workflows::InvoiceWorkflow;

#[tokio::test(flavor = "multi_thread")]
async fn a_signal_held_until_past_the_deadline_is_too_late() {
    let server = DevServer::start().await;
    let first = WorkerProcess::start(&server);
    let mcp = McpSession::start(&server, &[("INVOICE_APPROVAL_TIMEOUT", "4s")]).await;
    start_and_await_approval(&mcp, "LATE-1").await;
    let deadline = mcp.status("LATE-1").await.structured.unwrap()["approval_deadline"]
        .as_str()
        .and_then(|at| humantime::parse_rfc3339(at).ok())
        .expect("an approval deadline");

    // The tutorial's bare signal, sent before the deadline while no worker runs: the workflow
    // sees it in the same task as its deadline firing, after the deadline by workflow time.
    first.kill();
    let client = server.client().await;
    client
        .get_workflow_handle::<InvoiceWorkflow>("invoice-LATE-1")
        .signal(InvoiceWorkflow::approve_invoice, (), Default::default())
        .await
        .expect("the signal is recorded");
    // The worker returns once the deadline has passed.
    let bound = Instant::now() + STEP;
    while std::time::SystemTime::now() <= deadline + Duration::from_secs(1) {
        assert!(Instant::now() < bound, "the deadline never passed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _second = WorkerProcess::start(&server);
    mcp.await_status("LATE-1", "Approval timeout - invoice rejected", STEP)
        .await;

    let history = History::of(&client, "invoice-LATE-1").await;
    assert_eq!(history.signals(), ["approve_invoice"]);
    server.books().assert_invoice("LATE-1", 2, true);
    let status = mcp.status("LATE-1").await.structured.unwrap();
    assert_eq!(status["decision"], serde_json::Value::Null);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rejection_survives_a_worker_killed_while_refunding() {
    let server = DevServer::start().await;
    let slow = [("PAYMENT_GATEWAY_LATENCY", "1s")];
    let first = WorkerProcess::start_with(&server, &slow);
    let mcp = McpSession::start(&server, &[APPROVER]).await;
    start_and_await_approval(&mcp, "KILL-1").await;

    let rejected = mcp
        .call(
            "reject_invoice",
            json!({"invoice_id": "KILL-1", "reason": "wrong customer"}),
        )
        .await;
    assert!(!rejected.is_error, "{rejected:?}");
    // The kill lands on work in progress: the refunds take a second each.
    mcp.await_status("KILL-1", "Rejected by approver - refunding payments", STEP)
        .await;
    first.kill();

    // The refund the dead worker held is retried once its 30 s attempt timeout has passed.
    let _second = WorkerProcess::start_with(&server, &slow);
    mcp.await_status("KILL-1", "Rejected by approver", Duration::from_secs(90))
        .await;
    let status = mcp.status("KILL-1").await.structured.unwrap();
    assert_decision(&status, "reject", Some("wrong customer"));
    server.books().assert_invoice("KILL-1", 2, true);

    // Finished: neither the tools nor a plain Temporal client can decide any more.
    let refused = mcp
        .call("approve_invoice", json!({"invoice_id": "KILL-1"}))
        .await
        .err();
    assert!(
        refused.contains("already rejected by ana via rmcp"),
        "{refused}"
    );
    let signal = server
        .client()
        .await
        .get_workflow_handle::<InvoiceWorkflow>("invoice-KILL-1")
        .signal(InvoiceWorkflow::approve_invoice, (), Default::default())
        .await;
    assert!(signal.is_err(), "a finished invoice takes no signal");
    server.books().assert_invoice("KILL-1", 2, true);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_decision_sent_while_no_worker_runs_is_applied_when_one_returns() {
    let server = DevServer::start().await;
    let first = WorkerProcess::start(&server);
    let mcp = McpSession::start(&server, &[APPROVER]).await;
    start_and_await_approval(&mcp, "WAIT-1").await;
    first.kill();

    let reply = mcp
        .call(
            "approve_invoice",
            json!({"invoice_id": "WAIT-1", "reason": "signed off by phone"}),
        )
        .await;
    assert_eq!(
        reply.ok(),
        "Sent approval signal for invoice WAIT-1. No worker is running: the decision is kept, and applied when a worker returns unless the invoice refuses it then (decided before, deadline passed, or separation of duties); get_invoice_status tells which (status: Awaiting approval)."
    );

    let _second = WorkerProcess::start(&server);
    mcp.await_status("WAIT-1", "Approved and finalized", STEP)
        .await;
    // Who decided travelled in the signal's header.
    let status = mcp.status("WAIT-1").await.structured.unwrap();
    assert_decision(&status, "approve", Some("signed off by phone"));
    let history = History::of(&server.client().await, "invoice-WAIT-1").await;
    assert_eq!(history.signals(), ["approve_invoice"]);
    server.books().assert_invoice("WAIT-1", 2, false);
}
