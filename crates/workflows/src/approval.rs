//! Step 2: wait durably for a human decision, until the approval deadline or a cancellation of
//! the invoice, whichever comes first. A decision and a cancellation seen together: the
//! decision stands.

use crate::{
    DecisionRecord, InvoiceWorkflow,
    decision::Decision,
    duration,
    names::{CANCEL_REFUNDS_PATCH, DECISION_PATCH},
    payment_calls::{cancelled_with_invoice, never_cancelled},
    plan::Plan,
};
use temporalio_sdk::{
    CancellableFuture, TimerOptions, WaitConditionOptions, WorkflowContext, WorkflowResult,
    WorkflowTermination,
};

/// How the wait for a decision ended.
pub enum Verdict {
    Approved(DecisionRecord),
    Rejected(DecisionRecord),
    /// Nobody decided before the deadline.
    Expired,
    /// The invoice was cancelled (from the Web UI or `temporal workflow cancel`).
    Cancelled,
}

pub async fn await_decision(
    ctx: &WorkflowContext<InvoiceWorkflow>,
    plan: &Plan,
) -> WorkflowResult<Verdict> {
    let timeout = plan.approval_timeout;
    // Workflow time is the history's clock, so replay computes the same deadline.
    let deadline_at = ctx.workflow_time().map(|now| now + timeout);
    // Invoices started before decisions were recorded replay as they ran: no deadline check
    // by time, nothing published when decided.
    if ctx.patched(DECISION_PATCH) {
        ctx.state_mut(|s| s.record_decisions_until(deadline_at));
    }
    plan.progress.awaiting_until(
        ctx,
        format!(
            "Awaiting approval until {}: {} charged on {} line(s)",
            deadline_at.map_or_else(
                || duration::describe(timeout),
                |at| humantime::format_rfc3339_seconds(at).to_string()
            ),
            plan.progress.total,
            plan.progress.lines
        ),
        deadline_at,
    );
    let deadline_token = cancelled_with_invoice(ctx);
    let deadline = ctx.timer(
        TimerOptions::builder(timeout)
            .summary(format!(
                "Approval deadline: {}",
                duration::describe(timeout)
            ))
            .cancellation_token(deadline_token.clone())
            .build(),
    );
    futures::pin_mut!(deadline);
    let waiting = never_cancelled();
    let mut decided = ctx.wait_condition_with_options(
        |s: &InvoiceWorkflow| s.decision.is_some(),
        WaitConditionOptions::builder()
            .cancellation_token(waiting.clone())
            .build(),
    );
    temporalio_sdk::workflows::select! {
        _ = decided => {
            // Cancel rather than drop: a dropped timer would still fire into the history.
            deadline.cancel();
        }
        _ = ctx.cancelled() => {
            // Invoices started before cancellation refunded ended here, their lines charged.
            if !ctx.patched(CANCEL_REFUNDS_PATCH) {
                return Err(WorkflowTermination::cancelled());
            }
            return Ok(Verdict::Cancelled);
        }
        _ = deadline.as_mut() => {}
    };
    Ok(match ctx.state(|s| s.decision.clone()) {
        Some(record) if record.decision == Decision::Approve => Verdict::Approved(record),
        Some(record) => Verdict::Rejected(record),
        None => Verdict::Expired,
    })
}
