//! `INVOICE_DECISIONS=human`: approve_invoice and reject_invoice never decide on the model's
//! word. A client that can show a form (MCP elicitation) asks the person, and only their
//! accepting answer decides; any other client gets the inbox link, and nothing is decided.

use crate::{STEP, start_and_await_approval};
use harness::{DevServer, McpSession, WorkerProcess, binary};
use rmcp::{
    ErrorData, RoleClient, ServiceExt,
    handler::client::ClientHandler,
    model::{
        CallToolRequestParams, ClientCapabilities, ClientConfig, ElicitRequestParams, ElicitResult,
        ElicitationAction, Implementation,
    },
    service::{RequestContext, RunningService},
    transport::TokioChildProcess,
};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

const HUMAN: (&str, &str) = ("INVOICE_DECISIONS", "human");

/// A client whose person answers every decision form with `answer` (declines when `None`),
/// and remembers what they were asked.
#[derive(Clone)]
struct Person {
    answer: Option<Value>,
    asked: Arc<Mutex<Vec<String>>>,
}

impl ClientHandler for Person {
    fn get_info(&self) -> ClientConfig {
        ClientConfig::new(
            ClientCapabilities::builder().enable_elicitation().build(),
            Implementation::new("desk", "1.0"),
        )
    }

    async fn create_elicitation(
        &self,
        request: ElicitRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, ErrorData> {
        let asked = serde_json::to_value(&request).unwrap_or_default();
        self.asked
            .lock()
            .unwrap()
            .push(asked["message"].as_str().unwrap_or_default().to_owned());
        Ok(match &self.answer {
            Some(content) => {
                ElicitResult::new(ElicitationAction::Accept).with_content(content.clone())
            }
            None => ElicitResult::new(ElicitationAction::Decline),
        })
    }
}

async fn person_session(server: &DevServer, person: Person) -> RunningService<RoleClient, Person> {
    let mut command = tokio::process::Command::new(binary("mcp-server"));
    command
        .envs(server.env())
        .env("INVOICE_APPROVER", "sam")
        .env(HUMAN.0, HUMAN.1);
    let (transport, _) = TokioChildProcess::builder(command)
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn mcp-server");
    person.serve(transport).await.expect("MCP initialize")
}

async fn call(
    session: &RunningService<RoleClient, Person>,
    tool: &str,
    arguments: Value,
) -> (bool, String) {
    let result = harness::bounded(
        session.call_tool(
            CallToolRequestParams::new(tool.to_owned())
                .with_arguments(arguments.as_object().cloned().unwrap_or_default()),
        ),
    )
    .await
    .expect("tools/call");
    let text = result.content[0]
        .as_text()
        .map(|t| t.text.clone())
        .unwrap_or_default();
    (result.is_error.unwrap_or(false), text)
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_form_the_model_cannot_decide_and_gets_the_inbox_link() {
    let server = DevServer::start().await;
    let _worker = WorkerProcess::start(&server);
    let mcp = McpSession::start(&server, &[HUMAN]).await;
    start_and_await_approval(&mcp, "HUM-1").await;

    let tools = mcp.tools().await;
    let approve = tools.iter().find(|t| t.name == "approve_invoice").unwrap();
    assert!(
        approve
            .description
            .as_deref()
            .unwrap_or_default()
            .contains("never decides on the model's word"),
        "{approve:?}"
    );
    for tool in ["approve_invoice", "reject_invoice"] {
        let reply = mcp.call(tool, json!({"invoice_id": "HUM-1"})).await.ok();
        assert_eq!(
            reply,
            "Nothing was decided: this server takes decisions from a person only, not from the assistant. Open http://127.0.0.1:8234/invoices/HUM-1 to approve or reject invoice HUM-1."
        );
    }
    mcp.await_status("HUM-1", "Awaiting approval", STEP).await;
    assert_eq!(
        mcp.status("HUM-1").await.structured.unwrap()["decision"],
        Value::Null
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn with_a_form_only_the_persons_accepting_answer_decides() {
    let server = DevServer::start().await;
    let _worker = WorkerProcess::start(&server);
    let mcp = McpSession::start(&server, &[HUMAN]).await;
    start_and_await_approval(&mcp, "HUM-2").await;
    start_and_await_approval(&mcp, "HUM-3").await;

    // The person declines: nothing is decided, whatever the model asked for.
    let declining = Person {
        answer: None,
        asked: Arc::default(),
    };
    let session = person_session(&server, declining.clone()).await;
    let (is_error, text) = call(&session, "approve_invoice", json!({"invoice_id": "HUM-2"})).await;
    assert!(
        !is_error && text.starts_with("Nothing was decided: the person did not answer"),
        "{text}"
    );
    let asked = declining.asked.lock().unwrap().clone();
    assert!(
        asked[0].contains("Invoice HUM-2: $7,000.00 in all")
            && asked[0].contains("proposes to approve"),
        "{asked:?}"
    );
    mcp.await_status("HUM-2", "Awaiting approval", STEP).await;
    let _ = session.cancel().await;

    // The person accepts, and approves: their decision is the one taken, not the model's
    // (which asked to reject). Under separation of duties (on in human mode) it is recorded as
    // this server's person (sam), whatever name was typed; the typed name stays in the reason.
    let answering = Person {
        answer: Some(json!({"decision": "approve", "name": "ana", "reason": "checked the PO"})),
        asked: Arc::default(),
    };
    let session = person_session(&server, answering).await;
    let (is_error, text) = call(&session, "reject_invoice", json!({"invoice_id": "HUM-3"})).await;
    assert!(!is_error, "{text}");
    assert!(
        text.starts_with("Sent approval signal for invoice HUM-3.")
            && text.contains("Approved by sam via desk form at ")
            && text.ends_with(": checked the PO; signed as ana."),
        "{text}"
    );
    mcp.await_status("HUM-3", "Approved and finalized", STEP)
        .await;
    server.books().assert_invoice("HUM-3", 2, false);
    let _ = session.cancel().await;
}
