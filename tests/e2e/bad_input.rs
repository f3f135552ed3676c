//! Bad input gets a specific tool error, starts nothing, and the server keeps serving.

use crate::start_and_await_approval;
use harness::{DevServer, McpSession, WorkerProcess, tutorial_invoice};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread")]
async fn invalid_invoices_are_refused_before_anything_starts() {
    let server = DevServer::start().await;
    let mcp = McpSession::start(&server, &[]).await;

    let line =
        |amount: Value| json!({"id": "BAD-1", "lines": [{"item": "Work", "amount": amount}]});
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"lines": [{"item": "Work", "amount": 1}]}),
            "no \"id\"",
        ),
        (
            json!({"id": "   ", "lines": [{"item": "Work", "amount": 1}]}),
            "blank",
        ),
        (
            json!({"id": "BAD 1", "lines": [{"item": "Work", "amount": 1}]}),
            "a space",
        ),
        (
            json!({"id": "BAD/1", "lines": [{"item": "Work", "amount": 1}]}),
            "'/'",
        ),
        (
            json!({"id": "x".repeat(3000), "lines": [{"item": "Work", "amount": 1}]}),
            "3000 characters",
        ),
        (json!({"id": "BAD-1"}), "no \"lines\""),
        (json!({"id": "BAD-1", "lines": []}), "has no lines"),
        (
            json!({"id": "BAD-1", "lines": [{"amount": 1}]}),
            "has no \"item\"",
        ),
        (line(json!(0)), "greater than zero"),
        (line(json!(-10)), "greater than zero"),
        (line(json!("NaN")), "must be a number"),
        (line(json!(1e308)), "larger than the limit"),
        (line(json!(10.005)), "two decimal places"),
        (json!("not json"), "not valid JSON"),
    ];
    for (invoice, expected) in cases {
        let error = mcp
            .call("process_invoice", json!({ "invoice_data": invoice }))
            .await
            .err();
        assert!(error.starts_with("Invalid invoice: "), "{error}");
        assert!(error.contains(expected), "{invoice} gave {error:?}");
    }
    // Nothing was started: the one plausible id is unknown to Temporal.
    let unknown = mcp.status("BAD-1").await.err();
    assert!(unknown.contains("was not found"), "{unknown}");
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_ids_duplicates_and_malformed_arguments_are_named() {
    let server = DevServer::start().await;
    let _worker = WorkerProcess::start(&server);
    let mcp = McpSession::start(&server, &[]).await;

    for tool in ["get_invoice_status", "approve_invoice", "reject_invoice"] {
        let error = mcp
            .call(tool, json!({"invoice_id": "NOPE-404"}))
            .await
            .err();
        assert_eq!(
            error,
            "Invoice NOPE-404 was not found: no workflow invoice-NOPE-404 exists. \
             Check the id, or start the invoice with process_invoice.",
            "{tool}"
        );
        let error = mcp.call(tool, json!({})).await.err();
        assert!(
            error.contains("missing field `invoice_id`"),
            "{tool}: {error}"
        );
        let error = mcp.call(tool, json!({"invoice_id": 42})).await.err();
        assert!(error.contains("invalid type"), "{tool}: {error}");
        let error = mcp.call(tool, json!({"invoice_id": "a/b"})).await.err();
        assert!(error.starts_with("Invalid invoice id:"), "{tool}: {error}");
    }
    let error = mcp.call("process_invoice", json!({})).await.err();
    assert!(error.contains("missing field `invoice_data`"), "{error}");

    start_and_await_approval(&mcp, "DUP-1").await;
    // An agent retrying a start that timed out on its side: the same invoice is the same
    // invoice, and it has started (even through a server with another approval timeout).
    let other = McpSession::start(&server, &[("INVOICE_APPROVAL_TIMEOUT", "1h")]).await;
    for session in [&mcp, &other] {
        let again = session
            .call(
                "process_invoice",
                json!({ "invoice_data": tutorial_invoice("DUP-1") }),
            )
            .await
            .ok();
        // Nothing new starts, and the answer says so, with where it stands.
        assert!(
            again.starts_with("Invoice DUP-1 was already started and is still running (status: ")
                && again.ends_with("); nothing new was started. Workflow ID: invoice-DUP-1"),
            "{again}"
        );
    }
    // Another invoice under the same id is a duplicate, and the answer names the difference.
    let mut changed = tutorial_invoice("DUP-1");
    changed["lines"][1]["amount"] = json!(2500.0);
    let duplicate = mcp
        .call("process_invoice", json!({ "invoice_data": changed }))
        .await
        .err();
    assert!(
        duplicate.starts_with(
            "Invoice id DUP-1 is already in use by a different invoice (workflow invoice-DUP-1): line 2 amount is $2000.00 there, $2500.00 here."
        ),
        "{duplicate}"
    );
    // The original invoice is untouched, and there is one.
    mcp.await_status("DUP-1", "Awaiting approval", crate::STEP)
        .await;
    assert_eq!(server.invoice_count().await, 1);
    server.books().assert_invoice("DUP-1", 2, false);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_schema_the_model_sees_describes_an_invoice() {
    let server = DevServer::start().await;
    let mcp = McpSession::start(&server, &[]).await;
    let tools = mcp.tools().await;
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    assert_eq!(names, harness::TOOL_NAMES);
    let process = tools.iter().find(|t| t.name == "process_invoice").unwrap();
    let schema = serde_json::to_string(&process.input_schema).unwrap();
    for field in [
        "invoice_data",
        "\"id\"",
        "\"lines\"",
        "\"item\"",
        "\"amount\"",
        "\"description\"",
    ] {
        assert!(schema.contains(field), "{field} missing from {schema}");
    }
    assert!(
        !schema.contains("approval_timeout"),
        "server-set fields stay hidden: {schema}"
    );
}
