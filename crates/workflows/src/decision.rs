//! A human decision on an invoice: what is asked (the `decide` Update's input, or the
//! tutorial's signals), what is recorded (who, when, why and through which channel), and the
//! rules every path obeys (the first decision stands; none after the deadline or the end).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::time::SystemTime;

use crate::{InvoiceLine, InvoiceState, status::InvoiceStatus};

/// Longest name of whoever decides.
pub const MAX_BY_LEN: usize = 200;
/// Longest reason.
pub const MAX_REASON_LEN: usize = 2_000;
/// Longest channel name.
pub const MAX_VIA_LEN: usize = 100;
/// Who a decision is recorded as when its sender did not say (a bare signal).
pub const UNKNOWN_SENDER: &str = "unknown";
/// The channel of a decision that came as one of the tutorial's signals.
pub const VIA_SIGNAL: &str = "signal";

/// A human's decision on an invoice awaiting approval. Inline in schemas: a plain list of
/// words, as MCP's elicitation forms take them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(inline)]
pub enum Decision {
    Approve,
    Reject,
}

impl Decision {
    /// "approve" or "reject", as serde writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approve => "approve",
            Self::Reject => "reject",
        }
    }

    /// "approved" or "rejected", for sentences.
    pub fn past_tense(self) -> &'static str {
        match self {
            Self::Approve => "approved",
            Self::Reject => "rejected",
        }
    }

    /// The decision named by `text` ("approve" or "reject", as serde writes it).
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Approve, Self::Reject]
            .into_iter()
            .find(|decision| decision.as_str() == text)
    }

    /// "Approved" or "Rejected", to start a sentence.
    pub fn heading(self) -> &'static str {
        match self {
            Self::Approve => "Approved",
            Self::Reject => "Rejected",
        }
    }
}

/// Who a decision comes from and why: carried by the `decide` Update's input, and by the
/// `invoice-decision` header a signal may carry. Recorded in the history as it was sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Signature {
    /// Who decides, such as "ana".
    pub by: String,
    /// Why, in their words; optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The channel the decision came through, such as "claude-ai" (an MCP client) or "signal".
    pub via: String,
}

/// A channel's name as a decision records it: cut to [`MAX_VIA_LEN`] characters.
pub fn channel(name: &str) -> String {
    name.chars().take(MAX_VIA_LEN).collect()
}

impl Signature {
    /// The signature of a signal that did not say who sent it.
    pub fn unknown_signal() -> Self {
        Self {
            by: UNKNOWN_SENDER.to_owned(),
            reason: None,
            via: VIA_SIGNAL.to_owned(),
        }
    }

    /// Checks the lengths and blanks, naming the field that is wrong.
    pub fn check(&self) -> Result<(), String> {
        if self.by.trim().is_empty() || self.by.chars().count() > MAX_BY_LEN {
            return Err(format!(
                "\"by\" must name who decides: non-blank, at most {MAX_BY_LEN} characters"
            ));
        }
        if self.via.trim().is_empty() || self.via.chars().count() > MAX_VIA_LEN {
            return Err(format!(
                "\"via\" must name the channel: non-blank, at most {MAX_VIA_LEN} characters"
            ));
        }
        if self
            .reason
            .as_ref()
            .is_some_and(|reason| reason.chars().count() > MAX_REASON_LEN)
        {
            return Err(format!(
                "\"reason\" must be at most {MAX_REASON_LEN} characters"
            ));
        }
        Ok(())
    }
}

/// The input of the `decide` Update.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DecisionRequest {
    pub decision: Decision,
    #[serde(flatten)]
    pub signature: Signature,
}

/// A decision as the workflow took it: what, who, when (workflow time), why and how.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DecisionRecord {
    /// "approve" or "reject".
    pub decision: Decision,
    /// Who decided ("unknown" for a bare signal).
    pub by: String,
    /// When the workflow took the decision (RFC 3339, UTC); null where no record of it was
    /// kept (the tutorial's workflow, or an invoice started before decisions were recorded).
    pub at: Option<String>,
    /// Why, if they said.
    pub reason: Option<String>,
    /// The channel: an MCP client's name, "inbox", or "signal".
    pub via: String,
}

impl DecisionRecord {
    pub fn new(decision: Decision, signature: Signature, at: Option<SystemTime>) -> Self {
        Self {
            decision,
            by: signature.by,
            at: at.map(|at| humantime::format_rfc3339_seconds(at).to_string()),
            reason: signature.reason,
            via: signature.via,
        }
    }

    /// A decision known only from the invoice's outcome: who and when were not recorded.
    pub fn unrecorded(decision: Decision) -> Self {
        Self::new(decision, Signature::unknown_signal(), None)
    }

    /// "Approved by ana via claude-ai at 2026-12-01T10:00:00Z: looks right", for people.
    pub fn sentence(&self) -> String {
        let mut text = format!(
            "{} by {} via {}",
            self.decision.heading(),
            self.by,
            self.via
        );
        if let Some(at) = &self.at {
            text.push_str(&format!(" at {at}"));
        }
        if let Some(reason) = self.reason.as_deref().filter(|r| !r.trim().is_empty()) {
            text.push_str(&format!(": {reason}"));
        }
        text
    }
}

/// What the `decide` Update answers once the workflow has acted on the decision: enough for
/// the caller to show the invoice without asking Temporal again.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DecisionOutcome {
    /// Where the invoice stands now.
    pub state: InvoiceState,
    /// Its status text, as the `get_status` query answers it.
    pub status: String,
    /// The decision that stands.
    pub decision: DecisionRecord,
    /// The invoice's lines.
    #[serde(default)]
    pub lines: Vec<InvoiceLine>,
    /// When the approval wait ends (RFC 3339, UTC).
    #[serde(default)]
    pub approval_deadline: Option<String>,
    /// When the invoice was started (RFC 3339, UTC).
    #[serde(default)]
    pub started_at: Option<String>,
}

/// Most refused decisions an invoice keeps (the newest): each one is also in the history.
pub const MAX_REFUSED_KEPT: usize = 20;

/// A decision the workflow refused after it had been sent, so that its sender learns of it
/// only later: a signal judged when a worker ran it (too late, separation of duties, already
/// decided), or a decision refused by the `decide` handler. Kept in the workflow's state, its
/// memo, the audit log and the history, with who, when, why refused and through which channel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RefusedDecision {
    /// What was asked: "approve" or "reject".
    pub decision: Decision,
    /// Who sent it ("unknown" for a bare signal).
    pub by: String,
    /// The channel it came through.
    pub via: String,
    /// The sender's own reason, if they gave one.
    #[serde(default)]
    pub reason: Option<String>,
    /// When the workflow judged it (RFC 3339, UTC, workflow time).
    #[serde(default)]
    pub at: Option<String>,
    /// Why it was refused, as the sender would have been told.
    pub refused_because: String,
}

impl RefusedDecision {
    pub fn new(
        decision: Decision,
        signature: &Signature,
        at: Option<SystemTime>,
        refusal: &Refusal,
    ) -> Self {
        Self {
            decision,
            by: signature.by.clone(),
            via: signature.via.clone(),
            reason: signature.reason.clone(),
            at: at.map(|at| humantime::format_rfc3339_seconds(at).to_string()),
            refused_because: refusal.to_string(),
        }
    }

    /// "Approval by bo via inbox refused at 2026-12-01T10:00:00Z: the approval deadline ...".
    pub fn sentence(&self) -> String {
        let noun = match self.decision {
            Decision::Approve => "Approval",
            Decision::Reject => "Rejection",
        };
        let at = at_suffix(self.at.as_deref());
        format!(
            "{noun} by {} via {} refused{at}: {}",
            self.by, self.via, self.refused_because
        )
    }
}

/// Why a decision was refused. The text is what the decider is told.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum Refusal {
    #[error(
        "the invoice was already {} by {} via {}{}; the first decision stands and this one changed nothing",
        .0.decision.past_tense(), .0.by, .0.via, at_suffix(.0.at.as_deref())
    )]
    AlreadyDecided(DecisionRecord),
    #[error(
        "the approval deadline ({deadline}) has passed; the invoice is refunded and a decision now would change nothing"
    )]
    TooLate { deadline: String },
    #[error(
        "the invoice is no longer awaiting approval (status: {0}); a decision now would change nothing"
    )]
    Closed(String),
    #[error("the decision is malformed: {0}")]
    Malformed(String),
    #[error(
        "{submitter} submitted this invoice and cannot approve it too (separation of duties); another person must approve it"
    )]
    OwnSubmission { submitter: String },
    #[error(
        "an approval must say who gives it (separation of duties); this one came from an unknown sender"
    )]
    UnknownApprover,
}

/// Who may approve an invoice: under separation of duties, anyone but the person who
/// submitted it, and only someone who says who they are. Set from the workflow input.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Duties {
    /// Who submitted the invoice, if recorded.
    pub submitted_by: Option<String>,
    /// Whether the submitter is barred from approving.
    pub separated: bool,
}

impl Duties {
    /// Why `signature` may not take `decision`, if it may not. A rejection is never barred:
    /// anyone may stop their own invoice.
    pub fn refusal(&self, decision: Decision, signature: &Signature) -> Option<Refusal> {
        if !self.separated || decision != Decision::Approve {
            return None;
        }
        let by = signature.by.trim();
        if by.eq_ignore_ascii_case(UNKNOWN_SENDER) {
            return Some(Refusal::UnknownApprover);
        }
        match &self.submitted_by {
            Some(submitter) if submitter.trim().eq_ignore_ascii_case(by) => {
                Some(Refusal::OwnSubmission {
                    submitter: submitter.clone(),
                })
            }
            _ => None,
        }
    }
}

fn at_suffix(at: Option<&str>) -> String {
    at.map(|at| format!(" at {at}")).unwrap_or_default()
}

/// The rules, for a workflow in `status` with `decided` so far and the approval `deadline`
/// (known once every line is charged, for invoices started with the decision patch). `now` is
/// workflow time; the Update validator has none, so it judges the deadline by the status only.
pub fn refusal(
    status: InvoiceStatus,
    decided: Option<&DecisionRecord>,
    deadline: Option<SystemTime>,
    now: Option<SystemTime>,
) -> Option<Refusal> {
    if let Some(decided) = decided {
        return Some(Refusal::AlreadyDecided(decided.clone()));
    }
    if let (Some(deadline), Some(now)) = (deadline, now)
        && now >= deadline
    {
        return Some(Refusal::TooLate {
            deadline: humantime::format_rfc3339_seconds(deadline).to_string(),
        });
    }
    match status {
        InvoiceStatus::Received
        | InvoiceStatus::ProcessingPayments
        | InvoiceStatus::AwaitingApproval => None,
        closed => Some(Refusal::Closed(closed.text().to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn ana() -> Signature {
        Signature {
            by: "ana".into(),
            reason: Some("matches the PO".into()),
            via: "claude-ai".into(),
        }
    }

    #[test]
    fn the_update_input_is_flat_json() {
        let request = DecisionRequest {
            decision: Decision::Approve,
            signature: ana(),
        };
        let json = serde_json::to_value(&request).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"decision": "approve", "by": "ana", "reason": "matches the PO", "via": "claude-ai"})
        );
        assert_eq!(
            serde_json::from_value::<DecisionRequest>(json).unwrap(),
            request
        );
    }

    #[test]
    fn records_read_as_a_sentence() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let record = DecisionRecord::new(Decision::Reject, ana(), Some(at));
        assert_eq!(
            record.sentence(),
            "Rejected by ana via claude-ai at 2027-01-15T08:00:00Z: matches the PO"
        );
        let bare = DecisionRecord::new(Decision::Approve, Signature::unknown_signal(), None);
        assert_eq!(bare.sentence(), "Approved by unknown via signal");
    }

    #[test]
    fn the_first_decision_stands_and_the_deadline_is_judged_by_workflow_time() {
        let deadline = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let waiting = InvoiceStatus::AwaitingApproval;
        assert_eq!(refusal(waiting, None, Some(deadline), None), None);
        let before = deadline - Duration::from_millis(1);
        assert_eq!(refusal(waiting, None, Some(deadline), Some(before)), None);
        // The timer firing and the decision arriving in one workflow task: time decides.
        assert!(matches!(
            refusal(waiting, None, Some(deadline), Some(deadline)),
            Some(Refusal::TooLate { .. })
        ));
        let first = DecisionRecord::new(Decision::Approve, ana(), None);
        let refused = refusal(waiting, Some(&first), None, None).unwrap();
        assert_eq!(
            refused.to_string(),
            "the invoice was already approved by ana via claude-ai; the first decision stands and this one changed nothing"
        );
        assert!(matches!(
            refusal(InvoiceStatus::RefundingTimedOut, None, None, None),
            Some(Refusal::Closed(_))
        ));
    }

    #[test]
    fn the_submitter_cannot_approve_under_separation_of_duties() {
        let duties = Duties {
            submitted_by: Some("Ana".into()),
            separated: true,
        };
        let refused = duties.refusal(Decision::Approve, &ana()).unwrap();
        assert_eq!(
            refused.to_string(),
            "Ana submitted this invoice and cannot approve it too (separation of duties); another person must approve it"
        );
        assert_eq!(duties.refusal(Decision::Reject, &ana()), None);
        let mut bo = ana();
        bo.by = "bo".into();
        assert_eq!(duties.refusal(Decision::Approve, &bo), None);
        assert_eq!(
            duties.refusal(Decision::Approve, &Signature::unknown_signal()),
            Some(Refusal::UnknownApprover)
        );
        let agent_mode = Duties {
            separated: false,
            ..duties
        };
        assert_eq!(agent_mode.refusal(Decision::Approve, &ana()), None);
    }

    #[test]
    fn signatures_are_checked() {
        assert_eq!(ana().check(), Ok(()));
        let mut blank = ana();
        blank.by = " ".into();
        assert!(blank.check().unwrap_err().contains("\"by\""));
        let mut long = ana();
        long.reason = Some("x".repeat(MAX_REASON_LEN + 1));
        assert!(long.check().unwrap_err().contains("\"reason\""));
    }
}
