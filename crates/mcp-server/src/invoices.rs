//! Invoices as Temporal workflows: start one, read its status, decide on it.
//!
//! One Temporal client per process, connected on first use and reused; a failed connection is
//! retried on the next call. Every operation has a deadline, so a dead server or a missing
//! worker gives a clear error in seconds instead of a hang.

use connection::{ConnectError, Settings};
use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};
use temporalio_client::{
    Client, QueryRejectCondition, WorkflowDescribeOptions, WorkflowExecutionStatus,
    WorkflowFetchHistoryOptions, WorkflowGetResultOptions, WorkflowHandle, WorkflowIdReusePolicy,
    WorkflowQueryOptions, WorkflowSignalOptions, WorkflowStartOptions,
    errors::{
        WorkflowGetResultError, WorkflowInteractionError, WorkflowQueryError, WorkflowStartError,
    },
};
use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;
use tokio::sync::OnceCell;
use workflows::{
    Decision, Invoice, InvoiceError, InvoiceStatus, InvoiceWorkflow,
    invoice::validate_id,
    names::{self, APPROVE_SIGNAL, REJECT_SIGNAL, TASK_QUEUE},
};

/// Longest wait for a connection to Temporal.
const CONNECT_LIMIT: Duration = Duration::from_secs(3);
/// Longest wait for one Temporal call once connected.
const CALL_LIMIT: Duration = Duration::from_secs(4);
/// Longest wait for a status query. Temporal holds a query until a worker answers it (30 s
/// when none runs), so this bound is what tells us that no worker is serving the invoice.
const QUERY_LIMIT: Duration = Duration::from_secs(3);
/// Longest wait for the `describe` that follows an unanswered query: a live server answers in
/// milliseconds, and the whole status call stays under five seconds.
const AFTER_QUERY_LIMIT: Duration = Duration::from_millis(1500);

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
    #[error("Invoice {id} was already {decision}; the first decision stands and this one changed nothing.", decision = past_tense(*.decision))]
    AlreadyDecided { id: String, decision: Decision },
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
        limit.as_secs()
    )]
    TimedOut {
        limit: Duration,
        action: &'static str,
    },
    #[error("Temporal refused to {action}: {message}")]
    Temporal {
        action: &'static str,
        message: String,
    },
}

type OpResult<T> = Result<T, InvoiceOpError>;

fn past_tense(decision: Decision) -> &'static str {
    match decision {
        Decision::Approve => "approved",
        Decision::Reject => "rejected",
    }
}

/// The invoice operations the MCP tools call.
pub struct Invoices {
    settings: Settings,
    client: OnceCell<Client>,
    approval_timeout: Duration,
    /// Request ids of our signals are `<this prefix>-<counter>`: unique across processes and
    /// hosts, so the history tells whose decision came first.
    request_prefix: String,
    signals_sent: AtomicU64,
}

impl Invoices {
    pub fn new(settings: Settings, approval_timeout: Duration) -> Self {
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |t| t.as_nanos());
        Self {
            request_prefix: format!("{}-{started}", settings.identity()),
            settings,
            client: OnceCell::new(),
            approval_timeout,
            signals_sent: AtomicU64::new(0),
        }
    }

    /// Checks the invoice and starts its workflow; answers the workflow id.
    pub async fn start(&self, invoice_data: &serde_json::Value) -> OpResult<Invoice> {
        let invoice = Invoice::from_json(invoice_data)
            .map_err(InvoiceOpError::InvalidInvoice)?
            .with_approval_timeout(self.approval_timeout);
        let client = self.client().await?;
        let options = WorkflowStartOptions::new(TASK_QUEUE, names::workflow_id(&invoice.id))
            // An invoice id names one invoice forever: its idempotency keys depend on it.
            .id_reuse_policy(WorkflowIdReusePolicy::RejectDuplicate)
            .static_summary(invoice.summary())
            .build();
        let started = bounded(
            CALL_LIMIT,
            "start the invoice",
            client.start_workflow(InvoiceWorkflow::run, invoice.clone(), options),
        )
        .await?;
        match started {
            Ok(_) => Ok(invoice),
            Err(WorkflowStartError::AlreadyStarted { .. }) => {
                Err(InvoiceOpError::DuplicateId(invoice.id))
            }
            Err(error) => Err(refused("start the invoice", error)),
        }
    }

    /// The invoice's status text: from the workflow itself while it runs, from its outcome
    /// once it has finished (which needs no worker).
    pub async fn status(&self, invoice_id: &str) -> OpResult<String> {
        let handle = self.handle(invoice_id).await?;
        // One round trip for the common case, a running invoice. A closed one is refused by
        // the server at once (NotOpen) instead of being replayed on a worker.
        let options = WorkflowQueryOptions::builder()
            .reject_condition(QueryRejectCondition::NotOpen)
            .build();
        let query = handle.query(InvoiceWorkflow::get_status, (), options);
        match tokio::time::timeout(QUERY_LIMIT, query).await {
            Ok(Ok(status)) => Ok(status),
            Ok(Err(WorkflowQueryError::Rejected { status })) => {
                let status = status.unwrap_or(WorkflowExecutionStatus::Unknown);
                self.final_status(&handle, status).await
            }
            Ok(Err(WorkflowQueryError::NotFound(_))) => {
                Err(InvoiceOpError::Unknown(invoice_id.to_owned()))
            }
            Ok(Err(error)) => Err(refused("query the invoice status", error)),
            // Temporal holds a query until a worker answers. Tell a dead server from a missing
            // worker: only a live server answers `describe`.
            Err(_) => match self
                .execution_status(&handle, invoice_id, AFTER_QUERY_LIMIT)
                .await?
            {
                WorkflowExecutionStatus::Running => Err(InvoiceOpError::NoWorker {
                    id: invoice_id.to_owned(),
                }),
                finished => self.final_status(&handle, finished).await,
            },
        }
    }

    /// Sends a decision to an invoice that is still waiting for one, and makes sure it is the
    /// decision that counts: the first decision recorded in the history wins.
    pub async fn decide(&self, invoice_id: &str, decision: Decision) -> OpResult<()> {
        let handle = self.handle(invoice_id).await?;
        // The history says it all without a worker: closed, decided, or past its deadline.
        let before = self.decision_record(&handle, invoice_id).await?;
        if let Some(status) = before.closed {
            return Err(InvoiceOpError::Closed {
                id: invoice_id.to_owned(),
                status,
            });
        }
        if let Some((earlier, _)) = before.decision {
            return Err(InvoiceOpError::AlreadyDecided {
                id: invoice_id.to_owned(),
                decision: earlier,
            });
        }
        if before.deadline_passed {
            return Err(InvoiceOpError::Closed {
                id: invoice_id.to_owned(),
                status: InvoiceStatus::RefundingTimedOut.text().to_owned(),
            });
        }

        let request_id = format!(
            "{}-{}",
            self.request_prefix,
            self.signals_sent.fetch_add(1, Ordering::Relaxed)
        );
        let options = WorkflowSignalOptions::builder()
            .request_id(request_id.clone())
            .build();
        let sent = match decision {
            Decision::Approve => {
                bounded(
                    CALL_LIMIT,
                    "send the decision",
                    handle.signal(InvoiceWorkflow::approve_invoice, (), options),
                )
                .await?
            }
            Decision::Reject => {
                bounded(
                    CALL_LIMIT,
                    "send the decision",
                    handle.signal(InvoiceWorkflow::reject_invoice, (), options),
                )
                .await?
            }
        };
        sent.map_err(|e| interaction_error(invoice_id, "send the decision", e))?;

        // Another caller may have decided between our check and our signal.
        match self.decision_record(&handle, invoice_id).await?.decision {
            Some((winner, winner_request)) if winner_request != request_id => {
                Err(InvoiceOpError::AlreadyDecided {
                    id: invoice_id.to_owned(),
                    decision: winner,
                })
            }
            _ => Ok(()),
        }
    }

    async fn client(&self) -> OpResult<&Client> {
        Ok(self
            .client
            .get_or_try_init(|| self.settings.connect(CONNECT_LIMIT))
            .await?)
    }

    async fn handle(&self, invoice_id: &str) -> OpResult<WorkflowHandle<Client, InvoiceWorkflow>> {
        validate_id(invoice_id).map_err(InvoiceOpError::InvalidId)?;
        let client = self.client().await?;
        Ok(client.get_workflow_handle::<InvoiceWorkflow>(names::workflow_id(invoice_id)))
    }

    async fn execution_status(
        &self,
        handle: &WorkflowHandle<Client, InvoiceWorkflow>,
        invoice_id: &str,
        limit: Duration,
    ) -> OpResult<WorkflowExecutionStatus> {
        let described = bounded(
            limit,
            "look up the invoice",
            handle.describe(WorkflowDescribeOptions::default()),
        )
        .await?
        .map_err(|e| interaction_error(invoice_id, "look up the invoice", e))?;
        Ok(described.status())
    }

    /// The status of a finished invoice, read from its outcome.
    async fn final_status(
        &self,
        handle: &WorkflowHandle<Client, InvoiceWorkflow>,
        status: WorkflowExecutionStatus,
    ) -> OpResult<String> {
        if status != WorkflowExecutionStatus::Completed {
            return Ok(closed_label(status).to_owned());
        }
        let result = bounded(
            CALL_LIMIT,
            "read the invoice outcome",
            handle.get_result(WorkflowGetResultOptions::default()),
        )
        .await?;
        match result {
            Ok(result) => Ok(status_of_result(result)),
            Err(WorkflowGetResultError::Failed(failure)) => Ok(format!("Failed: {failure}")),
            Err(error) => Err(refused("read the invoice outcome", error)),
        }
    }

    /// What the invoice's history records about deciding on it.
    async fn decision_record(
        &self,
        handle: &WorkflowHandle<Client, InvoiceWorkflow>,
        invoice_id: &str,
    ) -> OpResult<DecisionRecord> {
        let events = bounded(
            CALL_LIMIT,
            "read the invoice history",
            handle
                .fetch_history(WorkflowFetchHistoryOptions::default())
                .into_events(),
        )
        .await?
        .map_err(|e| interaction_error(invoice_id, "read the invoice history", e))?;
        let mut record = DecisionRecord::default();
        for event in events {
            let closed = match event.attributes {
                Some(Attributes::WorkflowExecutionSignaledEventAttributes(signal)) => {
                    let decision = match signal.signal_name.as_str() {
                        APPROVE_SIGNAL => Decision::Approve,
                        REJECT_SIGNAL => Decision::Reject,
                        _ => continue,
                    };
                    record.decision.get_or_insert((decision, signal.request_id));
                    continue;
                }
                // The only timer the workflow starts is the approval deadline.
                Some(Attributes::TimerFiredEventAttributes(_)) => {
                    record.deadline_passed = true;
                    continue;
                }
                Some(Attributes::WorkflowExecutionCompletedEventAttributes(completed)) => {
                    let result = completed
                        .result
                        .and_then(|payloads| payloads.payloads.into_iter().next())
                        .and_then(|payload| serde_json::from_slice::<String>(&payload.data).ok())
                        .unwrap_or_default();
                    status_of_result(result)
                }
                Some(Attributes::WorkflowExecutionFailedEventAttributes(_)) => {
                    closed_label(WorkflowExecutionStatus::Failed).to_owned()
                }
                Some(Attributes::WorkflowExecutionTerminatedEventAttributes(_)) => {
                    closed_label(WorkflowExecutionStatus::Terminated).to_owned()
                }
                Some(Attributes::WorkflowExecutionCanceledEventAttributes(_)) => {
                    closed_label(WorkflowExecutionStatus::Canceled).to_owned()
                }
                Some(Attributes::WorkflowExecutionTimedOutEventAttributes(_)) => {
                    closed_label(WorkflowExecutionStatus::TimedOut).to_owned()
                }
                _ => continue,
            };
            record.closed = Some(closed);
        }
        Ok(record)
    }
}

/// The status text of a completed invoice, from its result (which the workflow wrote).
fn status_of_result(result: String) -> String {
    InvoiceStatus::of_result(&result)
        .map(|status| status.text().to_owned())
        .unwrap_or(result)
}

/// The status text of an invoice that closed without completing.
fn closed_label(status: WorkflowExecutionStatus) -> &'static str {
    match status {
        WorkflowExecutionStatus::Failed => "Failed",
        WorkflowExecutionStatus::Canceled => "Cancelled",
        WorkflowExecutionStatus::Terminated => "Terminated",
        WorkflowExecutionStatus::TimedOut => "Timed out",
        _ => "Closed",
    }
}

#[derive(Default)]
struct DecisionRecord {
    /// The first decision signal and the request id it was sent with.
    decision: Option<(Decision, String)>,
    deadline_passed: bool,
    /// The final status, once the workflow has closed.
    closed: Option<String>,
}

/// Runs a Temporal call with a deadline.
async fn bounded<T>(
    limit: Duration,
    action: &'static str,
    call: impl Future<Output = T>,
) -> OpResult<T> {
    tokio::time::timeout(limit, call)
        .await
        .map_err(|_| InvoiceOpError::TimedOut { limit, action })
}

fn interaction_error(
    invoice_id: &str,
    action: &'static str,
    error: WorkflowInteractionError,
) -> InvoiceOpError {
    match error {
        WorkflowInteractionError::NotFound(_) => InvoiceOpError::Unknown(invoice_id.to_owned()),
        other => refused(action, other),
    }
}

fn refused(action: &'static str, error: impl std::fmt::Display) -> InvoiceOpError {
    InvoiceOpError::Temporal {
        action,
        message: error.to_string(),
    }
}
