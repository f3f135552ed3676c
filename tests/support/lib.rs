//! The end-to-end test harness: real parts only.
//!
//! - [`DevServer`]: a throwaway `temporal server start-dev --headless` on free loopback ports,
//!   with its state in a db file so that it can be stopped and restarted.
//! - [`WorkerProcess`]: the real `worker` binary, which a test can SIGKILL.
//! - [`McpSession`]: the real `mcp-server` binary driven over stdio by rmcp's MCP client.
//! - [`History`]: a workflow's recorded events, to count activities.
//! - [`Books`]: the payment ledger the workers booked into, to check every charge and refund.
//!
//! The binaries must be built first (`cargo build --workspace`, which `just test` does).

pub mod protocol;
pub mod server;
pub mod web;

pub use server::{DevServer, search_attribute_flags};

use rmcp::{
    RoleClient, ServiceExt, model::CallToolRequestParams, service::RunningService,
    transport::TokioChildProcess,
};
use serde_json::{Value, json};
use std::{
    collections::HashMap,
    fs::File,
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command},
    time::{Duration, Instant},
};
use temporalio_client::{
    Client, ClientOptions, Connection, ConnectionOptions, Url, WorkflowFetchHistoryOptions,
    WorkflowHistory,
};
use temporalio_common::protos::temporal::api::history::v1::{
    HistoryEvent, history_event::Attributes,
};
use workflows::InvoiceWorkflow;

/// Where cargo put the workspace binaries: next to this test executable's `deps/` folder.
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("own executable path");
    // Tests run from target/<profile>/deps, the benchmark from target/<profile>.
    let candidates = exe.ancestors().skip(1).take(2).map(|dir| dir.join(name));
    let found = candidates.clone().find(|path| path.exists());
    found.unwrap_or_else(|| {
        panic!(
            "{name} is missing next to {}: build the binaries first with `cargo build --workspace` (or run `just test`)",
            exe.display()
        )
    })
}

/// A free TCP port on the loopback interface, never handed out before in this process: tests
/// run in parallel threads, and the system may offer a port that another test was given but
/// has not bound yet.
pub fn free_port() -> u16 {
    static HANDED_OUT: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut handed_out = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        if !handed_out.contains(&port) {
            handed_out.push(port);
            return port;
        }
    }
}

/// The longest any one MCP call may take in a test: every tool answers well within it, so
/// a call that does not is a failure, not a hang.
pub const CALL_BOUND: Duration = Duration::from_secs(30);

/// The tools the MCP server offers, in the order it lists them (alphabetical).
pub const TOOL_NAMES: [&str; 5] = [
    "approve_invoice",
    "get_invoice_status",
    "list_invoices",
    "process_invoice",
    "reject_invoice",
];

/// Awaits an MCP request that is not a tool call (prompts, resources); fails the test if it
/// takes longer than [`CALL_BOUND`].
pub async fn bounded<T>(request: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(CALL_BOUND, request)
        .await
        .unwrap_or_else(|_| panic!("an MCP request did not answer within {CALL_BOUND:?}"))
}

/// The tutorial's invoice under another id: two lines, $7000.00 in all.
pub fn tutorial_invoice(id: &str) -> Value {
    json!({
        "id": id,
        "lines": [
            {"item": "Web Development", "amount": 5000.00, "description": "Frontend work"},
            {"item": "Design Services", "amount": 2000.00, "description": "UI/UX design"}
        ]
    })
}

/// A client of `namespace` on the Temporal server at `address`.
async fn connect(address: &str, namespace: &str) -> anyhow::Result<Client> {
    let url = Url::parse(&format!("http://{address}"))?;
    let options = ConnectionOptions::new(url)
        .connect_timeout(Duration::from_secs(2))
        .build();
    let connection =
        tokio::time::timeout(Duration::from_secs(3), Connection::connect(options)).await??;
    Ok(Client::new(
        connection,
        ClientOptions::new(namespace).build(),
    )?)
}

/// The real `worker` binary, serving the given server.
pub struct WorkerProcess {
    child: Child,
}

impl WorkerProcess {
    pub fn start(server: &DevServer) -> Self {
        Self::start_with(server, &[])
    }

    /// Starts a worker with extra environment, such as `PAYMENT_GATEWAY_LATENCY`.
    pub fn start_with(server: &DevServer, env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(binary("worker"));
        command
            .envs(server.env())
            .env("RUST_LOG", "info")
            .env("PAYMENT_LEDGER", server.ledger_path())
            .envs(env.iter().copied());
        Self::start_command(command, &server.dir().join("worker.log"))
    }

    /// Starts any worker command (the benchmark also runs the tutorial's Python worker), its
    /// output appended to `log`.
    pub fn start_command(mut command: Command, log: &Path) -> Self {
        let log = File::options()
            .create(true)
            .append(true)
            .open(log)
            .expect("worker log");
        let child = command
            .stdout(log.try_clone().expect("worker log"))
            .stderr(log)
            .spawn()
            .expect("start the worker");
        WorkerProcess { child }
    }

    /// Resident memory of the worker process, in KiB.
    pub fn rss_kib(&self) -> u64 {
        rss_kib(self.child.id())
    }

    /// The worker's own data in memory (RssAnon), in KiB.
    pub fn anonymous_rss_kib(&self) -> u64 {
        anonymous_rss_kib(self.child.id())
    }

    /// Kills the worker without warning, as a crash would.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Asks the worker to stop (SIGTERM) and returns its exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().expect("worker status") {
                return status;
            }
            assert!(Instant::now() < deadline, "the worker ignored SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a tool call answered.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The first text block: the sentence a person reads.
    pub text: String,
    pub is_error: bool,
    /// `structuredContent`, if the tool sent it.
    pub structured: Option<Value>,
    /// The text blocks after the first (the structured content as JSON text).
    pub more_text: Vec<String>,
}

impl Reply {
    /// The text of a successful reply; fails the test on a tool error.
    #[track_caller]
    pub fn ok(self) -> String {
        assert!(
            !self.is_error,
            "expected success, got tool error: {}",
            self.text
        );
        self.text
    }

    /// The text of a tool error; fails the test on success.
    #[track_caller]
    pub fn err(self) -> String {
        assert!(
            self.is_error,
            "expected a tool error, got success: {}",
            self.text
        );
        self.text
    }
}

/// The mcp-server binary for this test's server and namespace, with extra environment
/// variables (which win).
pub fn mcp_server_command(server: &DevServer, env: &[(&str, &str)]) -> tokio::process::Command {
    mcp_server_command_at(&server.address, &server.namespace, env)
}

/// The mcp-server binary for the Temporal server at `address` (one that may not exist).
pub fn mcp_server_command_at(
    address: &str,
    namespace: &str,
    env: &[(&str, &str)],
) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(binary("mcp-server"));
    command
        .env("TEMPORAL_ADDRESS", address)
        .env("TEMPORAL_NAMESPACE", namespace)
        .env("RUST_LOG", "info")
        .envs(env.iter().copied());
    command
}

/// An MCP stdio server started from `command`, its stderr appended to `log`.
pub fn stdio_transport(command: tokio::process::Command, log: &Path) -> TokioChildProcess {
    let log = File::options()
        .create(true)
        .append(true)
        .open(log)
        .expect("MCP server log");
    let (transport, _) = TokioChildProcess::builder(command)
        .stderr(log)
        .spawn()
        .expect("start the MCP server");
    transport
}

/// The real `mcp-server` binary, driven by rmcp's MCP client over its stdin and stdout.
pub struct McpSession {
    service: RunningService<RoleClient, ()>,
    pid: u32,
}

impl McpSession {
    /// Starts an mcp-server for this test's server and namespace, with extra environment
    /// variables; its log goes in the test's folder.
    pub async fn start(server: &DevServer, env: &[(&str, &str)]) -> Self {
        Self::start_command(
            mcp_server_command(server, env),
            &server.dir().join("mcp-server.log"),
        )
        .await
    }

    /// Starts an mcp-server for a Temporal server at `address` (one that may not exist).
    pub async fn start_at(address: &str, log_dir: &Path, env: &[(&str, &str)]) -> Self {
        Self::start_command(
            mcp_server_command_at(address, "default", env),
            &log_dir.join("mcp-server.log"),
        )
        .await
    }

    /// Starts any MCP stdio server command (the benchmark also drives the tutorial's Python
    /// server), its stderr appended to `log`.
    pub async fn start_command(command: tokio::process::Command, log: &Path) -> Self {
        let transport = stdio_transport(command, log);
        let pid = transport.id().expect("MCP server pid");
        let service = ().serve(transport).await.expect("MCP initialize");
        McpSession { service, pid }
    }

    /// Calls a tool; a protocol-level error, or no answer within [`CALL_BOUND`], fails the
    /// test.
    pub async fn call(&self, tool: &str, arguments: Value) -> Reply {
        let arguments = arguments.as_object().cloned().unwrap_or_default();
        let call = self
            .service
            .call_tool(CallToolRequestParams::new(tool.to_owned()).with_arguments(arguments));
        let result = tokio::time::timeout(CALL_BOUND, call)
            .await
            .unwrap_or_else(|_| panic!("{tool} did not answer within {CALL_BOUND:?}"))
            .unwrap_or_else(|e| panic!("{tool} failed at the protocol level: {e}"));
        let mut texts = result
            .content
            .iter()
            .filter_map(|c| c.as_text().map(|t| t.text.clone()));
        Reply {
            text: texts.next().unwrap_or_default(),
            more_text: texts.collect(),
            is_error: result.is_error.unwrap_or(false),
            structured: result.structured_content,
        }
    }

    pub async fn status(&self, invoice_id: &str) -> Reply {
        self.call("get_invoice_status", json!({ "invoice_id": invoice_id }))
            .await
    }

    /// Polls get_invoice_status until it reports `expected`; fails the test after `within`.
    pub async fn await_status(&self, invoice_id: &str, expected: &str, within: Duration) {
        let wanted = format!("Invoice {invoice_id} status: {expected}");
        let deadline = Instant::now() + within;
        loop {
            let reply = self.status(invoice_id).await;
            if !reply.is_error && reply.text == wanted {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "invoice {invoice_id} never reached {expected:?}; last answer: {reply:?}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Polls get_invoice_status until `accept` holds of its structured view (`what` says what
    /// is awaited, for the failure); answers that view, or fails the test after `within`.
    pub async fn await_view(
        &self,
        invoice_id: &str,
        what: &str,
        within: Duration,
        accept: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + within;
        loop {
            let reply = self.status(invoice_id).await;
            if let Some(view) = reply.structured.filter(|view| accept(view)) {
                return view;
            }
            assert!(
                Instant::now() < deadline,
                "invoice {invoice_id} never {what}; last answer: {}",
                reply.text
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The MCP client itself, for requests beyond tools (resources, prompts).
    pub fn client(&self) -> &RunningService<RoleClient, ()> {
        &self.service
    }

    /// The tools the server lists.
    pub async fn tools(&self) -> Vec<rmcp::model::Tool> {
        bounded(self.service.list_all_tools())
            .await
            .expect("tools/list")
    }

    /// Resident memory of the MCP server process, in KiB.
    pub fn rss_kib(&self) -> u64 {
        rss_kib(self.pid)
    }

    /// The MCP server's own data in memory (RssAnon), in KiB.
    pub fn anonymous_rss_kib(&self) -> u64 {
        anonymous_rss_kib(self.pid)
    }

    /// Kills the mcp-server without warning, as a crash would.
    pub fn kill(self) {
        unsafe { libc::kill(self.pid as i32, libc::SIGKILL) };
    }
}

/// A workflow's recorded history.
pub struct History {
    events: Vec<HistoryEvent>,
}

impl History {
    pub async fn of(client: &Client, workflow_id: &str) -> History {
        let events = Self::raw(client, workflow_id)
            .into_events()
            .await
            .expect("fetch history");
        History { events }
    }

    /// The history in the SDK's JSON form, as the replayer reads it.
    pub fn raw(client: &Client, workflow_id: &str) -> WorkflowHistory {
        client
            .get_workflow_handle::<InvoiceWorkflow>(workflow_id)
            .fetch_history(WorkflowFetchHistoryOptions::default())
    }

    /// The type of each activity the workflow scheduled, by the id of its scheduling event.
    fn activity_types(&self) -> HashMap<i64, String> {
        self.events
            .iter()
            .filter_map(|event| match &event.attributes {
                Some(Attributes::ActivityTaskScheduledEventAttributes(a)) => Some((
                    event.event_id,
                    a.activity_type
                        .as_ref()
                        .map(|t| t.name.clone())
                        .unwrap_or_default(),
                )),
                _ => None,
            })
            .collect()
    }

    /// How many activities of each type completed.
    pub fn completed_activities(&self) -> HashMap<String, usize> {
        let types = self.activity_types();
        let mut counts = HashMap::new();
        for event in &self.events {
            if let Some(Attributes::ActivityTaskCompletedEventAttributes(a)) = &event.attributes {
                let name = types
                    .get(&a.scheduled_event_id)
                    .cloned()
                    .unwrap_or_default();
                *counts.entry(name).or_insert(0) += 1;
            }
        }
        counts
    }

    /// The workflow's result payload as JSON, once it completed.
    pub fn result(&self) -> Option<Value> {
        self.events
            .iter()
            .find_map(|event| match &event.attributes {
                Some(Attributes::WorkflowExecutionCompletedEventAttributes(a)) => {
                    first_json(a.result.as_ref())
                }
                _ => None,
            })
    }

    /// How the invoice ended, by its outcome's state (`"approved"`, ...), once it completed.
    pub fn outcome_state(&self) -> Option<Value> {
        self.result().map(|outcome| outcome["state"].clone())
    }

    /// The tutorial's result text in the invoice's outcome, once it completed.
    pub fn outcome_text(&self) -> Option<Value> {
        self.result().map(|outcome| outcome["text"].clone())
    }

    /// The details a cancelled workflow ended with (its outcome), once it was cancelled.
    pub fn cancelled_outcome(&self) -> Option<Value> {
        self.events
            .iter()
            .find_map(|event| match &event.attributes {
                Some(Attributes::WorkflowExecutionCanceledEventAttributes(a)) => {
                    first_json(a.details.as_ref())
                }
                _ => None,
            })
    }

    /// The attempt on which each activity of this type ended, in order (Temporal records an
    /// activity's start, with its attempt, when the activity closes).
    pub fn attempts(&self, activity_type: &str) -> Vec<i32> {
        let types = self.activity_types();
        self.events
            .iter()
            .filter_map(|event| match &event.attributes {
                Some(Attributes::ActivityTaskStartedEventAttributes(a))
                    if types.get(&a.scheduled_event_id).map(String::as_str)
                        == Some(activity_type) =>
                {
                    Some(a.attempt)
                }
                _ => None,
            })
            .collect()
    }

    /// How many Updates the workflow accepted (a refused one leaves no event).
    pub fn accepted_updates(&self) -> usize {
        self.events
            .iter()
            .filter(|event| {
                matches!(
                    event.attributes,
                    Some(Attributes::WorkflowExecutionUpdateAcceptedEventAttributes(
                        _
                    ))
                )
            })
            .count()
    }

    /// Names of the signals received, in order.
    pub fn signals(&self) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|event| match &event.attributes {
                Some(Attributes::WorkflowExecutionSignaledEventAttributes(a)) => {
                    Some(a.signal_name.clone())
                }
                _ => None,
            })
            .collect()
    }
}

/// The first payload as JSON, if there is one.
fn first_json(
    payloads: Option<&temporalio_common::protos::temporal::api::common::v1::Payloads>,
) -> Option<Value> {
    serde_json::from_slice(&payloads?.payloads.first()?.data).ok()
}

/// The payment ledger, read back for checks.
pub struct Books {
    pub entries: Vec<activities::ledger::Entry>,
    /// Every time the gateway moved money: not deduplicated by any key, so a double charge
    /// shows here even if the ledger's idempotency check let it through.
    pub movements: Vec<activities::ledger::Movement>,
}

impl Books {
    /// The lines of one invoice whose money moved for `operation` ("charge" or "refund"),
    /// one entry per movement, sorted.
    pub fn lines(&self, invoice_id: &str, operation: &str) -> Vec<i64> {
        let mut lines: Vec<i64> = self
            .movements
            .iter()
            .filter(|m| m.invoice_id == invoice_id && m.operation == operation)
            .map(|m| m.line_number)
            .collect();
        lines.sort();
        lines
    }

    /// The ledger check every money test ends with: each line charged at most once, each
    /// refunded at most once and only if charged, and what is charged minus what is refunded
    /// exactly the lines the invoice's final state says are kept.
    #[track_caller]
    pub fn assert_kept(&self, invoice_id: &str, kept: &[i64]) {
        let charged = self.lines(invoice_id, "charge");
        let refunded = self.lines(invoice_id, "refund");
        let mut unique = charged.clone();
        unique.dedup();
        assert_eq!(unique, charged, "{invoice_id}: a line charged twice");
        let mut unique_refunds = refunded.clone();
        unique_refunds.dedup();
        assert_eq!(
            unique_refunds, refunded,
            "{invoice_id}: a line refunded twice"
        );
        assert!(
            refunded.iter().all(|line| charged.contains(line)),
            "{invoice_id}: refunded {refunded:?} but charged {charged:?}"
        );
        let still: Vec<i64> = charged
            .iter()
            .copied()
            .filter(|line| !refunded.contains(line))
            .collect();
        assert_eq!(still, kept, "{invoice_id}: charged minus refunded");
    }

    /// Asserts exactly one charge per line and, for a refunded invoice, exactly one refund
    /// per line (none otherwise).
    #[track_caller]
    pub fn assert_invoice(&self, invoice_id: &str, line_count: i64, refunded: bool) {
        let all: Vec<i64> = (1..=line_count).collect();
        let refunds = if refunded { all.clone() } else { Vec::new() };
        self.assert_moved(invoice_id, &all, &refunds);
    }

    /// Asserts which lines were charged and which refunded, each exactly once.
    #[track_caller]
    pub fn assert_moved(&self, invoice_id: &str, charged: &[i64], refunded: &[i64]) {
        assert_eq!(
            self.lines(invoice_id, "charge"),
            charged,
            "money charged for {invoice_id}"
        );
        assert_eq!(
            self.lines(invoice_id, "refund"),
            refunded,
            "money refunded for {invoice_id}"
        );
        // The ledger's own books agree with the movements.
        let booked = self
            .entries
            .iter()
            .filter(|e| e.invoice_id == invoice_id)
            .count();
        assert_eq!(
            booked,
            charged.len() + refunded.len(),
            "ledger of {invoice_id}"
        );
    }
}

/// Resident memory of a process, in KiB, from `/proc/<pid>/status`.
pub fn rss_kib(pid: u32) -> u64 {
    proc_status_kib(pid, "VmRSS")
}

/// Resident memory that is the process's own data (heap, stacks), in KiB: RSS without the
/// pages of the binary and libraries (RssFile).
pub fn anonymous_rss_kib(pid: u32) -> u64 {
    proc_status_kib(pid, "RssAnon")
}

fn proc_status_kib(pid: u32, field: &str) -> u64 {
    let status =
        std::fs::read_to_string(format!("/proc/{pid}/status")).expect("the process is running");
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("{field} in /proc/{pid}/status"))
}
