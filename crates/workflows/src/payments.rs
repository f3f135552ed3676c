//! The payment activities as the workflow sees them: names, input and output. The `activities`
//! crate implements them; the workflow only needs this contract.

use crate::{invoice::InvoiceLine, money::format_cents};
use serde::{Deserialize, Serialize};
use temporalio_macros::activity_definitions;
use temporalio_sdk::activities::ActivityError;

/// One line to charge or refund, with what identifies it across retries.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PaymentRequest {
    /// The invoice the line belongs to.
    pub invoice_id: String,
    /// Position of the line on the invoice, counting from 1.
    pub line_number: usize,
    /// The line itself.
    pub line: InvoiceLine,
    /// How long after its first attempt that a worker started the activity gives up on a
    /// gateway that keeps failing, in seconds; absent means never (an invoice started without a
    /// retry limit, or an activity scheduled before this field existed, whose limit Temporal
    /// counts instead). Time without a worker never counts: see the `activities` crate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub give_up_after_seconds: Option<u64>,
}

/// Whether money moves to us or back to the customer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    Charge,
    Refund,
}

impl PaymentRequest {
    /// The key a gateway uses to perform each operation at most once, however often the
    /// activity is retried: `invoice-INV-001:line-1:charge`. Invoice ids are never reused.
    pub fn idempotency_key(&self, operation: Operation) -> String {
        let operation = match operation {
            Operation::Charge => "charge",
            Operation::Refund => "refund",
        };
        format!(
            "{}:line-{}:{operation}",
            crate::names::workflow_id(&self.invoice_id),
            self.line_number
        )
    }

    /// The charge receipt, in the tutorial's words.
    pub fn charge_receipt(&self) -> String {
        format!(
            "Processed payment for {}: {}",
            self.line.item,
            format_cents(self.line.cents())
        )
    }

    /// The refund receipt.
    pub fn refund_receipt(&self) -> String {
        format!(
            "Refunded payment for {}: {}",
            self.line.item,
            format_cents(self.line.cents())
        )
    }

    /// A short label for the Web UI, such as "line 1: Web Development $5000.00".
    pub fn label(&self) -> String {
        format!(
            "line {}: {} {}",
            self.line_number,
            self.line.item,
            format_cents(self.line.cents())
        )
    }
}

/// The type of the failure a payment activity ends with when it gave up at its retry limit:
/// the gateway may have taken the money on an attempt whose answer was lost, so the workflow
/// refunds the line too. A decline has no such type: it moved nothing.
pub const GAVE_UP_FAILURE: &str = "PaymentGaveUp";

/// The payment activities, by name. Their bodies live in the `activities` crate.
pub struct PaymentActivities;

#[activity_definitions]
impl PaymentActivities {
    /// Charges one line and returns its receipt.
    #[activity(name = "process_payment")]
    pub fn process_payment(_request: PaymentRequest) -> Result<String, ActivityError> {
        unimplemented!()
    }

    /// Refunds one charged line and returns its receipt.
    #[activity(name = "refund_payment")]
    pub fn refund_payment(_request: PaymentRequest) -> Result<String, ActivityError> {
        unimplemented!()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_receipts_name_the_line() {
        let request = PaymentRequest {
            invoice_id: "INV-001".into(),
            line_number: 2,
            line: InvoiceLine {
                item: "Design Services".into(),
                amount: 2000.0,
                description: None,
                extra: Default::default(),
            },
            give_up_after_seconds: None,
        };
        assert_eq!(
            request.idempotency_key(Operation::Charge),
            "invoice-INV-001:line-2:charge"
        );
        assert_eq!(
            request.idempotency_key(Operation::Refund),
            "invoice-INV-001:line-2:refund"
        );
        assert_eq!(
            request.charge_receipt(),
            "Processed payment for Design Services: $2000.00"
        );
        assert_eq!(
            request.refund_receipt(),
            "Refunded payment for Design Services: $2000.00"
        );
    }
}
