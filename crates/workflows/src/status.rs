//! The words the workflow speaks: its status texts (answered by the `get_status` query) and
//! its result texts. They follow the tutorial; refunds are this port's addition.

use crate::duration;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::time::Duration;

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
    /// A refund failed for good: money is still charged and a person must look into it.
    /// Final for the workflow.
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
            Self::NeedsAttention => InvoiceState::NeedsAttention,
        }
    }

    /// The status whose text this is, if it is one of ours.
    pub fn of_text(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.text() == text)
    }

    const ALL: [Self; 11] = [
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
        Self::NeedsAttention,
    ];

    /// The status a finished invoice ended in, read back from its result text.
    pub fn of_result(result: &str) -> Option<Self> {
        if result.starts_with(APPROVED_PREFIX) {
            Some(Self::Approved)
        } else if result.starts_with(REJECTED_PREFIX) {
            Some(Self::Rejected)
        } else if result.starts_with(TIMED_OUT_PREFIX) {
            Some(Self::TimedOut)
        } else if result.starts_with(NEEDS_ATTENTION_PREFIX) {
            Some(Self::NeedsAttention)
        } else {
            None
        }
    }
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
    /// A charge failed, or the workflow ended abnormally.
    Failed,
    /// A refund failed for good: money is still charged, and a person must see to it.
    NeedsAttention,
}

impl InvoiceState {
    /// The text stored in the search attribute, as serde writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Processing => "processing",
            Self::AwaitingApproval => "awaiting_approval",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::TimedOut => "timed_out",
            Self::Failed => "failed",
            Self::NeedsAttention => "needs_attention",
        }
    }

    /// The state named by `text` (the search attribute's value).
    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::Processing,
            Self::AwaitingApproval,
            Self::Approved,
            Self::Rejected,
            Self::TimedOut,
            Self::Failed,
            Self::NeedsAttention,
        ]
        .into_iter()
        .find(|state| state.as_str() == text)
    }

    /// True once nothing can change the invoice's money any more (refunds may still run).
    pub fn is_decided(self) -> bool {
        !matches!(self, Self::Processing | Self::AwaitingApproval)
    }
}

const APPROVED_PREFIX: &str = "Invoice approved and processed:";
const REJECTED_PREFIX: &str = "Invoice rejected by approver";
const TIMED_OUT_PREFIX: &str = "Invoice rejected: approval timeout after ";
const NEEDS_ATTENTION_PREFIX: &str = "Invoice needs attention: ";

/// Result of an approved invoice: the tutorial's heading, then one line per charge.
pub fn approved_result(receipts: &[String]) -> String {
    with_lines(APPROVED_PREFIX, receipts)
}

/// Result of a rejected invoice: the tutorial's sentence, then one line per refund.
pub fn rejected_result(refunds: &[String]) -> String {
    with_lines(REJECTED_PREFIX, refunds)
}

/// Result of an invoice nobody decided on: the tutorial's sentence, then one line per refund.
pub fn timed_out_result(timeout: Duration, refunds: &[String]) -> String {
    let heading = format!("{TIMED_OUT_PREFIX}{}", duration::describe(timeout));
    with_lines(&heading, refunds)
}

/// Result of an invoice whose compensation left money charged: what happened, then one line
/// per refund made and one per refund that failed.
pub fn needs_attention_result(what: &str, refunds: &[String], failed: &[String]) -> String {
    let heading = format!(
        "{NEEDS_ATTENTION_PREFIX}{what}, but {} refund(s) failed",
        failed.len()
    );
    let lines: Vec<String> = refunds.iter().chain(failed).cloned().collect();
    with_lines(&heading, &lines)
}

fn with_lines(heading: &str, lines: &[String]) -> String {
    std::iter::once(heading)
        .chain(lines.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_read_back_as_their_final_status() {
        let lines = ["Processed payment for Web Development: $5000.00".to_owned()];
        let approved = approved_result(&lines);
        assert_eq!(
            approved,
            "Invoice approved and processed:\nProcessed payment for Web Development: $5000.00"
        );
        assert_eq!(
            InvoiceStatus::of_result(&approved),
            Some(InvoiceStatus::Approved)
        );
        assert_eq!(
            InvoiceStatus::of_result(&rejected_result(&[])),
            Some(InvoiceStatus::Rejected)
        );
        let timed_out = timed_out_result(duration::DEFAULT_APPROVAL_TIMEOUT, &[]);
        assert_eq!(timed_out, "Invoice rejected: approval timeout after 5 days");
        assert_eq!(
            InvoiceStatus::of_result(&timed_out),
            Some(InvoiceStatus::TimedOut)
        );
        assert_eq!(InvoiceStatus::of_result("something else"), None);
    }

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
        }
        assert_eq!(
            InvoiceStatus::RefundingRejected.state(),
            InvoiceState::Rejected
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
