//! What an invoice looks like to its front ends: one structured shape per answer, with its JSON
//! schema (the MCP tools' `outputSchema`, sent as `structuredContent`; the inbox's pages).

use schemars::JsonSchema;
use serde::Serialize;
use workflows::{
    Invoice, InvoiceLine, InvoiceState,
    decision::{DecisionRecord, RefusedDecision},
    money::format_amount,
    outcome::CancellationRecord,
    refunds::{FailingRefund, Settlement},
};

/// An invoice as it stands: what every invoice tool answers.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct InvoiceView {
    /// The invoice id, such as "INV-001".
    pub invoice_id: String,
    /// The Temporal workflow id: "invoice-" and the invoice id.
    pub workflow_id: String,
    /// Where the invoice stands, for machines.
    pub state: InvoiceState,
    /// Where the invoice stands, in words, such as "Awaiting approval".
    pub status: String,
    /// The line items as submitted (empty if this server did not start the invoice).
    pub lines: Vec<LineView>,
    /// The sum of the lines, such as "$7,000.00".
    pub total: Option<String>,
    /// The sum of the lines, in cents.
    pub total_cents: Option<i64>,
    /// The human decision, once one is taken: what, who, when, why and through which channel.
    pub decision: Option<DecisionRecord>,
    /// When the approval wait ends (RFC 3339, UTC); set once every line is charged.
    pub approval_deadline: Option<String>,
    /// When the invoice was started (RFC 3339, UTC).
    pub started_at: Option<String>,
    /// When the invoice finished (RFC 3339, UTC).
    pub closed_at: Option<String>,
    /// The workflow's result once finished: a heading, then one line per charge or refund.
    pub result: Option<String>,
    /// Decisions refused after they were sent (a signal judged once a worker ran it): who,
    /// when, through which channel, and why refused.
    pub refused_decisions: Vec<RefusedDecision>,
    /// The cancellation, if the invoice was cancelled: why, when, and who asked.
    pub cancellation: Option<CancellationRecord>,
    /// Refunds that keep failing, while the invoice needs attention: that money is still
    /// charged. Retried on their own, at once with retry_refunds, or settled by hand.
    pub failing_refunds: Vec<FailingRefund>,
    /// When the failing refunds are next retried on their own (RFC 3339, UTC).
    pub next_refund_retry: Option<String>,
    /// Lines whose refund kept failing and that a person settled by hand: who, when, how.
    pub settled_by_hand: Vec<Settlement>,
}

/// One line item.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct LineView {
    /// What is charged, such as "Web Development".
    pub item: String,
    /// The amount in dollars, as submitted.
    pub amount: f64,
    /// Optional free text.
    pub description: Option<String>,
}

/// What the invoice itself says: its lines and total.
#[derive(Clone, Debug)]
pub struct Contents {
    pub lines: Vec<LineView>,
    pub total_cents: i64,
}

impl Contents {
    pub fn of(invoice: &Invoice) -> Self {
        Self::of_lines(&invoice.lines)
    }

    pub fn of_lines(lines: &[InvoiceLine]) -> Self {
        Contents {
            lines: lines
                .iter()
                .map(|line| LineView {
                    item: line.item.clone(),
                    amount: line.amount,
                    description: line.description.clone(),
                })
                .collect(),
            total_cents: lines.iter().map(InvoiceLine::cents).sum(),
        }
    }
}

impl InvoiceView {
    /// The view of an invoice, from its state; contents and decision are added after.
    pub fn new(invoice_id: &str, state: InvoiceState, status: String) -> Self {
        InvoiceView {
            invoice_id: invoice_id.to_owned(),
            workflow_id: workflows::names::workflow_id(invoice_id),
            state,
            status,
            lines: Vec::new(),
            total: None,
            total_cents: None,
            decision: None,
            approval_deadline: None,
            started_at: None,
            closed_at: None,
            result: None,
            refused_decisions: Vec::new(),
            cancellation: None,
            failing_refunds: Vec::new(),
            next_refund_retry: None,
            settled_by_hand: Vec::new(),
        }
    }

    pub fn with_contents(mut self, contents: Option<Contents>) -> Self {
        if let Some(contents) = contents {
            self.lines = contents.lines;
            self.total = Some(format_amount(contents.total_cents));
            self.total_cents = Some(contents.total_cents);
        }
        self
    }
}

/// One page of invoices, newest first.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct InvoiceList {
    /// The state asked for, or null for every state.
    pub state: Option<InvoiceState>,
    /// The invoices on this page, newest first.
    pub invoices: Vec<InvoiceListEntry>,
    /// Pass this as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// An invoice in a listing.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct InvoiceListEntry {
    /// The invoice id, such as "INV-001".
    pub invoice_id: String,
    /// The Temporal workflow id.
    pub workflow_id: String,
    /// Where the invoice stands (null for an invoice that has not published it yet).
    pub state: Option<InvoiceState>,
    /// How many lines it has (null if this server did not start the invoice).
    // As a plain integer: clients' validators do not know schemars' "uint" format.
    #[schemars(with = "Option<i64>")]
    pub line_count: Option<usize>,
    /// The sum of the lines, such as "$7,000.00".
    pub total: Option<String>,
    /// The sum of the lines, in cents.
    pub total_cents: Option<i64>,
    /// When the approval wait ends (RFC 3339, UTC).
    pub approval_deadline: Option<String>,
    /// When the invoice was started (RFC 3339, UTC).
    pub started_at: Option<String>,
    /// Who decided, once the invoice is decided (invoices that record decisions only).
    pub decided_by: Option<String>,
}

impl InvoiceListEntry {
    /// One line for people: "INV-001 · awaiting_approval · 2 lines · $7,000.00 · decide by ...".
    pub fn line(&self) -> String {
        let mut parts = vec![self.invoice_id.clone()];
        parts.push(
            self.state
                .map_or("state unknown", InvoiceState::as_str)
                .to_owned(),
        );
        if let Some(count) = self.line_count {
            parts.push(format!("{count} line{}", if count == 1 { "" } else { "s" }));
        }
        parts.extend(self.total.clone());
        if let (Some(InvoiceState::AwaitingApproval), Some(deadline)) =
            (self.state, &self.approval_deadline)
        {
            parts.push(format!("decide by {deadline}"));
        }
        if let Some(by) = &self.decided_by {
            parts.push(format!("decided by {by}"));
        }
        parts.join(" · ")
    }
}
