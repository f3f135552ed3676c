//! Announcing each step of an invoice: to the status query (the workflow's state), to the Web
//! UI (current details, which cost no history event) and, for invoices started with
//! [`VISIBILITY_PATCH`], to visibility (search attributes), so that listings find invoices by
//! state.

use crate::{
    DecisionRecord, InvoiceWorkflow,
    invoice::Invoice,
    money::format_amount,
    names::{
        DEADLINE_ATTRIBUTE, DECIDED_BY_ATTRIBUTE, DECISION_MEMO, STATE_ATTRIBUTE, VISIBILITY_PATCH,
    },
    status::InvoiceStatus,
};
use std::time::SystemTime;
use temporalio_common::MemoValue;
use temporalio_sdk::WorkflowContext;

pub struct Progress {
    /// Whether the state is published as search attributes.
    publish: bool,
    /// The invoice's total, for people: "$7,000.00".
    pub total: String,
    /// How many lines it has.
    pub lines: usize,
}

impl Progress {
    /// Invoices started before [`VISIBILITY_PATCH`] publish nothing and replay as they ran.
    pub fn new(ctx: &WorkflowContext<InvoiceWorkflow>, invoice: &Invoice) -> Self {
        Self {
            publish: ctx.patched(VISIBILITY_PATCH),
            total: format_amount(invoice.total_cents()),
            lines: invoice.lines.len(),
        }
    }

    /// Moves the invoice to `status`; `details` is what the Web UI shows of it.
    pub fn step(
        &self,
        ctx: &WorkflowContext<InvoiceWorkflow>,
        status: InvoiceStatus,
        details: String,
    ) {
        self.publish(ctx, status, details, None, None);
    }

    /// Moves the invoice to awaiting approval, and publishes until when.
    pub fn awaiting_until(
        &self,
        ctx: &WorkflowContext<InvoiceWorkflow>,
        details: String,
        deadline: Option<SystemTime>,
    ) {
        self.publish(
            ctx,
            InvoiceStatus::AwaitingApproval,
            details,
            deadline,
            None,
        );
    }

    /// Moves the invoice to the status a decision leads to and, for invoices started with
    /// [`crate::names::DECISION_PATCH`], records the decision where people and listings find
    /// it once the invoice has finished: the memo (all of it) and the `InvoiceDecidedBy` search
    /// attribute, upserted with the state in one command.
    pub fn decided(
        &self,
        ctx: &WorkflowContext<InvoiceWorkflow>,
        status: InvoiceStatus,
        details: String,
        record: &DecisionRecord,
    ) {
        let record = Some(record).filter(|_| ctx.state(|s| s.publishes_decisions()));
        if let Some(record) = record {
            // A record always converts to JSON; should it not, the history still holds it.
            let _ = ctx.upsert_memo([(DECISION_MEMO, Some(MemoValue::new(record.clone())))]);
        }
        self.publish(ctx, status, details, None, record);
    }

    fn publish(
        &self,
        ctx: &WorkflowContext<InvoiceWorkflow>,
        status: InvoiceStatus,
        details: String,
        deadline: Option<SystemTime>,
        decision: Option<&DecisionRecord>,
    ) {
        let previous = ctx.state(|s| s.status);
        ctx.state_mut(|s| s.status = status);
        // Not in the history: the Web UI reads it from the worker, so it costs no event.
        ctx.set_current_details(details);
        // One upsert per change of state (the first one too, for invoices started elsewhere
        // without the attribute), so that the history stays short.
        let changed = previous == InvoiceStatus::Received || previous.state() != status.state();
        if self.publish && changed {
            let mut updates = vec![STATE_ATTRIBUTE.value_set(status.state().as_str().to_owned())];
            if let Some(deadline) = deadline {
                updates.push(DEADLINE_ATTRIBUTE.value_set(deadline.into()));
            }
            if let Some(decision) = decision {
                updates.push(DECIDED_BY_ATTRIBUTE.value_set(decision.by.clone()));
            }
            ctx.upsert_search_attributes(updates);
        }
    }
}
