//! What a running invoice tells the worker it runs in, for metrics and the audit trail.
//!
//! Told only of what happens now, never of what the workflow replays from its history, so that
//! a worker restart or a cache eviction reports nothing twice. (A workflow task that a worker
//! ran but could not hand back before it died runs again on another worker, and is reported
//! there too: counts are at least once, the history is the record.)

use crate::{
    DecisionRecord, InvoiceState,
    decision::RefusedDecision,
    outcome::CancellationRecord,
    refunds::{FailingRefund, Settlement},
};
use std::time::Duration;

/// Receives an invoice's events as they happen. The worker gives one to every workflow it runs
/// ([`crate::InvoiceWorkflow::observed_by`]); without one, nothing is reported.
pub trait InvoiceObserver: Send + Sync + 'static {
    /// A new invoice started.
    fn started(&self, invoice_id: &str);
    /// A decision was taken, `waited` after the invoice started.
    fn decided(&self, invoice_id: &str, record: &DecisionRecord, waited: Option<Duration>);
    /// A decision was refused after it had been sent (a signal judged late, say).
    fn refused(&self, invoice_id: &str, refused: &RefusedDecision);
    /// Nobody decided before the deadline: the invoice is refunded.
    fn expired(&self, invoice_id: &str);
    /// The invoice was cancelled: every line charged, or maybe charged, is refunded.
    fn cancelled(&self, invoice_id: &str, record: &CancellationRecord);
    /// Refunds failed: money is still charged, and the invoice needs attention until they are
    /// retried successfully or settled by hand.
    fn refunds_failing(&self, invoice_id: &str, failing: &[FailingRefund]);
    /// A person settled by hand a line whose refund kept failing.
    fn settled(&self, invoice_id: &str, settlement: &Settlement);
    /// The invoice ended in `outcome`.
    fn finished(&self, invoice_id: &str, outcome: InvoiceState);
}
