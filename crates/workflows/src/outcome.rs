//! What an invoice ends with: the workflow's typed result, [`InvoiceOutcome`]. Its `text` is
//! the tutorial's result text (a heading, then one line per charge or refund), so that whoever
//! reads the tutorial's result still finds it; its `state` says how the invoice ended, so that
//! nobody needs to read the text to know.
//!
//! A cancelled invoice ends as Temporal's "Canceled", with its outcome as the cancellation's
//! details. A failed payment ends as a workflow failure whose message says what failed.

use crate::{
    DecisionRecord, InvoiceState,
    decision::RefusedDecision,
    duration,
    refunds::{FailingRefund, Settlement},
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// How an invoice ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct InvoiceOutcome {
    /// How it ended: approved, rejected, timed_out or cancelled (needs_attention only for
    /// invoices started before refunds were retried until settled).
    pub state: InvoiceState,
    /// The tutorial's result text: a heading, then one line per charge, refund or settlement.
    pub text: String,
    /// The human decision, if one was taken.
    #[serde(default)]
    pub decision: Option<DecisionRecord>,
    /// The cancellation, if the invoice was cancelled.
    #[serde(default)]
    pub cancellation: Option<CancellationRecord>,
    /// Lines whose refund failed and that a person settled by hand.
    #[serde(default)]
    pub settled_by_hand: Vec<Settlement>,
    /// Decisions refused after they were sent.
    #[serde(default)]
    pub refused_decisions: Vec<RefusedDecision>,
}

/// A cancellation, as the workflow took it. Who asked is in the history's
/// `WorkflowExecutionCancelRequested` event (its identity), which the workflow does not see.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CancellationRecord {
    /// The reason given with the cancel request, if any.
    #[serde(default)]
    pub reason: Option<String>,
    /// When the workflow took it (RFC 3339, UTC, workflow time).
    #[serde(default)]
    pub at: Option<String>,
    /// Who asked, from the history (the client's identity); null where not read.
    #[serde(default)]
    pub by: Option<String>,
}

impl CancellationRecord {
    /// "Cancelled by temporal-cli@host at 2026-12-01T10:00:00Z: duplicate".
    pub fn sentence(&self) -> String {
        let mut text = String::from("Cancelled");
        if let Some(by) = self.by.as_deref().filter(|by| !by.trim().is_empty()) {
            text.push_str(&format!(" by {by}"));
        }
        if let Some(at) = &self.at {
            text.push_str(&format!(" at {at}"));
        }
        if let Some(reason) = self.reason.as_deref().filter(|r| !r.trim().is_empty()) {
            text.push_str(&format!(": {reason}"));
        }
        text
    }
}

const APPROVED_HEADING: &str = "Invoice approved and processed:";
const REJECTED_HEADING: &str = "Invoice rejected by approver";
const TIMED_OUT_HEADING: &str = "Invoice rejected: approval timeout after ";
const CANCELLED_HEADING: &str = "Invoice cancelled: every charged line refunded";
const NEEDS_ATTENTION_HEADING: &str = "Invoice needs attention: ";

/// Result text of an approved invoice: the tutorial's heading, then one line per charge.
pub fn approved_text(receipts: &[String]) -> String {
    with_lines(APPROVED_HEADING, receipts)
}

/// Result text of a rejected invoice: the tutorial's sentence, then one line per refund.
pub fn rejected_text(refunds: &[String]) -> String {
    with_lines(REJECTED_HEADING, refunds)
}

/// Result text of an invoice nobody decided on: the tutorial's sentence, then one line per
/// refund.
pub fn timed_out_text(timeout: Duration, refunds: &[String]) -> String {
    let heading = format!("{TIMED_OUT_HEADING}{}", duration::describe(timeout));
    with_lines(&heading, refunds)
}

/// Result text of a cancelled invoice, then one line per refund.
pub fn cancelled_text(refunds: &[String]) -> String {
    with_lines(CANCELLED_HEADING, refunds)
}

/// Result text of an invoice whose compensation left money charged (invoices started before
/// refunds were retried until settled): what happened, then one line per refund made and one
/// per refund that failed.
pub fn needs_attention_text(what: &str, refunds: &[String], failed: &[FailingRefund]) -> String {
    let heading = format!(
        "{NEEDS_ATTENTION_HEADING}{what}, but {} refund(s) failed",
        failed.len()
    );
    let failed = failed
        .iter()
        .map(|failing| format!("refund of {} failed", failing.sentence()));
    let lines: Vec<String> = refunds.iter().cloned().chain(failed).collect();
    with_lines(&heading, &lines)
}

fn with_lines(heading: &str, lines: &[String]) -> String {
    std::iter::once(heading)
        .chain(lines.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join("\n")
}

impl InvoiceOutcome {
    /// The outcome a finished invoice's result payload holds: ours, or the plain text that the
    /// tutorial's workflow (and this one, before outcomes were typed) returns, whose heading
    /// says how it ended. `None` for a text that is neither.
    pub fn of_result(result: serde_json::Value) -> Option<Self> {
        match result {
            serde_json::Value::String(text) => {
                let state = legacy_state(&text)?;
                Some(Self {
                    state,
                    text,
                    decision: None,
                    cancellation: None,
                    settled_by_hand: Vec::new(),
                    refused_decisions: Vec::new(),
                })
            }
            other => serde_json::from_value(other).ok(),
        }
    }
}

/// How a plain result text ended, by its heading: the tutorial's words are its contract.
fn legacy_state(text: &str) -> Option<InvoiceState> {
    [
        (APPROVED_HEADING, InvoiceState::Approved),
        (REJECTED_HEADING, InvoiceState::Rejected),
        (TIMED_OUT_HEADING, InvoiceState::TimedOut),
        (NEEDS_ATTENTION_HEADING, InvoiceState::NeedsAttention),
    ]
    .into_iter()
    .find_map(|(heading, state)| text.starts_with(heading).then_some(state))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn texts_are_the_tutorials_and_plain_results_read_back() {
        let lines = ["Processed payment for Web Development: $5000.00".to_owned()];
        let approved = approved_text(&lines);
        assert_eq!(
            approved,
            "Invoice approved and processed:\nProcessed payment for Web Development: $5000.00"
        );
        let timed_out = timed_out_text(duration::DEFAULT_APPROVAL_TIMEOUT, &[]);
        assert_eq!(timed_out, "Invoice rejected: approval timeout after 5 days");
        for (text, state) in [
            (approved, InvoiceState::Approved),
            (rejected_text(&[]), InvoiceState::Rejected),
            (timed_out, InvoiceState::TimedOut),
        ] {
            let outcome = InvoiceOutcome::of_result(json!(text)).unwrap();
            assert_eq!((outcome.state, outcome.text), (state, text));
        }
        assert_eq!(InvoiceOutcome::of_result(json!("something else")), None);
    }

    #[test]
    fn a_typed_outcome_reads_back() {
        let outcome = InvoiceOutcome {
            state: InvoiceState::Cancelled,
            text: cancelled_text(&["Refunded payment for Design Services: $2000.00".into()]),
            decision: None,
            cancellation: Some(CancellationRecord {
                reason: Some("duplicate".into()),
                at: Some("2026-12-01T10:00:00Z".into()),
                by: None,
            }),
            settled_by_hand: Vec::new(),
            refused_decisions: Vec::new(),
        };
        let json = serde_json::to_value(&outcome).unwrap();
        assert_eq!(json["state"], "cancelled");
        assert_eq!(InvoiceOutcome::of_result(json), Some(outcome.clone()));
        assert_eq!(
            outcome.cancellation.unwrap().sentence(),
            "Cancelled at 2026-12-01T10:00:00Z: duplicate"
        );
    }
}
