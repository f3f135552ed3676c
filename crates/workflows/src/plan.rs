//! What every step of an invoice needs to know, worked out once from its input.

use crate::{InvoiceWorkflow, invoice::Invoice, payments::PaymentRequest, progress::Progress};
use std::time::Duration;
use temporalio_sdk::WorkflowContext;

/// What every step needs to know of the invoice, worked out once from the input.
pub(crate) struct Plan {
    pub invoice_id: String,
    /// One payment request per line, in order.
    pub requests: Vec<PaymentRequest>,
    pub progress: Progress,
    pub approval_timeout: Duration,
    pub retry_limit: Option<Duration>,
    pub refund_retry_cap: Duration,
}

impl Plan {
    pub fn new(ctx: &WorkflowContext<InvoiceWorkflow>, invoice: &Invoice) -> Self {
        let requests = invoice
            .lines
            .iter()
            .enumerate()
            .map(|(index, line)| PaymentRequest {
                invoice_id: invoice.id.clone(),
                line_number: index + 1,
                line: line.clone(),
                give_up_after_seconds: None,
            })
            .collect();
        Self {
            invoice_id: invoice.id.clone(),
            requests,
            progress: Progress::new(ctx, invoice),
            approval_timeout: invoice.approval_timeout(),
            retry_limit: invoice.payment_retry_limit(),
            refund_retry_cap: invoice.refund_retry_cap(),
        }
    }
}
