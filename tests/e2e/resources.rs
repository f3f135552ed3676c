//! Resource bounds: the mcp-server's memory stays flat over many tool calls.

use crate::start_and_await_approval;
use harness::{DevServer, McpSession, WorkerProcess};
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn mcp_server_memory_stays_flat_over_ten_thousand_calls() {
    let server = DevServer::start().await;
    let _worker = WorkerProcess::start(&server);
    let mcp = McpSession::start(&server, &[]).await;
    start_and_await_approval(&mcp, "MEM-1").await;

    for _ in 0..100 {
        ten_calls(&mcp).await;
    }
    let warm = mcp.rss_kib();
    for _ in 0..900 {
        ten_calls(&mcp).await;
    }
    let after = mcp.rss_kib();
    eprintln!("mcp-server RSS: {warm} KiB after 1,000 calls, {after} KiB after 10,000");
    assert!(
        after <= warm + 4 * 1024,
        "RSS grew from {warm} KiB to {after} KiB over 9,000 calls"
    );
}

/// A mix of the calls an agent makes: a live status (a query), an unknown id, a refused
/// invoice. Ten at a time, as a busy client would.
async fn ten_calls(mcp: &McpSession) {
    let calls = (0..10).map(|n| async move {
        match n % 3 {
            0 => mcp.status("MEM-1").await.ok(),
            1 => mcp.status("MEM-404").await.err(),
            _ => mcp
                .call(
                    "process_invoice",
                    json!({"invoice_data": {"id": "MEM-2", "lines": []}}),
                )
                .await
                .err(),
        }
    });
    futures::future::join_all(calls).await;
}
