//! The invoice worker: runs `InvoiceWorkflow` and the payment activities on
//! `invoice-task-queue` until Ctrl-C or SIGTERM. Start as many as you like; Temporal shares the
//! work between them, and an invoice whose worker dies continues on another.
//!
//! Settings are flags and environment variables (`worker --help`, and [`cli`]). Payments: the
//! simulated gateway books them in a SQLite ledger, optionally slowly or failing on purpose.
//! Every decision and movement of money is an audit line in the log; with `--metrics-addr`,
//! Prometheus metrics are served too. Ctrl-C and SIGTERM are honoured at every moment,
//! start-up included.

mod audit;
mod cli;
mod metrics;

use activities::{Faults, Payments, SimulatedGateway};
use anyhow::Context;
use audit::AuditTrail;
use clap::Parser;
use connection::Settings;
use metrics::InvoiceMetrics;
use std::{sync::Arc, time::Duration};
use temporalio_common::telemetry::TelemetryOptions;
use temporalio_sdk::{Runtime, Worker, WorkerOptions, runtime::RuntimeOptions};
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
/// How long registering the search attributes may take before the worker starts without
/// them. Generous: a loaded dev server can take seconds, and invoice workflow tasks fail until
/// they exist. A stop request is honoured meanwhile all the same.
const SEARCH_ATTRIBUTES_LIMIT: Duration = Duration::from_secs(60);
/// How long one connection attempt may take while waiting for Temporal to come up.
const CONNECT_ATTEMPT_LIMIT: Duration = Duration::from_secs(5);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Before anything else: `--help`, `--version` and a bad flag end here (exit 0 or 2).
    let cli = cli::Cli::parse();
    logs::init(&cli.logs);
    // First of all, so that no moment of the start-up misses a Ctrl-C or SIGTERM.
    let stop = shutdown::StopSignal::install();

    let faults = Faults {
        decline: faults(&cli.payment_gateway_decline),
        unavailable: faults(&cli.payment_gateway_unavailable),
        refund_decline: faults(&cli.payment_gateway_refund_decline),
    };
    if faults != Faults::default() {
        warn!("The simulated gateway fails on purpose: {faults:?}");
    }
    let ledger = &cli.payment_ledger;
    let gateway = SimulatedGateway::open(ledger, cli.payment_gateway_latency)
        .with_context(|| format!("opening the payment ledger {}", ledger.display()))?
        .with_faults(faults);

    let settings = Settings::load("worker", &cli.temporal)?;
    // Bound before connecting, so that a port in use is reported at once.
    let metrics = cli.metrics_addr().map(metrics::serve).transpose()?;

    let client = tokio::select! {
        client = connect_until_reachable(&settings) => client,
        () = stop.requested() => return Ok(()),
    };

    // The workflow publishes its state as search attributes; a namespace without them would
    // fail every invoice's workflow task, so add them now rather than find out later.
    let registered = tokio::select! {
        registered = tokio::time::timeout(
            SEARCH_ATTRIBUTES_LIMIT,
            connection::ensure_search_attributes(&client, &SEARCH_ATTRIBUTES),
        ) => registered,
        () = stop.requested() => return Ok(()),
    };
    let missing = "Invoice workflow tasks fail until InvoiceState, InvoiceApprovalDeadline and InvoiceDecidedBy exist; see the README, Troubleshooting";
    match registered {
        Ok(Ok(added)) if added.is_empty() => {}
        Ok(Ok(added)) => info!("Registered the search attributes {added:?}"),
        Ok(Err(error)) => warn!("{error}. {missing}"),
        Err(_) => warn!(
            "Temporal did not register the search attributes within {SEARCH_ATTRIBUTES_LIMIT:?}. {missing}"
        ),
    }

    // The SDK's worker metrics and the invoices' own share one registry and one endpoint.
    let mut telemetry = TelemetryOptions::builder().build();
    let invoice_metrics = metrics.as_ref().map(|endpoint| {
        telemetry.metrics = Some(endpoint.meter.clone());
        let invoice_metrics = Arc::new(InvoiceMetrics::new(endpoint.meter.clone()));
        tokio::spawn(Arc::clone(&invoice_metrics).count_awaiting(client.clone()));
        invoice_metrics
    });
    let audit = Arc::new(AuditTrail::new(settings.identity(), invoice_metrics));
    let runtime_options = RuntimeOptions::builder()
        .telemetry_options(telemetry)
        .build()
        .map_err(|e| anyhow::anyhow!("invalid runtime options: {e}"))?;
    let runtime = Runtime::from_current_tokio(runtime_options)
        .map_err(|e| anyhow::anyhow!("cannot start the Temporal runtime: {e}"))?;
    let observer = Arc::clone(&audit);
    let options = WorkerOptions::new(TASK_QUEUE)
        .register_workflow_with_factory::<InvoiceWorkflow, _>(move || {
            InvoiceWorkflow::observed_by(observer.clone())
        })
        .context("registering InvoiceWorkflow")?
        .register_activities(Payments::new(Arc::new(gateway)).observed_by(audit))
        .sticky_queue_schedule_to_start_timeout(STICKY_QUEUE_TIMEOUT)
        .max_cached_workflows(CACHED_WORKFLOWS)
        .build();
    let mut worker = Worker::new(&runtime, client, options)
        .map_err(|e| anyhow::anyhow!("cannot create the worker: {e}"))?;

    let shutdown = worker.shutdown_handle();
    tokio::spawn(async move {
        stop.requested().await;
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
    if let Some(endpoint) = &metrics {
        info!("Metrics at http://{}/metrics", endpoint.addr);
    }
    worker
        .run()
        .await
        .context("the worker stopped with an error")?;
    info!("Worker stopped");
    Ok(())
}

/// The item names of a comma-separated list flag.
fn faults(list: &Option<String>) -> std::collections::HashSet<String> {
    Faults::items(list.as_deref().unwrap_or_default())
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
