//! The MCP surface beyond the tutorial, through a real MCP client against a real dev server:
//! structured results (checked against each tool's outputSchema and the MCP schema), tool
//! annotations, `list_invoices` over Temporal's visibility, the `invoice://<id>` resources,
//! the pending-approvals prompt, and what the Web UI shows (summary, current details).

use crate::{STEP, start_and_await_approval};
use harness::{DevServer, McpSession, Reply, WorkerProcess};
use rmcp::model::{GetPromptRequestParams, ReadResourceRequestParams, ResourceContents};
use serde_json::{Value, json};
use std::{collections::HashMap, time::Instant};

/// The MCP specification's schema, the version rmcp negotiates.
const MCP_SCHEMA: &str = include_str!("../mcp-schema/2025-11-25.json");

/// Fails the test unless `value` is a valid `definition` of the MCP schema.
pub fn assert_mcp_valid(definition: &str, value: &Value) {
    let mut schema: Value = serde_json::from_str(MCP_SCHEMA).expect("the MCP schema is JSON");
    schema["$ref"] = json!(format!("#/$defs/{definition}"));
    assert_valid(&schema, value, definition);
}

/// Fails the test unless `value` is valid against `schema`.
pub fn assert_valid(schema: &Value, value: &Value, what: &str) {
    let validator = jsonschema::validator_for(schema).expect("the schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|error| format!("{error} (at {})", error.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what} does not match its schema: {errors:#?}\n{value:#}"
    );
}

/// The tools' output schemas, by name.
async fn output_schemas(mcp: &McpSession) -> HashMap<String, Value> {
    mcp.tools()
        .await
        .into_iter()
        .filter_map(|tool| {
            let schema = Value::Object(tool.output_schema?.as_ref().clone());
            Some((tool.name.to_string(), schema))
        })
        .collect()
}

/// A successful structured answer: valid against the tool's outputSchema, and the same JSON
/// repeated as text. Answers the structured content.
#[track_caller]
fn structured(reply: Reply, tool: &str, schemas: &HashMap<String, Value>) -> Value {
    assert!(!reply.is_error, "{tool} failed: {}", reply.text);
    let content = reply.structured.clone().expect("structuredContent");
    assert_valid(&schemas[tool], &content, tool);
    let as_text: Value = serde_json::from_str(&reply.more_text[0]).expect("JSON text block");
    assert_eq!(
        as_text, content,
        "the text block repeats the structured content"
    );
    content
}

#[tokio::test(flavor = "multi_thread")]
async fn tools_declare_output_schemas_and_annotations() {
    // No Temporal needed to describe the tools.
    let dir = tempfile::tempdir().unwrap();
    let mcp = McpSession::start_at("127.0.0.1:1", dir.path(), &[]).await;
    let tools = mcp.tools().await;
    let by_name: HashMap<_, _> = tools.iter().map(|t| (t.name.to_string(), t)).collect();
    let mut names: Vec<_> = by_name.keys().cloned().collect();
    names.sort();
    assert_eq!(names, harness::TOOL_NAMES);
    // (read_only, destructive, idempotent)
    let expected = [
        ("process_invoice", (false, false, false)),
        ("approve_invoice", (false, true, false)),
        ("reject_invoice", (false, true, false)),
        ("get_invoice_status", (true, false, true)),
        ("list_invoices", (true, false, true)),
    ];
    for (name, (read_only, destructive, idempotent)) in expected {
        let tool = by_name[name];
        let hints = tool.annotations.as_ref().expect("annotations");
        assert_eq!(hints.read_only_hint, Some(read_only), "{name} read-only");
        assert_eq!(
            hints.destructive_hint,
            Some(destructive),
            "{name} destructive"
        );
        assert_eq!(hints.idempotent_hint, Some(idempotent), "{name} idempotent");
        assert!(hints.title.is_some(), "{name} has a title");
        let schema = tool.output_schema.as_ref().expect("outputSchema");
        assert_eq!(schema.get("type"), Some(&json!("object")), "{name}");
    }
    // The list as it goes over the wire, against the specification.
    let listed = json!({ "tools": serde_json::to_value(&tools).unwrap() });
    assert_mcp_valid("ListToolsResult", &listed);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invoice_answers_in_structure_from_start_to_result() {
    // Registered at start, as `just server` and `scripts/up` do.
    let server = DevServer::start().await;
    let _worker = WorkerProcess::start(&server);
    let mcp = McpSession::start(&server, &[crate::APPROVER]).await;
    let schemas = output_schemas(&mcp).await;

    let started = mcp
        .call(
            "process_invoice",
            json!({ "invoice_data": harness::tutorial_invoice("INV-S1") }),
        )
        .await;
    assert_eq!(
        started.text,
        "Started processing invoice INV-S1. Workflow ID: invoice-INV-S1"
    );
    let view = structured(started, "process_invoice", &schemas);
    assert_eq!(view["invoice_id"], "INV-S1");
    assert_eq!(view["workflow_id"], "invoice-INV-S1");
    assert_eq!(view["state"], "processing");
    assert_eq!(view["total"], "$7,000.00");
    assert_eq!(view["total_cents"], 700_000);
    assert_eq!(view["lines"][1]["item"], "Design Services");
    assert_eq!(view["lines"][1]["amount"], 2000.0);

    mcp.await_status("INV-S1", "Awaiting approval", STEP).await;
    let status = mcp.status("INV-S1").await;
    assert_eq!(status.text, "Invoice INV-S1 status: Awaiting approval");
    let view = structured(status, "get_invoice_status", &schemas);
    assert_eq!(view["state"], "awaiting_approval");
    assert_eq!(view["decision"], Value::Null);
    assert_eq!(view["total"], "$7,000.00");
    assert_eq!(view["lines"].as_array().unwrap().len(), 2);
    let deadline = view["approval_deadline"].as_str().expect("a deadline");
    let started_at = view["started_at"].as_str().expect("a start time");
    // Five days after the start, give or take the time the charges took.
    let wait = humantime::parse_rfc3339(deadline)
        .unwrap()
        .duration_since(humantime::parse_rfc3339(started_at).unwrap())
        .unwrap();
    assert!(
        wait.as_secs() >= 5 * 86_400 && wait.as_secs() < 5 * 86_400 + 60,
        "{wait:?}"
    );

    // The Web UI: the summary from the start, the current details from the worker.
    let summary = temporal(&server, &["workflow", "describe", "-w", "invoice-INV-S1"]);
    assert!(
        summary.contains("Invoice INV-S1 · 2 lines · $7,000.00"),
        "{summary}"
    );
    let metadata = temporal(&server, &["workflow", "metadata", "-w", "invoice-INV-S1"]);
    assert!(
        metadata.contains("Awaiting approval until") && metadata.contains("$7,000.00 charged"),
        "{metadata}"
    );

    let pending = await_listed(&mcp, "awaiting_approval", "INV-S1").await;
    let entry = &pending["invoices"][0];
    assert_eq!(entry["total"], "$7,000.00");
    assert_eq!(entry["line_count"], 2);
    assert_eq!(entry["approval_deadline"], deadline);
    let listed = mcp
        .call("list_invoices", json!({"state": "awaiting_approval"}))
        .await;
    assert!(
        listed
            .text
            .contains("INV-S1 · awaiting_approval · 2 lines · $7,000.00 · decide by"),
        "{}",
        listed.text
    );
    structured(listed, "list_invoices", &schemas);

    // The prompt walks a human through what is pending.
    let prompt = harness::bounded(
        mcp.client()
            .get_prompt(GetPromptRequestParams::new("review_pending_invoices")),
    )
    .await
    .expect("prompts/get");
    let prompt_json = serde_json::to_value(&prompt).unwrap();
    assert_mcp_valid("GetPromptResult", &prompt_json);
    let prompt_text = prompt_json["messages"][0]["content"]["text"]
        .as_str()
        .unwrap();
    assert!(
        prompt_text.contains("INV-S1 · awaiting_approval"),
        "{prompt_text}"
    );
    assert!(prompt_text.contains("never decide for me"), "{prompt_text}");

    // Approving answers the outcome, not just "signal sent".
    let approved = mcp
        .call("approve_invoice", json!({"invoice_id": "INV-S1"}))
        .await;
    assert!(
        approved.text.starts_with(
            "Sent approval signal for invoice INV-S1. Invoice INV-S1 status: Approved and finalized. Approved by ana via rmcp at "
        ),
        "{}",
        approved.text
    );
    let view = structured(approved, "approve_invoice", &schemas);
    assert_eq!(view["state"], "approved");
    crate::assert_decision(&view, "approve", None);

    mcp.await_status("INV-S1", "Approved and finalized", STEP)
        .await;
    let view = structured(mcp.status("INV-S1").await, "get_invoice_status", &schemas);
    assert_eq!(
        view["result"],
        "Invoice approved and processed:\n\
         Processed payment for Web Development: $5000.00\n\
         Processed payment for Design Services: $2000.00"
    );
    assert!(view["closed_at"].is_string(), "{view}");
    crate::assert_decision(&view, "approve", None);
    // Visibility knows who decided.
    let listed = await_listed(&mcp, "approved", "INV-S1").await;
    assert_eq!(listed["invoices"][0]["decided_by"], "ana", "{listed}");

    // A second decision is refused, and says which decision stands.
    let again = mcp
        .call("reject_invoice", json!({"invoice_id": "INV-S1"}))
        .await;
    assert!(again.is_error && again.structured.is_none(), "{again:?}");
    assert!(
        again
            .text
            .contains("Invoice INV-S1: the invoice was already approved by ana via rmcp at "),
        "{}",
        again.text
    );

    // The invoice as a resource: details and a short history.
    let templates = harness::bounded(mcp.client().list_all_resource_templates())
        .await
        .expect("resources/templates/list");
    assert_eq!(templates[0].uri_template, "invoice://{invoice_id}");
    let read = harness::bounded(
        mcp.client()
            .read_resource(ReadResourceRequestParams::new("invoice://INV-S1")),
    )
    .await
    .expect("resources/read");
    assert_mcp_valid("ReadResourceResult", &serde_json::to_value(&read).unwrap());
    let ResourceContents::TextResourceContents {
        text, mime_type, ..
    } = &read.contents[0]
    else {
        panic!("text contents expected: {read:?}");
    };
    assert_eq!(mime_type.as_deref(), Some("application/json"));
    let body: Value = serde_json::from_str(text).unwrap();
    assert_eq!(body["invoice"]["state"], "approved");
    let story: Vec<&str> = body["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| line.as_str().unwrap())
        .collect();
    let steps = [
        "Started",
        "Processed payment for Web Development: $5000.00",
        "Processed payment for Design Services: $2000.00",
        "Awaiting approval for 5 days",
        "Approval taken: ana via rmcp",
        "Finished: Invoice approved and processed",
    ];
    assert_eq!(story.len(), steps.len(), "{story:#?}");
    for (line, step) in story.iter().zip(steps) {
        assert!(
            line.ends_with(step) || line.contains(step),
            "{line} / {step}"
        );
    }
    let unknown = harness::bounded(
        mcp.client()
            .read_resource(ReadResourceRequestParams::new("invoice://NOPE-1")),
    )
    .await
    .expect_err("an unknown invoice is not a resource");
    assert!(unknown.to_string().contains("was not found"), "{unknown}");
}

#[tokio::test(flavor = "multi_thread")]
async fn list_invoices_pages_newest_first_on_a_plain_dev_server() {
    // `temporal server start-dev` as the tutorial runs it: no search attributes until the
    // worker and the MCP server register them.
    let server = DevServer::start().await;
    let _worker = WorkerProcess::start(&server);
    let mcp = McpSession::start(&server, &[]).await;
    let schemas = output_schemas(&mcp).await;

    for n in 1..=5 {
        start_and_await_approval(&mcp, &format!("PAGE-{n}")).await;
    }
    await_listed(&mcp, "awaiting_approval", "PAGE-5").await;
    let deadline = Instant::now() + STEP;
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut arguments = json!({"state": "awaiting_approval", "page_size": 2});
        if let Some(cursor) = &cursor {
            arguments["cursor"] = json!(cursor);
        }
        let page = structured(
            mcp.call("list_invoices", arguments).await,
            "list_invoices",
            &schemas,
        );
        pages += 1;
        assert!(page["invoices"].as_array().unwrap().len() <= 2);
        seen.extend(
            page["invoices"]
                .as_array()
                .unwrap()
                .iter()
                .map(|entry| entry["invoice_id"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
        assert!(
            Instant::now() < deadline,
            "pagination never ended: {seen:?}"
        );
    }
    assert_eq!(seen, ["PAGE-5", "PAGE-4", "PAGE-3", "PAGE-2", "PAGE-1"]);
    assert!(pages >= 3, "{pages} pages");

    // Every state: the same five, and nothing approved yet.
    let all = structured(
        mcp.call("list_invoices", json!({})).await,
        "list_invoices",
        &schemas,
    );
    assert_eq!(all["invoices"].as_array().unwrap().len(), 5);
    let approved = mcp
        .call("list_invoices", json!({"state": "approved"}))
        .await;
    assert_eq!(approved.text, "No invoices in state approved.");

    // Bad arguments are tool errors with a reason.
    for (arguments, expected) in [
        (json!({"cursor": "zz"}), "Invalid cursor"),
        (json!({"page_size": 0}), "Invalid page_size 0"),
        (json!({"page_size": 1000}), "Invalid page_size 1000"),
        (json!({"state": "lost"}), "unknown variant `lost`"),
    ] {
        let reply = mcp.call("list_invoices", arguments.clone()).await;
        assert!(reply.is_error, "{arguments}: {reply:?}");
        assert!(reply.text.contains(expected), "{arguments}: {}", reply.text);
    }
}

/// Polls list_invoices until `invoice_id` is listed in `state` (visibility is eventually
/// consistent); answers that page.
async fn await_listed(mcp: &McpSession, state: &str, invoice_id: &str) -> Value {
    let deadline = Instant::now() + STEP;
    loop {
        let reply = mcp.call("list_invoices", json!({"state": state})).await;
        let page = reply.structured.clone().unwrap_or_default();
        let listed = page["invoices"]
            .as_array()
            .is_some_and(|list| list.iter().any(|entry| entry["invoice_id"] == invoice_id));
        if listed {
            return page;
        }
        assert!(
            Instant::now() < deadline,
            "{invoice_id} never listed as {state}: {reply:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// Runs the Temporal CLI against the test's server; answers its output.
fn temporal(server: &DevServer, args: &[&str]) -> String {
    let cli = std::env::var("TEMPORAL_CLI").unwrap_or_else(|_| "temporal".to_owned());
    let output = std::process::Command::new(cli)
        .args(args)
        .args([
            "--address",
            &server.address,
            "--namespace",
            &server.namespace,
        ])
        .output()
        .expect("run the temporal CLI");
    assert!(output.status.success(), "temporal {args:?}: {output:?}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sdks_words_for_a_missing_handler_are_the_ones_recognised() {
    // The one place that reads the SDK's words (`invoices::missing_handler`), pinned against
    // what a real worker of ours answers for a query and an Update it does not have.
    use temporalio_client::{
        UntypedQuery, UntypedUpdate, UntypedWorkflow, WorkflowExecuteUpdateOptions,
        WorkflowQueryOptions,
        errors::{WorkflowQueryError, WorkflowUpdateError},
    };
    use temporalio_common::data_converters::RawValue;
    let server = DevServer::start().await;
    let _worker = WorkerProcess::start(&server);
    let mcp = McpSession::start(&server, &[]).await;
    crate::start_and_await_approval(&mcp, "SDK-1").await;
    let handle = server
        .client()
        .await
        .get_workflow_handle::<UntypedWorkflow>("invoice-SDK-1");
    let query = handle
        .query(
            UntypedQuery::new("no_such_query"),
            RawValue::empty(),
            WorkflowQueryOptions::default(),
        )
        .await
        .expect_err("no such query");
    let update = handle
        .execute_update(
            UntypedUpdate::new("no_such_update"),
            RawValue::empty(),
            WorkflowExecuteUpdateOptions::default(),
        )
        .await
        .expect_err("no such update");
    let query = match query {
        WorkflowQueryError::Rpc(status) => status.message().to_owned(),
        other => panic!("a query without a handler failed otherwise: {other:?}"),
    };
    let update = match update {
        WorkflowUpdateError::Failed(failure) => failure.message.clone(),
        other => panic!("an Update without a handler failed otherwise: {other:?}"),
    };
    for message in [query, update] {
        assert!(
            invoices::missing_handler::is_missing_handler(&message),
            "not recognised: {message}"
        );
    }
}
