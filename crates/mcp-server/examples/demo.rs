//! A scripted session through a real MCP client, for trying the server without Claude Desktop:
//! process the tutorial's invoice, check its status (and its structured form), list what
//! awaits approval, approve it, check again.
//!
//! Needs Temporal and a worker running (`scripts/up`). Run with `just demo`, or
//! `cargo run --profile quick -p mcp-server --example demo [path/to/mcp-server]`.

use rmcp::{
    ServiceExt,
    model::{CallToolRequestParams, ClientCapabilities, ClientConfig, Implementation},
    service::RunningService,
    transport::{ConfigureCommandExt, TokioChildProcess},
};
use serde_json::{Value, json};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

type Session = RunningService<rmcp::RoleClient, ClientConfig>;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let server = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "target/quick/mcp-server".to_owned());
    let command = tokio::process::Command::new(&server).configure(|cmd| {
        cmd.env("RUST_LOG", "warn");
    });
    // The server records this name as the channel a decision came through.
    let client = ClientConfig::new(
        ClientCapabilities::default(),
        Implementation::new("invoice-demo", env!("CARGO_PKG_VERSION")),
    );
    let session = client.serve(TokioChildProcess::new(command)?).await?;
    let info = session.peer_info().and_then(|p| p.server_info.clone());
    println!(
        "Connected to {} over stdio ({} tools)\n",
        info.map(|i| format!("{} {}", i.name, i.version))
            .unwrap_or_default(),
        session.list_all_tools().await?.len()
    );

    // A fresh id each run: invoice ids are never reused.
    let millis = SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis();
    let id = format!("DEMO-{millis}");
    let invoice = json!({
        "id": id,
        "lines": [
            {"item": "Web Development", "amount": 5000.00, "description": "Frontend work"},
            {"item": "Design Services", "amount": 2000.00, "description": "UI/UX design"}
        ]
    });

    call(
        &session,
        "process_invoice",
        json!({ "invoice_data": invoice }),
    )
    .await?;
    let waiting = wait_for(&session, &id, "Awaiting approval").await?;
    println!(
        "   structuredContent of that answer:\n{}\n",
        serde_json::to_string_pretty(&waiting)?
    );
    call(
        &session,
        "list_invoices",
        json!({ "state": "awaiting_approval", "page_size": 5 }),
    )
    .await?;
    let approved = call(
        &session,
        "approve_invoice",
        json!({ "invoice_id": id, "reason": "matches the purchase order" }),
    )
    .await?;
    println!(
        "   its decision:\n{}\n",
        serde_json::to_string_pretty(&approved["decision"])?
    );
    wait_for(&session, &id, "Approved and finalized").await?;
    println!("Done. See the workflow invoice-{id} at http://localhost:8233");
    session.cancel().await?;
    Ok(())
}

/// Calls a tool, printing the request and the answer's text; answers its structured content.
async fn call(session: &Session, tool: &str, arguments: Value) -> anyhow::Result<Value> {
    println!("-> {tool} {arguments}");
    let result = session
        .call_tool(
            CallToolRequestParams::new(tool.to_owned())
                .with_arguments(arguments.as_object().cloned().unwrap_or_default()),
        )
        .await?;
    // The first block is the sentence; the structured content follows as JSON.
    let text = result
        .content
        .first()
        .and_then(|c| c.as_text())
        .map(|t| t.text.clone())
        .unwrap_or_default();
    let error = if result.is_error == Some(true) {
        " (error)"
    } else {
        ""
    };
    println!("<- {text}{error}\n");
    if result.is_error == Some(true) {
        anyhow::bail!("{tool} failed: {text}");
    }
    Ok(result.structured_content.unwrap_or_default())
}

/// Asks for the status until it is `expected` (the first payments take a moment); answers
/// the last structured answer.
async fn wait_for(session: &Session, id: &str, expected: &str) -> anyhow::Result<Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let status = call(session, "get_invoice_status", json!({ "invoice_id": id })).await?;
        if status["status"] == expected {
            return Ok(status);
        }
        if Instant::now() > deadline {
            anyhow::bail!("invoice {id} did not reach {expected:?}: is the worker running?");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
