//! The invoice worker: runs `InvoiceWorkflow` and the payment activities on
//! `invoice-task-queue` until Ctrl-C or SIGTERM. Start as many as you like; Temporal shares the
//! work between them, and an invoice whose worker dies continues on another.
//!
//! Connection settings: Temporal's envconfig (`TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`, ...).
//! Payments: the simulated gateway books them in the SQLite ledger `PAYMENT_LEDGER` (default
//! `.data/payments.db`; workers may share it), after `PAYMENT_GATEWAY_LATENCY` (default `0s`).
//! Logs: stderr, filtered by `RUST_LOG` (default `info`).

use activities::{Payments, SimulatedGateway};
use anyhow::Context;
use connection::Settings;
use std::{io::IsTerminal, path::PathBuf, sync::Arc, time::Duration};
use temporalio_sdk::{Runtime, Worker, WorkerOptions};
use tracing::{info, warn};
use workflows::{
    InvoiceWorkflow,
    names::{SEARCH_ATTRIBUTES, TASK_QUEUE},
};

/// How long a workflow task waits for the worker that last ran it before any worker may take
/// it. The SDK's default (10 s) is what a crashed worker costs before another one resumes.
const STICKY_QUEUE_TIMEOUT: Duration = Duration::from_secs(1);
/// Workflows kept in memory between their tasks. An invoice awaiting approval for days needs
/// none: one evicted from the cache is replayed from its history when its decision arrives.
/// The SDK's default (1,000) holds every waiting invoice of a busy day in memory.
const CACHED_WORKFLOWS: usize = 100;
/// How long a graceful stop may take before the worker exits regardless.
const SHUTDOWN_LIMIT: Duration = Duration::from_secs(10);
/// How long one connection attempt may take while waiting for Temporal to come up.
const CONNECT_ATTEMPT_LIMIT: Duration = Duration::from_secs(5);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();

    let ledger = std::env::var_os("PAYMENT_LEDGER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(".data/payments.db"));
    let latency = match std::env::var("PAYMENT_GATEWAY_LATENCY") {
        Ok(text) if !text.trim().is_empty() => humantime::parse_duration(text.trim())
            .with_context(|| format!("PAYMENT_GATEWAY_LATENCY={text:?} is not a duration"))?,
        _ => Duration::ZERO,
    };
    let gateway = SimulatedGateway::open(&ledger, latency)
        .with_context(|| format!("opening the payment ledger {}", ledger.display()))?;

    let settings = Settings::load("worker")?;
    let client = tokio::select! {
        client = connect_until_reachable(&settings) => client,
        () = stop_requested() => return Ok(()),
    };

    // The workflow publishes its state as search attributes; a namespace without them would
    // fail every invoice's workflow task, so add them now rather than find out later.
    match connection::ensure_search_attributes(&client, &SEARCH_ATTRIBUTES).await {
        Ok(added) if added.is_empty() => {}
        Ok(added) => info!("Registered the search attributes {added:?}"),
        Err(error) => warn!(
            "{error}. Invoice workflow tasks fail until InvoiceState, InvoiceApprovalDeadline and InvoiceDecidedBy exist; see the README, Troubleshooting"
        ),
    }

    let runtime = Runtime::from_current_tokio(Default::default())
        .map_err(|e| anyhow::anyhow!("cannot start the Temporal runtime: {e}"))?;
    let options = WorkerOptions::new(TASK_QUEUE)
        .register_workflow::<InvoiceWorkflow>()
        .context("registering InvoiceWorkflow")?
        .register_activities(Payments::new(Arc::new(gateway)))
        .sticky_queue_schedule_to_start_timeout(STICKY_QUEUE_TIMEOUT)
        .max_cached_workflows(CACHED_WORKFLOWS)
        .build();
    let mut worker = Worker::new(&runtime, client, options)
        .map_err(|e| anyhow::anyhow!("cannot create the worker: {e}"))?;

    let shutdown = worker.shutdown_handle();
    tokio::spawn(async move {
        stop_requested().await;
        info!("Stopping: finishing the tasks in hand");
        shutdown();
        // A graceful stop needs the server; if it is gone too, do not hang. Unfinished tasks
        // are safe: Temporal hands them to the next worker.
        tokio::time::sleep(SHUTDOWN_LIMIT).await;
        warn!("Not stopped after {SHUTDOWN_LIMIT:?} (is Temporal down?); exiting anyway");
        std::process::exit(1);
    });

    info!(
        "Worker started. Listening for invoice workflows on {TASK_QUEUE} at {} (namespace {}); payments booked in {}",
        settings.address(),
        settings.namespace(),
        ledger.display()
    );
    worker
        .run()
        .await
        .context("the worker stopped with an error")?;
    info!("Worker stopped");
    Ok(())
}

/// Connects, retrying every few seconds while Temporal is not up yet, so that the worker can be
/// started before the server.
async fn connect_until_reachable(settings: &Settings) -> temporalio_client::Client {
    loop {
        match settings.connect(CONNECT_ATTEMPT_LIMIT).await {
            Ok(client) => return client,
            Err(error) => {
                warn!("{error}; retrying in 2 s");
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM.
async fn stop_requested() {
    #[cfg(unix)]
    {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .expect("installing the SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
