//! The newcomer's path: the Claude Desktop configuration helper and the shipped config file.

use serde_json::{Value, json};
use std::{path::Path, process::Command};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn run_claude_config(config: &Path) -> String {
    let output = Command::new("python3")
        .arg(Path::new(ROOT).join("scripts/claude_config.py"))
        .arg("--config")
        .arg(config)
        .args(["--binary", "/opt/invoice/target/quick/mcp-server"])
        .output()
        .expect("python3 runs scripts/claude_config.py");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn claude_config_keeps_other_servers_and_adds_ours_once() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("claude_desktop_config.json");
    let weather = json!({"command": "uv", "args": ["run", "weather.py"]});
    let original = json!({"mcpServers": {"weather": weather}, "globalShortcut": "Ctrl+Space"});
    std::fs::write(&config, original.to_string()).unwrap();

    assert!(run_claude_config(&config).contains("Added \"invoice-processor\""));
    assert!(run_claude_config(&config).contains("Updated \"invoice-processor\""));

    let merged: Value = serde_json::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
    let servers = merged["mcpServers"].as_object().unwrap();
    assert_eq!(servers.len(), 2, "{merged}");
    assert_eq!(servers["weather"], weather);
    assert_eq!(merged["globalShortcut"], "Ctrl+Space");
    let ours = &servers["invoice-processor"];
    assert_eq!(ours["command"], "/opt/invoice/target/quick/mcp-server");
    assert_eq!(ours["env"]["INVOICE_APPROVAL_TIMEOUT"], "5d");

    let backups = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".bak")
        })
        .count();
    assert!(backups >= 1, "a backup is kept");
}

#[test]
fn claude_config_creates_a_missing_config() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("Claude/claude_desktop_config.json");
    run_claude_config(&config);
    let created: Value = serde_json::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
    assert_eq!(
        created["mcpServers"]["invoice-processor"]["command"],
        "/opt/invoice/target/quick/mcp-server"
    );
}

#[test]
fn the_shipped_claude_desktop_config_runs_the_quick_build() {
    let text = std::fs::read_to_string(Path::new(ROOT).join("claude_desktop_config.json")).unwrap();
    let config: Value = serde_json::from_str(&text).expect("valid JSON");
    let server = &config["mcpServers"]["invoice-processor"];
    assert!(
        server["command"]
            .as_str()
            .unwrap()
            .ends_with("target/quick/mcp-server"),
        "{server}"
    );
    for key in [
        "TEMPORAL_ADDRESS",
        "TEMPORAL_NAMESPACE",
        "INVOICE_APPROVAL_TIMEOUT",
    ] {
        assert!(server["env"][key].is_string(), "env.{key} missing");
    }
}

#[test]
fn the_benchmark_runs_in_smoke_mode() {
    // Keeps `just bench` from rotting: a tiny run, Rust only, against its own dev server.
    let output = Command::new(harness::binary("bench"))
        .arg("--smoke")
        .output()
        .expect("run bench --smoke");
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    assert!(report.contains("**Smoke run"), "{report}");
    for row in [
        "cold start",
        "`get_invoice_status` p50",
        "floor: raw query",
        "floor: raw Update decide p50",
        "`approve_invoice` p50 over the raw `decide` Update p50: **",
        "recovery",
        "the MCP server's own data (RssAnon)",
        "invoices: until all await approval",
    ] {
        assert!(report.contains(row), "no {row} row in {report}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_session_runs_as_the_readme_shows() {
    // `just demo` against a server of our own: the README quotes this session.
    let server = harness::DevServer::start().await;
    let _worker = harness::WorkerProcess::start(&server);
    let output = tokio::process::Command::new(harness::binary("examples/demo"))
        .arg(harness::binary("mcp-server"))
        .env("TEMPORAL_ADDRESS", &server.address)
        .output()
        .await
        .expect("run the demo");
    let transcript = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    for line in [
        "Connected to invoice-processor",
        "\"state\": \"awaiting_approval\"",
        "\"total\": \"$7,000.00\"",
        "Invoices in state awaiting_approval, newest first:",
        "· awaiting_approval · 2 lines · $7,000.00 · decide by",
        "status: Approved and finalized",
        ": matches the purchase order.",
        "\"via\": \"invoice-demo\"",
    ] {
        assert!(transcript.contains(line), "no {line:?} in {transcript}");
    }
}
