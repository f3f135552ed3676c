//! `InvoiceWorkflow`: charge every line, wait durably for a human decision bounded by the
//! approval timeout, then keep the charges (approved) or refund them (rejected, timed out).
//!
//! Deterministic by construction: no clock, environment or randomness is read here. The
//! timeout comes from the workflow input, so it is part of the recorded history.

use crate::{
    decision::{
        self, Decision, DecisionOutcome, DecisionRecord, DecisionRequest, Duties, InvoiceSnapshot,
        Refusal, Signature,
    },
    invoice::{Invoice, format_amount},
    names::{
        COMPENSATION_PATCH, DEADLINE_ATTRIBUTE, DECIDED_BY_ATTRIBUTE, DECISION_HEADER,
        DECISION_MEMO, DECISION_PATCH, STATE_ATTRIBUTE, VISIBILITY_PATCH,
    },
    observer::InvoiceObserver,
    payments::{PaymentActivities, PaymentRequest},
    status::{self, InvoiceState, InvoiceStatus},
};
use std::{
    sync::Arc,
    time::{Duration, SystemTime},
};
use temporalio_common::{MemoValue, RetryPolicy, error::ActivityExecutionError};
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{
    ActivityCloseTimeouts, ActivityOptions, ApplicationFailure, CancellableFuture,
    SyncWorkflowContext, TimerOptions, WorkflowCancellationToken, WorkflowContext,
    WorkflowContextView, WorkflowResult,
};

/// What a handler may fail with: the SDK sends its text to the caller.
type HandlerError = Box<dyn std::error::Error + Send + Sync>;

/// How long one charge or refund attempt may take; failed attempts are retried by Temporal.
const PAYMENT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);
/// The wait before a failed payment attempt is retried, doubling up to the maximum.
const PAYMENT_RETRY_FIRST: Duration = Duration::from_secs(1);
const PAYMENT_RETRY_MAX: Duration = Duration::from_secs(30);

#[workflow]
pub struct InvoiceWorkflow {
    status: InvoiceStatus,
    /// The first decision taken; later ones change nothing.
    decision: Option<DecisionRecord>,
    /// When the approval wait ends, for invoices started with [`DECISION_PATCH`]: a decision
    /// at or after it is too late, whatever order one workflow task delivers it in.
    deadline: Option<SystemTime>,
    /// Whether decisions are published (memo, search attribute): [`DECISION_PATCH`] again.
    publish_decision: bool,
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
        report(ctx, |observer| observer.started(&invoice.id));

        // Invoices started before this release publish nothing and replay exactly as they ran.
        let progress = Progress {
            publish: ctx.patched(VISIBILITY_PATCH),
            total: format_amount(invoice.total_cents()),
            lines: requests.len(),
        };
        let retry_limit = invoice.payment_retry_limit();
        let mut receipts = Vec::with_capacity(requests.len());
        let charging = operation_token(ctx);
        for (charged, request) in requests.iter().enumerate() {
            progress.enter(
                ctx,
                InvoiceStatus::ProcessingPayments,
                format!(
                    "Charging {} · {} lines, {} in all",
                    request.label(),
                    progress.lines,
                    progress.total
                ),
            );
            let charge = ctx.execute_activity(
                PaymentActivities::process_payment,
                request.clone(),
                payment_options(
                    format!("Charge {}", request.label()),
                    &charging,
                    retry_limit,
                ),
            );
            match charge.await {
                Ok(receipt) => receipts.push(receipt),
                Err(error) => {
                    // Never keep part of the money for an invoice that cannot be completed.
                    progress.enter(
                        ctx,
                        InvoiceStatus::RefundingFailedPayment,
                        format!(
                            "Payment failed for {}: refunding {charged} line(s)",
                            request.label()
                        ),
                    );
                    let (reason, declined) = payment_failure(&error);
                    // A charge that gave up (rather than being declined) may have gone through
                    // at the gateway: it is refunded too, and a refund of nothing succeeds.
                    // Only invoices with a retry limit can give up.
                    let uncertain = !declined && retry_limit.is_some();
                    let to_refund = &requests[..charged + usize::from(uncertain)];
                    let refunds = refund(ctx, to_refund, retry_limit).await?;
                    let failed = format!("payment for {} failed ({reason})", request.label());
                    let outcome = if refunds.failed.is_empty() {
                        InvoiceState::Failed
                    } else {
                        InvoiceState::NeedsAttention
                    };
                    let failure = if refunds.failed.is_empty() {
                        progress.enter(
                            ctx,
                            InvoiceStatus::PaymentFailed,
                            format!("Payment failed for {}; nothing is kept", request.label()),
                        );
                        let own = if uncertain {
                            ", and so was any charge of it"
                        } else {
                            ""
                        };
                        format!(
                            "{failed}; the {charged} line(s) charged before it were refunded{own}"
                        )
                    } else {
                        let attention = refunds.attention();
                        progress.enter(ctx, InvoiceStatus::NeedsAttention, attention.clone());
                        format!("{failed}; needs attention: {attention}")
                    };
                    // A decision taken while charging is answered before the workflow ends.
                    let handlers = ctx.clone();
                    ctx.wait_condition(move |_| handlers.all_handlers_finished())
                        .await?;
                    report(ctx, |observer| observer.finished(&invoice.id, outcome));
                    return Err(ApplicationFailure::new(failure).into());
                }
            }
        }

        let timeout = invoice.approval_timeout();
        // Workflow time is the history's clock, so replay computes the same deadline.
        let deadline_at = ctx.workflow_time().map(|now| now + timeout);
        // Invoices started before decisions were recorded replay as they ran: no deadline
        // check by time, nothing published when decided.
        if ctx.patched(DECISION_PATCH) {
            ctx.state_mut(|s| {
                s.deadline = deadline_at;
                s.publish_decision = true;
            });
        }
        progress.enter_until(
            ctx,
            InvoiceStatus::AwaitingApproval,
            format!(
                "Awaiting approval until {}: {} charged on {} line(s)",
                deadline_at.map_or_else(
                    || crate::duration::describe(timeout),
                    |at| humantime::format_rfc3339_seconds(at).to_string()
                ),
                progress.total,
                progress.lines
            ),
            deadline_at,
        );
        let deadline_token = operation_token(ctx);
        let deadline = ctx.timer(
            TimerOptions::builder(timeout)
                .summary(format!(
                    "Approval deadline: {}",
                    crate::duration::describe(timeout)
                ))
                .cancellation_token(deadline_token.clone())
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

        let decided = ctx.state(|s| s.decision.clone());
        let signed = |what: String| match &decided {
            Some(record) => format!("{what} · {}", record.sentence()),
            None => what,
        };
        match decided.as_ref().map(|record| record.decision) {
            Some(Decision::Approve) => {
                let details = signed(format!("Approved: {} charged", progress.total));
                progress.decide(ctx, InvoiceStatus::Approved, details, decided.as_ref());
                // The decide Update answers with the outcome: let it, before the workflow ends.
                let handlers = ctx.clone();
                ctx.wait_condition(move |_| handlers.all_handlers_finished())
                    .await?;
                report(ctx, |observer| {
                    observer.finished(&invoice.id, InvoiceState::Approved);
                });
                Ok(status::approved_result(&receipts))
            }
            Some(Decision::Reject) => {
                let details = signed(format!("Rejected: refunding {}", progress.total));
                progress.decide(
                    ctx,
                    InvoiceStatus::RefundingRejected,
                    details,
                    decided.as_ref(),
                );
                let refunds = refund(ctx, &requests, retry_limit).await?;
                let handlers = ctx.clone();
                if !refunds.failed.is_empty() {
                    progress.enter(ctx, InvoiceStatus::NeedsAttention, refunds.attention());
                    ctx.wait_condition(move |_| handlers.all_handlers_finished())
                        .await?;
                    report(ctx, |observer| {
                        observer.finished(&invoice.id, InvoiceState::NeedsAttention);
                    });
                    return Ok(status::needs_attention_result(
                        "rejected by approver",
                        &refunds.receipts,
                        &refunds.failed,
                    ));
                }
                let details = signed(format!("Rejected: {} refunded", progress.total));
                progress.enter(ctx, InvoiceStatus::Rejected, details);
                ctx.wait_condition(move |_| handlers.all_handlers_finished())
                    .await?;
                report(ctx, |observer| {
                    observer.finished(&invoice.id, InvoiceState::Rejected);
                });
                Ok(status::rejected_result(&refunds.receipts))
            }
            None => {
                report(ctx, |observer| observer.expired(&invoice.id));
                let details = format!("No decision in time: refunding {}", progress.total);
                progress.enter(ctx, InvoiceStatus::RefundingTimedOut, details);
                let refunds = refund(ctx, &requests, retry_limit).await?;
                if !refunds.failed.is_empty() {
                    progress.enter(ctx, InvoiceStatus::NeedsAttention, refunds.attention());
                    report(ctx, |observer| {
                        observer.finished(&invoice.id, InvoiceState::NeedsAttention);
                    });
                    return Ok(status::needs_attention_result(
                        "no decision in time",
                        &refunds.receipts,
                        &refunds.failed,
                    ));
                }
                let details = format!("No decision in time: {} refunded", progress.total);
                progress.enter(ctx, InvoiceStatus::TimedOut, details);
                report(ctx, |observer| {
                    observer.finished(&invoice.id, InvoiceState::TimedOut);
                });
                Ok(status::timed_out_result(timeout, &refunds.receipts))
            }
        }
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
        if let Some(refusal) = refused {
            return Err(refusal.into());
        }
        let record = DecisionRecord::new(request.decision, request.signature, now);
        let waited = elapsed(ctx.info().start_time(), now);
        report(ctx, |observer| {
            observer.decided(invoice_of(ctx.workflow_id()), &record, waited);
        });
        ctx.state_mut(|s| s.decision = Some(record));
        ctx.wait_condition(|s: &Self| s.status.state().is_decided())
            .await?;
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

    #[query]
    pub fn get_status(&self, _ctx: &WorkflowContextView) -> String {
        self.status.text().to_owned()
    }

    /// The status text and the decision, if one was taken.
    #[query]
    pub fn get_details(&self, _ctx: &WorkflowContextView) -> InvoiceSnapshot {
        InvoiceSnapshot {
            status: self.status.text().to_owned(),
            decision: self.decision.clone(),
        }
    }
}

impl InvoiceWorkflow {
    fn take_signal(&mut self, ctx: &SyncWorkflowContext<Self>, decision: Decision) {
        let now = ctx.workflow_time();
        if let Some(refusal) =
            decision::refusal(self.status, self.decision.as_ref(), self.deadline, now)
        {
            // A signal gets no answer: it changes nothing, and the history keeps it.
            let _ = refusal;
            return;
        }
        let signature = ctx
            .headers()
            .get(DECISION_HEADER)
            .and_then(|payload| serde_json::from_slice::<Signature>(&payload.data).ok())
            .filter(|signature| signature.check().is_ok())
            .unwrap_or_else(Signature::unknown_signal);
        if duties(&ctx.info()).refusal(decision, &signature).is_some() {
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
fn report(ctx: &WorkflowContext<InvoiceWorkflow>, event: impl FnOnce(&dyn InvoiceObserver)) {
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

/// Announces each step of an invoice: to the status query, to the Web UI (current details) and,
/// for invoices started with [`VISIBILITY_PATCH`], to visibility (search attributes).
struct Progress {
    publish: bool,
    total: String,
    lines: usize,
}

impl Progress {
    fn enter(
        &self,
        ctx: &WorkflowContext<InvoiceWorkflow>,
        status: InvoiceStatus,
        details: String,
    ) {
        self.enter_until(ctx, status, details, None);
    }

    /// Enters the status a decision leads to and, for invoices started with
    /// [`DECISION_PATCH`], records the decision where people and listings find it once the
    /// invoice has finished: the memo (all of it) and the `InvoiceDecidedBy` search attribute,
    /// upserted with the state in one command.
    fn decide(
        &self,
        ctx: &WorkflowContext<InvoiceWorkflow>,
        status: InvoiceStatus,
        details: String,
        record: Option<&DecisionRecord>,
    ) {
        let record = record.filter(|_| ctx.state(|s| s.publish_decision));
        if let Some(record) = record {
            // A record always converts to JSON; should it not, the history still holds it.
            let _ = ctx.upsert_memo([(DECISION_MEMO, Some(MemoValue::new(record.clone())))]);
        }
        self.enter_with(ctx, status, details, None, record);
    }

    fn enter_until(
        &self,
        ctx: &WorkflowContext<InvoiceWorkflow>,
        status: InvoiceStatus,
        details: String,
        deadline: Option<SystemTime>,
    ) {
        self.enter_with(ctx, status, details, deadline, None);
    }

    fn enter_with(
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

/// What a compensation did: the receipts of the refunds that went through, and the refunds
/// that failed for good, each with its line and reason.
struct Refunds {
    receipts: Vec<String>,
    failed: Vec<String>,
}

impl Refunds {
    /// What a person must look into, for the status and the Web UI.
    fn attention(&self) -> String {
        format!(
            "{} of {} refund(s) failed, the money is still charged: {}",
            self.failed.len(),
            self.failed.len() + self.receipts.len(),
            self.failed.join("; ")
        )
    }
}

/// Refunds the given charged lines, one activity each. Every line's refund is attempted, even
/// after one failed for good: compensation never stops halfway.
async fn refund(
    ctx: &WorkflowContext<InvoiceWorkflow>,
    charged: &[PaymentRequest],
    retry_limit: Option<Duration>,
) -> WorkflowResult<Refunds> {
    let mut refunds = Refunds {
        receipts: Vec::with_capacity(charged.len()),
        failed: Vec::new(),
    };
    let refunding = operation_token(ctx);
    for request in charged {
        let mut options = payment_options(
            format!("Refund {}", request.label()),
            &refunding,
            retry_limit,
        );
        // Not started in the reply to the workflow task that schedules it: that reply also
        // carries the answer to a rejection's decide Update, which should not wait for it.
        options.do_not_eagerly_execute = true;
        let refunded = ctx
            .execute_activity(PaymentActivities::refund_payment, request.clone(), options)
            .await;
        match refunded {
            Ok(receipt) => refunds.receipts.push(receipt),
            // Invoices started before this release failed at the first refund that failed.
            Err(error) if !ctx.patched(COMPENSATION_PATCH) => return Err(error.into()),
            Err(error) => refunds.failed.push(format!(
                "refund of {} failed ({})",
                request.label(),
                payment_failure(&error).0
            )),
        }
    }
    Ok(refunds)
}

/// The gateway's own words for why a payment failed (the innermost cause of the activity's
/// failure; a timeout's cause is its last attempt's failure), and whether it was a definite
/// decline rather than giving up.
fn payment_failure(error: &ActivityExecutionError) -> (String, bool) {
    use temporalio_common::protos::temporal::api::failure::v1::failure::FailureInfo;
    let Some(mut failure) = error.failure() else {
        return (error.to_string(), false);
    };
    // A timeout, or a failure that said it could be retried: the retry limit ended it.
    let mut timed_out = false;
    loop {
        timed_out |= match &failure.failure_info {
            Some(FailureInfo::TimeoutFailureInfo(_)) => true,
            Some(FailureInfo::ApplicationFailureInfo(info)) => !info.non_retryable,
            _ => false,
        };
        match failure.cause.as_deref() {
            Some(cause) => failure = cause,
            None => break,
        }
    }
    if timed_out {
        (
            format!("gave up at the retry limit; last: {}", failure.message),
            false,
        )
    } else {
        (failure.message.clone(), true)
    }
}

/// One charge or refund: 30 s per attempt, retried with backoff. Without a retry limit (an
/// invoice started before there was one), for as long as it takes; with one, until it has
/// passed, counted from the first attempt. A declined payment is never retried.
fn payment_options(
    summary: String,
    token: &WorkflowCancellationToken,
    retry_limit: Option<Duration>,
) -> ActivityOptions {
    let Some(limit) = retry_limit else {
        return ActivityOptions::with_start_to_close_timeout(PAYMENT_ATTEMPT_TIMEOUT)
            .summary(summary)
            .cancellation_token(token.clone())
            .build();
    };
    ActivityOptions::with_close_timeouts(ActivityCloseTimeouts::ScheduleAndStartToClose {
        schedule_to_close: limit,
        start_to_close: PAYMENT_ATTEMPT_TIMEOUT.min(limit),
    })
    .retry_policy(
        RetryPolicy::builder()
            .initial_interval(PAYMENT_RETRY_FIRST)
            .backoff_coefficient(2.0)
            .maximum_interval(PAYMENT_RETRY_MAX)
            .build(),
    )
    .summary(summary)
    .cancellation_token(token.clone())
    .build()
}

/// A cancellation token for the workflow's timers and activities, owned by the workflow's own
/// future. It follows the workflow's cancellation like the default token does, but unlike it,
/// it is dropped with the future. Keep it in a local while its operations run: they hold it
/// only weakly, so a token moved into their options would be gone at once.
///
/// Why not the default: temporalio-sdk 1.1 removes an operation's callback from its token only
/// when the operation completes, and the callback holds the workflow context. The default token
/// lives in that context, so a cancelled timer, or any operation still pending when the worker
/// evicts the workflow from its cache, would keep the whole context alive for good: about 8 MB
/// per 1,000 invoices a worker has run (docs/upstream/temporalio-workflow-context-retained.md).
fn operation_token(ctx: &WorkflowContext<InvoiceWorkflow>) -> WorkflowCancellationToken {
    ctx.cancellation_token().child_token()
}
