//! Hostile input at the MCP layer, below the tools: malformed JSON-RPC, unknown methods and
//! tools, arguments of the wrong shape, oversized requests. Each gets an answer (or, for
//! unparsable lines, silence, as JSON-RPC over stdio allows) and the server keeps serving.

use harness::binary;
use serde_json::{Value, json};
use std::{
    io::{BufRead, BufReader, Write},
    process::{Child, ChildStdin, Command, Stdio},
    sync::mpsc::{Receiver, channel},
    time::Duration,
};

/// The mcp-server spoken to line by line, as a client with bugs of its own would.
pub struct RawSession {
    child: Child,
    stdin: Option<ChildStdin>,
    replies: Receiver<Value>,
    next_id: u64,
}

impl RawSession {
    fn start() -> Self {
        // Temporal is deliberately unreachable: nothing here may get as far as starting work.
        Self::start_with_temporal("127.0.0.1:1", "default")
    }

    /// A session with an mcp-server for the Temporal server at `address`.
    pub fn start_with_temporal(address: &str, namespace: &str) -> Self {
        let mut child = Command::new(binary("mcp-server"))
            .env("TEMPORAL_ADDRESS", address)
            .env("TEMPORAL_NAMESPACE", namespace)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start mcp-server");
        let stdout = child.stdout.take().unwrap();
        let (sender, replies) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let line = line.expect("stdout line");
                let message = serde_json::from_str(&line).expect("only JSON on stdout");
                if sender.send(message).is_err() {
                    break;
                }
            }
        });
        let mut session = RawSession {
            stdin: child.stdin.take(),
            child,
            replies,
            next_id: 100,
        };
        let reply = session.request(
            "initialize",
            json!({"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}}),
        );
        assert!(reply["result"]["serverInfo"].is_object(), "{reply}");
        session.send_line(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
        session
    }

    pub fn send_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().unwrap();
        stdin.write_all(line.as_bytes()).unwrap();
        stdin.write_all(b"\n").unwrap();
        stdin.flush().unwrap();
    }

    pub fn reply(&self) -> Option<Value> {
        self.replies.recv_timeout(Duration::from_secs(10)).ok()
    }

    pub fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let message =
            json!({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params});
        self.send_line(&message.to_string());
        self.reply()
            .unwrap_or_else(|| panic!("no reply to {method}"))
    }

    /// The server still answers a normal request.
    #[track_caller]
    pub fn assert_alive(&mut self) {
        let tools = self.request("tools/list", json!({}));
        assert_eq!(
            tools["result"]["tools"].as_array().map(Vec::len),
            Some(harness::TOOL_NAMES.len()),
            "{tools}"
        );
    }
}

#[test]
fn malformed_messages_are_answered_or_ignored_and_the_server_keeps_serving() {
    let mut session = RawSession::start();

    // Not JSON, or cut short: nothing to answer (there is no id), nothing breaks.
    for garbage in [
        "this is not json",
        r#"{"jsonrpc":"2.0","id":7,"method":"tools/li"#,
        "[1,2",
        "\u{1}\u{2}",
    ] {
        session.send_line(garbage);
        session.assert_alive();
    }

    // JSON that is not a JSON-RPC message.
    session.send_line(r#"{"hello":"world"}"#);
    let reply = session.reply().expect("an answer");
    assert_eq!(reply["error"]["code"], -32600, "{reply}");
    session.assert_alive();

    // An unknown method.
    let reply = session.request("invoices/delete_all", json!({}));
    assert_eq!(reply["error"]["code"], -32601, "{reply}");

    // An unknown tool.
    let reply = session.request(
        "tools/call",
        json!({"name": "delete_invoice", "arguments": {}}),
    );
    assert!(
        reply["error"]["message"]
            .as_str()
            .unwrap()
            .contains("tool not found"),
        "{reply}"
    );

    // tools/call whose params do not fit: no name, arguments not an object.
    for params in [
        json!({}),
        json!({"name": "get_invoice_status", "arguments": "INV-1"}),
    ] {
        let reply = session.request("tools/call", params.clone());
        assert!(reply["error"].is_object(), "{params} gave {reply}");
    }
    session.assert_alive();
}

#[test]
fn requests_no_decoder_can_read_still_get_an_answer() {
    let mut session = RawSession::start();
    // Valid JSON, but no 64-bit float holds 1e400: serde_json refuses the whole message.
    for (id, line) in [
        (
            7001,
            r#"{"jsonrpc":"2.0","id":7001,"method":"tools/call","params":{"name":"process_invoice","arguments":{"invoice_data":{"id":"BIG-1","lines":[{"item":"a","amount":1e400}]}}}}"#,
        ),
        (
            7002,
            r#"{"jsonrpc":"2.0","id":7002,"method":"tools/call","params":{"name":"get_invoice_status","arguments":{"invoice_id":"X","n":-1e999}}}"#,
        ),
    ] {
        session.send_line(line);
        let reply = session.reply().expect("an answer");
        assert_eq!(reply["id"], id, "{reply}");
        assert_eq!(reply["error"]["code"], -32602, "{reply}");
        assert!(
            reply["error"]["message"]
                .as_str()
                .unwrap()
                .contains("number out of range"),
            "{reply}"
        );
    }
    session.assert_alive();
}

#[test]
fn fields_the_server_sets_are_input_too() {
    let mut session = RawSession::start();
    // These once panicked the tool: no answer ever came.
    for timeout in [json!("soon"), json!(-1), json!(1.5), json!([1])] {
        let mut invoice = harness::tutorial_invoice("SET-1");
        invoice["approval_timeout_seconds"] = timeout.clone();
        invoice["payment_retry_limit_seconds"] = timeout.clone();
        let reply = session.request(
            "tools/call",
            json!({"name": "process_invoice", "arguments": {"invoice_data": invoice}}),
        );
        // Checked and accepted (the field is the server's to set), then refused for want of
        // a Temporal server: an answer, in any case.
        assert_eq!(reply["result"]["isError"], true, "{timeout}: {reply}");
        let text = reply["result"]["content"][0]["text"].as_str().unwrap();
        assert!(text.contains("Temporal"), "{timeout}: {text}");
    }
    session.assert_alive();
}

#[test]
fn bad_tool_arguments_are_tool_errors_before_temporal_is_asked() {
    let mut session = RawSession::start();
    let mut call = |name: &str, arguments: Value| -> String {
        let reply = session.request("tools/call", json!({"name": name, "arguments": arguments}));
        assert_eq!(
            reply["result"]["isError"], true,
            "{name} {arguments} gave {reply}"
        );
        reply["result"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let lines = |count: usize| {
        (0..count)
            .map(|n| json!({"item": format!("Item {n}"), "amount": 1}))
            .collect::<Vec<_>>()
    };
    let cases: Vec<(&str, Value, &str)> = vec![
        ("process_invoice", json!({}), "missing field `invoice_data`"),
        (
            "process_invoice",
            json!({"invoice_data": 42}),
            "got a number",
        ),
        (
            "process_invoice",
            json!({"invoice_data": {"id": "A", "lines": lines(150)}}),
            "150 lines",
        ),
        (
            "process_invoice",
            json!({"invoice_data": {"id": "A", "lines": lines(5_000)}}),
            "bytes of JSON",
        ),
        (
            "process_invoice",
            json!({"invoice_data": {"id": "A\tB", "lines": lines(1)}}),
            "control character",
        ),
        (
            "process_invoice",
            json!({"invoice_data": {"id": "A", "lines": [{"item": 5, "amount": 1}]}}),
            "\"item\" must be",
        ),
        (
            "process_invoice",
            json!({"invoice_data": {"id": "A", "lines": [{"item": "x", "amount": "Infinity"}]}}),
            "must be a number",
        ),
        (
            "process_invoice",
            json!({"invoice_data": {"id": "A", "lines": [{"item": "x", "amount": 1.999}]}}),
            "two decimal places",
        ),
        ("get_invoice_status", json!({"invoice_id": ""}), "blank"),
        (
            "approve_invoice",
            json!({"invoice_id": "x".repeat(5_000)}),
            "5000 characters",
        ),
        ("reject_invoice", json!({"invoice_id": "../../etc"}), "'/'"),
        (
            "reject_invoice",
            json!({"invoice_id": null}),
            "invalid type",
        ),
    ];
    for (tool, arguments, expected) in cases {
        let text = call(tool, arguments.clone());
        assert!(
            text.contains(expected),
            "{tool} {arguments:.200} gave {text:?}"
        );
    }
    session.assert_alive();

    // Closing stdin ends the session cleanly.
    drop(session.stdin.take());
    let status = session.child.wait().unwrap();
    assert!(status.success(), "{status}");
}

#[test]
fn what_goes_over_the_wire_matches_the_mcp_schema() {
    let mut session = RawSession::start();
    let listed = session.request("tools/list", json!({}));
    crate::surface::assert_mcp_valid("ListToolsResult", &listed["result"]);
    for (method, params, definition) in [
        (
            "resources/templates/list",
            json!({}),
            "ListResourceTemplatesResult",
        ),
        ("prompts/list", json!({}), "ListPromptsResult"),
        // Temporal is unreachable: no invoices to list, but no error either.
        ("resources/list", json!({}), "ListResourcesResult"),
        ("ping", json!({}), "EmptyResult"),
    ] {
        let reply = session.request(method, params);
        crate::surface::assert_mcp_valid(definition, &reply["result"]);
    }
    // With Temporal unreachable, a tool error is still a valid result.
    let failed = session.request(
        "tools/call",
        json!({"name": "get_invoice_status", "arguments": {"invoice_id": "INV-1"}}),
    );
    assert_eq!(failed["result"]["isError"], true, "{failed}");
    crate::surface::assert_mcp_valid("CallToolResult", &failed["result"]);
}
