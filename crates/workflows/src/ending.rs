//! The last steps: how an invoice ends once its money is settled. After a failed charge, the
//! lines charged are refunded and the workflow fails saying why; after a cancellation, every
//! line charged (or maybe charged) is refunded and it ends cancelled; every path ends in
//! [`finish`], which announces the ending, lets the handlers answer, and returns the outcome.

use crate::{
    InvoiceWorkflow,
    charging::FailedCharge,
    compensation::{self, Compensation},
    names::{CANCEL_REFUNDS_PATCH, CANCELLATION_MEMO},
    outcome::{self, CancellationRecord, InvoiceOutcome},
    payment_calls::never_cancelled,
    payments::PaymentRequest,
    plan::Plan,
    refunds::FailingRefund,
    state::tell_observer,
    status::{InvoiceState, InvoiceStatus},
};
use temporalio_common::MemoValue;
use temporalio_sdk::{
    ApplicationFailure, WaitConditionOptions, WorkflowContext, WorkflowResult, WorkflowTermination,
};

/// How an invoice ends: its final state, what the Web UI shows, and its result text.
pub struct Ending {
    pub state: InvoiceState,
    pub details: String,
    pub text: String,
    /// A failed payment fails the workflow, with `text` as the failure's message.
    pub fails_workflow: bool,
}

/// Step 3 after a failed charge: refund what was charged, then fail the workflow saying why.
pub async fn payment_failed(
    ctx: &WorkflowContext<InvoiceWorkflow>,
    plan: &Plan,
    failed: FailedCharge,
) -> WorkflowResult<InvoiceOutcome> {
    let FailedCharge {
        label,
        what,
        charged_before,
        uncertain,
        to_refund,
    } = failed;
    // Never keep part of the money for an invoice that cannot be completed.
    plan.progress.step(
        ctx,
        InvoiceStatus::RefundingFailedPayment,
        format!(
            "Payment failed for {label}: refunding {} line(s)",
            to_refund.len()
        ),
    );
    let ending = match compensation::refund_until_settled(ctx, plan, &to_refund).await? {
        Compensation::Settled { .. } => {
            let own = if uncertain {
                ", and so was any charge of it"
            } else {
                ""
            };
            let by_hand = ctx.state(|s| s.refunds.settlements().len());
            let by_hand = match by_hand {
                0 => String::new(),
                n => format!(" ({n} of them settled by hand)"),
            };
            Ending {
                state: InvoiceState::Failed,
                details: format!("Payment failed for {label}; nothing is kept"),
                text: format!(
                    "{what}; the {charged_before} line(s) charged before it were refunded{own}{by_hand}"
                ),
                fails_workflow: true,
            }
        }
        Compensation::Abandoned { failing, .. } => {
            let attention = legacy_attention(&failing);
            Ending {
                state: InvoiceState::NeedsAttention,
                details: attention.clone(),
                text: format!("{what}; needs attention: {attention}"),
                fails_workflow: true,
            }
        }
    };
    finish(ctx, plan, ending).await
}

/// Step 3 after a cancellation: refund `to_refund` (every line charged, and any whose charge
/// may have gone through), then end as cancelled.
pub async fn cancel(
    ctx: &WorkflowContext<InvoiceWorkflow>,
    plan: &Plan,
    to_refund: &[PaymentRequest],
) -> WorkflowResult<InvoiceOutcome> {
    let record = record_cancellation(ctx, plan);
    plan.progress.step(
        ctx,
        InvoiceStatus::RefundingCancelled,
        format!(
            "{}: refunding {} line(s)",
            record.sentence(),
            to_refund.len()
        ),
    );
    let ending = match compensation::refund_until_settled(ctx, plan, to_refund).await? {
        Compensation::Settled { receipts } => Ending::completed(
            InvoiceState::Cancelled,
            format!("{}: every charged line refunded", record.sentence()),
            outcome::cancelled_text(&receipts),
        ),
        abandoned => Ending::abandoned("cancelled", abandoned),
    };
    finish(ctx, plan, ending).await
}

/// The last step of every path: announce the ending, let the handlers answer, report it, and
/// end the workflow: completed with the outcome, cancelled with it as details, or failed.
pub async fn finish(
    ctx: &WorkflowContext<InvoiceWorkflow>,
    plan: &Plan,
    ending: Ending,
) -> WorkflowResult<InvoiceOutcome> {
    // A cancellation that changed nothing (it came while refunds ran anyway, or with a
    // decision that stood) is on the record all the same.
    let unrecorded = ctx.cancellation_token().is_cancelled()
        && ctx.state(|s| s.cancellation.is_none())
        && ctx.patched(CANCEL_REFUNDS_PATCH);
    if unrecorded {
        record_cancellation(ctx, plan);
    }
    plan.progress
        .step(ctx, InvoiceStatus::ended_in(ending.state), ending.details);
    // A decision or a request about refunds taken meanwhile is answered before the end.
    let handlers = ctx.clone();
    let answering = never_cancelled();
    let _ = ctx
        .wait_condition_with_options(
            move |_| handlers.all_handlers_finished(),
            WaitConditionOptions::builder()
                .cancellation_token(answering.clone())
                .build(),
        )
        .await;
    tell_observer(ctx, |observer| {
        observer.finished(&plan.invoice_id, ending.state)
    });
    if ending.fails_workflow {
        return Err(ApplicationFailure::new(ending.text).into());
    }
    let outcome = ctx.state(|s| s.outcome(ending.state, ending.text));
    if outcome.state == InvoiceState::Cancelled {
        return Err(WorkflowTermination::cancelled_with_details(outcome));
    }
    Ok(outcome)
}

impl Ending {
    pub fn completed(state: InvoiceState, details: String, text: String) -> Self {
        Self {
            state,
            details,
            text,
            fails_workflow: false,
        }
    }

    /// Refunds failed for good on an invoice started before they were retried until settled.
    pub fn abandoned(what: &str, compensation: Compensation) -> Self {
        let (receipts, failing) = match compensation {
            Compensation::Abandoned { receipts, failing } => (receipts, failing),
            Compensation::Settled { receipts } => (receipts, Vec::new()),
        };
        Self::completed(
            InvoiceState::NeedsAttention,
            legacy_attention(&failing),
            outcome::needs_attention_text(what, &receipts, &failing),
        )
    }
}

/// What a person must look into, for invoices whose failing refunds are not retried.
fn legacy_attention(failing: &[FailingRefund]) -> String {
    let lines: Vec<String> = failing
        .iter()
        .map(|f| format!("refund of {} failed", f.sentence()))
        .collect();
    format!(
        "{} refund(s) failed, the money is still charged: {}",
        failing.len(),
        lines.join("; ")
    )
}

/// Records the invoice's cancellation (its reason, and when the workflow took it) in its state,
/// its memo, and for its observer.
fn record_cancellation(ctx: &WorkflowContext<InvoiceWorkflow>, plan: &Plan) -> CancellationRecord {
    let record = CancellationRecord {
        reason: ctx.cancellation_token().reason().filter(|r| !r.is_empty()),
        at: ctx
            .workflow_time()
            .map(|at| humantime::format_rfc3339_seconds(at).to_string()),
        by: None,
    };
    ctx.state_mut(|s| s.record_cancellation(record.clone()));
    let _ = ctx.upsert_memo([(CANCELLATION_MEMO, Some(MemoValue::new(record.clone())))]);
    tell_observer(ctx, |observer| {
        observer.cancelled(&plan.invoice_id, &record)
    });
    record
}
