//! Invoices as Temporal workflows, for every front end (the MCP server, the approval inbox),
//! one job per module:
//!
//! - [`temporal`]: the connection (one client per process, connected on first use) and the
//!   bounded calls every operation makes;
//! - `start`: start an invoice;
//! - `status`: read where an invoice stands;
//! - `decide`: take a human decision through the workflow's `decide` Update;
//! - `list`: page through invoices by state;
//! - `refunds`: retry refunds that keep failing, or settle a line by hand;
//! - [`missing_handler`]: the one place the SDKs' words are read;
//! - [`history`]: the pure translation of Temporal's records (history, description,
//!   visibility) into our views;
//! - [`view`]: those views.
//!
//! Every operation has a deadline, so a dead server or a missing worker gives a clear error
//! in seconds instead of a hang.

mod decide;
pub mod history;
mod list;
pub mod missing_handler;
mod refunds;
mod start;
mod status;
mod temporal;
pub mod view;

pub use decide::{Decided, Delivery};
pub use list::MAX_PAGE_SIZE;
pub use refunds::RefundsAnswer;
pub use start::Started;
pub use status::PublishedState;

use connection::{ConnectError, Settings};
use std::{
    collections::HashMap,
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};
use temporalio_client::Client;
use tokio::sync::OnceCell;
use workflows::{InvoiceError, names, names::TASK_QUEUE};

/// What went wrong, in words an agent can act on.
#[derive(Debug, thiserror::Error)]
pub enum InvoiceOpError {
    #[error("Invalid invoice: {0}")]
    InvalidInvoice(InvoiceError),
    #[error("Invalid invoice id: {0}")]
    InvalidId(InvoiceError),
    #[error(
        "Invoice {0} was not found: no workflow {workflow_id} exists. Check the id, or start the invoice with process_invoice.",
        workflow_id = names::workflow_id(.0)
    )]
    Unknown(String),
    #[error(
        "Invoice id {0} is already in use (workflow {workflow_id}); invoice ids cannot be reused. Use get_invoice_status to see that invoice, or choose a new id.",
        workflow_id = names::workflow_id(.0)
    )]
    DuplicateId(String),
    #[error(
        "Invoice {id} already finished: {status}, at {closed_at}. Nothing new was started: invoice ids cannot be reused, so choose a new id for a new invoice, or use get_invoice_status to see this one."
    )]
    AlreadyFinished {
        id: String,
        status: String,
        closed_at: String,
    },
    #[error(
        "Invoice id {id} is already in use by a different invoice (workflow {workflow_id}): {differences}. Invoice ids cannot be reused: choose a new id, or resubmit the invoice exactly as it was to get the one already started.",
        workflow_id = names::workflow_id(.id)
    )]
    DuplicateContent { id: String, differences: String },
    /// The workflow refused a request about its refunds; its words say why.
    #[error("Invoice {id}: {reason}.")]
    Refused { id: String, reason: String },
    /// The workflow refused the decision; its words say why.
    #[error("Invoice {id}: {reason}.")]
    DecisionRefused { id: String, reason: String },
    #[error(
        "Invoice {id} is no longer awaiting approval (status: {status}); a decision now would change nothing."
    )]
    Closed { id: String, status: String },
    #[error(
        "Invoice {id} is running but no worker is serving {TASK_QUEUE}, so its status cannot be read right now. Start one with `cargo run -p worker`; the invoice is safe and continues where it stopped."
    )]
    NoWorker { id: String },
    #[error("{0}")]
    Unreachable(#[from] ConnectError),
    #[error(
        "Temporal did not answer within {} s while trying to {action}; is the Temporal server running?",
        limit.as_secs_f64()
    )]
    TimedOut {
        limit: Duration,
        action: &'static str,
    },
    #[error(
        "Invalid cursor {0:?}: pass the next_cursor of an earlier list_invoices answer unchanged, or no cursor for the first page."
    )]
    InvalidCursor(String),
    #[error("Temporal refused to {action}: {message}")]
    Temporal {
        action: &'static str,
        message: String,
    },
}

type OpResult<T> = Result<T, InvoiceOpError>;

/// What every invoice this process starts carries in its input, from the configuration.
#[derive(Clone, Debug)]
pub struct StartPolicy {
    /// How long the invoice waits for a decision.
    pub approval_timeout: Duration,
    /// How long a failing charge or refund is retried, from its first attempt a worker
    /// started.
    pub payment_retry_limit: Duration,
    /// The longest wait between two rounds of retries of refunds that keep failing.
    pub refund_retry_cap: Duration,
    /// Who submits it (the person behind the agent).
    pub submitted_by: Option<String>,
    /// Whether the submitter is barred from approving it.
    pub separation_of_duties: bool,
}

impl Default for StartPolicy {
    fn default() -> Self {
        Self {
            approval_timeout: workflows::duration::DEFAULT_APPROVAL_TIMEOUT,
            payment_retry_limit: workflows::duration::DEFAULT_PAYMENT_RETRY_LIMIT,
            refund_retry_cap: workflows::duration::DEFAULT_REFUND_RETRY_CAP,
            submitted_by: None,
            separation_of_duties: false,
        }
    }
}

/// The invoice operations the front ends call.
pub struct Invoices {
    settings: Settings,
    client: OnceCell<Client>,
    policy: StartPolicy,
    /// Update and signal request ids are `<this prefix>-<counter>`: unique across processes
    /// and hosts, so that a retried call is recognised and never decides twice.
    request_prefix: String,
    requests_sent: AtomicU64,
    /// Described of running invoices that no longer change (lines, start, deadline), so that a
    /// status read needs only the query.
    waiting_descriptions: Mutex<HashMap<String, status::Described>>,
}

impl Invoices {
    pub fn new(settings: Settings, policy: StartPolicy) -> Self {
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |t| t.as_nanos());
        Self {
            request_prefix: format!("{}-{started}", settings.identity()),
            settings,
            client: OnceCell::new(),
            policy,
            requests_sent: AtomicU64::new(0),
            waiting_descriptions: Mutex::default(),
        }
    }

    /// A request id no other call of any process has used.
    fn request_id(&self) -> String {
        format!(
            "{}-{}",
            self.request_prefix,
            self.requests_sent.fetch_add(1, Ordering::Relaxed)
        )
    }
}
