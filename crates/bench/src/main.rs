//! `bench`: how fast and how small the invoice system is, side by side with the tutorial's
//! Python implementation (FastMCP + the Python SDK) and with the raw Temporal client, in one run.
//!
//! Each implementation gets its own throwaway `temporal server start-dev` and its own worker.
//! Run with `just bench` (the `dist` build, as packaged). `--smoke` makes a tiny run without Python (for CI);
//! `--out docs/benchmarks.md` writes the report; `--tutorial PATH` points at the tutorial's
//! Markdown, from which the Python code is taken (default: ../shared/reference/).

mod markdown;
mod python;

use futures::{StreamExt, stream};
use harness::{DevServer, McpSession, WorkerProcess, tutorial_invoice};
use serde_json::json;
use std::{
    io::{BufRead, BufReader, Write},
    path::PathBuf,
    process::{Command, Stdio},
    time::{Duration, Instant},
};
use temporalio_client::{
    Client, QueryRejectCondition, WorkflowExecutionStatus, WorkflowHandle, WorkflowQueryOptions,
    WorkflowSignalOptions,
};
use workflows::{Decision, DecisionRequest, InvoiceWorkflow, Signature, names};

/// How many calls of each kind, and how big the batches.
struct Sizes {
    cold_starts: usize,
    calls: usize,
    batches: [usize; 2],
    waiting: usize,
}

const FULL: Sizes = Sizes {
    cold_starts: 30,
    calls: 300,
    batches: [100, 1_000],
    waiting: 1_000,
};
const SMOKE: Sizes = Sizes {
    cold_starts: 3,
    calls: 10,
    batches: [5, 10],
    waiting: 10,
};
/// Tool calls in flight at once during the batches, as several agents would.
const CONCURRENCY: usize = 10;

/// Which implementation is under test.
enum Subject {
    Rust,
    Python(python::Tutorial),
}

impl Subject {
    fn name(&self) -> &'static str {
        match self {
            Subject::Rust => "Rust",
            Subject::Python(_) => "Python",
        }
    }

    fn worker(&self, server: &DevServer) -> WorkerProcess {
        match self {
            Subject::Rust => WorkerProcess::start(server),
            Subject::Python(tutorial) => WorkerProcess::start_command(
                tutorial.worker_command(&server.address),
                &server.dir().join("python-worker.log"),
            ),
        }
    }

    fn mcp_command(&self, address: &str) -> Command {
        match self {
            Subject::Rust => {
                let mut command = Command::new(harness::binary("mcp-server"));
                command
                    .env("TEMPORAL_ADDRESS", address)
                    .env("RUST_LOG", "warn");
                command
            }
            Subject::Python(tutorial) => tutorial.server_command(address),
        }
    }

    async fn mcp(&self, server: &DevServer) -> McpSession {
        let command = tokio::process::Command::from(self.mcp_command(&server.address));
        McpSession::start_command(command, &server.dir().join("mcp.log")).await
    }
}

/// Everything measured for one implementation.
#[derive(Default)]
struct Report {
    cold_start_ms: Option<f64>,
    tools: Vec<(&'static str, Stats)>,
    floor: Vec<(&'static str, Stats)>,
    batches: Vec<Batch>,
    worker_rss_mb: Option<f64>,
    worker_anon_mb: Option<f64>,
    mcp_rss_mb: Option<f64>,
    mcp_anon_mb: Option<f64>,
    recovery_s: Option<f64>,
}

/// One batch: its size, and the seconds each phase took (all invoices through one phase before
/// the next begins).
struct Batch {
    invoices: usize,
    phases: [f64; 4],
}

impl Batch {
    const PHASES: [&str; 4] = [
        "`process_invoice` calls",
        "until all await approval",
        "`approve_invoice` calls",
        "until all complete",
    ];

    fn total(&self) -> f64 {
        self.phases.iter().sum()
    }
}

#[derive(Clone, Copy)]
struct Stats {
    calls: usize,
    p50: f64,
    p95: f64,
    p99: f64,
}

impl Stats {
    /// Percentiles (nearest rank) in milliseconds.
    fn of(mut samples: Vec<Duration>) -> Stats {
        samples.sort();
        let at = |p: f64| {
            let rank = ((p * samples.len() as f64).ceil() as usize).clamp(1, samples.len());
            samples[rank - 1].as_secs_f64() * 1e3
        };
        Stats {
            calls: samples.len(),
            p50: at(0.50),
            p95: at(0.95),
            p99: at(0.99),
        }
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let smoke = args.iter().any(|a| a == "--smoke");
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .map(PathBuf::from)
    };
    let sizes = if smoke { &SMOKE } else { &FULL };
    let work = harness::binary("mcp-server")
        .parent()
        .expect("target dir")
        .join("bench-work");
    std::fs::create_dir_all(&work)?;

    let mut subjects = vec![Subject::Rust];
    if !smoke {
        let tutorial = value("--tutorial").unwrap_or_else(python::default_tutorial_path);
        match python::Tutorial::prepare(&tutorial, &work) {
            Ok(tutorial) => subjects.push(Subject::Python(tutorial)),
            Err(error) => eprintln!("bench: skipping the Python comparison: {error:#}"),
        }
    }

    let mut reports = Vec::new();
    for subject in &subjects {
        eprintln!("bench: measuring {}", subject.name());
        reports.push(measure(subject, sizes).await?);
    }
    let text = markdown::render(&subjects, &reports, sizes, smoke);
    println!("{text}");
    if let Some(out) = value("--out") {
        std::fs::write(&out, &text)?;
        eprintln!("bench: wrote {}", out.display());
    }
    Ok(())
}

async fn measure(subject: &Subject, sizes: &Sizes) -> anyhow::Result<Report> {
    let mut report = Report::default();
    let server = DevServer::start_own().await;
    let client = server.client().await;

    // Cold start: process spawn to a completed `initialize` response. Temporal is not touched.
    let mut starts = Vec::new();
    for _ in 0..sizes.cold_starts {
        starts.push(cold_start(subject.mcp_command(&server.address))?);
    }
    report.cold_start_ms = Some(Stats::of(starts).p50);

    let mut worker = subject.worker(&server);
    let mcp = subject.mcp(&server).await;

    // Tool latencies, one call at a time.
    let ids: Vec<String> = (0..sizes.calls).map(|n| format!("LAT-{n}")).collect();
    let mut samples = Vec::new();
    for id in &ids {
        let arguments = json!({"invoice_data": tutorial_invoice(id)});
        samples.push(timed(&mcp, "process_invoice", arguments).await);
    }
    report.tools.push(("process_invoice", Stats::of(samples)));
    for id in &ids {
        await_waiting(&client, id).await;
    }
    let probe = &ids[0];
    let mut samples = Vec::new();
    for _ in 0..sizes.calls {
        samples.push(timed(&mcp, "get_invoice_status", json!({"invoice_id": probe})).await);
    }
    report
        .tools
        .push(("get_invoice_status", Stats::of(samples)));
    // The floor: the same query, signal and Update from an already-connected Rust client.
    // The query's first, while the probe awaits approval.
    let rust = matches!(subject, Subject::Rust);
    if rust {
        report.floor.push((
            "raw query get_details",
            raw_queries(&client, probe, sizes.calls).await,
        ));
    }
    // Decisions alternate with the floor's, invoice by invoice, so that both meet invoices of
    // the same age: cached in the worker, or evicted and replayed first.
    let (approve, reject) = ids.split_at(ids.len() / 2);
    let mut raw_signals = Vec::new();
    let mut raw_updates = Vec::new();
    for (tool, batch) in [("approve_invoice", approve), ("reject_invoice", reject)] {
        let mut samples = Vec::new();
        for pair in batch.chunks(2) {
            samples.push(timed(&mcp, tool, json!({"invoice_id": pair[0]})).await);
            let Some(other) = pair.get(1).filter(|_| rust) else {
                continue;
            };
            let handle = client.get_workflow_handle::<InvoiceWorkflow>(names::workflow_id(other));
            match tool {
                "approve_invoice" => raw_updates.push(raw_update(&handle).await),
                _ => raw_signals.push(raw_signal(&handle).await),
            }
        }
        report.tools.push((tool, Stats::of(samples)));
    }
    if rust {
        report
            .floor
            .push(("raw signal approve_invoice", Stats::of(raw_signals)));
        report
            .floor
            .push(("raw Update decide", Stats::of(raw_updates)));
    }

    // Throughput: invoices started, approved and completed, CONCURRENCY calls at a time.
    for (round, &count) in sizes.batches.iter().enumerate() {
        if count == sizes.waiting {
            // The memory figure is of a worker whose life is these invoices, not everything
            // the run did before (every earlier invoice has completed by now).
            worker.terminate();
            worker = subject.worker(&server);
        }
        let ids: Vec<String> = (0..count).map(|n| format!("B{round}-{n}")).collect();
        let mut phases = [0.0; 4];
        let mut phase = Instant::now();
        let mut lap = |index: usize| {
            phases[index] = phase.elapsed().as_secs_f64();
            phase = Instant::now();
        };
        each(&ids, |id| {
            let mcp = &mcp;
            async move {
                mcp.call(
                    "process_invoice",
                    json!({"invoice_data": tutorial_invoice(&id)}),
                )
                .await
                .ok();
            }
        })
        .await;
        lap(0);
        each(&ids, |id| {
            let client = &client;
            async move { await_waiting(client, &id).await }
        })
        .await;
        lap(1);
        if count == sizes.waiting {
            report.worker_rss_mb = Some(worker.rss_kib() as f64 / 1024.0);
            report.worker_anon_mb = Some(worker.anonymous_rss_kib() as f64 / 1024.0);
        }
        each(&ids, |id| {
            let mcp = &mcp;
            async move {
                mcp.call("approve_invoice", json!({"invoice_id": id}))
                    .await
                    .ok();
            }
        })
        .await;
        lap(2);
        each(&ids, |id| {
            let client = &client;
            async move { await_completed(client, &id).await }
        })
        .await;
        lap(3);
        report.batches.push(Batch {
            invoices: count,
            phases,
        });
    }
    report.mcp_rss_mb = Some(mcp.rss_kib() as f64 / 1024.0);
    report.mcp_anon_mb = Some(mcp.anonymous_rss_kib() as f64 / 1024.0);

    // Recovery: a worker killed while an invoice awaits approval; a new worker starts and the
    // invoice is approved; how long until it completes.
    let id = "RECOVER-1";
    mcp.call(
        "process_invoice",
        json!({"invoice_data": tutorial_invoice(id)}),
    )
    .await
    .ok();
    await_waiting(&client, id).await;
    let crashed = Instant::now();
    worker.kill();
    worker = subject.worker(&server);
    mcp.call("approve_invoice", json!({"invoice_id": id}))
        .await
        .ok();
    await_completed(&client, id).await;
    report.recovery_s = Some(crashed.elapsed().as_secs_f64());
    drop(worker);
    Ok(report)
}

/// Spawns the MCP server, sends `initialize`, and times the first answer.
fn cold_start(mut command: Command) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let mut stdin = child.stdin.take().expect("stdin");
    writeln!(
        stdin,
        r#"{{"jsonrpc":"2.0","id":1,"method":"initialize","params":{{"protocolVersion":"2025-06-18","capabilities":{{}},"clientInfo":{{"name":"bench","version":"0"}}}}}}"#
    )?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line)?;
    let elapsed = started.elapsed();
    anyhow::ensure!(line.contains("\"result\""), "no initialize result: {line}");
    let _ = child.kill();
    let _ = child.wait();
    Ok(elapsed)
}

async fn timed(mcp: &McpSession, tool: &str, arguments: serde_json::Value) -> Duration {
    let started = Instant::now();
    let reply = mcp.call(tool, arguments).await;
    let elapsed = started.elapsed();
    assert!(!reply.is_error, "{tool}: {}", reply.text);
    elapsed
}

/// `calls` times the query the status tool sends, on an invoice awaiting approval.
async fn raw_queries(client: &Client, id: &str, calls: usize) -> Stats {
    let handle = client.get_workflow_handle::<InvoiceWorkflow>(names::workflow_id(id));
    let mut queries = Vec::new();
    for _ in 0..calls {
        let started = Instant::now();
        handle
            .query(
                InvoiceWorkflow::get_details,
                (),
                // The query the tool sends: refused at once by a closed workflow instead of
                // replayed on a worker (this costs the server about a millisecond more).
                WorkflowQueryOptions::builder()
                    .reject_condition(QueryRejectCondition::NotOpen)
                    .build(),
            )
            .await
            .expect("query");
        queries.push(started.elapsed());
    }
    Stats::of(queries)
}

/// The tutorial's bare approval signal.
async fn raw_signal(handle: &WorkflowHandle<Client, InvoiceWorkflow>) -> Duration {
    let started = Instant::now();
    handle
        .signal(
            InvoiceWorkflow::approve_invoice,
            (),
            WorkflowSignalOptions::default(),
        )
        .await
        .expect("signal");
    started.elapsed()
}

/// The decide Update the tools send, answered once the workflow has acted.
async fn raw_update(handle: &WorkflowHandle<Client, InvoiceWorkflow>) -> Duration {
    let request = DecisionRequest {
        decision: Decision::Approve,
        signature: Signature {
            by: "bench".to_owned(),
            reason: None,
            via: "bench".to_owned(),
        },
    };
    let started = Instant::now();
    handle
        .execute_update(InvoiceWorkflow::decide, request, Default::default())
        .await
        .expect("update");
    started.elapsed()
}

/// Runs `work` for every id, CONCURRENCY at a time.
async fn each<F, Fut>(ids: &[String], work: F)
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = ()>,
{
    stream::iter(ids.iter().cloned().map(work))
        .buffer_unordered(CONCURRENCY)
        .collect::<Vec<()>>()
        .await;
}

/// Polls the workflow's own `get_status` query (same name in both implementations).
async fn await_waiting(client: &Client, id: &str) {
    let handle = client.get_workflow_handle::<InvoiceWorkflow>(names::workflow_id(id));
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let status = handle
            .query(
                InvoiceWorkflow::get_status,
                (),
                // The query the tool sends: refused at once by a closed workflow instead of
                // replayed on a worker (this costs the server about a millisecond more).
                WorkflowQueryOptions::builder()
                    .reject_condition(QueryRejectCondition::NotOpen)
                    .build(),
            )
            .await;
        if status.is_ok_and(|s| s == "Awaiting approval") {
            return;
        }
        assert!(Instant::now() < deadline, "{id} never awaited approval");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn await_completed(client: &Client, id: &str) {
    let handle = client.get_workflow_handle::<InvoiceWorkflow>(names::workflow_id(id));
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let described = handle.describe(Default::default()).await;
        if described.is_ok_and(|d| d.status() == WorkflowExecutionStatus::Completed) {
            return;
        }
        assert!(Instant::now() < deadline, "{id} never completed");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
