//! The invoice workflow's state: where it stands, the decision, what was refused or
//! cancelled, the refunds that fail, and who hears of it. The workflow's steps and handlers
//! read and change it through the methods here.

use crate::{
    DecisionRecord,
    decision::{MAX_REFUSED_KEPT, RefusedDecision},
    observer::InvoiceObserver,
    outcome::{CancellationRecord, InvoiceOutcome},
    refunds::{RefundBook, RefundsOutcome},
    status::{InvoiceState, InvoiceStatus},
};
use std::{sync::Arc, time::SystemTime};
use temporalio_macros::workflow;
use temporalio_sdk::WorkflowContext;

#[workflow]
pub struct InvoiceWorkflow {
    pub(crate) status: InvoiceStatus,
    /// The first decision taken; later ones change nothing.
    pub(crate) decision: Option<DecisionRecord>,
    /// When the approval wait ends, for invoices started with the decision patch: a decision
    /// at or after it is too late, whatever order one workflow task delivers it in.
    pub(crate) deadline: Option<SystemTime>,
    /// Whether decisions are published (memo, search attribute): the decision patch again.
    publish_decision: bool,
    /// Decisions refused after they were sent, newest last (at most [`MAX_REFUSED_KEPT`]).
    pub(crate) refused: Vec<RefusedDecision>,
    /// The cancellation, once the invoice is cancelled.
    pub(crate) cancellation: Option<CancellationRecord>,
    /// Refunds that fail, and what people did about them.
    pub(crate) refunds: RefundBook,
    /// Who hears of this invoice's events as they happen (the worker's metrics and audit log).
    /// Outside the history: it changes nothing the workflow does.
    pub(crate) observer: Option<Arc<dyn InvoiceObserver>>,
}

impl Default for InvoiceWorkflow {
    fn default() -> Self {
        Self {
            status: InvoiceStatus::Received,
            decision: None,
            deadline: None,
            publish_decision: false,
            refused: Vec::new(),
            cancellation: None,
            refunds: RefundBook::default(),
            observer: None,
        }
    }
}

impl InvoiceWorkflow {
    /// A new invoice workflow that tells `observer` what happens to it (register it with the
    /// worker's `register_workflow_with_factory`).
    pub fn observed_by(observer: Arc<dyn InvoiceObserver>) -> Self {
        Self {
            observer: Some(observer),
            ..Self::default()
        }
    }
}

impl InvoiceWorkflow {
    pub(crate) fn publishes_decisions(&self) -> bool {
        self.publish_decision
    }

    /// From now on a decision at or after `deadline` is too late, and decisions are published.
    pub(crate) fn record_decisions_until(&mut self, deadline: Option<SystemTime>) {
        self.deadline = deadline;
        self.publish_decision = true;
    }

    pub(crate) fn record_cancellation(&mut self, record: CancellationRecord) {
        self.cancellation = Some(record);
    }

    /// How the invoice ended: in `state`, with the result `text`, and what it recorded.
    pub(crate) fn outcome(&self, state: InvoiceState, text: String) -> InvoiceOutcome {
        InvoiceOutcome {
            state,
            text,
            decision: self.decision.clone(),
            cancellation: self.cancellation.clone(),
            settled_by_hand: self.refunds.settlements().to_vec(),
            refused_decisions: self.refused.clone(),
        }
    }

    pub(crate) fn refunds_outcome(&self) -> RefundsOutcome {
        RefundsOutcome {
            state: self.status.state(),
            status: self.status.text().to_owned(),
            failing_refunds: self.refunds.failing_refunds().to_vec(),
        }
    }

    /// Keeps a refused decision (the newest [`MAX_REFUSED_KEPT`]); answers all kept.
    pub(crate) fn keep_refused(&mut self, refused: RefusedDecision) -> Vec<RefusedDecision> {
        self.refused.push(refused);
        if self.refused.len() > MAX_REFUSED_KEPT {
            self.refused.remove(0);
        }
        self.refused.clone()
    }
}

/// Tells the observer, if there is one, of something happening now: nothing is reported while
/// the workflow replays its history.
pub(crate) fn tell_observer(
    ctx: &WorkflowContext<InvoiceWorkflow>,
    event: impl FnOnce(&dyn InvoiceObserver),
) {
    if ctx.is_replaying() {
        return;
    }
    if let Some(observer) = ctx.state(|s| s.observer.clone()) {
        event(observer.as_ref());
    }
}
