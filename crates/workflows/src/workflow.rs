//! `InvoiceWorkflow`: charge every line, wait durably for a human decision bounded by the
//! approval timeout, then keep the charges (approved) or refund them (rejected, timed out,
//! cancelled) until every line is refunded or settled by hand.
//!
//! `run` is the page of steps; each step is a module: [`crate::charging`],
//! [`crate::approval`], [`crate::compensation`]. The handlers (decisions, refund requests,
//! queries) live here with the workflow's state.
//!
//! Deterministic by construction: no clock, environment or randomness is read here. Timeouts
//! and limits come from the workflow input, so they are part of the recorded history.

use crate::{
    approval::{self, Verdict},
    charging::{self, Charged},
    compensation::{self, Compensation},
    decision::{
        self, Decision, DecisionOutcome, DecisionRecord, DecisionRequest, Duties, Refusal,
        RefusedDecision, Signature,
    },
    ending::{self, Ending},
    invoice::Invoice,
    names::{DECISION_HEADER, FAILING_REFUNDS_MEMO, REFUSAL_PATCH, REFUSED_MEMO, SETTLEMENTS_MEMO},
    outcome::{self, InvoiceOutcome},
    payment_calls::never_cancelled,
    plan::Plan,
    refunds::{RefundsOutcome, RefundsRefusal, SettlementRequest},
    state::{InvoiceWorkflow, tell_observer},
    status::{InvoiceSnapshot, InvoiceState, InvoiceStatus},
};
use std::time::{Duration, SystemTime};
use temporalio_common::MemoValue;
use temporalio_macros::workflow_methods;
use temporalio_sdk::{
    SyncWorkflowContext, WaitConditionOptions, WorkflowContext, WorkflowContextView, WorkflowResult,
};

/// What a handler may fail with: the SDK sends its text to the caller.
type HandlerError = Box<dyn std::error::Error + Send + Sync>;

#[workflow_methods]
impl InvoiceWorkflow {
    #[run]
    pub async fn run(
        ctx: &mut WorkflowContext<Self>,
        invoice: Invoice,
    ) -> WorkflowResult<InvoiceOutcome> {
        let plan = Plan::new(ctx, &invoice);
        tell_observer(ctx, |observer| observer.started(&invoice.id));

        // 1. Charge every line.
        let receipts = match charging::charge_lines(ctx, &plan).await {
            Charged::Every(receipts) => receipts,
            Charged::Failed(failed) => return ending::payment_failed(ctx, &plan, failed).await,
            Charged::Cancelled { to_refund } => {
                return ending::cancel(ctx, &plan, &to_refund).await;
            }
        };

        // 2. Wait for a human decision, until the deadline or a cancellation.
        let verdict = approval::await_decision(ctx, &plan).await?;

        // 3. Keep the charges, or refund them; then finish.
        let total = &plan.progress.total;
        let ending = match verdict {
            Verdict::Approved(record) => {
                let details = format!("Approved: {total} charged · {}", record.sentence());
                plan.progress
                    .decided(ctx, InvoiceStatus::Approved, details.clone(), &record);
                Ending::completed(
                    InvoiceState::Approved,
                    details,
                    outcome::approved_text(&receipts),
                )
            }
            Verdict::Rejected(record) => {
                let sentence = record.sentence();
                let details = format!("Rejected: refunding {total} · {sentence}");
                plan.progress
                    .decided(ctx, InvoiceStatus::RefundingRejected, details, &record);
                match compensation::refund_until_settled(ctx, &plan, &plan.requests).await? {
                    Compensation::Settled { receipts } => Ending::completed(
                        InvoiceState::Rejected,
                        format!("Rejected: {total} refunded · {sentence}"),
                        outcome::rejected_text(&receipts),
                    ),
                    abandoned => Ending::abandoned("rejected by approver", abandoned),
                }
            }
            Verdict::Expired => {
                tell_observer(ctx, |observer| observer.expired(&invoice.id));
                let details = format!("No decision in time: refunding {total}");
                plan.progress
                    .step(ctx, InvoiceStatus::RefundingTimedOut, details);
                match compensation::refund_until_settled(ctx, &plan, &plan.requests).await? {
                    Compensation::Settled { receipts } => Ending::completed(
                        InvoiceState::TimedOut,
                        format!("No decision in time: {total} refunded"),
                        outcome::timed_out_text(plan.approval_timeout, &receipts),
                    ),
                    abandoned => Ending::abandoned("no decision in time", abandoned),
                }
            }
            Verdict::Cancelled => return ending::cancel(ctx, &plan, &plan.requests).await,
        };
        ending::finish(ctx, &plan, ending).await
    }

    /// The tutorial's approval signal (no payload). Its optional `invoice-decision` header
    /// says who sent it and why; without one, the decision is recorded as an unknown
    /// sender's, by signal.
    #[signal]
    pub fn approve_invoice(&mut self, ctx: &mut SyncWorkflowContext<Self>) {
        self.take_signal(ctx, Decision::Approve);
    }

    /// The tutorial's rejection signal; see [`Self::approve_invoice`].
    #[signal]
    pub fn reject_invoice(&mut self, ctx: &mut SyncWorkflowContext<Self>) {
        self.take_signal(ctx, Decision::Reject);
    }

    /// Refuses, before anything is written to the history, a malformed decision and one on
    /// an invoice already decided or no longer awaiting approval.
    #[update_validator(decide)]
    pub fn validate_decide(
        &self,
        ctx: &WorkflowContextView,
        request: &DecisionRequest,
    ) -> Result<(), HandlerError> {
        request.signature.check().map_err(Refusal::Malformed)?;
        // The validator has no clock: the handler judges the deadline by workflow time.
        let refused = decision::refusal(self.status, self.decision.as_ref(), None, None)
            .or_else(|| duties(ctx).refusal(request.decision, &request.signature));
        match refused {
            Some(refusal) => Err(refusal.into()),
            None => Ok(()),
        }
    }

    /// Takes a decision with who made it and why, and answers once the workflow has acted on
    /// it: approved, or refunding.
    #[update]
    pub async fn decide(
        ctx: &mut WorkflowContext<Self>,
        request: DecisionRequest,
    ) -> Result<DecisionOutcome, HandlerError> {
        let now = ctx.workflow_time();
        let duties = duties(&ctx.info());
        let refused = ctx.state(|s| {
            decision::refusal(s.status, s.decision.as_ref(), s.deadline, now)
                .or_else(|| duties.refusal(request.decision, &request.signature))
        });
        // Its caller is told, and the history keeps the refusal with the Update.
        if let Some(refusal) = refused {
            return Err(refusal.into());
        }
        let record = DecisionRecord::new(request.decision, request.signature, now);
        let waited = elapsed(ctx.info().start_time(), now);
        tell_observer(ctx, |observer| {
            observer.decided(invoice_of(ctx.workflow_id()), &record, waited);
        });
        ctx.state_mut(|s| s.decision = Some(record));
        let acting = never_cancelled();
        let _ = ctx
            .wait_condition_with_options(
                |s: &Self| s.status.state().is_decided(),
                WaitConditionOptions::builder()
                    .cancellation_token(acting.clone())
                    .build(),
            )
            .await;
        let info = ctx.info();
        let lines = input(&info)
            .map(|invoice| invoice.lines)
            .unwrap_or_default();
        let rfc3339 = |time: SystemTime| humantime::format_rfc3339_seconds(time).to_string();
        Ok(ctx.state(|s| DecisionOutcome {
            state: s.status.state(),
            status: s.status.text().to_owned(),
            decision: s.decision.clone().expect("taken above"),
            lines,
            approval_deadline: s.deadline.map(rfc3339),
            started_at: info.start_time().map(rfc3339),
        }))
    }

    /// Refuses a retry when no refund is failing.
    #[update_validator(retry_refunds)]
    pub fn validate_retry_refunds(
        &self,
        _ctx: &WorkflowContextView,
        _request: &(),
    ) -> Result<(), HandlerError> {
        match self.refunds.retry_refusal(self.status.text()) {
            Some(refusal) => Err(refusal.into()),
            None => Ok(()),
        }
    }

    /// Retries at once the refunds that keep failing, and answers once that round has run:
    /// where the invoice stands, and which refunds still fail.
    #[update]
    pub async fn retry_refunds(
        ctx: &mut WorkflowContext<Self>,
        _request: (),
    ) -> Result<RefundsOutcome, HandlerError> {
        let seen = ctx.state_mut(|s| {
            s.refunds.ask_retry();
            s.refunds.rounds()
        });
        let retrying = never_cancelled();
        let _ = ctx
            .wait_condition_with_options(
                move |s: &Self| s.refunds.rounds() > seen || s.refunds.settled_all(),
                WaitConditionOptions::builder()
                    .cancellation_token(retrying.clone())
                    .build(),
            )
            .await;
        Ok(ctx.state(Self::refunds_outcome))
    }

    /// Refuses a settlement that is malformed, or of a line whose refund is not failing.
    #[update_validator(settle_refund)]
    pub fn validate_settle_refund(
        &self,
        _ctx: &WorkflowContextView,
        request: &SettlementRequest,
    ) -> Result<(), HandlerError> {
        match self.refunds.settle_refusal(request, self.status.text()) {
            Some(refusal) => Err(refusal.into()),
            None => Ok(()),
        }
    }

    /// Settles by hand a line whose refund keeps failing, with who, why and how; the line is
    /// not refunded again. Answers once the workflow has acted: finished, when it was the last
    /// line failing.
    #[update]
    pub async fn settle_refund(
        ctx: &mut WorkflowContext<Self>,
        request: SettlementRequest,
    ) -> Result<RefundsOutcome, HandlerError> {
        let now = ctx.workflow_time();
        let status = ctx.state(|s| s.status.text());
        if let Some(refusal) = ctx.state(|s| s.refunds.settle_refusal(&request, status)) {
            return Err(refusal.into());
        }
        let (settled, settlements, failing) = ctx.state_mut(|s| {
            let settled = s.refunds.settle(request, now);
            let settlements = s.refunds.settlements().to_vec();
            let failing = s.refunds.failing_refunds().to_vec();
            (settled, settlements, failing)
        });
        let Some(settled) = settled else {
            return Err(RefundsRefusal::NothingFailing(status.to_owned()).into());
        };
        let _ = ctx.upsert_memo([
            (SETTLEMENTS_MEMO, Some(MemoValue::new(settlements))),
            (FAILING_REFUNDS_MEMO, Some(MemoValue::new(failing.clone()))),
        ]);
        tell_observer(ctx, |observer| {
            observer.settled(invoice_of(ctx.workflow_id()), &settled);
        });
        if failing.is_empty() {
            // The last one: answer once the invoice has finished.
            let finishing = never_cancelled();
            let _ = ctx
                .wait_condition_with_options(
                    |s: &Self| s.status != InvoiceStatus::NeedsAttention,
                    WaitConditionOptions::builder()
                        .cancellation_token(finishing.clone())
                        .build(),
                )
                .await;
        }
        Ok(ctx.state(Self::refunds_outcome))
    }

    #[query]
    pub fn get_status(&self, _ctx: &WorkflowContextView) -> String {
        self.status.text().to_owned()
    }

    /// The status text, the decision, and what a person needs beside them.
    #[query]
    pub fn get_details(&self, _ctx: &WorkflowContextView) -> InvoiceSnapshot {
        InvoiceSnapshot {
            status: self.status.text().to_owned(),
            decision: self.decision.clone(),
            refused_decisions: self.refused.clone(),
            cancellation: self.cancellation.clone(),
            failing_refunds: self.refunds.failing_refunds().to_vec(),
            settled_by_hand: self.refunds.settlements().to_vec(),
            next_refund_retry: self
                .refunds
                .next_retry()
                .map(|at| humantime::format_rfc3339_seconds(at).to_string()),
        }
    }
}

impl InvoiceWorkflow {
    fn take_signal(&mut self, ctx: &SyncWorkflowContext<Self>, decision: Decision) {
        let now = ctx.workflow_time();
        let signature = ctx
            .headers()
            .get(DECISION_HEADER)
            .and_then(|payload| serde_json::from_slice::<Signature>(&payload.data).ok())
            .filter(|signature| signature.check().is_ok())
            .unwrap_or_else(Signature::unknown_signal);
        let refused = decision::refusal(self.status, self.decision.as_ref(), self.deadline, now)
            .or_else(|| duties(&ctx.info()).refusal(decision, &signature));
        if let Some(refusal) = refused {
            // A signal gets no answer: its refusal is recorded for whoever sent it to find.
            // Invoices started before refusals were recorded keep only the signal.
            if ctx.patched(REFUSAL_PATCH) {
                let refused = RefusedDecision::new(decision, &signature, now, &refusal);
                let all = self.keep_refused(refused.clone());
                let _ = ctx.upsert_memo([(REFUSED_MEMO, Some(MemoValue::new(all)))]);
                if let Some(observer) = self.observer.as_ref().filter(|_| !ctx.is_replaying()) {
                    observer.refused(invoice_of(ctx.workflow_id()), &refused);
                }
            }
            return;
        }
        let record = DecisionRecord::new(decision, signature, now);
        // As `tell_observer` does, for a signal handler's context.
        if let Some(observer) = self.observer.as_ref().filter(|_| !ctx.is_replaying()) {
            let waited = elapsed(ctx.info().start_time(), now);
            observer.decided(invoice_of(ctx.workflow_id()), &record, waited);
        }
        self.decision = Some(record);
    }
}

/// The invoice a workflow id stands for (the id itself for one started under another scheme).
fn invoice_of(workflow_id: &str) -> &str {
    crate::names::invoice_id(workflow_id).unwrap_or(workflow_id)
}

/// The time from `start` to `now`, both by the workflow's clock.
fn elapsed(start: Option<SystemTime>, now: Option<SystemTime>) -> Option<Duration> {
    now?.duration_since(start?).ok()
}

/// The invoice this workflow was started with: its input, in the history. Read where it is
/// needed rather than kept, so that a handler that runs before the workflow's own code (a
/// decision in its first task) knows it too.
fn input(view: &WorkflowContextView) -> Option<Invoice> {
    let payload = view.raw().arguments.first()?;
    serde_json::from_slice(&payload.data).ok()
}

/// Who may approve, from the input.
fn duties(view: &WorkflowContextView) -> Duties {
    input(view).map_or_else(Duties::default, |invoice| Duties {
        submitted_by: invoice.submitted_by,
        separated: invoice.separation_of_duties,
    })
}
