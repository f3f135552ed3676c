//! What the worker makes of the events of the invoices it runs: one audit line per decision and
//! per movement of money (target `audit`; with `--log-format json`, one JSON object each), and
//! the metrics, when they are served.

use crate::metrics::InvoiceMetrics;
use activities::{MoneyMoved, PaymentObserver};
use logs::AUDIT;
use std::{sync::Arc, time::Duration, time::SystemTime};
use workflows::{
    DecisionRecord, InvoiceState,
    decision::RefusedDecision,
    observer::InvoiceObserver,
    outcome::CancellationRecord,
    payments::Operation,
    refunds::{FailingRefund, Settlement},
};

pub struct AuditTrail {
    /// This worker, as Temporal knows it: who moved the money.
    identity: String,
    metrics: Option<Arc<InvoiceMetrics>>,
}

impl AuditTrail {
    pub fn new(identity: &str, metrics: Option<Arc<InvoiceMetrics>>) -> Self {
        Self {
            identity: identity.to_owned(),
            metrics,
        }
    }
}

impl InvoiceObserver for AuditTrail {
    fn started(&self, _invoice_id: &str) {
        if let Some(metrics) = &self.metrics {
            metrics.started();
        }
    }

    fn decided(&self, invoice_id: &str, record: &DecisionRecord, waited: Option<Duration>) {
        tracing::info!(
            target: AUDIT,
            event = "decision",
            invoice = invoice_id,
            decision = record.decision.as_str(),
            by = record.by.as_str(),
            at = record.at.as_deref().unwrap_or(""),
            via = record.via.as_str(),
            reason = record.reason.as_deref().unwrap_or(""),
            waited_seconds = waited.map(|waited| waited.as_secs()),
            "{invoice_id}: {}",
            record.sentence()
        );
        if let Some(metrics) = &self.metrics {
            metrics.decided(record.decision, waited);
        }
    }

    fn refused(&self, invoice_id: &str, refused: &RefusedDecision) {
        tracing::info!(
            target: AUDIT,
            event = "decision_refused",
            invoice = invoice_id,
            decision = refused.decision.as_str(),
            by = refused.by.as_str(),
            at = refused.at.as_deref().unwrap_or(""),
            via = refused.via.as_str(),
            reason = refused.reason.as_deref().unwrap_or(""),
            refused_because = refused.refused_because.as_str(),
            "{invoice_id}: {}",
            refused.sentence()
        );
    }

    fn cancelled(&self, invoice_id: &str, record: &CancellationRecord) {
        tracing::info!(
            target: AUDIT,
            event = "cancelled",
            invoice = invoice_id,
            at = record.at.as_deref().unwrap_or(""),
            reason = record.reason.as_deref().unwrap_or(""),
            "{invoice_id}: {}; refunding every charged line",
            record.sentence()
        );
    }

    fn refunds_failing(&self, invoice_id: &str, failing: &[FailingRefund]) {
        for refund in failing {
            tracing::warn!(
                target: AUDIT,
                event = "refund_failing",
                invoice = invoice_id,
                line = refund.line_number,
                item = refund.item.as_str(),
                amount = refund.amount.as_str(),
                reason = refund.reason.as_str(),
                at = now().as_str(),
                "{invoice_id}: needs attention, the refund of {} failed; retried until refunded or settled by hand",
                refund.sentence()
            );
        }
    }

    fn settled(&self, invoice_id: &str, settlement: &Settlement) {
        tracing::info!(
            target: AUDIT,
            event = "settled_by_hand",
            invoice = invoice_id,
            line = settlement.line_number,
            item = settlement.item.as_str(),
            amount = settlement.amount.as_str(),
            by = settlement.by.as_str(),
            at = settlement.at.as_deref().unwrap_or(""),
            via = settlement.via.as_str(),
            reason = settlement.reason.as_str(),
            "{invoice_id}: {}",
            settlement.sentence()
        );
    }

    /// Nobody decided: the deadline did, and that too is on the record.
    fn expired(&self, invoice_id: &str) {
        tracing::info!(
            target: AUDIT,
            event = "expired",
            invoice = invoice_id,
            by = "deadline",
            at = now().as_str(),
            "{invoice_id}: no decision before the deadline; refunding"
        );
    }

    fn finished(&self, _invoice_id: &str, outcome: InvoiceState) {
        if let Some(metrics) = &self.metrics {
            metrics.finished(outcome);
        }
    }
}

impl PaymentObserver for AuditTrail {
    fn moved(&self, movement: MoneyMoved<'_>) {
        let request = movement.request;
        let cents = u64::try_from(request.line.cents()).unwrap_or(0);
        let event = match movement.operation {
            Operation::Charge => "charge",
            Operation::Refund => "refund",
        };
        tracing::info!(
            target: AUDIT,
            event,
            invoice = request.invoice_id.as_str(),
            line = request.line_number,
            item = request.line.item.as_str(),
            amount_cents = cents,
            idempotency_key = movement.idempotency_key,
            attempt = movement.attempt,
            by = self.identity.as_str(),
            at = now().as_str(),
            "{}: {event} of line {} ({}), {cents} cents",
            request.invoice_id,
            request.line_number,
            request.line.item
        );
        if let Some(metrics) = &self.metrics {
            match movement.operation {
                Operation::Charge => metrics.charged(cents),
                Operation::Refund => metrics.refunded(cents),
            }
        }
    }
}

/// The wall-clock time, to the millisecond (activities and this worker may read the clock; the
/// workflow may not, and its decisions carry the workflow's own time).
fn now() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}
