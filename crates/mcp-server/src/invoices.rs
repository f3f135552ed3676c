//! Invoices as Temporal workflows: start one, read its status, decide on it.
//!
//! One Temporal client per process, connected on first use and reused; a failed connection is
//! retried on the next call. Every operation has a deadline, so a dead server or a missing
//! worker gives a clear error in seconds instead of a hang.

use crate::view::{Contents, DecisionView, InvoiceList, InvoiceListEntry, InvoiceView};
use connection::{ConnectError, Settings};
use std::{
    collections::HashMap,
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, SystemTime},
};
use temporalio_client::{
    Client, NamespacedClient, QueryRejectCondition, WorkflowDescribeOptions,
    WorkflowExecutionDescription, WorkflowExecutionStatus, WorkflowFetchHistoryOptions,
    WorkflowGetResultOptions, WorkflowHandle, WorkflowIdReusePolicy, WorkflowQueryOptions,
    WorkflowSignalOptions, WorkflowStartOptions,
    errors::{
        WorkflowGetResultError, WorkflowInteractionError, WorkflowQueryError, WorkflowStartError,
    },
    tonic,
};
use temporalio_common::{
    MemoValues,
    protos::temporal::api::{
        common::v1::{Memo, Payload, Payloads, SearchAttributes as ProtoSearchAttributes},
        history::v1::{HistoryEvent, history_event::Attributes},
        workflowservice::v1::ListWorkflowExecutionsRequest,
    },
    search_attributes::SearchAttributes,
};
use tokio::sync::OnceCell;
use workflows::{
    Decision, Invoice, InvoiceError, InvoiceState, InvoiceStatus, InvoiceWorkflow,
    invoice::validate_id,
    names::{
        self, APPROVE_SIGNAL, DEADLINE_ATTRIBUTE, INVOICE_MEMO, REJECT_SIGNAL, SEARCH_ATTRIBUTES,
        STATE_ATTRIBUTE, TASK_QUEUE, WORKFLOW_TYPE,
    },
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
/// How long a decision waits for the workflow to act on it before answering anyway.
const OUTCOME_LIMIT: Duration = Duration::from_secs(3);
/// Largest page `list_invoices` returns.
pub const MAX_PAGE_SIZE: usize = 100;
/// Most invoices whose settled facts are remembered (a few hundred bytes each).
const MAX_SETTLED: usize = 1024;

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
    /// Facts of running invoices that no longer change (lines, start, deadline), so that a
    /// status read needs only the query.
    settled: Mutex<HashMap<String, Facts>>,
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
            settled: Mutex::default(),
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
            // Listed as processing from the first moment, with its lines and total at hand.
            .search_attributes(SearchAttributes::new([
                STATE_ATTRIBUTE.value_set(InvoiceState::Processing.as_str().to_owned())
            ]))
            .memo({
                let mut memo = MemoValues::new();
                memo.insert(INVOICE_MEMO, invoice.clone());
                memo
            })
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

    /// The invoice as it stands: its status from the workflow (or its outcome), its lines,
    /// deadline and dates from Temporal's record of it. Both are asked at once.
    pub async fn details(&self, invoice_id: &str) -> OpResult<InvoiceView> {
        let handle = self.handle(invoice_id).await?;
        // Once an invoice awaits approval, all but its status is settled: one query answers.
        let settled = self
            .settled
            .lock()
            .expect("settled facts")
            .get(invoice_id)
            .cloned();
        let (observed, described) = match settled {
            Some(facts) => {
                let observed = self.observe(&handle, invoice_id).await?;
                if !observed.finished {
                    return Ok(facts.view(invoice_id, observed));
                }
                // It has finished since: its close time is news, and it is settled no more.
                self.settled
                    .lock()
                    .expect("settled facts")
                    .remove(invoice_id);
                (
                    observed,
                    self.describe(&handle, invoice_id, CALL_LIMIT).await?,
                )
            }
            None => {
                let (observed, described) = tokio::join!(
                    self.observe(&handle, invoice_id),
                    self.describe(&handle, invoice_id, CALL_LIMIT)
                );
                (observed?, described?)
            }
        };
        let facts = Facts::of(&described);
        if facts.settled() && !observed.finished {
            let mut settled = self.settled.lock().expect("settled facts");
            if settled.len() >= MAX_SETTLED {
                settled.clear();
            }
            settled.insert(invoice_id.to_owned(), facts.clone());
        }
        Ok(facts.view(invoice_id, observed))
    }

    /// The invoice's status text: from the workflow itself while it runs, from its outcome
    /// once it has finished (which needs no worker).
    async fn observe(
        &self,
        handle: &WorkflowHandle<Client, InvoiceWorkflow>,
        invoice_id: &str,
    ) -> OpResult<Observed> {
        // One round trip for the common case, a running invoice. A closed one is refused by
        // the server at once (NotOpen) instead of being replayed on a worker.
        let options = WorkflowQueryOptions::builder()
            .reject_condition(QueryRejectCondition::NotOpen)
            .build();
        let query = handle.query(InvoiceWorkflow::get_status, (), options);
        match tokio::time::timeout(QUERY_LIMIT, query).await {
            Ok(Ok(status)) => Ok(Observed {
                status,
                result: None,
                finished: false,
            }),
            Ok(Err(WorkflowQueryError::Rejected { status })) => {
                let status = status.unwrap_or(WorkflowExecutionStatus::Unknown);
                self.final_status(handle, status).await
            }
            Ok(Err(WorkflowQueryError::NotFound(_))) => {
                Err(InvoiceOpError::Unknown(invoice_id.to_owned()))
            }
            Ok(Err(error)) => Err(refused("query the invoice status", error)),
            // Temporal holds a query until a worker answers. Tell a dead server from a missing
            // worker: only a live server answers `describe`.
            Err(_) => match self
                .describe(handle, invoice_id, AFTER_QUERY_LIMIT)
                .await?
                .status()
            {
                WorkflowExecutionStatus::Running => Err(InvoiceOpError::NoWorker {
                    id: invoice_id.to_owned(),
                }),
                finished => self.final_status(handle, finished).await,
            },
        }
    }

    /// Sends a decision to an invoice that is still waiting for one, makes sure it is the
    /// decision that counts (the first decision recorded in the history wins), and answers the
    /// invoice once the workflow has acted on it.
    pub async fn decide(&self, invoice_id: &str, decision: Decision) -> OpResult<InvoiceView> {
        let handle = self.handle(invoice_id).await?;
        // The history says it all without a worker: closed, decided, or past its deadline.
        let before = self.decision_record(&handle, invoice_id).await?;
        // An earlier decision is the reason to give, even once the invoice has finished.
        if let Some((earlier, _)) = before.decision {
            return Err(InvoiceOpError::AlreadyDecided {
                id: invoice_id.to_owned(),
                decision: earlier,
            });
        }
        if let Some(status) = before.closed {
            return Err(InvoiceOpError::Closed {
                id: invoice_id.to_owned(),
                status,
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

        // Another caller may have decided between our check and our signal: the history says
        // whose signal came first. Meanwhile, wait for the workflow to act.
        let (record, outcome) = tokio::join!(
            self.decision_record(&handle, invoice_id),
            self.outcome(invoice_id, decision)
        );
        match record?.decision {
            Some((winner, winner_request)) if winner_request != request_id => {
                Err(InvoiceOpError::AlreadyDecided {
                    id: invoice_id.to_owned(),
                    decision: winner,
                })
            }
            _ => Ok(outcome),
        }
    }

    /// The invoice once the workflow has taken `decision` (its signal is recorded). If the
    /// workflow has not acted within [`OUTCOME_LIMIT`] (no worker running, say), the answer
    /// says so: the decision stands and takes effect when a worker picks the invoice up.
    async fn outcome(&self, invoice_id: &str, decision: Decision) -> InvoiceView {
        let give_up = tokio::time::Instant::now() + OUTCOME_LIMIT;
        let mut last = None;
        loop {
            match tokio::time::timeout_at(give_up, self.details(invoice_id)).await {
                Ok(Ok(view)) if view.state.is_decided() => return view,
                Ok(Ok(view)) => last = Some(view),
                Ok(Err(_)) | Err(_) => break,
            }
            if tokio::time::Instant::now() + OUTCOME_POLL >= give_up {
                break;
            }
            tokio::time::sleep(OUTCOME_POLL).await;
        }
        let mut view = last.unwrap_or_else(|| {
            let waiting = InvoiceStatus::AwaitingApproval;
            InvoiceView::new(invoice_id, waiting.state(), waiting.text().to_owned())
        });
        view.decision = Some(match decision {
            Decision::Approve => DecisionView::Approved,
            Decision::Reject => DecisionView::Rejected,
        });
        view
    }

    /// One page of invoices, newest first, in `state` (or every state), from Temporal's
    /// visibility store. `cursor` is the `next_cursor` of the page before.
    pub async fn list(
        &self,
        state: Option<InvoiceState>,
        page_size: usize,
        cursor: Option<&str>,
    ) -> OpResult<InvoiceList> {
        let next_page_token = match cursor {
            None => Vec::new(),
            Some(cursor) => decode_cursor(cursor)
                .ok_or_else(|| InvoiceOpError::InvalidCursor(cursor.to_owned()))?,
        };
        let mut query = format!("WorkflowType = '{WORKFLOW_TYPE}'");
        if let Some(state) = state {
            query.push_str(&format!(
                " AND {} = '{}'",
                STATE_ATTRIBUTE.name(),
                state.as_str()
            ));
        }
        let client = self.client().await?;
        let request = ListWorkflowExecutionsRequest {
            namespace: client.namespace(),
            page_size: page_size.clamp(1, MAX_PAGE_SIZE) as i32,
            next_page_token,
            query,
        };
        let mut service = client.connection().workflow_service();
        let page = bounded(
            CALL_LIMIT,
            "list the invoices",
            service.list_workflow_executions(tonic::Request::new(request)),
        )
        .await?
        .map_err(|status| match status.code() {
            tonic::Code::InvalidArgument if cursor.is_some() => {
                InvoiceOpError::InvalidCursor(cursor.unwrap_or_default().to_owned())
            }
            _ => refused("list the invoices", status.message()),
        })?
        .into_inner();
        let invoices = page
            .executions
            .iter()
            .filter_map(|info| {
                let workflow_id = &info.execution.as_ref()?.workflow_id;
                let invoice_id = names::invoice_id(workflow_id)?;
                let contents = memo_contents(info.memo.as_ref());
                let attributes = info.search_attributes.as_ref();
                Some(InvoiceListEntry {
                    invoice_id: invoice_id.to_owned(),
                    workflow_id: workflow_id.clone(),
                    state: attribute(attributes, STATE_ATTRIBUTE.name())
                        .and_then(|text| InvoiceState::parse(&text)),
                    line_count: contents.as_ref().map(|c| c.lines.len()),
                    total: contents
                        .as_ref()
                        .map(|c| workflows::invoice::format_amount(c.total_cents)),
                    total_cents: contents.as_ref().map(|c| c.total_cents),
                    approval_deadline: deadline(attributes),
                    started_at: info.start_time.map(|t| time_text(t.seconds, t.nanos)),
                })
            })
            .collect();
        Ok(InvoiceList {
            state,
            invoices,
            next_cursor: (!page.next_page_token.is_empty())
                .then(|| encode_cursor(&page.next_page_token)),
        })
    }

    /// What happened to the invoice, one line per step that matters to a person.
    pub async fn story(&self, invoice_id: &str) -> OpResult<Vec<String>> {
        let handle = self.handle(invoice_id).await?;
        let events = self.history(&handle, invoice_id).await?;
        Ok(events.iter().filter_map(story_line).collect())
    }

    async fn client(&self) -> OpResult<&Client> {
        Ok(self
            .client
            .get_or_try_init(|| async {
                let client = self.settings.connect(CONNECT_LIMIT).await?;
                // Invoices start with their state as a search attribute: a namespace without
                // it would refuse every start. The worker adds them too; whoever comes first.
                match bounded(
                    CALL_LIMIT,
                    "check the search attributes",
                    connection::ensure_search_attributes(&client, &SEARCH_ATTRIBUTES),
                )
                .await
                {
                    Ok(Ok(added)) if !added.is_empty() => {
                        tracing::info!("registered the search attributes {added:?}")
                    }
                    Ok(Ok(_)) => {}
                    Ok(Err(error)) => tracing::warn!("{error}"),
                    Err(error) => tracing::warn!("{error}"),
                }
                Ok::<_, ConnectError>(client)
            })
            .await?)
    }

    async fn handle(&self, invoice_id: &str) -> OpResult<WorkflowHandle<Client, InvoiceWorkflow>> {
        validate_id(invoice_id).map_err(InvoiceOpError::InvalidId)?;
        let client = self.client().await?;
        Ok(client.get_workflow_handle::<InvoiceWorkflow>(names::workflow_id(invoice_id)))
    }

    /// Temporal's description of the invoice's workflow (status, dates, memo, search
    /// attributes); needs no worker.
    async fn describe(
        &self,
        handle: &WorkflowHandle<Client, InvoiceWorkflow>,
        invoice_id: &str,
        limit: Duration,
    ) -> OpResult<WorkflowExecutionDescription> {
        bounded(
            limit,
            "look up the invoice",
            handle.describe(WorkflowDescribeOptions::default()),
        )
        .await?
        .map_err(|e| interaction_error(invoice_id, "look up the invoice", e))
    }

    /// The invoice's whole history; needs no worker.
    async fn history(
        &self,
        handle: &WorkflowHandle<Client, InvoiceWorkflow>,
        invoice_id: &str,
    ) -> OpResult<Vec<HistoryEvent>> {
        bounded(
            CALL_LIMIT,
            "read the invoice history",
            handle
                .fetch_history(WorkflowFetchHistoryOptions::default())
                .into_events(),
        )
        .await?
        .map_err(|e| interaction_error(invoice_id, "read the invoice history", e))
    }

    /// The status of a finished invoice, read from its outcome.
    async fn final_status(
        &self,
        handle: &WorkflowHandle<Client, InvoiceWorkflow>,
        status: WorkflowExecutionStatus,
    ) -> OpResult<Observed> {
        if status != WorkflowExecutionStatus::Completed {
            return Ok(Observed {
                status: closed_label(status).to_owned(),
                result: None,
                finished: true,
            });
        }
        let result = bounded(
            CALL_LIMIT,
            "read the invoice outcome",
            handle.get_result(WorkflowGetResultOptions::default()),
        )
        .await?;
        match result {
            Ok(result) => Ok(Observed {
                status: status_of_result(result.clone()),
                result: Some(result),
                finished: true,
            }),
            Err(WorkflowGetResultError::Failed(failure)) => Ok(Observed {
                status: format!("Failed: {failure}"),
                result: None,
                finished: true,
            }),
            Err(error) => Err(refused("read the invoice outcome", error)),
        }
    }

    /// What the invoice's history records about deciding on it.
    async fn decision_record(
        &self,
        handle: &WorkflowHandle<Client, InvoiceWorkflow>,
        invoice_id: &str,
    ) -> OpResult<DecisionRecord> {
        let events = self.history(handle, invoice_id).await?;
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
                    status_of_result(payload_text(completed.result.as_ref()))
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

/// What a status read finds: the status text, and the result once the invoice has finished.
struct Observed {
    status: String,
    result: Option<String>,
    /// Read from the outcome: the invoice has finished.
    finished: bool,
}

/// How often a decision looks whether the workflow has acted on it.
const OUTCOME_POLL: Duration = Duration::from_millis(100);

/// What Temporal's description of an invoice says besides its status.
#[derive(Clone)]
struct Facts {
    contents: Option<Contents>,
    started_at: Option<String>,
    approval_deadline: Option<String>,
    closed_at: Option<String>,
    running: bool,
    /// The state the workflow last published: the fallback for a status text we do not know
    /// (another implementation's worker).
    published: Option<InvoiceState>,
}

impl Facts {
    fn of(described: &WorkflowExecutionDescription) -> Self {
        let info = described.raw().workflow_execution_info.as_ref();
        let attributes = info.and_then(|info| info.search_attributes.as_ref());
        Facts {
            contents: memo_contents(info.and_then(|info| info.memo.as_ref())),
            started_at: described.start_time().map(rfc3339),
            approval_deadline: deadline(attributes),
            closed_at: described.close_time().map(rfc3339),
            running: described.status() == WorkflowExecutionStatus::Running,
            published: attribute(attributes, STATE_ATTRIBUTE.name())
                .and_then(|text| InvoiceState::parse(&text)),
        }
    }

    /// Whether these facts stay true while the invoice runs: its lines and start never
    /// change, and its deadline is set once, when every line is charged.
    fn settled(&self) -> bool {
        self.running && self.approval_deadline.is_some()
    }

    /// The structured view of an invoice from its status and these facts.
    fn view(self, invoice_id: &str, observed: Observed) -> InvoiceView {
        let state = InvoiceStatus::of_text(&observed.status)
            .map(InvoiceStatus::state)
            .or_else(|| {
                InvoiceStatus::of_result(observed.result.as_deref().unwrap_or_default())
                    .map(InvoiceStatus::state)
            })
            .unwrap_or(match self.running {
                true => self.published.unwrap_or(InvoiceState::Processing),
                false => InvoiceState::Failed,
            });
        let mut view =
            InvoiceView::new(invoice_id, state, observed.status).with_contents(self.contents);
        view.approval_deadline = self.approval_deadline;
        view.started_at = self.started_at;
        view.closed_at = self.closed_at;
        view.result = observed.result;
        view
    }
}

/// The invoice the MCP server stored in the memo at start, if it did.
fn memo_contents(memo: Option<&Memo>) -> Option<Contents> {
    let payload = memo?.fields.get(INVOICE_MEMO)?;
    let invoice: Invoice = serde_json::from_slice(&payload.data).ok()?;
    Some(Contents::of(&invoice))
}

/// A search attribute's value as text (keywords and datetimes are JSON strings).
fn attribute(attributes: Option<&ProtoSearchAttributes>, name: &str) -> Option<String> {
    let payload: &Payload = attributes?.indexed_fields.get(name)?;
    serde_json::from_slice(&payload.data).ok()
}

/// The approval deadline, to the second (Temporal stores nanoseconds).
fn deadline(attributes: Option<&ProtoSearchAttributes>) -> Option<String> {
    let text = attribute(attributes, DEADLINE_ATTRIBUTE.name())?;
    Some(humantime::parse_rfc3339_weak(&text).map_or(text, rfc3339))
}

fn rfc3339(time: SystemTime) -> String {
    humantime::format_rfc3339_seconds(time).to_string()
}

/// A protobuf timestamp or duration (seconds and nanoseconds) as a `Duration`.
fn span(seconds: i64, nanos: i32) -> Duration {
    Duration::new(seconds.max(0) as u64, nanos.max(0) as u32)
}

/// Page tokens are opaque bytes; cursors travel as hex text.
fn encode_cursor(token: &[u8]) -> String {
    token.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn decode_cursor(cursor: &str) -> Option<Vec<u8>> {
    if cursor.is_empty() || !cursor.len().is_multiple_of(2) {
        return None;
    }
    (0..cursor.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(cursor.get(at..at + 2)?, 16).ok())
        .collect()
}

/// The text in a result or activity output (our payloads are JSON strings); empty if absent.
fn payload_text(payloads: Option<&Payloads>) -> String {
    payloads
        .and_then(|p| p.payloads.first())
        .and_then(|payload| serde_json::from_slice::<String>(&payload.data).ok())
        .unwrap_or_default()
}

/// A protobuf timestamp as RFC 3339 text.
fn time_text(seconds: i64, nanos: i32) -> String {
    rfc3339(SystemTime::UNIX_EPOCH + span(seconds, nanos))
}

/// One history event in words, if it is a step a person cares about.
fn story_line(event: &HistoryEvent) -> Option<String> {
    let when = event
        .event_time
        .map(|t| time_text(t.seconds, t.nanos))
        .unwrap_or_default();
    let what = match event.attributes.as_ref()? {
        Attributes::WorkflowExecutionStartedEventAttributes(_) => "Started".to_owned(),
        Attributes::ActivityTaskCompletedEventAttributes(done) => {
            payload_text(done.result.as_ref())
        }
        Attributes::ActivityTaskFailedEventAttributes(_) => "A payment attempt failed".to_owned(),
        Attributes::TimerStartedEventAttributes(timer) => format!(
            "Awaiting approval for {}",
            timer
                .start_to_fire_timeout
                .map(|d| workflows::duration::describe(span(d.seconds, d.nanos)))
                .unwrap_or_default()
        ),
        Attributes::TimerFiredEventAttributes(_) => "Approval deadline passed".to_owned(),
        Attributes::WorkflowExecutionSignaledEventAttributes(signal) => {
            match signal.signal_name.as_str() {
                APPROVE_SIGNAL => "Approval received".to_owned(),
                REJECT_SIGNAL => "Rejection received".to_owned(),
                other => format!("Signal {other}"),
            }
        }
        Attributes::WorkflowExecutionCompletedEventAttributes(done) => {
            let result = payload_text(done.result.as_ref());
            format!("Finished: {}", result.lines().next().unwrap_or_default())
        }
        Attributes::WorkflowExecutionFailedEventAttributes(_) => "Failed".to_owned(),
        Attributes::WorkflowExecutionTerminatedEventAttributes(_) => "Terminated".to_owned(),
        Attributes::WorkflowExecutionCanceledEventAttributes(_) => "Cancelled".to_owned(),
        Attributes::WorkflowExecutionTimedOutEventAttributes(_) => "Timed out".to_owned(),
        _ => return None,
    };
    Some(format!("{when} {what}"))
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
