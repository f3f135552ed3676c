//! Taking a human decision: one bounded `decide` Update, which the workflow validates, takes
//! and answers once it has acted. The workflow alone enforces the rules; this module only
//! carries the decision there and reports what happened.
//!
//! Two fallbacks keep the tutorial's promise that a decision always gets through:
//! - no worker accepts the Update in time: the tutorial's signal is sent instead, signed in
//!   its `invoice-decision` header, and waits in the history until a worker runs;
//! - the workflow has no `decide` handler (the tutorial's Python workflow): the same signal.

use super::{
    InvoiceOpError, Invoices, OpResult,
    history::{Described, StatusAnswer},
    missing_handler::is_missing_handler,
    temporal::{bounded, refused},
};
use crate::view::{Contents, InvoiceView};
use std::{collections::HashMap, time::Duration};
use temporalio_client::{
    Client, RpcOptions, WorkflowHandle, WorkflowSignalOptions, WorkflowStartUpdateOptions,
    errors::{WorkflowInteractionError, WorkflowUpdateError},
};
use temporalio_common::protos::temporal::api::common::v1::{Header, Payload};
use workflows::{
    Decision, DecisionOutcome, DecisionRequest, InvoiceWorkflow, decision::Refusal,
    names::DECISION_HEADER,
};

/// How long a worker has to accept the Update before the decision goes by signal instead.
/// A running worker accepts in milliseconds.
const ACCEPT_LIMIT: Duration = Duration::from_secs(2);
/// How long an accepted decision may take to be acted on before the answer goes out anyway.
const OUTCOME_LIMIT: Duration = Duration::from_secs(3);
/// How long the fallback signal may take: a live server records one in milliseconds, and a
/// dead one must not hold the answer past five seconds in all.
const SIGNAL_LIMIT: Duration = Duration::from_secs(2);

/// What became of a decision that was not refused.
pub struct Decided {
    /// The invoice as it stands after the decision.
    pub view: InvoiceView,
    pub how: Delivery,
}

/// How a decision reached the workflow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// The workflow took it and acted on it: approved, or refunding.
    Acted,
    /// The workflow took it but has not acted yet (it is still charging the lines).
    Accepted,
    /// No worker answered: it was sent by signal and is applied when a worker runs.
    Pending,
    /// The invoice's workflow is the tutorial's, which takes decisions by signal only.
    Signalled,
}

impl Invoices {
    /// Sends the decision, and answers the invoice once the workflow has acted on it.
    pub async fn decide(&self, invoice_id: &str, request: DecisionRequest) -> OpResult<Decided> {
        let handle = self.handle(invoice_id).await?;
        // The workflow checks this too; checked here, a decision that has to go by signal
        // cannot lose who made it.
        request
            .signature
            .check()
            .map_err(|error| InvoiceOpError::DecisionRefused {
                id: invoice_id.to_owned(),
                reason: Refusal::Malformed(error).to_string(),
            })?;
        let (how, outcome) = self.send(&handle, invoice_id, &request).await?;
        // The common case, in one round trip: the workflow's answer holds the invoice.
        if let Some(outcome) = outcome {
            if outcome.state.is_decided() {
                self.forget(invoice_id);
            }
            return Ok(Decided {
                view: acted_view(invoice_id, *outcome),
                how,
            });
        }
        // The decision went through, but the workflow has not answered: describe what is
        // known, and never turn a decision taken into an error.
        let described = match self.description(&handle, invoice_id).await {
            Ok(described) => described,
            Err(error) => {
                tracing::warn!("decided on {invoice_id}, but its details are missing: {error}");
                Described::unknown()
            }
        };
        let answer = match how {
            Delivery::Signalled | Delivery::Accepted => {
                match self.ask_workflow(&handle, invoice_id).await {
                    Ok(answer) => answer,
                    Err(_) => StatusAnswer::published(&described),
                }
            }
            _ => StatusAnswer::published(&described),
        };
        Ok(Decided {
            view: described.view(invoice_id, answer),
            how,
        })
    }

    /// Sends the decision: how it got there, and the workflow's answer when it acted on it.
    async fn send(
        &self,
        handle: &WorkflowHandle<Client, InvoiceWorkflow>,
        invoice_id: &str,
        request: &DecisionRequest,
    ) -> OpResult<(Delivery, Option<Box<DecisionOutcome>>)> {
        // One id for the Update: should it be retried, Temporal recognises it.
        let options = WorkflowStartUpdateOptions::builder()
            .update_id(self.request_id())
            .build();
        let start = handle.start_update(InvoiceWorkflow::decide, request.clone(), options);
        let update = match tokio::time::timeout(ACCEPT_LIMIT, start).await {
            Ok(Ok(update)) => update,
            // No worker accepted it in time. The signal carries the same decision, signed the
            // same way, so whichever reaches the workflow first (the signal, or the Update
            // should a worker take it later) is the one taken, and the other is refused.
            Err(_) => {
                self.signal(handle, invoice_id, request).await?;
                return Ok((Delivery::Pending, None));
            }
            Ok(Err(WorkflowUpdateError::Failed(failure)))
                if is_missing_handler(&failure.message) =>
            {
                self.signal(handle, invoice_id, request).await?;
                return Ok((Delivery::Signalled, None));
            }
            Ok(Err(error)) => return Err(self.refusal(invoice_id, error).await),
        };
        // Accepted: the decision is in the history. Only the handler itself can still refuse
        // it (too late by workflow time); any other trouble from here on is ours, not the
        // decision's.
        match tokio::time::timeout(OUTCOME_LIMIT, update.get_result(RpcOptions::default())).await {
            Ok(Ok(outcome)) => Ok((Delivery::Acted, Some(Box::new(outcome)))),
            // A worker that rejects the Update in the same task reaches us here, with the
            // outcome already known: the tutorial's Python worker does, having no handler.
            Ok(Err(WorkflowUpdateError::Failed(failure)))
                if is_missing_handler(&failure.message) =>
            {
                self.signal(handle, invoice_id, request).await?;
                Ok((Delivery::Signalled, None))
            }
            Ok(Err(error @ WorkflowUpdateError::Failed(_))) => {
                Err(self.refusal(invoice_id, error).await)
            }
            Ok(Err(error)) => {
                tracing::warn!("{invoice_id}: the decision was accepted; its outcome: {error}");
                Ok((Delivery::Accepted, None))
            }
            Err(_) => Ok((Delivery::Accepted, None)),
        }
    }

    /// Sends the tutorial's signal for `request`, signed with who, why and how.
    async fn signal(
        &self,
        handle: &WorkflowHandle<Client, InvoiceWorkflow>,
        invoice_id: &str,
        request: &DecisionRequest,
    ) -> OpResult<()> {
        let signature =
            serde_json::to_vec(&request.signature).map_err(|e| refused("sign the decision", e))?;
        let header = Header {
            fields: HashMap::from([(
                DECISION_HEADER.to_owned(),
                Payload {
                    metadata: HashMap::from([("encoding".to_owned(), b"json/plain".to_vec())]),
                    data: signature,
                    ..Default::default()
                },
            )]),
        };
        let options = WorkflowSignalOptions::builder()
            .request_id(self.request_id())
            .header(header)
            .build();
        let sent = match request.decision {
            Decision::Approve => {
                bounded(
                    SIGNAL_LIMIT,
                    "send the decision",
                    handle.signal(InvoiceWorkflow::approve_invoice, (), options),
                )
                .await?
            }
            Decision::Reject => {
                bounded(
                    SIGNAL_LIMIT,
                    "send the decision",
                    handle.signal(InvoiceWorkflow::reject_invoice, (), options),
                )
                .await?
            }
        };
        match sent {
            Ok(()) => Ok(()),
            Err(WorkflowInteractionError::NotFound(_)) => Err(self.finished(invoice_id).await),
            Err(error) => Err(refused("send the decision", error)),
        }
    }

    /// The error for an Update that did not take the decision.
    async fn refusal(&self, invoice_id: &str, error: WorkflowUpdateError) -> InvoiceOpError {
        match error {
            // The workflow's own words: already decided, too late, finished, malformed.
            WorkflowUpdateError::Failed(failure) => InvoiceOpError::DecisionRefused {
                id: invoice_id.to_owned(),
                reason: failure.message,
            },
            // No such workflow, or it has finished.
            WorkflowUpdateError::NotFound(_) => self.finished(invoice_id).await,
            other => refused("send the decision", other),
        }
    }

    /// Why a decision cannot reach an invoice that is not running: it never existed, it was
    /// decided before it finished (the earlier decision is the reason to give), or it ended
    /// without one.
    async fn finished(&self, invoice_id: &str) -> InvoiceOpError {
        match self.details(invoice_id).await {
            Ok(view) => match view.decision {
                Some(earlier) if view.state.is_decided() => InvoiceOpError::DecisionRefused {
                    id: invoice_id.to_owned(),
                    reason: Refusal::AlreadyDecided(earlier).to_string(),
                },
                _ => InvoiceOpError::Closed {
                    id: invoice_id.to_owned(),
                    status: view.status,
                },
            },
            Err(error) => error,
        }
    }
}

/// The invoice as the workflow's answer to the Update shows it.
fn acted_view(invoice_id: &str, outcome: DecisionOutcome) -> InvoiceView {
    let mut view = InvoiceView::new(invoice_id, outcome.state, outcome.status)
        .with_contents(Some(Contents::of_lines(&outcome.lines)));
    view.decision = Some(outcome.decision);
    view.approval_deadline = outcome.approval_deadline;
    view.started_at = outcome.started_at;
    view
}
