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
    charging::{self, Charged, FailedCharge},
    compensation::{self, Compensation},
    decision::{
        self, Decision, DecisionOutcome, DecisionRecord, DecisionRequest, Duties, MAX_REFUSED_KEPT,
        Refusal, RefusedDecision, Signature,
    },
    invoice::Invoice,
    names::{
        CANCELLATION_MEMO, DECISION_HEADER, FAILING_REFUNDS_MEMO, REFUSAL_PATCH, REFUSED_MEMO,
        SETTLEMENTS_MEMO,
    },
    observer::InvoiceObserver,
    outcome::{self, CancellationRecord, InvoiceOutcome},
    payment_calls::never_cancelled,
    payments::PaymentRequest,
    progress::Progress,
    refunds::{RefundBook, RefundsOutcome, RefundsRefusal, SettlementRequest},
    status::{InvoiceSnapshot, InvoiceState, InvoiceStatus},
};
use std::{
    sync::Arc,
    time::{Duration, SystemTime},
};
use temporalio_common::MemoValue;
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{
    ApplicationFailure, SyncWorkflowContext, WaitConditionOptions, WorkflowContext,
    WorkflowContextView, WorkflowResult, WorkflowTermination,
};

/// What a handler may fail with: the SDK sends its text to the caller.
type HandlerError = Box<dyn std::error::Error + Send + Sync>;

#[workflow]
pub struct InvoiceWorkflow {
    status: InvoiceStatus,
    /// The first decision taken; later ones change nothing.
    decision: Option<DecisionRecord>,
    /// When the approval wait ends, for invoices started with the decision patch: a decision
    /// at or after it is too late, whatever order one workflow task delivers it in.
    deadline: Option<SystemTime>,
    /// Whether decisions are published (memo, search attribute): the decision patch again.
    publish_decision: bool,
    /// Decisions refused after they were sent, newest last (at most [`MAX_REFUSED_KEPT`]).
    refused: Vec<RefusedDecision>,
    /// The cancellation, once the invoice is cancelled.
    cancellation: Option<CancellationRecord>,
    /// Refunds that fail, and what people did about them.
    pub(crate) refunds: RefundBook,
    /// Who hears of this invoice's events as they happen (the worker's metrics and audit log).
    /// Outside the history: it changes nothing the workflow does.
    observer: Option<Arc<dyn InvoiceObserver>>,
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

/// What every step needs to know of the invoice, worked out once from the input.
pub(crate) struct Plan {
    pub invoice_id: String,
    /// One payment request per line, in order.
    pub requests: Vec<PaymentRequest>,
    pub progress: Progress,
    pub approval_timeout: Duration,
    pub retry_limit: Option<Duration>,
    pub refund_retry_cap: Duration,
}

impl Plan {
    fn new(ctx: &WorkflowContext<InvoiceWorkflow>, invoice: &Invoice) -> Self {
        let requests = invoice
            .lines
            .iter()
            .enumerate()
            .map(|(index, line)| PaymentRequest {
                invoice_id: invoice.id.clone(),
                line_number: index + 1,
                line: line.clone(),
                give_up_after_seconds: None,
            })
            .collect();
        Self {
            invoice_id: invoice.id.clone(),
            requests,
            progress: Progress::new(ctx, invoice),
            approval_timeout: invoice.approval_timeout(),
            retry_limit: invoice.payment_retry_limit(),
            refund_retry_cap: invoice.refund_retry_cap(),
        }
    }
}

/// How an invoice ends: its final state, what the Web UI shows, and its result text.
struct Ending {
    state: InvoiceState,
    details: String,
    text: String,
    /// A failed payment fails the workflow, with `text` as the failure's message.
    fails_workflow: bool,
}

#[workflow_methods]
impl InvoiceWorkflow {
    #[run]
    pub async fn run(
        ctx: &mut WorkflowContext<Self>,
        invoice: Invoice,
    ) -> WorkflowResult<InvoiceOutcome> {
        let plan = Plan::new(ctx, &invoice);
        report(ctx, |observer| observer.started(&invoice.id));

        // 1. Charge every line.
        let receipts = match charging::charge_lines(ctx, &plan).await {
            Charged::Every(receipts) => receipts,
            Charged::Failed(failed) => return payment_failed(ctx, &plan, failed).await,
            Charged::Cancelled { to_refund } => return cancel(ctx, &plan, &to_refund).await,
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
                report(ctx, |observer| observer.expired(&invoice.id));
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
            Verdict::Cancelled => return cancel(ctx, &plan, &plan.requests).await,
        };
        finish(ctx, &plan, ending).await
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
        report(ctx, |observer| {
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
                move |s: &Self| s.refunds.rounds() > seen,
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
        report(ctx, |observer| {
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

/// Step 3 after a failed charge: refund what was charged, then fail the workflow saying why.
async fn payment_failed(
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
        format!("Payment failed for {label}: refunding {charged_before} line(s)"),
    );
    let ending = match compensation::refund_until_settled(ctx, plan, &to_refund).await? {
        Compensation::Settled { .. } => {
            let own = if uncertain {
                ", and so was any charge of it"
            } else {
                ""
            };
            Ending {
                state: InvoiceState::Failed,
                details: format!("Payment failed for {label}; nothing is kept"),
                text: format!(
                    "{what}; the {charged_before} line(s) charged before it were refunded{own}"
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
async fn cancel(
    ctx: &WorkflowContext<InvoiceWorkflow>,
    plan: &Plan,
    to_refund: &[PaymentRequest],
) -> WorkflowResult<InvoiceOutcome> {
    let record = CancellationRecord {
        reason: ctx.cancellation_token().reason().filter(|r| !r.is_empty()),
        at: ctx
            .workflow_time()
            .map(|at| humantime::format_rfc3339_seconds(at).to_string()),
        by: None,
    };
    ctx.state_mut(|s| s.cancellation = Some(record.clone()));
    let _ = ctx.upsert_memo([(CANCELLATION_MEMO, Some(MemoValue::new(record.clone())))]);
    report(ctx, |observer| {
        observer.cancelled(&plan.invoice_id, &record)
    });
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
async fn finish(
    ctx: &WorkflowContext<InvoiceWorkflow>,
    plan: &Plan,
    ending: Ending,
) -> WorkflowResult<InvoiceOutcome> {
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
    report(ctx, |observer| {
        observer.finished(&plan.invoice_id, ending.state)
    });
    if ending.fails_workflow {
        return Err(ApplicationFailure::new(ending.text).into());
    }
    let outcome = ctx.state(|s| InvoiceOutcome {
        state: ending.state,
        text: ending.text,
        decision: s.decision.clone(),
        cancellation: s.cancellation.clone(),
        settled_by_hand: s.refunds.settlements().to_vec(),
        refused_decisions: s.refused.clone(),
    });
    if outcome.state == InvoiceState::Cancelled {
        return Err(WorkflowTermination::cancelled_with_details(outcome));
    }
    Ok(outcome)
}

impl Ending {
    fn completed(state: InvoiceState, details: String, text: String) -> Self {
        Self {
            state,
            details,
            text,
            fails_workflow: false,
        }
    }

    /// Refunds failed for good on an invoice started before they were retried until settled.
    fn abandoned(what: &str, compensation: Compensation) -> Self {
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
fn legacy_attention(failing: &[crate::refunds::FailingRefund]) -> String {
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

impl InvoiceWorkflow {
    pub(crate) fn status(&self) -> InvoiceStatus {
        self.status
    }

    pub(crate) fn enter(&mut self, status: InvoiceStatus) {
        self.status = status;
    }

    pub(crate) fn decision(&self) -> Option<&DecisionRecord> {
        self.decision.as_ref()
    }

    pub(crate) fn publishes_decisions(&self) -> bool {
        self.publish_decision
    }

    /// From now on a decision at or after `deadline` is too late, and decisions are published.
    pub(crate) fn record_decisions_until(&mut self, deadline: Option<SystemTime>) {
        self.deadline = deadline;
        self.publish_decision = true;
    }

    fn refunds_outcome(&self) -> RefundsOutcome {
        RefundsOutcome {
            state: self.status.state(),
            status: self.status.text().to_owned(),
            failing_refunds: self.refunds.failing_refunds().to_vec(),
        }
    }

    /// Keeps a refused decision (the newest [`MAX_REFUSED_KEPT`]); answers all kept.
    fn keep_refused(&mut self, refused: RefusedDecision) -> Vec<RefusedDecision> {
        self.refused.push(refused);
        if self.refused.len() > MAX_REFUSED_KEPT {
            self.refused.remove(0);
        }
        self.refused.clone()
    }

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
        // As `report` does, for a signal handler's context.
        if let Some(observer) = self.observer.as_ref().filter(|_| !ctx.is_replaying()) {
            let waited = elapsed(ctx.info().start_time(), now);
            observer.decided(invoice_of(ctx.workflow_id()), &record, waited);
        }
        self.decision = Some(record);
    }
}

/// Tells the observer, if there is one, of something happening now: nothing is reported while
/// the workflow replays its history.
pub(crate) fn report(
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
