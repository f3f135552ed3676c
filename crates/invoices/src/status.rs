//! Where an invoice stands: its status and decision from the workflow itself while it runs,
//! from its outcome once it has finished, and the rest from Temporal's description of it.

use super::{
    InvoiceOpError, Invoices, OpResult,
    history::{self, StatusAnswer, closed_label, payload_json},
    missing_handler::is_missing_handler,
    temporal::{CALL_LIMIT, bounded, refused},
};
use crate::view::InvoiceView;
use std::time::Duration;
use temporalio_client::{
    Client, QueryRejectCondition, UntypedWorkflow, WorkflowExecutionStatus,
    WorkflowGetResultOptions, WorkflowHandle, WorkflowQueryOptions,
    errors::{WorkflowGetResultError, WorkflowQueryError},
};
use temporalio_common::protos::temporal::api::common::v1::Payloads;
use workflows::{InvoiceOutcome, InvoiceWorkflow};

pub(super) use super::history::Described;

/// An invoice's milestones, as Temporal records them: the state the workflow last published,
/// whether it was decided, whether it has finished. What a resource subscriber hears about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublishedState {
    pub state: Option<workflows::InvoiceState>,
    pub decided: bool,
    pub closed: bool,
}

/// Longest wait for a status query. Temporal holds a query until a worker answers it (30 s
/// when none runs), so this bound is what tells us that no worker is serving the invoice.
const QUERY_LIMIT: Duration = Duration::from_secs(3);
/// Longest wait for the `describe` that follows an unanswered query: a live server answers in
/// milliseconds, and the whole status call stays under five seconds.
const AFTER_QUERY_LIMIT: Duration = Duration::from_millis(1500);
/// Most invoices whose settled described are remembered (a few hundred bytes each).
const MAX_REMEMBERED: usize = 1024;

impl Invoices {
    /// The invoice as it stands: its status and decision from the workflow (or its outcome),
    /// its lines, deadline and dates from Temporal's record of it. Both are asked at once.
    pub async fn details(&self, invoice_id: &str) -> OpResult<InvoiceView> {
        let handle = self.handle(invoice_id).await?;
        let mut view = self.view(&handle, invoice_id).await?;
        // Who asked to cancel is in the history only (the workflow never sees it).
        if view.cancellation.as_ref().is_some_and(|c| c.by.is_none())
            || (view.cancellation.is_none()
                && view.status == closed_label(WorkflowExecutionStatus::Canceled))
        {
            let events = self.history(&handle, invoice_id).await?;
            if let Some(requested) = history::cancellation_request(&events) {
                let recorded = view.cancellation.take().unwrap_or_default();
                view.cancellation = Some(workflows::outcome::CancellationRecord {
                    reason: recorded.reason.or(requested.reason),
                    at: recorded.at.or(requested.at),
                    by: requested.by,
                });
            }
        }
        Ok(view)
    }

    /// The invoice as its workflow and Temporal's record of it say.
    async fn view(
        &self,
        handle: &WorkflowHandle<Client, InvoiceWorkflow>,
        invoice_id: &str,
    ) -> OpResult<InvoiceView> {
        let (answer, described) = match self.remembered(invoice_id) {
            // Once an invoice awaits approval, all but its status is fixed: one query.
            Some(described) => {
                let answer = self.ask_workflow(handle, invoice_id).await?;
                if !answer.finished {
                    return Ok(described.view(invoice_id, answer));
                }
                // It has finished since: its close time is news, and it is fixed no more.
                self.forget(invoice_id);
                (answer, self.description(handle, invoice_id).await?)
            }
            None => {
                let (answer, described) = tokio::join!(
                    self.ask_workflow(handle, invoice_id),
                    self.description(handle, invoice_id)
                );
                (answer?, described?)
            }
        };
        Ok(described.view(invoice_id, answer))
    }

    /// Where the invoice stands in Temporal's own record of it, from one `describe`: needs no
    /// worker, so that it is cheap to poll.
    pub async fn published(&self, invoice_id: &str) -> OpResult<PublishedState> {
        let handle = self.handle(invoice_id).await?;
        let described = self.describe(&handle, invoice_id, CALL_LIMIT).await?;
        let info = described.raw().workflow_execution_info.clone();
        let described = Described::of(&info.unwrap_or_default());
        Ok(PublishedState {
            state: described.published,
            decided: described.decision.is_some(),
            closed: !described.running,
        })
    }

    /// What Temporal's description says of the invoice; remembered while fixed.
    pub(super) async fn description(
        &self,
        handle: &WorkflowHandle<Client, InvoiceWorkflow>,
        invoice_id: &str,
    ) -> OpResult<Described> {
        let described = self.describe(handle, invoice_id, CALL_LIMIT).await?;
        let described = Described::of(
            &described
                .raw()
                .workflow_execution_info
                .clone()
                .unwrap_or_default(),
        );
        if described.fixed_while_waiting() {
            let mut remembered = self.waiting_descriptions.lock().expect("descriptions");
            if remembered.len() >= MAX_REMEMBERED {
                remembered.clear();
            }
            remembered.insert(invoice_id.to_owned(), described.clone());
        }
        Ok(described)
    }

    /// The remembered described of a running invoice awaiting approval, if any.
    pub(super) fn remembered(&self, invoice_id: &str) -> Option<Described> {
        self.waiting_descriptions
            .lock()
            .expect("descriptions")
            .get(invoice_id)
            .cloned()
    }

    pub(super) fn forget(&self, invoice_id: &str) {
        self.waiting_descriptions
            .lock()
            .expect("descriptions")
            .remove(invoice_id);
    }

    /// The invoice's status and decision: from the workflow itself while it runs, from its
    /// outcome once it has finished (which needs no worker).
    pub(super) async fn ask_workflow(
        &self,
        handle: &WorkflowHandle<Client, InvoiceWorkflow>,
        invoice_id: &str,
    ) -> OpResult<StatusAnswer> {
        // One round trip for the common case, a running invoice. A closed one is refused by
        // the server at once (NotOpen) instead of being replayed on a worker.
        let options = || {
            WorkflowQueryOptions::builder()
                .reject_condition(QueryRejectCondition::NotOpen)
                .build()
        };
        let query = handle.query(InvoiceWorkflow::get_details, (), options());
        let snapshot = match tokio::time::timeout(QUERY_LIMIT, query).await {
            // The tutorial's workflow knows only get_status.
            Ok(Err(WorkflowQueryError::Rpc(status))) if is_missing_handler(status.message()) => {
                let query = handle.query(InvoiceWorkflow::get_status, (), options());
                tokio::time::timeout(QUERY_LIMIT, query)
                    .await
                    .map(|answer| answer.map(StatusAnswer::status_only))
            }
            other => other.map(|answer| answer.map(StatusAnswer::running)),
        };
        match snapshot {
            Ok(Ok(answer)) => Ok(answer),
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

    /// The status of a finished invoice, read from its outcome: the result of a completed
    /// one, the details of a cancelled one, the reason of a failed one; the rest a label.
    async fn final_status(
        &self,
        handle: &WorkflowHandle<Client, InvoiceWorkflow>,
        status: WorkflowExecutionStatus,
    ) -> OpResult<StatusAnswer> {
        let label = || StatusAnswer::closed(closed_label(status).to_owned(), None);
        if !matches!(
            status,
            WorkflowExecutionStatus::Completed
                | WorkflowExecutionStatus::Failed
                | WorkflowExecutionStatus::Canceled
        ) {
            return Ok(label());
        }
        // Untyped: a result is our outcome, or the text the tutorial's workflow (and ours,
        // before outcomes were typed) returns.
        let client = self.client().await?;
        let untyped =
            client.get_workflow_handle::<UntypedWorkflow>(handle.info().workflow_id.clone());
        let result = bounded(
            CALL_LIMIT,
            "read the invoice outcome",
            untyped.get_result(WorkflowGetResultOptions::default()),
        )
        .await?;
        let outcome = |payloads: Payloads| {
            let value = payload_json(Some(&payloads));
            match value.clone().and_then(InvoiceOutcome::of_result) {
                Some(outcome) => StatusAnswer::ended(outcome),
                None => {
                    let text = value
                        .and_then(|value| value.as_str().map(str::to_owned))
                        .unwrap_or_default();
                    StatusAnswer::closed(text.clone(), Some(text))
                }
            }
        };
        match result {
            Ok(raw) => Ok(outcome(Payloads {
                payloads: raw.payloads,
            })),
            Err(WorkflowGetResultError::Cancelled { details }) if !details.raw().is_empty() => {
                Ok(outcome(Payloads {
                    payloads: details.raw().to_vec(),
                }))
            }
            Err(WorkflowGetResultError::Cancelled { .. }) => Ok(label()),
            Err(WorkflowGetResultError::Failed(failure)) => Ok(StatusAnswer::closed(
                format!("Failed: {}", failure.failure().message),
                None,
            )),
            Err(error) => Err(refused("read the invoice outcome", error)),
        }
    }
}
