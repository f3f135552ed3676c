//! Wire names: what Temporal, the worker and the MCP server agree on.
//!
//! The workflow type, signal and query names are the Rust identifiers of [`InvoiceWorkflow`]
//! (the SDK macros derive them); the constants below pin them to the tutorial's Python names,
//! and a unit test keeps the two equal.
//!
//! [`InvoiceWorkflow`]: crate::InvoiceWorkflow

/// The workflow type, as registered by the worker.
pub const WORKFLOW_TYPE: &str = "InvoiceWorkflow";
/// The task queue the worker polls and the MCP server starts invoices on.
pub const TASK_QUEUE: &str = "invoice-task-queue";
/// Signal that approves an invoice awaiting a decision (no payload).
pub const APPROVE_SIGNAL: &str = "approve_invoice";
/// Signal that rejects an invoice awaiting a decision (no payload).
pub const REJECT_SIGNAL: &str = "reject_invoice";
/// Query that answers the invoice's status text.
pub const STATUS_QUERY: &str = "get_status";
/// Activity that charges one invoice line.
pub const CHARGE_ACTIVITY: &str = "process_payment";
/// Activity that refunds one charged invoice line.
pub const REFUND_ACTIVITY: &str = "refund_payment";

const WORKFLOW_ID_PREFIX: &str = "invoice-";

/// The workflow id of an invoice: `invoice-<id>`.
pub fn workflow_id(invoice_id: &str) -> String {
    format!("{WORKFLOW_ID_PREFIX}{invoice_id}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{InvoiceWorkflow, payments::PaymentActivities};
    use temporalio_common::{ActivityDefinition, QueryDefinition, SignalDefinition};

    #[test]
    fn sdk_derived_names_match_the_wire_contract() {
        assert_eq!(InvoiceWorkflow::name(), WORKFLOW_TYPE);
        assert_eq!(InvoiceWorkflow::approve_invoice.name(), APPROVE_SIGNAL);
        assert_eq!(InvoiceWorkflow::reject_invoice.name(), REJECT_SIGNAL);
        assert_eq!(InvoiceWorkflow::get_status.name(), STATUS_QUERY);
        assert_eq!(PaymentActivities::process_payment.name(), CHARGE_ACTIVITY);
        assert_eq!(PaymentActivities::refund_payment.name(), REFUND_ACTIVITY);
    }

    #[test]
    fn workflow_ids_follow_the_tutorial() {
        assert_eq!(workflow_id("INV-001"), "invoice-INV-001");
    }
}
