//! `mcp-server`: the invoice tools over MCP on stdio, for Claude Desktop or any MCP client.
//!
//! stdout carries MCP messages and nothing else; logs go to stderr (`RUST_LOG`, default
//! `info`). Temporal is reached through its envconfig (`TEMPORAL_ADDRESS`, ...), lazily, on the
//! first tool call, so the server is ready in milliseconds even when Temporal is down.
//! `INVOICE_APPROVAL_TIMEOUT` (`30s`, `2m`, `5d`; default five days) bounds each approval wait;
//! `INVOICE_APPROVER` (default: the operating-system user) is who decisions are recorded as;
//! `PAYMENT_RETRY_LIMIT` (default `1h`) is how long a failing charge or refund is retried.
//! Exits 0 when the client closes stdin.

mod answer;
mod config;
mod stdio;
mod tools;

use rmcp::ServiceExt;
use std::process::ExitCode;

// One thread is plenty for one client on stdio, and it keeps wake-ups and memory small.
#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();

    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
    let config = config::Config::from_env().map_err(anyhow::Error::msg)?;
    let settings = connection::Settings::load("mcp-server")?;
    tracing::info!(
        "invoice MCP server ready: Temporal {} (namespace {}), approval timeout {}, decisions recorded as {} ({:?} mode)",
        settings.address(),
        settings.namespace(),
        workflows::duration::describe(config.approval_timeout),
        config.approver,
        config.decisions
    );
    let invoices = invoices::Invoices::new(
        settings,
        invoices::StartPolicy {
            approval_timeout: config.approval_timeout,
            payment_retry_limit: config.payment_retry_limit,
            submitted_by: Some(config.approver.clone()),
            separation_of_duties: config.separation_of_duties,
        },
    );
    let stdio = stdio::guarded();
    let service = tools::InvoiceTools::new(invoices, &config)
        .serve((stdio.input, stdio.output))
        .await?;
    let reason = service.waiting().await?;
    // The last answers are on their way to stdout: let them out before the process ends.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), stdio.writer).await;
    tracing::info!(?reason, "client closed the session; exiting");
    Ok(())
}
