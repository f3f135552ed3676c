//! The words the workflow speaks while it runs: its status texts (answered by the
//! `get_status` query) and the coarse state listings filter on. They follow the tutorial;
//! refunds, cancellation and attention are this port's additions. The result an invoice ends
//! with is [`crate::outcome`]'s.

use crate::{
    DecisionRecord,
    decision::RefusedDecision,
    outcome::CancellationRecord,
    refunds::{FailingRefund, Settlement},
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Where an invoice is in its life. [`InvoiceStatus::text`] is what the status query answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvoiceStatus {
    /// Started, before the first charge.
    Received,
    /// Charging the lines, one activity each.
    ProcessingPayments,
    /// Every line charged; waiting for a human to approve or reject.
    AwaitingApproval,
    /// Approved: the charges stand. Final.
    Approved,
    /// Rejected by a human: refunding the charged lines.
    RefundingRejected,
    /// Rejected by a human, every charge refunded. Final.
    Rejected,
    /// Nobody decided in time: refunding the charged lines.
    RefundingTimedOut,
    /// Nobody decided in time, every charge refunded. Final.
    TimedOut,
    /// A charge failed for good: refunding the lines charged before it.
    RefundingFailedPayment,
    /// A charge failed for good and the lines charged before it were refunded. Final.
    PaymentFailed,
    /// Cancelled (from the Web UI or `temporal workflow cancel`): refunding every line charged,
    /// and every line whose charge may have gone through.
    RefundingCancelled,
    /// Cancelled, and every charged line refunded. Final.
    Cancelled,
    /// A refund failed: money is still charged. The refunds are retried with backoff, at once
    /// on request (`retry_refunds`), or a person settles the line by hand (`settle_refund`).
    /// Invoices started before refunds were retried ended here.
    NeedsAttention,
}

impl InvoiceStatus {
    /// The status text, in the tutorial's words where the tutorial has a state.
    pub fn text(self) -> &'static str {
        match self {
            Self::Received => "Processing",
            Self::ProcessingPayments => "Processing payments",
            Self::AwaitingApproval => "Awaiting approval",
            Self::Approved => "Approved and finalized",
            Self::RefundingRejected => "Rejected by approver - refunding payments",
            Self::Rejected => "Rejected by approver",
            Self::RefundingTimedOut => "Approval timeout - refunding payments",
            Self::TimedOut => "Approval timeout - invoice rejected",
            Self::RefundingFailedPayment => "Payment failed - refunding payments",
            Self::PaymentFailed => "Payment failed - charged lines refunded",
            Self::RefundingCancelled => "Cancelled - refunding payments",
            Self::Cancelled => "Cancelled - charged lines refunded",
            Self::NeedsAttention => "Needs attention - a refund failed",
        }
    }

    /// The coarse state this status belongs to: what a listing filters on.
    pub fn state(self) -> InvoiceState {
        match self {
            Self::Received | Self::ProcessingPayments => InvoiceState::Processing,
            Self::AwaitingApproval => InvoiceState::AwaitingApproval,
            Self::Approved => InvoiceState::Approved,
            Self::RefundingRejected | Self::Rejected => InvoiceState::Rejected,
            Self::RefundingTimedOut | Self::TimedOut => InvoiceState::TimedOut,
            Self::RefundingFailedPayment | Self::PaymentFailed => InvoiceState::Failed,
            Self::RefundingCancelled | Self::Cancelled => InvoiceState::Cancelled,
            Self::NeedsAttention => InvoiceState::NeedsAttention,
        }
    }

    /// The status whose text this is, if it is one of ours.
    pub fn of_text(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.text() == text)
    }

    /// The final status of an invoice that ended in `state`.
    pub fn ended_in(state: InvoiceState) -> Self {
        match state {
            InvoiceState::Processing => Self::ProcessingPayments,
            InvoiceState::AwaitingApproval => Self::AwaitingApproval,
            InvoiceState::Approved => Self::Approved,
            InvoiceState::Rejected => Self::Rejected,
            InvoiceState::TimedOut => Self::TimedOut,
            InvoiceState::Failed => Self::PaymentFailed,
            InvoiceState::Cancelled => Self::Cancelled,
            InvoiceState::NeedsAttention => Self::NeedsAttention,
        }
    }

    const ALL: [Self; 13] = [
        Self::Received,
        Self::ProcessingPayments,
        Self::AwaitingApproval,
        Self::Approved,
        Self::RefundingRejected,
        Self::Rejected,
        Self::RefundingTimedOut,
        Self::TimedOut,
        Self::RefundingFailedPayment,
        Self::PaymentFailed,
        Self::RefundingCancelled,
        Self::Cancelled,
        Self::NeedsAttention,
    ];
}

impl std::fmt::Display for InvoiceStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.text())
    }
}

/// Where an invoice stands, for machines: the value of the `InvoiceState` search attribute and
/// the `state` of every structured tool result. Refunds in progress count as the state they
/// lead to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceState {
    /// Received, or charging its lines.
    Processing,
    /// Every line charged; waiting for a human decision.
    AwaitingApproval,
    /// Approved: the charges stand.
    Approved,
    /// Rejected by a human: refunded (or being refunded).
    Rejected,
    /// Nobody decided in time: refunded (or being refunded).
    TimedOut,
    /// A charge failed (and the lines charged before it were refunded), or the workflow ended
    /// abnormally (terminated).
    Failed,
    /// Cancelled by an operator: refunded (or being refunded).
    Cancelled,
    /// A refund failed: money is still charged. The refunds are retried until every line is
    /// refunded or settled by hand.
    NeedsAttention,
}

impl InvoiceState {
    /// Every state, in the order of an invoice's life.
    pub const ALL: [Self; 8] = [
        Self::Processing,
        Self::AwaitingApproval,
        Self::Approved,
        Self::Rejected,
        Self::TimedOut,
        Self::Failed,
        Self::Cancelled,
        Self::NeedsAttention,
    ];

    /// The text stored in the search attribute, as serde writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Processing => "processing",
            Self::AwaitingApproval => "awaiting_approval",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::TimedOut => "timed_out",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
            Self::NeedsAttention => "needs_attention",
        }
    }

    /// The state named by `text` (the search attribute's value).
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == text)
    }

    /// True once nothing can change the invoice's money any more (refunds may still run).
    pub fn is_decided(self) -> bool {
        !matches!(self, Self::Processing | Self::AwaitingApproval)
    }

    /// True for the states an invoice waits in only while its workflow runs: a listing of them
    /// leaves out invoices whose workflow ended there (terminated, or cancelled before
    /// cancellation refunded). Needs attention is not one: invoices of older releases ended
    /// in it, their money still charged.
    pub fn is_ongoing(self) -> bool {
        matches!(self, Self::Processing | Self::AwaitingApproval)
    }
}

/// What the `get_details` query answers: the status text, the decision, and what a person
/// needs to see beside them. Fields after `decision` are absent from older workers' answers.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct InvoiceSnapshot {
    pub status: String,
    pub decision: Option<DecisionRecord>,
    #[serde(default)]
    pub refused_decisions: Vec<RefusedDecision>,
    #[serde(default)]
    pub cancellation: Option<CancellationRecord>,
    #[serde(default)]
    pub failing_refunds: Vec<FailingRefund>,
    #[serde(default)]
    pub settled_by_hand: Vec<Settlement>,
    /// When failing refunds are next retried on their own (RFC 3339, UTC).
    #[serde(default)]
    pub next_refund_retry: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_read_back_and_match_serde() {
        for status in InvoiceStatus::ALL {
            assert_eq!(InvoiceStatus::of_text(status.text()), Some(status));
            let state = status.state();
            assert_eq!(InvoiceState::parse(state.as_str()), Some(state));
            assert_eq!(
                serde_json::to_value(state).unwrap(),
                serde_json::Value::from(state.as_str())
            );
            assert_eq!(InvoiceStatus::ended_in(state).state(), state);
        }
        assert_eq!(
            InvoiceStatus::RefundingRejected.state(),
            InvoiceState::Rejected
        );
        assert_eq!(
            InvoiceStatus::RefundingCancelled.state(),
            InvoiceState::Cancelled
        );
    }

    #[test]
    fn final_texts_are_the_tutorials() {
        assert_eq!(InvoiceStatus::AwaitingApproval.text(), "Awaiting approval");
        assert_eq!(InvoiceStatus::Approved.text(), "Approved and finalized");
        assert_eq!(InvoiceStatus::Rejected.text(), "Rejected by approver");
        assert_eq!(
            InvoiceStatus::TimedOut.text(),
            "Approval timeout - invoice rejected"
        );
    }
}
