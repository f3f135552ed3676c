//! Step 3, when the money goes back: refund the charged lines, one activity each, until every
//! one is refunded or settled by hand. Nothing stops it: not a cancellation of the invoice, not
//! a refund that keeps failing. A round of refunds that leaves some failing puts the invoice in
//! `needs_attention` and tries again after a backoff (doubling, up to the invoice's cap), at
//! once when someone asks (`retry_refunds`), or never for a line a person settles by hand
//! (`settle_refund`).

use crate::{
    InvoiceWorkflow,
    names::{CANCEL_REFUNDS_PATCH, COMPENSATION_PATCH, FAILING_REFUNDS_MEMO, REFUND_RETRY_PATCH},
    payment_calls::{
        OnCancel, PaymentFailure, cancelled_with_invoice, never_cancelled, payment_options,
    },
    payments::{PaymentActivities, PaymentRequest},
    plan::Plan,
    refunds::FailingRefund,
    state::tell_observer,
    status::InvoiceStatus,
};
use std::time::Duration;
use temporalio_common::MemoValue;
use temporalio_sdk::{
    CancellableFuture, TimerOptions, WaitConditionOptions, WorkflowContext, WorkflowResult,
};

/// The first wait before failing refunds are tried again; it doubles each round up to the cap.
const FIRST_REFUND_RETRY: Duration = Duration::from_secs(60);

/// How the refunds ended.
pub enum Compensation {
    /// Every line refunded or settled by hand: one receipt or settlement per line.
    Settled { receipts: Vec<String> },
    /// Some refunds failed for good: invoices started before refunds were retried until
    /// settled stop here, money still charged.
    Abandoned {
        receipts: Vec<String>,
        failing: Vec<FailingRefund>,
    },
}

pub async fn refund_until_settled(
    ctx: &WorkflowContext<InvoiceWorkflow>,
    plan: &Plan,
    lines: &[PaymentRequest],
) -> WorkflowResult<Compensation> {
    // Refunds, and the waits between their rounds, run to their end whatever happens. Invoices
    // started before cancellation refunded had their refunds cancelled with them (so their
    // histories replay as they ran).
    let refunding = if ctx.patched(CANCEL_REFUNDS_PATCH) {
        never_cancelled()
    } else {
        cancelled_with_invoice(ctx)
    };
    let mut receipts = Vec::with_capacity(lines.len());
    let mut outstanding = lines.to_vec();
    for round in 0u32.. {
        let mut failing = Vec::new();
        for request in &outstanding {
            let mut input = request.clone();
            let mut options = payment_options(
                ctx,
                &mut input,
                format!("Refund {}", request.label()),
                &refunding,
                plan.retry_limit,
                OnCancel::Continue,
            );
            // Not started in the reply to the workflow task that schedules it: that reply also
            // carries the answer to a rejection's decide Update, which should not wait for it.
            options.do_not_eagerly_execute = true;
            let refunded = ctx
                .execute_activity(PaymentActivities::refund_payment, input, options)
                .await;
            match refunded {
                Ok(receipt) => receipts.push(receipt),
                // Invoices started before this release failed at the first refund that failed.
                Err(error) if !ctx.patched(COMPENSATION_PATCH) => return Err(error.into()),
                Err(error) => failing.push((
                    request.clone(),
                    FailingRefund::new(request, PaymentFailure::of(&error).reason().to_owned()),
                )),
            }
        }
        let had_failed = ctx.state_mut(|s| s.refunds.round_done());
        if failing.is_empty() {
            if had_failed {
                clear_failing(ctx);
            }
            return Ok(Compensation::Settled {
                receipts: settled(ctx, receipts),
            });
        }
        let failing_now: Vec<FailingRefund> = failing.iter().map(|(_, f)| f.clone()).collect();
        if !ctx.patched(REFUND_RETRY_PATCH) {
            return Ok(Compensation::Abandoned {
                receipts,
                failing: failing_now,
            });
        }

        // Needs attention: say what is still charged, then wait for the next round.
        let wait = FIRST_REFUND_RETRY
            .saturating_mul(2u32.saturating_pow(round.min(16)))
            .min(plan.refund_retry_cap);
        let next_at = ctx.workflow_time().map(|now| now + wait);
        ctx.state_mut(|s| s.refunds.failing(failing_now.clone(), next_at));
        let _ = ctx.upsert_memo([(
            FAILING_REFUNDS_MEMO,
            Some(MemoValue::new(failing_now.clone())),
        )]);
        tell_observer(ctx, |observer| {
            observer.refunds_failing(&plan.invoice_id, &failing_now);
        });
        plan.progress.step(
            ctx,
            InvoiceStatus::NeedsAttention,
            attention(&failing_now, next_at),
        );
        let retry = ctx.timer(
            TimerOptions::builder(wait)
                .summary(format!("Retry {} failing refund(s)", failing_now.len()))
                .cancellation_token(refunding.clone())
                .build(),
        );
        futures::pin_mut!(retry);
        let mut asked = ctx.wait_condition_with_options(
            |s: &InvoiceWorkflow| s.refunds.retry_asked() || s.refunds.nothing_failing(),
            WaitConditionOptions::builder()
                .cancellation_token(refunding.clone())
                .build(),
        );
        temporalio_sdk::workflows::select! {
            _ = asked => retry.cancel(),
            _ = retry.as_mut() => {}
        };
        // Lines settled by hand meanwhile are not refunded again.
        let still_failing = ctx.state_mut(|s| s.refunds.start_round());
        outstanding = failing
            .into_iter()
            .map(|(request, _)| request)
            .filter(|request| still_failing.contains(&(request.line_number as u32)))
            .collect();
        if outstanding.is_empty() {
            // Every line settled by hand: that was the round, for whoever waits on one.
            ctx.state_mut(|s| s.refunds.round_done());
            clear_failing(ctx);
            return Ok(Compensation::Settled {
                receipts: settled(ctx, receipts),
            });
        }
        ctx.set_current_details(format!("Retrying {} failing refund(s)", outstanding.len()));
    }
    unreachable!("the rounds go on until every line is refunded or settled")
}

/// The receipts, then one line per line settled by hand.
fn settled(ctx: &WorkflowContext<InvoiceWorkflow>, mut receipts: Vec<String>) -> Vec<String> {
    ctx.state(|s| {
        receipts.extend(
            s.refunds
                .settlements()
                .iter()
                .map(|settled| settled.sentence()),
        );
    });
    receipts
}

/// Nothing fails any more: the memo says so too, for whoever reads it without a worker.
fn clear_failing(ctx: &WorkflowContext<InvoiceWorkflow>) {
    ctx.state_mut(|s| s.refunds.failing(Vec::new(), None));
    let none: Vec<FailingRefund> = Vec::new();
    let _ = ctx.upsert_memo([(FAILING_REFUNDS_MEMO, Some(MemoValue::new(none)))]);
}

/// What a person must look into, for the Web UI.
fn attention(failing: &[FailingRefund], next_at: Option<std::time::SystemTime>) -> String {
    let lines: Vec<String> = failing.iter().map(FailingRefund::sentence).collect();
    let next = next_at.map_or_else(String::new, |at| {
        format!(
            " Retried on its own at {}",
            humantime::format_rfc3339_seconds(at)
        )
    });
    format!(
        "{} refund(s) failed, the money is still charged: {}.{next}; at once with the \
         retry_refunds Update; or a person settles a line by hand (settle_refund).",
        failing.len(),
        lines.join("; ")
    )
}
