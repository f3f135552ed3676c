//! How the workflow calls the payment activities: their options (timeouts, retries, what a
//! cancellation does to them) and what their failures mean for the money.

use crate::{
    InvoiceWorkflow,
    names::PAYMENT_ATTEMPTS_PATCH,
    payments::{GAVE_UP_FAILURE, PaymentRequest},
};
use std::time::Duration;
use temporalio_common::{
    RetryPolicy,
    error::ActivityExecutionError,
    protos::temporal::api::failure::v1::{Failure, failure::FailureInfo},
};
use temporalio_sdk::{
    ActivityCancellationType, ActivityCloseTimeouts, ActivityOptions, WorkflowCancellationToken,
    WorkflowContext,
};

/// How long one charge or refund attempt may take; failed attempts are retried by Temporal.
pub const PAYMENT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);
/// The wait before a failed payment attempt is retried, doubling up to the maximum.
const PAYMENT_RETRY_FIRST: Duration = Duration::from_secs(1);
const PAYMENT_RETRY_MAX: Duration = Duration::from_secs(30);

/// What a payment activity's failure says about the money.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PaymentFailure {
    /// The gateway refused it for good (a declined card): no money moved.
    Declined(String),
    /// It gave up at its retry limit: an attempt may have moved the money without its answer
    /// arriving, so a charge is refunded too (a refund of nothing moves nothing and voids the
    /// charge).
    Uncertain(String),
    /// It was cancelled with the invoice before its outcome was known: as uncertain. (Before
    /// cancellation refunded, it counted as declined.)
    Cancelled(String),
}

impl PaymentFailure {
    /// The gateway's own words for why (the innermost cause of the activity's failure; a
    /// timeout's cause is its last attempt's failure).
    pub fn reason(&self) -> &str {
        match self {
            Self::Declined(reason) | Self::Uncertain(reason) | Self::Cancelled(reason) => reason,
        }
    }

    /// Reads an activity's failure.
    pub fn of(error: &ActivityExecutionError) -> Self {
        match error.failure() {
            Some(failure) => Self::of_failure(failure),
            None => Self::Uncertain(error.to_string()),
        }
    }

    /// Reads the failure an activity ended with, down its chain of causes.
    fn of_failure(mut failure: &Failure) -> Self {
        // Gave up: a timeout (a limit Temporal counted), a failure that said it could be
        // retried (the retry policy ran out), the activity's own give-up, or a cancellation.
        let mut gave_up = false;
        let mut cancelled = false;
        loop {
            match &failure.failure_info {
                Some(FailureInfo::TimeoutFailureInfo(_)) => gave_up = true,
                Some(FailureInfo::ApplicationFailureInfo(info)) => {
                    gave_up |= !info.non_retryable || info.r#type == GAVE_UP_FAILURE;
                }
                Some(FailureInfo::CanceledFailureInfo(_)) => cancelled = true,
                _ => {}
            }
            match failure.cause.as_deref() {
                Some(cause) => failure = cause,
                None => break,
            }
        }
        let message = failure.message.clone();
        if cancelled {
            Self::Cancelled(format!("cancelled before its outcome was known; {message}"))
        } else if gave_up && message.starts_with("gave up") {
            Self::Uncertain(message)
        } else if gave_up {
            Self::Uncertain(format!("gave up at the retry limit; last: {message}"))
        } else {
            Self::Declined(message)
        }
    }
}

/// Whether a cancellation of the invoice counts for this operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnCancel {
    /// A charge: cancelled with the invoice, and waited for until its outcome is known, so
    /// that a charge that went through is refunded.
    WaitForOutcome,
    /// A refund: never cancelled. Money going back is never stopped halfway.
    Continue,
}

/// The options of one charge or refund. For invoices started with a retry limit and
/// [`PAYMENT_ATTEMPTS_PATCH`], the activity itself gives up once the limit has passed since
/// its first attempt that a worker started (the limit travels in the request); before it,
/// Temporal counted the limit from scheduling, time without a worker included. Without a
/// limit (invoices started before there was one), it is retried for as long as it takes. A
/// declined payment is never retried.
pub fn payment_options(
    ctx: &WorkflowContext<InvoiceWorkflow>,
    request: &mut PaymentRequest,
    summary: String,
    token: &WorkflowCancellationToken,
    retry_limit: Option<Duration>,
    on_cancel: OnCancel,
) -> ActivityOptions {
    let retry_policy = RetryPolicy::builder()
        .initial_interval(PAYMENT_RETRY_FIRST)
        .backoff_coefficient(2.0)
        .maximum_interval(PAYMENT_RETRY_MAX)
        .build();
    let cancellation_type = match on_cancel {
        OnCancel::WaitForOutcome => ActivityCancellationType::WaitCancellationCompleted,
        OnCancel::Continue => ActivityCancellationType::TryCancel,
    };
    let Some(limit) = retry_limit else {
        // Invoices started without a limit (the tutorial's server starts them so) wait for a
        // cancelled charge's outcome too, since this release.
        let cancellation_type = if ctx.patched(PAYMENT_ATTEMPTS_PATCH) {
            cancellation_type
        } else {
            ActivityCancellationType::TryCancel
        };
        return ActivityOptions::with_start_to_close_timeout(PAYMENT_ATTEMPT_TIMEOUT)
            .cancellation_type(cancellation_type)
            .summary(summary)
            .cancellation_token(token.clone())
            .build();
    };
    if !ctx.patched(PAYMENT_ATTEMPTS_PATCH) {
        return ActivityOptions::with_close_timeouts(
            ActivityCloseTimeouts::ScheduleAndStartToClose {
                schedule_to_close: limit,
                start_to_close: PAYMENT_ATTEMPT_TIMEOUT.min(limit),
            },
        )
        .retry_policy(retry_policy)
        .summary(summary)
        .cancellation_token(token.clone())
        .build();
    }
    request.give_up_after_seconds = Some(limit.as_secs());
    ActivityOptions::with_start_to_close_timeout(PAYMENT_ATTEMPT_TIMEOUT)
        .retry_policy(retry_policy)
        .cancellation_type(cancellation_type)
        .summary(summary)
        .cancellation_token(token.clone())
        .build()
}

/// A cancellation token for the workflow's charges and its approval deadline, owned by the
/// workflow's own future. It follows the workflow's cancellation like the default token does,
/// but unlike it, it is dropped with the future. Keep it in a local while its operations run:
/// they hold it only weakly, so a token moved into their options would be gone at once.
///
/// Why not the default: temporalio-sdk 1.1 removes an operation's callback from its token only
/// when the operation completes, and the callback holds the workflow context. The default token
/// lives in that context, so a cancelled timer, or any operation still pending when the worker
/// evicts the workflow from its cache, would keep the whole context alive for good: about 8 MB
/// per 1,000 invoices a worker has run (docs/upstream/temporalio-workflow-context-retained.md).
pub fn cancelled_with_invoice(ctx: &WorkflowContext<InvoiceWorkflow>) -> WorkflowCancellationToken {
    ctx.cancellation_token().child_token()
}

/// A token no cancellation of the invoice reaches, for what must run to its end once begun:
/// refunds, and the waits around them. Kept in a local, as [`cancelled_with_invoice`]'s.
pub fn never_cancelled() -> WorkflowCancellationToken {
    WorkflowCancellationToken::new()
}

#[cfg(test)]
mod tests {
    use super::*;
    use temporalio_common::protos::temporal::api::failure::v1::{
        ApplicationFailureInfo, CanceledFailureInfo,
    };

    fn activity_failure(cause: Failure) -> Failure {
        Failure {
            message: "Activity task failed".into(),
            cause: Some(Box::new(cause)),
            ..Default::default()
        }
    }

    fn application(message: &str, non_retryable: bool, kind: &str) -> Failure {
        Failure {
            message: message.into(),
            failure_info: Some(FailureInfo::ApplicationFailureInfo(
                ApplicationFailureInfo {
                    non_retryable,
                    r#type: kind.into(),
                    ..Default::default()
                },
            )),
            ..Default::default()
        }
    }

    #[test]
    fn a_decline_moved_nothing_and_everything_else_may_have() {
        let declined = activity_failure(application("declined: no funds", true, ""));
        assert_eq!(
            PaymentFailure::of_failure(&declined),
            PaymentFailure::Declined("declined: no funds".into())
        );
        let gave_up = activity_failure(application(
            "gave up after 1 hour of attempts; last: no answer",
            true,
            GAVE_UP_FAILURE,
        ));
        assert_eq!(
            PaymentFailure::of_failure(&gave_up),
            PaymentFailure::Uncertain("gave up after 1 hour of attempts; last: no answer".into())
        );
        let cancelled = activity_failure(Failure {
            message: "Activity cancelled".into(),
            failure_info: Some(FailureInfo::CanceledFailureInfo(
                CanceledFailureInfo::default(),
            )),
            ..Default::default()
        });
        assert!(matches!(
            PaymentFailure::of_failure(&cancelled),
            PaymentFailure::Cancelled(reason) if reason.starts_with("cancelled before")
        ));
    }
}
