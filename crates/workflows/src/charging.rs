//! Step 1: charge every line, one activity each, in order. A charge that fails for good, or a
//! cancellation of the invoice, ends the step with the lines to refund.

use crate::{
    InvoiceWorkflow,
    names::CANCEL_REFUNDS_PATCH,
    payment_calls::{OnCancel, PaymentFailure, cancelled_with_invoice, payment_options},
    payments::{PaymentActivities, PaymentRequest},
    plan::Plan,
    status::InvoiceStatus,
};
use temporalio_sdk::WorkflowContext;

/// How charging ended.
pub enum Charged {
    /// Every line is charged: their receipts, in order.
    Every(Vec<String>),
    /// A charge failed for good.
    Failed(FailedCharge),
    /// The invoice was cancelled: every line charged, and the one whose charge was under way
    /// when it was cancelled, is to be refunded.
    Cancelled { to_refund: Vec<PaymentRequest> },
}

/// A charge that failed for good.
pub struct FailedCharge {
    /// The line whose charge failed, as people read it: "line 2: Design Services $2000.00".
    pub label: String,
    /// What failed and why: "payment for line 2: ... failed (the card was declined ...)".
    pub what: String,
    /// The lines charged before it.
    pub charged_before: usize,
    /// Whether its own charge may have gone through (it gave up rather than being declined),
    /// so that it is refunded too.
    pub uncertain: bool,
    /// The lines to refund: those charged before it, and it too when uncertain.
    pub to_refund: Vec<PaymentRequest>,
}

pub async fn charge_lines(ctx: &WorkflowContext<InvoiceWorkflow>, plan: &Plan) -> Charged {
    let requests = &plan.requests;
    let mut receipts = Vec::with_capacity(requests.len());
    let charging = cancelled_with_invoice(ctx);
    for (charged, request) in requests.iter().enumerate() {
        if let Some(cancelled) = cancellation(ctx, &requests[..charged]) {
            return cancelled;
        }
        plan.progress.step(
            ctx,
            InvoiceStatus::ProcessingPayments,
            format!(
                "Charging {} · {} lines, {} in all",
                request.label(),
                plan.progress.lines,
                plan.progress.total
            ),
        );
        let mut input = request.clone();
        let options = payment_options(
            ctx,
            &mut input,
            format!("Charge {}", request.label()),
            &charging,
            plan.retry_limit,
            OnCancel::WaitForOutcome,
        );
        let charge = ctx.execute_activity(PaymentActivities::process_payment, input, options);
        let error = match charge.await {
            Ok(receipt) => {
                receipts.push(receipt);
                continue;
            }
            Err(error) => error,
        };
        let cancelled = ctx.cancellation_token().is_cancelled();
        if cancelled && ctx.patched(CANCEL_REFUNDS_PATCH) {
            // Its outcome is unknown: refunded too (a refund of nothing voids the charge).
            return Charged::Cancelled {
                to_refund: requests[..=charged].to_vec(),
            };
        }
        let failure = PaymentFailure::of(&error);
        // Only an invoice with a retry limit gives up; before cancellation refunded, a cancelled
        // charge counted as declined.
        let uncertain =
            matches!(failure, PaymentFailure::Uncertain(_)) && plan.retry_limit.is_some();
        return Charged::Failed(FailedCharge {
            label: request.label(),
            what: format!(
                "payment for {} failed ({})",
                request.label(),
                failure.reason()
            ),
            charged_before: charged,
            uncertain,
            to_refund: requests[..charged + usize::from(uncertain)].to_vec(),
        });
    }
    cancellation(ctx, requests).unwrap_or(Charged::Every(receipts))
}

/// The end of charging if the invoice was cancelled, with the lines charged so far to refund.
/// A decision sent while the lines are still being charged has not been acted on yet, so a
/// cancellation that comes before charging ends overtakes it. Invoices started before
/// cancellation refunded go on as they did (their next operation is cancelled at once).
fn cancellation(
    ctx: &WorkflowContext<InvoiceWorkflow>,
    charged: &[PaymentRequest],
) -> Option<Charged> {
    let cancelled = ctx.cancellation_token().is_cancelled() && ctx.patched(CANCEL_REFUNDS_PATCH);
    cancelled.then(|| Charged::Cancelled {
        to_refund: charged.to_vec(),
    })
}
