//! Crashes and outages: the worker killed mid-wait, no worker at all, Temporal stopped, and the
//! processes' own clean exits.

use crate::{STEP, start_and_await_approval};
use harness::{DevServer, History, McpSession, WorkerProcess, binary};
use serde_json::json;
use std::{
    collections::HashMap,
    io::{BufRead, BufReader, Write},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

#[tokio::test(flavor = "multi_thread")]
async fn a_worker_killed_while_awaiting_approval_loses_nothing() {
    let server = DevServer::start().await;
    let first = WorkerProcess::start(&server);
    let mcp = McpSession::start(&server, &[]).await;
    start_and_await_approval(&mcp, "INV-010").await;

    first.kill();
    // No worker: the status cannot be queried, and the answer says why (how promptly is the
    // benchmark's to measure).
    let no_worker = mcp.status("INV-010").await.err();
    assert!(
        no_worker.contains("no worker is serving invoice-task-queue"),
        "{no_worker}"
    );
    // A decision is still accepted: Temporal keeps it until a worker runs the workflow.
    let reply = mcp
        .call("approve_invoice", json!({"invoice_id": "INV-010"}))
        .await;
    assert_eq!(
        reply.ok(),
        "Sent approval signal for invoice INV-010. No worker is running: the decision is kept, and applied when a worker returns unless the invoice refuses it then (decided before, deadline passed, or separation of duties); get_invoice_status tells which (status: Awaiting approval)."
    );

    let second = WorkerProcess::start(&server);
    mcp.await_status("INV-010", "Approved and finalized", STEP)
        .await;
    let history = History::of(&server.client().await, "invoice-INV-010").await;
    assert_eq!(
        history.completed_activities(),
        HashMap::from([("process_payment".to_owned(), 2)]),
        "each line charged exactly once"
    );
    server.books().assert_invoice("INV-010", 2, false);

    // A finished invoice's status needs no worker: it comes from the recorded outcome.
    second.kill();
    let status = mcp.status("INV-010").await.ok();
    assert_eq!(status, "Invoice INV-010 status: Approved and finalized");
}

#[tokio::test(flavor = "multi_thread")]
async fn temporal_stopped_gives_prompt_errors_and_work_resumes_when_it_returns() {
    // Stopped and restarted: a server of its own.
    let mut server = DevServer::start_own().await;
    let _worker = WorkerProcess::start(&server);
    let mcp = McpSession::start(&server, &[]).await;
    let expiring = McpSession::start(&server, &[("INVOICE_APPROVAL_TIMEOUT", "8s")]).await;
    start_and_await_approval(&mcp, "INV-020").await;
    start_and_await_approval(&expiring, "INV-022").await;

    server.stop();
    let calls = [
        ("get_invoice_status", json!({"invoice_id": "INV-020"})),
        ("approve_invoice", json!({"invoice_id": "INV-020"})),
        (
            "process_invoice",
            json!({"invoice_data": harness::tutorial_invoice("INV-021")}),
        ),
    ];
    for (tool, arguments) in calls {
        let error = mcp.call(tool, arguments).await.err();
        assert!(error.contains("Temporal"), "{tool}: {error}");
    }

    // Same db file, same mcp-server process, same worker: the invoice is still waiting, and
    // the other one's deadline, which passed while the server was down, still fires.
    server.restart().await;
    // restart() returns once the server answers for workflows; the first answer also waits
    // for the worker and mcp-server to reconnect, which on a loaded machine took over 30 s
    // once (before restart() waited for the history shards), so it gets twice the bound.
    mcp.await_status("INV-020", "Awaiting approval", 2 * STEP)
        .await;
    mcp.call("approve_invoice", json!({"invoice_id": "INV-020"}))
        .await
        .ok();
    mcp.await_status("INV-020", "Approved and finalized", STEP)
        .await;
    mcp.await_status("INV-022", "Approval timeout - invoice rejected", STEP)
        .await;
    let books = server.books();
    books.assert_invoice("INV-020", 2, false);
    books.assert_invoice("INV-022", 2, true);
    assert!(
        books.lines("INV-021", "charge").is_empty(),
        "nothing started while down"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_mcp_server_started_without_temporal_answers_with_an_error() {
    let server = DevServer::start().await;
    let dead_address = format!("127.0.0.1:{}", {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    });
    let mcp = McpSession::start_at(&dead_address, server.dir(), &[]).await;
    let error = mcp.status("INV-030").await.err();
    assert!(
        error.contains("Temporal is not reachable") || error.contains("did not answer"),
        "{error}"
    );
    // The server keeps serving.
    assert_eq!(mcp.tools().await.len(), 5);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_worker_stops_cleanly_on_sigterm() {
    let server = DevServer::start().await;
    let worker = WorkerProcess::start(&server);
    // Once it is running, with its pollers going.
    let log = server.dir().join("worker.log");
    let deadline = Instant::now() + STEP;
    while !std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("Worker started")
    {
        assert!(Instant::now() < deadline, "the worker never started");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let status = worker.terminate();
    assert!(status.success(), "worker exited with {status}");
}

#[test]
fn the_worker_honours_sigterm_and_ctrl_c_while_temporal_does_not_answer() {
    // A server that takes connections and never says a word: the worker is stuck in its
    // start-up, the moment a stop request used to be lost.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let address = silent.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().expect("a temp dir");
    for signal in [libc::SIGTERM, libc::SIGINT] {
        let mut command = Command::new(binary("worker"));
        command
            .env("TEMPORAL_ADDRESS", &address)
            .env("PAYMENT_LEDGER", dir.path().join("payments.db"));
        let mut worker = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the worker");
        // Once it has connected, and hears nothing back.
        silent
            .set_nonblocking(true)
            .expect("a non-blocking listener");
        let deadline = Instant::now() + STEP;
        let _connection = loop {
            match silent.accept() {
                Ok((connection, _)) => break connection,
                Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {
                    assert!(Instant::now() < deadline, "the worker never connected");
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(error) => panic!("accepting the worker's connection: {error}"),
            }
        };
        assert!(
            worker.try_wait().unwrap().is_none(),
            "the worker gave up by itself"
        );
        let asked = Instant::now();
        unsafe { libc::kill(worker.id() as i32, signal) };
        let status = loop {
            if let Some(status) = worker.try_wait().unwrap() {
                break status;
            }
            if asked.elapsed() > STEP {
                let _ = worker.kill();
                panic!("the worker ignored signal {signal} for {STEP:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        assert!(
            status.success(),
            "signal {signal}: the worker exited with {status}"
        );
    }
}

#[test]
fn the_mcp_server_speaks_only_json_rpc_on_stdout_and_exits_zero_when_stdin_closes() {
    let mut child = Command::new(binary("mcp-server"))
        .env("TEMPORAL_ADDRESS", "127.0.0.1:1")
        .env("RUST_LOG", "debug")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start mcp-server");
    let mut stdin = child.stdin.take().unwrap();
    writeln!(
        stdin,
        r#"{{"jsonrpc":"2.0","id":1,"method":"initialize","params":{{"protocolVersion":"2025-06-18","capabilities":{{}},"clientInfo":{{"name":"raw","version":"0"}}}}}}"#
    )
    .unwrap();
    writeln!(
        stdin,
        r#"{{"jsonrpc":"2.0","method":"notifications/initialized"}}"#
    )
    .unwrap();
    writeln!(stdin, r#"{{"jsonrpc":"2.0","id":2,"method":"tools/list"}}"#).unwrap();
    drop(stdin);

    let stdout = BufReader::new(child.stdout.take().unwrap());
    let lines: Vec<String> = stdout.lines().map(Result::unwrap).collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    for line in &lines {
        let message: serde_json::Value = serde_json::from_str(line).expect("JSON on stdout");
        assert_eq!(message["jsonrpc"], "2.0", "{line}");
    }
    let status = child.wait().unwrap();
    assert!(status.success(), "mcp-server exited with {status}");
}
