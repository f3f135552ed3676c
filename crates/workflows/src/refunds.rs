//! Refunds that fail, and what people do about them: the lines still charged (shown while the
//! invoice needs attention), a request to retry at once (the `retry_refunds` Update), and a
//! line settled by hand (the `settle_refund` Update), recorded like a decision: who, when, why
//! and through which channel.

use crate::{
    decision::{MAX_BY_LEN, MAX_REASON_LEN, MAX_VIA_LEN},
    money::format_amount,
    payments::PaymentRequest,
    status::InvoiceState,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::time::SystemTime;

/// A charged line whose refund failed: the money is still with us.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FailingRefund {
    /// The line's position on the invoice, counting from 1.
    pub line_number: u32,
    /// What was charged, such as "Web Development".
    pub item: String,
    /// The amount, such as "$5,000.00".
    pub amount: String,
    /// Why the last refund failed, in the gateway's words.
    pub reason: String,
}

impl FailingRefund {
    pub fn new(request: &PaymentRequest, reason: String) -> Self {
        Self {
            line_number: request.line_number as u32,
            item: request.line.item.clone(),
            amount: format_amount(request.line.cents()),
            reason,
        }
    }

    /// "line 1: Web Development $5,000.00 (the refund was refused)".
    pub fn sentence(&self) -> String {
        format!(
            "line {}: {} {} ({})",
            self.line_number, self.item, self.amount, self.reason
        )
    }
}

/// The input of the `settle_refund` Update: a person says that a line whose refund keeps
/// failing was settled outside this system (a bank transfer, a credit note), and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SettlementRequest {
    /// The line settled, counting from 1.
    pub line_number: u32,
    /// Who settles it.
    pub by: String,
    /// How it was settled, in their words: required.
    pub reason: String,
    /// The channel, such as "inbox" or "cli".
    pub via: String,
}

impl SettlementRequest {
    /// Checks the fields a person must fill in, naming the one that is wrong.
    pub fn check(&self) -> Result<(), String> {
        if self.by.trim().is_empty() || self.by.chars().count() > MAX_BY_LEN {
            return Err(format!(
                "\"by\" must name who settles the line: non-blank, at most {MAX_BY_LEN} characters"
            ));
        }
        if self.reason.trim().is_empty() || self.reason.chars().count() > MAX_REASON_LEN {
            return Err(format!(
                "\"reason\" must say how the line was settled: non-blank, at most {MAX_REASON_LEN} characters"
            ));
        }
        if self.via.trim().is_empty() || self.via.chars().count() > MAX_VIA_LEN {
            return Err(format!(
                "\"via\" must name the channel: non-blank, at most {MAX_VIA_LEN} characters"
            ));
        }
        Ok(())
    }
}

/// A line settled by hand, as the workflow recorded it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Settlement {
    pub line_number: u32,
    pub item: String,
    pub amount: String,
    /// Who settled it.
    pub by: String,
    /// When the workflow took it (RFC 3339, UTC, workflow time).
    pub at: Option<String>,
    /// How it was settled.
    pub reason: String,
    /// The channel.
    pub via: String,
}

impl Settlement {
    pub fn new(
        failing: &FailingRefund,
        request: SettlementRequest,
        at: Option<SystemTime>,
    ) -> Self {
        Self {
            line_number: failing.line_number,
            item: failing.item.clone(),
            amount: failing.amount.clone(),
            by: request.by.trim().to_owned(),
            at: at.map(|at| humantime::format_rfc3339_seconds(at).to_string()),
            reason: request.reason.trim().to_owned(),
            via: request.via,
        }
    }

    /// "Settled by hand: line 1 (Web Development $5,000.00) by ana via inbox at ...: paid back
    /// by bank transfer".
    pub fn sentence(&self) -> String {
        let at = self
            .at
            .as_deref()
            .map(|at| format!(" at {at}"))
            .unwrap_or_default();
        format!(
            "Settled by hand: line {} ({} {}) by {} via {}{at}: {}",
            self.line_number, self.item, self.amount, self.by, self.via, self.reason
        )
    }
}

/// What `retry_refunds` and `settle_refund` answer once the workflow has acted: where the
/// invoice stands and which refunds still fail.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RefundsOutcome {
    pub state: InvoiceState,
    pub status: String,
    /// The refunds that still fail (empty once every line is refunded or settled).
    pub failing_refunds: Vec<FailingRefund>,
}

/// Why a request about refunds was refused. The text is what the caller is told.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum RefundsRefusal {
    #[error(
        "no refund is failing on this invoice (status: {0}); there is nothing to retry or settle"
    )]
    NothingFailing(String),
    #[error("line {line} is not a failing refund of this invoice; the failing ones are: {failing}")]
    NotFailing { line: u32, failing: String },
    #[error(
        "the failing refunds are being retried right now; settle a line only once that retry has failed"
    )]
    Retrying,
    #[error("the settlement is malformed: {0}")]
    Malformed(String),
}

/// The workflow's book of refunds that fail: which lines, what people did about them, and
/// where the rounds of retries stand. Pure state, so that the rules are tested here.
#[derive(Clone, Debug, Default)]
pub(crate) struct RefundBook {
    failing: Vec<FailingRefund>,
    settlements: Vec<Settlement>,
    next_retry: Option<SystemTime>,
    /// A round of refunds is running: nothing can be settled meanwhile.
    refunding: bool,
    retry_asked: bool,
    /// Rounds of refunds finished, so that `retry_refunds` answers after the next one.
    rounds: u32,
}

impl RefundBook {
    /// A round of refunds finished: answers whether refunds had failed before it.
    pub fn round_done(&mut self) -> bool {
        self.refunding = false;
        self.rounds += 1;
        !self.failing.is_empty()
    }

    /// These refunds fail; retried on their own at `next_retry`.
    pub fn failing(&mut self, failing: Vec<FailingRefund>, next_retry: Option<SystemTime>) {
        self.failing = failing;
        self.next_retry = next_retry;
    }

    /// A new round starts: answers the lines still failing (not settled by hand meanwhile).
    pub fn start_round(&mut self) -> Vec<u32> {
        self.retry_asked = false;
        self.next_retry = None;
        self.refunding = true;
        self.failing.iter().map(|f| f.line_number).collect()
    }

    pub fn retry_asked(&self) -> bool {
        self.retry_asked
    }

    pub fn nothing_failing(&self) -> bool {
        self.failing.is_empty()
    }

    /// Nothing fails, and no round is running: there is nothing left to retry.
    pub fn settled_all(&self) -> bool {
        self.failing.is_empty() && !self.refunding
    }

    pub fn rounds(&self) -> u32 {
        self.rounds
    }

    pub fn failing_refunds(&self) -> &[FailingRefund] {
        &self.failing
    }

    pub fn settlements(&self) -> &[Settlement] {
        &self.settlements
    }

    pub fn next_retry(&self) -> Option<SystemTime> {
        self.next_retry
    }

    /// Why refunds cannot be retried now, if they cannot: nothing fails.
    pub fn retry_refusal(&self, status: &str) -> Option<RefundsRefusal> {
        (self.failing.is_empty() && !self.refunding)
            .then(|| RefundsRefusal::NothingFailing(status.to_owned()))
    }

    /// Asks for a round at once, unless one is running (whose outcome then answers).
    pub fn ask_retry(&mut self) {
        if !self.refunding {
            self.retry_asked = true;
        }
    }

    /// Why `request` cannot settle a line now, if it cannot.
    pub fn settle_refusal(
        &self,
        request: &SettlementRequest,
        status: &str,
    ) -> Option<RefundsRefusal> {
        if let Err(error) = request.check() {
            return Some(RefundsRefusal::Malformed(error));
        }
        if self.failing.is_empty() {
            return Some(RefundsRefusal::NothingFailing(status.to_owned()));
        }
        if self.refunding {
            return Some(RefundsRefusal::Retrying);
        }
        if !self
            .failing
            .iter()
            .any(|f| f.line_number == request.line_number)
        {
            let failing: Vec<String> = self.failing.iter().map(FailingRefund::sentence).collect();
            return Some(RefundsRefusal::NotFailing {
                line: request.line_number,
                failing: failing.join("; "),
            });
        }
        None
    }

    /// Settles a failing line by hand (checked with [`Self::settle_refusal`] first).
    pub fn settle(
        &mut self,
        request: SettlementRequest,
        at: Option<SystemTime>,
    ) -> Option<Settlement> {
        let index = self
            .failing
            .iter()
            .position(|f| f.line_number == request.line_number)?;
        let failing = self.failing.remove(index);
        let settlement = Settlement::new(&failing, request, at);
        self.settlements.push(settlement.clone());
        Some(settlement)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::InvoiceLine;

    fn line_one() -> PaymentRequest {
        PaymentRequest {
            invoice_id: "INV-1".into(),
            line_number: 1,
            line: InvoiceLine {
                item: "Web Development".into(),
                amount: 5000.0,
                description: None,
                extra: Default::default(),
            },
            give_up_after_seconds: None,
        }
    }

    #[test]
    fn a_settlement_reads_as_a_sentence_and_needs_a_reason() {
        let failing = FailingRefund::new(&line_one(), "the refund was refused".into());
        assert_eq!(
            failing.sentence(),
            "line 1: Web Development $5,000.00 (the refund was refused)"
        );
        let request = SettlementRequest {
            line_number: 1,
            by: " ana ".into(),
            reason: "paid back by bank transfer".into(),
            via: "inbox".into(),
        };
        assert_eq!(request.check(), Ok(()));
        let at = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_800_000_000);
        let settled = Settlement::new(&failing, request.clone(), Some(at));
        assert_eq!(
            settled.sentence(),
            "Settled by hand: line 1 (Web Development $5,000.00) by ana via inbox at 2027-01-15T08:00:00Z: paid back by bank transfer"
        );
        let blank = SettlementRequest {
            reason: "  ".into(),
            ..request
        };
        assert!(blank.check().unwrap_err().contains("\"reason\""));
    }

    #[test]
    fn the_book_settles_only_failing_lines_and_never_during_a_round() {
        let mut book = RefundBook::default();
        let request = SettlementRequest {
            line_number: 1,
            by: "ana".into(),
            reason: "paid back by bank transfer".into(),
            via: "inbox".into(),
        };
        assert!(matches!(
            book.settle_refusal(&request, "Rejected by approver"),
            Some(RefundsRefusal::NothingFailing(_))
        ));
        assert!(book.retry_refusal("x").is_some());
        assert!(!book.round_done());
        book.failing(
            vec![FailingRefund::new(&line_one(), "refused".into())],
            None,
        );
        assert_eq!(book.retry_refusal("x"), None);
        assert_eq!(book.settle_refusal(&request, "x"), None);
        let other = SettlementRequest {
            line_number: 2,
            ..request.clone()
        };
        assert!(matches!(
            book.settle_refusal(&other, "x"),
            Some(RefundsRefusal::NotFailing { line: 2, .. })
        ));
        assert_eq!(book.start_round(), [1]);
        assert_eq!(
            book.settle_refusal(&request, "x"),
            Some(RefundsRefusal::Retrying)
        );
        book.ask_retry();
        assert!(!book.retry_asked(), "a running round answers the request");
        assert!(book.round_done());
        book.ask_retry();
        assert!(book.retry_asked());
        let settled = book.settle(request, None).unwrap();
        assert_eq!(settled.line_number, 1);
        assert!(book.nothing_failing());
        assert_eq!(book.settlements().len(), 1);
    }
}
