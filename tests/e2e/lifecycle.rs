//! The tutorial's flows: approve, reject, time out, and what a decided invoice refuses.

use crate::{STEP, record_history, start_and_await_approval};
use harness::{DevServer, History, McpSession, WorkerProcess};
use serde_json::json;
use std::collections::HashMap;

fn counts(pairs: &[(&str, usize)]) -> HashMap<String, usize> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn approved_invoice_keeps_its_charges() {
    let server = DevServer::start().await;
    let _worker = WorkerProcess::start(&server);
    let mcp = McpSession::start(&server.address, server.dir(), &[]).await;

    start_and_await_approval(&mcp, "INV-001").await;
    let reply = mcp
        .call("approve_invoice", json!({"invoice_id": "INV-001"}))
        .await;
    // The answer reports what the decision led to, not just that a signal went out.
    assert_eq!(
        reply.ok(),
        "Sent approval signal for invoice INV-001. Invoice INV-001 status: Approved and finalized"
    );
    mcp.await_status("INV-001", "Approved and finalized", STEP)
        .await;

    let client = server.client().await;
    let history = History::of(&client, "invoice-INV-001").await;
    assert_eq!(
        history.completed_activities(),
        counts(&[("process_payment", 2)])
    );
    assert_eq!(
        history.result(),
        Some(json!(
            "Invoice approved and processed:\n\
             Processed payment for Web Development: $5000.00\n\
             Processed payment for Design Services: $2000.00"
        ))
    );
    server.books().assert_invoice("INV-001", 2, false);
    record_history(&client, "invoice-INV-001", "approved").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn rejected_invoice_is_refunded() {
    let server = DevServer::start().await;
    let _worker = WorkerProcess::start(&server);
    let mcp = McpSession::start(&server.address, server.dir(), &[]).await;

    start_and_await_approval(&mcp, "INV-002").await;
    let reply = mcp
        .call("reject_invoice", json!({"invoice_id": "INV-002"}))
        .await;
    let text = reply.ok();
    assert!(
        text.starts_with(
            "Sent rejection signal for invoice INV-002. Invoice INV-002 status: Rejected by approver"
        ),
        "{text}"
    );
    mcp.await_status("INV-002", "Rejected by approver", STEP)
        .await;

    let client = server.client().await;
    let history = History::of(&client, "invoice-INV-002").await;
    assert_eq!(
        history.completed_activities(),
        counts(&[("process_payment", 2), ("refund_payment", 2)])
    );
    assert_eq!(
        history.result(),
        Some(json!(
            "Invoice rejected by approver\n\
             Refunded payment for Web Development: $5000.00\n\
             Refunded payment for Design Services: $2000.00"
        ))
    );
    server.books().assert_invoice("INV-002", 2, true);
    record_history(&client, "invoice-INV-002", "rejected").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn unanswered_invoice_times_out_and_is_refunded() {
    let server = DevServer::start().await;
    let _worker = WorkerProcess::start(&server);
    let mcp = McpSession::start(
        &server.address,
        server.dir(),
        &[("INVOICE_APPROVAL_TIMEOUT", "3s")],
    )
    .await;

    start_and_await_approval(&mcp, "INV-003").await;
    mcp.await_status("INV-003", "Approval timeout - invoice rejected", STEP)
        .await;

    let client = server.client().await;
    let history = History::of(&client, "invoice-INV-003").await;
    assert_eq!(
        history.completed_activities(),
        counts(&[("process_payment", 2), ("refund_payment", 2)])
    );
    assert_eq!(
        history.result(),
        Some(json!(
            "Invoice rejected: approval timeout after 3 seconds\n\
             Refunded payment for Web Development: $5000.00\n\
             Refunded payment for Design Services: $2000.00"
        ))
    );
    // Too late to decide now.
    let late = mcp
        .call("approve_invoice", json!({"invoice_id": "INV-003"}))
        .await
        .err();
    assert!(late.contains("no longer awaiting approval"), "{late}");
    server.books().assert_invoice("INV-003", 2, true);
    record_history(&client, "invoice-INV-003", "timed_out").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_first_decision_stands() {
    let server = DevServer::start().await;
    let _worker = WorkerProcess::start(&server);
    let mcp = McpSession::start(&server.address, server.dir(), &[]).await;
    start_and_await_approval(&mcp, "INV-004").await;

    mcp.call("approve_invoice", json!({"invoice_id": "INV-004"}))
        .await
        .ok();
    for tool in ["reject_invoice", "approve_invoice"] {
        let refused = mcp.call(tool, json!({"invoice_id": "INV-004"})).await.err();
        assert!(
            refused.contains("Invoice INV-004 was already approved; the first decision stands"),
            "{tool}: {refused}"
        );
    }
    mcp.await_status("INV-004", "Approved and finalized", STEP)
        .await;
    let history = History::of(&server.client().await, "invoice-INV-004").await;
    assert_eq!(
        history.signals(),
        ["approve_invoice"],
        "refused decisions send nothing"
    );
    assert_eq!(
        history.completed_activities(),
        counts(&[("process_payment", 2)])
    );
    server.books().assert_invoice("INV-004", 2, false);
}
