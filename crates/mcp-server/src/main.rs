//! `mcp-server`: the invoice tools over MCP on stdio, for Claude Desktop or any MCP client.
//!
//! stdout carries MCP messages and nothing else; logs go to stderr. Settings are flags and
//! environment variables (`mcp-server --help`, and [`config`]). Temporal is reached lazily, on
//! the first tool call, so the server is ready in milliseconds even when Temporal is down.
//! Exits 0 when the client closes stdin.
//!
//! - [`server`]: the server's state; [`handler`] assembles it and serves MCP;
//! - [`tools`]: one file per tool; [`resources`], [`prompts`], [`tasks`]: the rest of MCP;
//! - [`decisions`]: taking a decision; [`person`]: the person's form (elicitation);
//! - [`watch`]: following invoices for subscribers; [`answer`]: a tool's answer;
//! - [`config`]: the command line; [`stdio`]: stdout kept for the protocol.

mod answer;
mod config;
mod decisions;
mod handler;
mod person;
mod prompts;
mod resources;
mod server;
mod stdio;
mod tasks;
mod tools;
mod watch;

use clap::Parser;
use rmcp::ServiceExt;
use std::process::ExitCode;

// One thread is plenty for one client on stdio, and it keeps wake-ups and memory small.
#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    // Before anything else: `--help`, `--version` and a bad flag end here (exit 0 or 2).
    let cli = config::Cli::parse();
    logs::init(&cli.logs);

    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: config::Cli) -> anyhow::Result<()> {
    let config = cli.config();
    let settings = connection::Settings::load("mcp-server", &cli.temporal)?;
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
            refund_retry_cap: config.refund_retry_cap,
            submitted_by: Some(config.approver.clone()),
            separation_of_duties: config.separation_of_duties,
        },
    );
    let stdio = stdio::guarded();
    let service = server::InvoiceServer::new(invoices, &config)
        .serve((stdio.input, stdio.output))
        .await?;
    let reason = service.waiting().await?;
    // The last answers are on their way to stdout: let them out before the process ends.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), stdio.writer).await;
    tracing::info!(?reason, "client closed the session; exiting");
    Ok(())
}
