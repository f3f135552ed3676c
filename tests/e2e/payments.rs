//! The payment failure paths, end to end, with the simulated gateway told which lines to fail:
//! a declined charge, a charge that keeps failing until the retry limit, and a refund that
//! cannot succeed. No money is kept by accident on any of them.

use crate::{APPROVER, STEP, record_history};
use harness::{DevServer, History, McpSession, WorkerProcess, tutorial_invoice};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

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
    let deadline = Instant::now() + within;
    loop {
        let reply = mcp.status(id).await;
        let finished = |view: &Value| view["state"] == state && view["closed_at"].is_string();
        if let Some(view) = reply.structured.filter(finished) {
            return view;
        }
        assert!(
            Instant::now() < deadline,
            "{id} never reached {state}; last answer: {}",
            reply.text
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_declined_charge_refunds_the_lines_charged_before_it() {
    let server = DevServer::start().await;
    let _worker =
        WorkerProcess::start_with(&server, &[("PAYMENT_GATEWAY_DECLINE", "Design Services")]);
    let mcp = McpSession::start(&server.address, server.dir(), &[]).await;
    let started = Instant::now();
    process(&mcp, "DECLINE-1").await;

    let view = await_state(&mcp, "DECLINE-1", "failed", STEP).await;
    // A decline is final: no retries, no waiting for the retry limit.
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
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
    let mcp = McpSession::start(
        &server.address,
        server.dir(),
        &[("PAYMENT_RETRY_LIMIT", "4s")],
    )
    .await;
    process(&mcp, "OUTAGE-1").await;
    // Retried meanwhile: still charging.
    mcp.await_status("OUTAGE-1", "Processing payments", STEP)
        .await;

    let view = await_state(&mcp, "OUTAGE-1", "failed", STEP).await;
    let status = view["status"].as_str().unwrap();
    assert!(
        status.starts_with(
            "Failed: payment for line 2: Design Services $2000.00 failed (gave up at the retry limit; last: "
        ) && status.contains("no answer while charging Design Services"),
        "{status}"
    );
    server.books().assert_moved("OUTAGE-1", &[1], &[1]);
    let history = History::of(&server.client().await, "invoice-OUTAGE-1").await;
    assert_eq!(
        history.completed_activities().get("process_payment"),
        Some(&1)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refund_that_cannot_succeed_needs_attention_and_the_others_still_run() {
    let server = DevServer::start().await;
    let _worker = WorkerProcess::start_with(
        &server,
        &[("PAYMENT_GATEWAY_REFUND_DECLINE", "Web Development")],
    );
    let mcp = McpSession::start(&server.address, server.dir(), &[APPROVER]).await;
    crate::start_and_await_approval(&mcp, "STUCK-1").await;
    mcp.call(
        "reject_invoice",
        json!({"invoice_id": "STUCK-1", "reason": "duplicate"}),
    )
    .await
    .ok();

    let view = await_state(&mcp, "STUCK-1", "needs_attention", STEP).await;
    assert_eq!(view["status"], "Needs attention - a refund failed");
    let result = view["result"].as_str().unwrap_or_default();
    assert!(
        result.starts_with("Invoice needs attention: rejected by approver, but 1 refund(s) failed")
            && result.contains("Refunded payment for Design Services: $2000.00")
            && result.contains("refund of line 1: Web Development $5000.00 failed")
            && result.contains("the refund of Web Development was refused"),
        "{result}"
    );
    // Every charged line's refund was attempted: line 2 went through after line 1 failed.
    server.books().assert_moved("STUCK-1", &[1, 2], &[2]);

    // Listed where a person looks for it.
    let deadline = Instant::now() + STEP;
    loop {
        let listed = mcp
            .call("list_invoices", json!({"state": "needs_attention"}))
            .await;
        if listed.text.contains("STUCK-1 · needs_attention") {
            break;
        }
        assert!(Instant::now() < deadline, "{}", listed.text);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    record_history(&server.client().await, "invoice-STUCK-1", "needs_attention").await;
}
