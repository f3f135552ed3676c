//! Every protocol version rmcp speaks, through rmcp's client: the session starts (the
//! `initialize` handshake up to 2025-11-25, `server/discover` and per-request metadata on
//! 2026-07-28), the tools and resources work, and a client subscribed to an invoice's resource
//! hears when the invoice changes, by the means its version offers.

use crate::STEP;
use harness::{
    DevServer, WorkerProcess,
    protocol::{VERSIONS, VersionedSession},
    tutorial_invoice,
};
use rmcp::model::{
    CallToolResponse, ReadResourceRequestParams, ServerNotification, SubscribeRequestParams,
    SubscriptionFilter,
};
use serde_json::json;
use std::time::{Duration, Instant};

/// Starts the tutorial invoice `id` with a plain tool call and checks the tutorial's answer.
pub(crate) async fn process(session: &VersionedSession, id: &str) {
    match session
        .call(
            "process_invoice",
            json!({"invoice_data": tutorial_invoice(id)}),
        )
        .await
    {
        CallToolResponse::Complete(result) => {
            assert_ne!(result.is_error, Some(true), "{result:?}");
            let text = result.content[0].as_text().map(|t| t.text.clone());
            assert_eq!(
                text,
                Some(format!(
                    "Started processing invoice {id}. Workflow ID: invoice-{id}"
                )),
                "on {}",
                session.version
            );
        }
        other => panic!("expected a result on {}, got {other:?}", session.version),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_protocol_version_serves_the_tools_and_the_resources() {
    let server = DevServer::start().await;
    let _worker = WorkerProcess::start(&server);
    for version in VERSIONS {
        let session = VersionedSession::start(&server, &[], version.clone(), false).await;
        let negotiated = session
            .service
            .peer_info()
            .map(|info| info.protocol_version.clone());
        assert_eq!(negotiated, Some(version.clone()), "negotiated");

        let tools = tokio::time::timeout(harness::CALL_BOUND, session.service.list_all_tools())
            .await
            .expect("tools/list in time")
            .expect("tools/list");
        assert_eq!(tools.len(), 5, "on {version}: {tools:?}");

        let id = format!("V-{}", version.as_str());
        process(&session, &id).await;
        let status = session
            .call("get_invoice_status", json!({"invoice_id": id}))
            .await;
        let CallToolResponse::Complete(status) = status else {
            panic!("on {version}: {status:?}")
        };
        assert_eq!(
            status.structured_content.unwrap()["invoice_id"],
            id.as_str()
        );

        let read = tokio::time::timeout(
            harness::CALL_BOUND,
            session
                .service
                .read_resource(ReadResourceRequestParams::new(format!("invoice://{id}"))),
        )
        .await
        .expect("resources/read in time")
        .expect("resources/read");
        assert_eq!(read.contents.len(), 1, "on {version}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn subscribers_hear_when_an_invoice_changes_on_every_version() {
    let server = DevServer::start().await;
    let _worker = WorkerProcess::start(&server);
    for version in VERSIONS {
        let session = VersionedSession::start(&server, &[], version.clone(), false).await;
        let id = format!("SUB-{}", version.as_str());
        let uri = format!("invoice://{id}");
        process(&session, &id).await;

        if version.has_initialize() {
            // Up to 2025-11-25: resources/subscribe, and notifications to the client handler.
            #[allow(deprecated)]
            let subscribed = session
                .service
                .subscribe(SubscribeRequestParams::new(uri.clone()));
            tokio::time::timeout(harness::CALL_BOUND, subscribed)
                .await
                .expect("resources/subscribe in time")
                .expect("resources/subscribe");
            approve_when_waiting(&session, &id).await;
            hear_the_decision(&session, &uri, || session.next_update(STEP)).await;
        } else {
            // 2026-07-28: a subscriptions/listen stream.
            let filter = SubscriptionFilter::builder()
                .resource_subscription(uri.clone())
                .build();
            let stream = tokio::time::timeout(harness::CALL_BOUND, session.service.listen(filter))
                .await
                .expect("subscriptions/listen in time")
                .expect("subscriptions/listen");
            assert_eq!(
                stream.acknowledged().resource_subscriptions,
                Some(vec![uri.clone()])
            );
            approve_when_waiting(&session, &id).await;
            let stream = tokio::sync::Mutex::new(stream);
            hear_the_decision(&session, &uri, || async {
                let next = tokio::time::timeout(STEP, stream.lock().await.next()).await;
                match next.ok()?.expect("the stream stays open")? {
                    ServerNotification::ResourceUpdatedNotification(update) => {
                        Some(update.params.uri)
                    }
                    other => panic!("expected a resource update, got {other:?}"),
                }
            })
            .await;
        }
    }
}

/// Takes the updates `next` hears, each for `uri`, and reads the resource after each, until it
/// shows the decision: the updates lead the subscriber to the change.
async fn hear_the_decision<F, Fut>(session: &VersionedSession, uri: &str, mut next: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<String>>,
{
    let deadline = Instant::now() + STEP;
    loop {
        let heard = next().await;
        assert_eq!(
            heard.as_deref(),
            Some(uri),
            "on {}: no update",
            session.version
        );
        let read = tokio::time::timeout(
            harness::CALL_BOUND,
            session
                .service
                .read_resource(ReadResourceRequestParams::new(uri.to_owned())),
        )
        .await
        .expect("resources/read in time")
        .expect("resources/read");
        let text = serde_json::to_string(&read.contents).expect("JSON");
        if text.contains("approved") {
            return;
        }
        assert!(Instant::now() < deadline, "on {}: {text}", session.version);
    }
}

/// Waits until the invoice awaits approval, then approves it: a change a subscriber hears.
async fn approve_when_waiting(session: &VersionedSession, id: &str) {
    let deadline = Instant::now() + STEP;
    loop {
        let CallToolResponse::Complete(status) = session
            .call("get_invoice_status", json!({"invoice_id": id}))
            .await
        else {
            panic!("expected a status")
        };
        if status.structured_content.as_ref().unwrap()["state"] == "awaiting_approval" {
            break;
        }
        assert!(Instant::now() < deadline, "{id} never awaited approval");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    session
        .call("approve_invoice", json!({"invoice_id": id}))
        .await;
}

/// The MCP specification's schema of `version`: from the folder `MCP_SCHEMA_DIR` names, if it
/// has one (the tasks extension's lives only there), else from `tests/mcp-schema/`.
fn schema_of(version: &str) -> Option<serde_json::Value> {
    let file = format!("{version}.json");
    let vendored = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mcp-schema");
    let text = std::env::var_os("MCP_SCHEMA_DIR")
        .and_then(|dir| std::fs::read_to_string(std::path::Path::new(&dir).join(&file)).ok())
        .or_else(|| std::fs::read_to_string(vendored.join(&file)).ok())?;
    Some(serde_json::from_str(&text).expect("a schema is JSON"))
}

/// Fails the test unless `value` is a valid `definition` of `schema` (draft-07 schemas keep
/// their definitions under `definitions`, 2020-12 ones under `$defs`).
fn assert_matches(
    schema: &serde_json::Value,
    definition: &str,
    value: &serde_json::Value,
    what: &str,
) {
    let defs = if schema.get("$defs").is_some() {
        "$defs"
    } else {
        "definitions"
    };
    let root = json!({
        "$schema": schema["$schema"],
        defs: schema[defs],
        "allOf": [{"$ref": format!("#/{defs}/{definition}")}],
    });
    crate::surface::assert_valid(&root, value, &format!("{what}: {definition}"));
}

/// mcp-server's own bytes over stdio, one JSON-RPC message per line.
struct Wire {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    replies: std::sync::mpsc::Receiver<serde_json::Value>,
    next_id: u64,
    /// The `_meta` every request carries from MCP 2026-07-28 on.
    meta: Option<serde_json::Value>,
}

impl Wire {
    fn start(address: &str, namespace: &str) -> Self {
        use std::io::BufRead;
        let mut child = std::process::Command::new(harness::binary("mcp-server"))
            .env("TEMPORAL_ADDRESS", address)
            .env("TEMPORAL_NAMESPACE", namespace)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start mcp-server");
        let stdout = child.stdout.take().expect("stdout");
        let (sender, replies) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                let message = serde_json::from_str(&line).expect("only JSON on stdout");
                if sender.send(message).is_err() {
                    break;
                }
            }
        });
        let stdin = child.stdin.take().expect("stdin");
        Self {
            child,
            stdin,
            replies,
            next_id: 0,
            meta: None,
        }
    }

    fn send(&mut self, message: serde_json::Value) {
        use std::io::Write;
        writeln!(self.stdin, "{message}").expect("write to mcp-server");
    }

    /// Sends a request and answers its result, skipping notifications; an error fails the test.
    fn request(&mut self, method: &str, mut params: serde_json::Value) -> serde_json::Value {
        self.next_id += 1;
        if let Some(meta) = &self.meta {
            params["_meta"] = meta.clone();
        }
        let id = self.next_id;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let reply = self
                .replies
                .recv_timeout(harness::CALL_BOUND)
                .unwrap_or_else(|_| {
                    panic!("no answer to {method} within {:?}", harness::CALL_BOUND)
                });
            if reply["id"] == id {
                assert!(reply["error"].is_null(), "{method}: {reply}");
                return reply["result"].clone();
            }
        }
    }
}

impl Drop for Wire {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_versions_answers_match_its_own_schema() {
    let server = DevServer::start().await;
    let _worker = WorkerProcess::start(&server);
    for version in VERSIONS {
        let name = version.as_str().to_owned();
        let schema =
            schema_of(&name).unwrap_or_else(|| panic!("no schema for {name} in tests/mcp-schema/"));
        let (address, namespace) = (server.address.clone(), server.namespace.clone());
        // The raw exchange blocks on stdio: off the async threads.
        tokio::task::spawn_blocking(move || speak(&address, &namespace, &name, &schema))
            .await
            .expect("the exchange ran");
    }
}

/// One session of `version`, each answer checked against the version's schema.
fn speak(address: &str, namespace: &str, version: &str, schema: &serde_json::Value) {
    let mut wire = Wire::start(address, namespace);
    let client = json!({"name": "wire", "version": "1.0"});
    if version == "2026-07-28" {
        let meta = json!({
            "io.modelcontextprotocol/protocolVersion": version,
            "io.modelcontextprotocol/clientCapabilities": {},
            "io.modelcontextprotocol/clientInfo": client,
        });
        wire.meta = Some(meta);
        let discovered = wire.request("server/discover", json!({}));
        assert_matches(schema, "DiscoverResult", &discovered, version);
    } else {
        let initialized = wire.request(
            "initialize",
            json!({"protocolVersion": version, "capabilities": {}, "clientInfo": client}),
        );
        assert_eq!(initialized["protocolVersion"], version);
        assert_matches(schema, "InitializeResult", &initialized, version);
        wire.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    }
    let id = format!("W-{version}");
    let tools = wire.request("tools/list", json!({}));
    assert_matches(schema, "ListToolsResult", &tools, version);
    let started = wire.request(
        "tools/call",
        json!({"name": "process_invoice", "arguments": {"invoice_data": tutorial_invoice(&id)}}),
    );
    assert_matches(schema, "CallToolResult", &started, version);
    let status = wire.request(
        "tools/call",
        json!({"name": "get_invoice_status", "arguments": {"invoice_id": id}}),
    );
    assert_matches(schema, "CallToolResult", &status, version);
    let read = wire.request("resources/read", json!({"uri": format!("invoice://{id}")}));
    assert_matches(schema, "ReadResourceResult", &read, version);
    let prompts = wire.request("prompts/list", json!({}));
    assert_matches(schema, "ListPromptsResult", &prompts, version);
    let prompt = wire.request("prompts/get", json!({"name": "review_pending_invoices"}));
    assert_matches(schema, "GetPromptResult", &prompt, version);
    let resources = wire.request("resources/list", json!({}));
    assert_matches(schema, "ListResourcesResult", &resources, version);
    let templates = wire.request("resources/templates/list", json!({}));
    assert_matches(schema, "ListResourceTemplatesResult", &templates, version);
    // A refusal is a tool result too, with isError.
    let refused = wire.request(
        "tools/call",
        json!({"name": "approve_invoice", "arguments": {"invoice_id": "no such invoice!"}}),
    );
    assert_eq!(refused["isError"], true, "{refused}");
    assert_matches(schema, "CallToolResult", &refused, version);

    if version == "2026-07-28" {
        // With the tasks extension declared, process_invoice is a task: checked against the
        // extension's own schema, where there is one.
        let Some(tasks) = schema_of("ext-tasks-2026-07-28") else {
            return;
        };
        let mut meta = wire.meta.clone().expect("2026 metadata");
        meta["io.modelcontextprotocol/clientCapabilities"] =
            json!({"extensions": {"io.modelcontextprotocol/tasks": {}}});
        wire.meta = Some(meta);
        let task_id = format!("W-TASK-{version}");
        let created = wire.request(
            "tools/call",
            json!({"name": "process_invoice", "arguments": {"invoice_data": tutorial_invoice(&task_id)}}),
        );
        assert_matches(&tasks, "CreateTaskResult", &created, "CreateTaskResult");
        let got = wire.request("tasks/get", json!({"taskId": created["taskId"]}));
        assert_matches(&tasks, "GetTaskResult", &got, "GetTaskResult");
    }
}
