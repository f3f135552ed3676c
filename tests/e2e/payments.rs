//! The payment failure paths, end to end, with the simulated gateway told which lines to fail:
//! a declined charge, and a charge that keeps failing until the retry limit. No money is kept
//! by accident on either. (A refund that fails: `money.rs`.)

use crate::{STEP, record_history};
use harness::{DevServer, History, McpSession, WorkerProcess, tutorial_invoice};
use serde_json::{Value, json};
use std::time::Duration;

/// Starts the tutorial invoice under `id` (Web Development $5000, Design Services $2000).
async fn process(mcp: &McpSession, id: &str) {
    mcp.call(
        "process_invoice",
        json!({"invoice_data": tutorial_invoice(id)}),
    )
    .await
    .ok();
}

/// Polls the status until the invoice has finished in `state` (refunds count as the state
/// they lead to, so the state alone comes before the end); answers the structured status.
pub(crate) async fn await_state(
    mcp: &McpSession,
    id: &str,
    state: &str,
    within: Duration,
) -> Value {
    mcp.await_view(id, &format!("finished {state}"), within, |view| {
        view["state"] == state && view["closed_at"].is_string()
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_declined_charge_refunds_the_lines_charged_before_it() {
    let server = DevServer::start().await;
    let _worker =
        WorkerProcess::start_with(&server, &[("PAYMENT_GATEWAY_DECLINE", "Design Services")]);
    let mcp = McpSession::start(&server, &[]).await;
    process(&mcp, "DECLINE-1").await;

    let view = await_state(&mcp, "DECLINE-1", "failed", STEP).await;
    // A decline is final: its charge was attempted once, never retried.
    let history = History::of(&server.client().await, "invoice-DECLINE-1").await;
    assert_eq!(
        history.attempts("process_payment"),
        [1, 1],
        "one attempt per line"
    );
    let status = view["status"].as_str().unwrap();
    assert!(
        status.starts_with("Failed: payment for line 2: Design Services $2000.00 failed")
            && status.contains("the card was declined for Design Services")
            && status.ends_with("the 1 line(s) charged before it were refunded"),
        "{status}"
    );
    server.books().assert_moved("DECLINE-1", &[1], &[1]);
    record_history(
        &server.client().await,
        "invoice-DECLINE-1",
        "payment_failed",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_charge_that_keeps_failing_gives_up_at_the_retry_limit() {
    let server = DevServer::start().await;
    let _worker = WorkerProcess::start_with(
        &server,
        &[("PAYMENT_GATEWAY_UNAVAILABLE", "Design Services")],
    );
    let mcp = McpSession::start(&server, &[("PAYMENT_RETRY_LIMIT", "4s")]).await;
    process(&mcp, "OUTAGE-1").await;
    // Retried meanwhile: still charging.
    mcp.await_status("OUTAGE-1", "Processing payments", STEP)
        .await;

    let view = await_state(&mcp, "OUTAGE-1", "failed", STEP).await;
    let status = view["status"].as_str().unwrap();
    assert!(
        status.starts_with(
            "Failed: payment for line 2: Design Services $2000.00 failed (gave up at the retry limit (4 seconds of attempts, "
        ) && status.contains("no answer while charging Design Services")
            && status.ends_with("and so was any charge of it"),
        "{status}"
    );
    server.books().assert_moved("OUTAGE-1", &[1], &[1]);
    let history = History::of(&server.client().await, "invoice-OUTAGE-1").await;
    assert_eq!(
        history.completed_activities().get("process_payment"),
        Some(&1)
    );
}
