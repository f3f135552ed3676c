//! The command lines of the three binaries: help, version, refusals that come before anything
//! else, and a flag that wins over its environment variable.

use crate::start_and_await_approval;
use harness::{DevServer, McpSession, WorkerProcess};
use serde_json::json;
use std::{
    process::{Command, Output, Stdio},
    time::{Duration, Instant},
};

/// Each binary, some flags of its own, and their environment variables.
const BINARIES: [(&str, &[&str], &[&str]); 3] = [
    (
        "mcp-server",
        &[
            "--approval-timeout",
            "--approver",
            "--decisions",
            "--inbox-url",
        ],
        &[
            "INVOICE_APPROVAL_TIMEOUT",
            "INVOICE_APPROVER",
            "INVOICE_DECISIONS",
        ],
    ),
    (
        "worker",
        &[
            "--payment-ledger",
            "--payment-gateway-latency",
            "--metrics-addr",
        ],
        &[
            "PAYMENT_LEDGER",
            "PAYMENT_GATEWAY_LATENCY",
            "INVOICE_METRICS_ADDR",
        ],
    ),
    (
        "approvals",
        &["--inbox-addr", "--inbox-identity-header"],
        &["INVOICE_INBOX_ADDR", "INVOICE_INBOX_IDENTITY_HEADER"],
    ),
];

/// How long a binary may take to answer on its command line alone.
const QUICK: Duration = Duration::from_secs(5);

/// Runs a binary with Temporal pointed at a port nobody listens on, and fails the test if it
/// has not finished within [`QUICK`]: it must answer without connecting to anything.
fn run(binary: &str, args: &[&str]) -> Output {
    let mut child = Command::new(harness::binary(binary))
        .args(args)
        .env("TEMPORAL_ADDRESS", "127.0.0.1:1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the binary");
    let deadline = Instant::now() + QUICK;
    while child.try_wait().expect("the binary's status").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`{binary} {}` still ran after {QUICK:?}", args.join(" "));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("the binary's output")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn help_lists_each_binarys_flags_and_their_variables() {
    for (binary, flags, vars) in BINARIES {
        let output = run(binary, &["--help"]);
        let help = stdout(&output);
        assert_eq!(output.status.code(), Some(0), "{binary}: {output:?}");
        assert!(
            help.contains(&format!("Usage: {binary} [OPTIONS]")),
            "{help}"
        );
        for flag in flags.iter().chain(&["--temporal-address", "--log-format"]) {
            assert!(help.contains(flag), "{binary} --help lacks {flag}: {help}");
        }
        for var in vars
            .iter()
            .chain(&["TEMPORAL_ADDRESS", "INVOICE_LOG_FORMAT", "RUST_LOG"])
        {
            // clap wraps the help to the terminal's width: read it as one line.
            let flat = help.split_whitespace().collect::<Vec<_>>().join(" ");
            let env = format!("[env: {var}");
            assert!(flat.contains(&env), "{binary} --help lacks {env}: {help}");
        }
    }
}

#[test]
fn version_names_the_binary() {
    for (binary, _, _) in BINARIES {
        let output = run(binary, &["--version"]);
        assert_eq!(output.status.code(), Some(0), "{binary}: {output:?}");
        let line = stdout(&output);
        let version = line.trim().strip_prefix(&format!("{binary} "));
        let numbers = version.map(|v| v.split('.').map(str::parse::<u32>).collect::<Vec<_>>());
        assert!(
            numbers.is_some_and(|n| n.len() >= 2 && n.iter().all(Result::is_ok)),
            "{binary} --version: {line:?}"
        );
    }
}

#[test]
fn an_unknown_flag_is_refused_at_once() {
    for (binary, _, _) in BINARIES {
        let output = run(binary, &["--no-such-flag"]);
        assert_eq!(output.status.code(), Some(2), "{binary}: {output:?}");
        assert!(stderr(&output).contains("--no-such-flag"), "{output:?}");
    }
}

#[test]
fn a_malformed_value_is_refused_at_once() {
    for (binary, flag, value) in [
        ("mcp-server", "--approval-timeout", "soon"),
        ("mcp-server", "--decisions", "robot"),
        ("approvals", "--inbox-identity-header", "bad header"),
        ("worker", "--payment-gateway-latency", "soon"),
        ("worker", "--metrics-addr", "nonsense"),
    ] {
        let output = run(binary, &[flag, value]);
        assert_eq!(output.status.code(), Some(2), "{binary}: {output:?}");
        let message = stderr(&output);
        assert!(
            message.contains(flag) && message.contains(value),
            "{message}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flag_wins_over_its_environment_variable() {
    let server = DevServer::start().await;
    let _worker = WorkerProcess::start(&server);
    // Both settings are given twice: the environment's would fail or be visible in the record.
    let mut command = tokio::process::Command::new(harness::binary("mcp-server"));
    command
        .args(["--temporal-address", &server.address])
        .env("TEMPORAL_NAMESPACE", &server.namespace)
        .args(["--approver", "flag-person"])
        .env("TEMPORAL_ADDRESS", "127.0.0.1:1")
        .env("INVOICE_APPROVER", "env-person");
    let mcp = McpSession::start_command(command, &server.dir().join("mcp-server.log")).await;

    start_and_await_approval(&mcp, "FLAG-1").await;
    let approved = mcp
        .call("approve_invoice", json!({"invoice_id": "FLAG-1"}))
        .await;
    let decided = approved.structured.clone().expect("structured content");
    approved.ok();
    assert_eq!(decided["decision"]["by"], "flag-person", "{decided}");
}
