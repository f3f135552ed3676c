//! The tutorial's flows: approve, reject, time out, and what a decided invoice refuses.

use crate::{APPROVER, STEP, assert_decision, record_history, start_and_await_approval};
use harness::{DevServer, History, McpSession, WorkerProcess};
use serde_json::json;
use std::collections::HashMap;

fn counts(pairs: &[(&str, usize)]) -> HashMap<String, usize> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn approved_invoice_keeps_its_charges() {
    // A plain dev server, as the tutorial starts one: the worker and the MCP server register
    // the search attributes themselves (the shared one has them from its start).
    let server = DevServer::start_own().await;
    let _worker = WorkerProcess::start(&server);
    let mcp = McpSession::start(&server, &[APPROVER]).await;

    start_and_await_approval(&mcp, "INV-001").await;
    let reply = mcp
        .call(
            "approve_invoice",
            json!({"invoice_id": "INV-001", "reason": "matches PO-7"}),
        )
        .await;
    // The answer reports what the decision led to, who took it and why.
    let decided = reply.structured.clone().expect("structured content");
    let text = reply.ok();
    assert!(
        text.starts_with(
            "Sent approval signal for invoice INV-001. Invoice INV-001 status: Approved and finalized. Approved by ana via rmcp at "
        ) && text.ends_with(": matches PO-7."),
        "{text}"
    );
    assert_eq!(decided["state"], "approved");
    assert_decision(&decided, "approve", Some("matches PO-7"));
    mcp.await_status("INV-001", "Approved and finalized", STEP)
        .await;
    // Once finished, the status still tells who decided, when and why (the workflow's memo).
    let finished = mcp.status("INV-001").await.structured.unwrap();
    assert_eq!(finished["decision"], decided["decision"]);

    let client = server.client().await;
    let history = History::of(&client, "invoice-INV-001").await;
    assert_eq!(
        history.completed_activities(),
        counts(&[("process_payment", 2)])
    );
    assert_eq!(history.outcome_state(), Some(json!("approved")));
    assert_eq!(
        history.outcome_text(),
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
    let mcp = McpSession::start(&server, &[APPROVER]).await;

    start_and_await_approval(&mcp, "INV-002").await;
    let reply = mcp
        .call(
            "reject_invoice",
            json!({"invoice_id": "INV-002", "reason": "billed twice"}),
        )
        .await;
    let decided = reply.structured.clone().expect("structured content");
    let text = reply.ok();
    assert!(
        text.starts_with(
            "Sent rejection signal for invoice INV-002. Invoice INV-002 status: Rejected by approver - refunding payments. Rejected by ana via rmcp at "
        ) && text.ends_with(": billed twice."),
        "{text}"
    );
    assert_eq!(decided["state"], "rejected");
    assert_decision(&decided, "reject", Some("billed twice"));
    mcp.await_status("INV-002", "Rejected by approver", STEP)
        .await;

    let client = server.client().await;
    let history = History::of(&client, "invoice-INV-002").await;
    assert_eq!(
        history.completed_activities(),
        counts(&[("process_payment", 2), ("refund_payment", 2)])
    );
    assert_eq!(history.outcome_state(), Some(json!("rejected")));
    assert_eq!(
        history.outcome_text(),
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
    let mcp = McpSession::start(&server, &[("INVOICE_APPROVAL_TIMEOUT", "3s")]).await;

    start_and_await_approval(&mcp, "INV-003").await;
    mcp.await_status("INV-003", "Approval timeout - invoice rejected", STEP)
        .await;

    let client = server.client().await;
    let history = History::of(&client, "invoice-INV-003").await;
    assert_eq!(
        history.completed_activities(),
        counts(&[("process_payment", 2), ("refund_payment", 2)])
    );
    assert_eq!(history.outcome_state(), Some(json!("timed_out")));
    assert_eq!(
        history.outcome_text(),
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
    assert!(
        late.contains("no longer awaiting approval (status: Approval timeout - invoice rejected)"),
        "{late}"
    );
    let status = mcp.status("INV-003").await.structured.unwrap();
    assert_eq!(status["decision"], serde_json::Value::Null);
    server.books().assert_invoice("INV-003", 2, true);
    record_history(&client, "invoice-INV-003", "timed_out").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_first_decision_stands() {
    let server = DevServer::start().await;
    // Slow refunds keep the rejected invoice running, so that later decisions reach it.
    let _worker = WorkerProcess::start_with(&server, &[("PAYMENT_GATEWAY_LATENCY", "1s")]);
    let mcp = McpSession::start(&server, &[APPROVER]).await;
    start_and_await_approval(&mcp, "INV-004").await;

    mcp.call("reject_invoice", json!({"invoice_id": "INV-004"}))
        .await
        .ok();
    for tool in ["approve_invoice", "reject_invoice"] {
        let refused = mcp.call(tool, json!({"invoice_id": "INV-004"})).await.err();
        assert!(
            refused
                .contains("Invoice INV-004: the invoice was already rejected by ana via rmcp at ")
                && refused.contains("the first decision stands"),
            "{tool}: {refused}"
        );
    }
    // A plain Temporal client gets the same answer from the workflow itself...
    let client = server.client().await;
    let handle = client.get_workflow_handle::<workflows::InvoiceWorkflow>("invoice-INV-004");
    let request = workflows::DecisionRequest {
        decision: workflows::Decision::Approve,
        signature: workflows::Signature {
            by: "mallory".into(),
            reason: None,
            via: "temporal-client".into(),
        },
    };
    let refused = handle
        .execute_update(
            workflows::InvoiceWorkflow::decide,
            request,
            Default::default(),
        )
        .await
        .expect_err("a second decision by Update");
    assert!(
        refused.to_string().contains("already rejected"),
        "{refused}"
    );
    // ...and its tutorial signal changes nothing.
    handle
        .signal(
            workflows::InvoiceWorkflow::approve_invoice,
            (),
            Default::default(),
        )
        .await
        .expect("the signal is delivered");
    mcp.await_status("INV-004", "Rejected by approver", STEP)
        .await;
    let status = mcp.status("INV-004").await.structured.unwrap();
    assert_eq!(status["decision"]["by"], "ana");

    let history = History::of(&client, "invoice-INV-004").await;
    assert_eq!(
        history.accepted_updates(),
        1,
        "refused Updates leave no trace in the history"
    );
    assert_eq!(history.signals(), ["approve_invoice"]);
    assert_eq!(
        history.completed_activities(),
        counts(&[("process_payment", 2), ("refund_payment", 2)])
    );
    server.books().assert_invoice("INV-004", 2, true);
}
