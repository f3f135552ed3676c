//! `InvoiceWorkflow`: charge every line, wait durably for a human decision bounded by the
//! approval timeout, then keep the charges (approved) or refund them (rejected, timed out).
//!
//! Deterministic by construction: no clock, environment or randomness is read here. The
//! timeout comes from the workflow input, so it is part of the recorded history.

use crate::{
    invoice::Invoice,
    payments::{PaymentActivities, PaymentRequest},
    status::{self, Decision, InvoiceStatus},
};
use std::time::Duration;
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{
    ActivityOptions, ApplicationFailure, CancellableFuture, SyncWorkflowContext, TimerOptions,
    WorkflowContext, WorkflowContextView, WorkflowResult,
};

/// How long one charge or refund attempt may take; failed attempts are retried by Temporal.
const PAYMENT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);

#[workflow]
pub struct InvoiceWorkflow {
    status: InvoiceStatus,
    /// The first decision received; later ones change nothing.
    decision: Option<Decision>,
}

impl Default for InvoiceWorkflow {
    fn default() -> Self {
        Self {
            status: InvoiceStatus::Received,
            decision: None,
        }
    }
}

#[workflow_methods]
impl InvoiceWorkflow {
    #[run]
    pub async fn run(ctx: &mut WorkflowContext<Self>, invoice: Invoice) -> WorkflowResult<String> {
        let requests: Vec<PaymentRequest> = invoice
            .lines
            .iter()
            .enumerate()
            .map(|(index, line)| PaymentRequest {
                invoice_id: invoice.id.clone(),
                line_number: index + 1,
                line: line.clone(),
            })
            .collect();

        ctx.state_mut(|s| s.status = InvoiceStatus::ProcessingPayments);
        let mut receipts = Vec::with_capacity(requests.len());
        for (charged, request) in requests.iter().enumerate() {
            let charge = ctx.execute_activity(
                PaymentActivities::process_payment,
                request.clone(),
                payment_options(format!("Charge {}", request.label())),
            );
            match charge.await {
                Ok(receipt) => receipts.push(receipt),
                Err(error) => {
                    // Never keep part of the money for an invoice that cannot be completed.
                    ctx.state_mut(|s| s.status = InvoiceStatus::RefundingFailedPayment);
                    refund(ctx, &requests[..charged]).await?;
                    ctx.state_mut(|s| s.status = InvoiceStatus::PaymentFailed);
                    return Err(ApplicationFailure::new(format!(
                        "payment for {} failed ({error}); the {charged} line(s) charged before it were refunded",
                        request.label()
                    ))
                    .into());
                }
            }
        }

        ctx.state_mut(|s| s.status = InvoiceStatus::AwaitingApproval);
        let timeout = invoice.approval_timeout();
        let deadline = ctx.timer(
            TimerOptions::builder(timeout)
                .summary(format!(
                    "Approval deadline: {}",
                    crate::duration::describe(timeout)
                ))
                .build(),
        );
        futures::pin_mut!(deadline);
        temporalio_sdk::workflows::select! {
            decided = ctx.wait_condition(|s: &Self| s.decision.is_some()) => {
                decided?;
                // Cancel rather than drop: a dropped timer would still fire into the history.
                deadline.cancel();
            }
            _ = deadline.as_mut() => {}
        };

        match ctx.state(|s| s.decision) {
            Some(Decision::Approve) => {
                ctx.state_mut(|s| s.status = InvoiceStatus::Approved);
                Ok(status::approved_result(&receipts))
            }
            Some(Decision::Reject) => {
                ctx.state_mut(|s| s.status = InvoiceStatus::RefundingRejected);
                let refunds = refund(ctx, &requests).await?;
                ctx.state_mut(|s| s.status = InvoiceStatus::Rejected);
                Ok(status::rejected_result(&refunds))
            }
            None => {
                ctx.state_mut(|s| s.status = InvoiceStatus::RefundingTimedOut);
                let refunds = refund(ctx, &requests).await?;
                ctx.state_mut(|s| s.status = InvoiceStatus::TimedOut);
                Ok(status::timed_out_result(timeout, &refunds))
            }
        }
    }

    #[signal]
    pub fn approve_invoice(&mut self, _ctx: &mut SyncWorkflowContext<Self>) {
        self.decide(Decision::Approve);
    }

    #[signal]
    pub fn reject_invoice(&mut self, _ctx: &mut SyncWorkflowContext<Self>) {
        self.decide(Decision::Reject);
    }

    #[query]
    pub fn get_status(&self, _ctx: &WorkflowContextView) -> String {
        self.status.text().to_owned()
    }
}

impl InvoiceWorkflow {
    fn decide(&mut self, decision: Decision) {
        // A decision that arrives after the deadline fired is too late.
        let open = matches!(
            self.status,
            InvoiceStatus::Received
                | InvoiceStatus::ProcessingPayments
                | InvoiceStatus::AwaitingApproval
        );
        if open && self.decision.is_none() {
            self.decision = Some(decision);
        }
    }
}

/// Refunds the given charged lines, one activity each, and returns their receipts.
async fn refund(
    ctx: &WorkflowContext<InvoiceWorkflow>,
    charged: &[PaymentRequest],
) -> WorkflowResult<Vec<String>> {
    let mut refunds = Vec::with_capacity(charged.len());
    for request in charged {
        let receipt = ctx
            .execute_activity(
                PaymentActivities::refund_payment,
                request.clone(),
                payment_options(format!("Refund {}", request.label())),
            )
            .await?;
        refunds.push(receipt);
    }
    Ok(refunds)
}

fn payment_options(summary: String) -> ActivityOptions {
    ActivityOptions::with_start_to_close_timeout(PAYMENT_ATTEMPT_TIMEOUT)
        .summary(summary)
        .build()
}
