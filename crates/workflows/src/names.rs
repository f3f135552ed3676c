//! Wire names: what Temporal, the worker and the MCP server agree on.
//!
//! The workflow type, signal and query names are the Rust identifiers of [`InvoiceWorkflow`]
//! (the SDK macros derive them); the constants below pin them to the tutorial's Python names,
//! and a unit test keeps the two equal.
//!
//! [`InvoiceWorkflow`]: crate::InvoiceWorkflow

use temporalio_common::{
    protos::temporal::api::enums::v1::IndexedValueType,
    search_attributes::{SearchAttributeKey, Timestamp},
};

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
/// Query that answers the status text and the decision (ours only; the tutorial's workflow
/// knows `get_status` alone).
pub const DETAILS_QUERY: &str = "get_details";
/// Update that takes a decision with who made it and why, and answers the outcome (ours
/// only; against the tutorial's workflow, the signals above stand in for it).
pub const DECIDE_UPDATE: &str = "decide";
/// Update that retries at once the refunds that keep failing on an invoice that needs
/// attention, and answers once the retry has run (ours only).
pub const RETRY_REFUNDS_UPDATE: &str = "retry_refunds";
/// Update by which a person settles by hand a line whose refund keeps failing, saying how
/// (ours only).
pub const SETTLE_REFUND_UPDATE: &str = "settle_refund";
/// Header a decision signal may carry: a JSON [`Signature`] (who, why, via). Workers that do
/// not know it ignore it, so the signal stays the tutorial's.
///
/// [`Signature`]: crate::Signature
pub const DECISION_HEADER: &str = "invoice-decision";
/// Activity that charges one invoice line.
pub const CHARGE_ACTIVITY: &str = "process_payment";
/// Activity that refunds one charged invoice line.
pub const REFUND_ACTIVITY: &str = "refund_payment";

/// Search attribute holding the invoice's machine state ([`InvoiceState`] as text), so that
/// Temporal's visibility can list invoices by state. A `Keyword`.
///
/// [`InvoiceState`]: crate::InvoiceState
pub const STATE_ATTRIBUTE: SearchAttributeKey<String> = SearchAttributeKey::keyword("InvoiceState");
/// Search attribute holding when the approval wait ends. A `Datetime`.
pub const DEADLINE_ATTRIBUTE: SearchAttributeKey<Timestamp> =
    SearchAttributeKey::datetime("InvoiceApprovalDeadline");
/// Search attribute holding who decided, so that a listing shows it. A `Keyword`.
pub const DECIDED_BY_ATTRIBUTE: SearchAttributeKey<String> =
    SearchAttributeKey::keyword("InvoiceDecidedBy");
/// Every custom search attribute, with its type: a namespace must have them before an invoice
/// starts (`temporal server start-dev --search-attribute InvoiceState=Keyword ...`, or
/// registered by the worker at start).
pub const SEARCH_ATTRIBUTES: [(&str, IndexedValueType); 3] = [
    ("InvoiceState", IndexedValueType::Keyword),
    ("InvoiceApprovalDeadline", IndexedValueType::Datetime),
    ("InvoiceDecidedBy", IndexedValueType::Keyword),
];
/// Memo key under which the MCP server stores the invoice (lines, total) at start, so that a
/// listing shows totals without reading each history.
pub const INVOICE_MEMO: &str = "invoice";
/// Memo key under which the workflow records the decision (a [`DecisionRecord`]) when it
/// takes it, so that a finished invoice still tells who decided, when and why.
///
/// [`DecisionRecord`]: crate::DecisionRecord
pub const DECISION_MEMO: &str = "decision";
/// Memo key under which the workflow records the decisions it refused after they were sent
/// (a list of [`RefusedDecision`]), so that the Web UI and a finished invoice show them.
///
/// [`RefusedDecision`]: crate::decision::RefusedDecision
pub const REFUSED_MEMO: &str = "refused_decisions";
/// Memo key under which the workflow records its cancellation (a [`CancellationRecord`]).
///
/// [`CancellationRecord`]: crate::outcome::CancellationRecord
pub const CANCELLATION_MEMO: &str = "cancellation";
/// Memo key under which the workflow records the refunds that keep failing (a list of
/// [`FailingRefund`], empty once they are refunded or settled).
///
/// [`FailingRefund`]: crate::refunds::FailingRefund
pub const FAILING_REFUNDS_MEMO: &str = "failing_refunds";
/// Memo key under which the workflow records the lines a person settled by hand (a list of
/// [`Settlement`]).
///
/// [`Settlement`]: crate::refunds::Settlement
pub const SETTLEMENTS_MEMO: &str = "settled_by_hand";
/// Patch marking histories whose workflow publishes its state as search attributes: invoices
/// started before it replay without those commands.
pub const VISIBILITY_PATCH: &str = "publish-invoice-state";
/// Patch marking histories whose workflow judges a decision's lateness by workflow time and
/// publishes the decision (memo, search attribute): invoices started before it replay as
/// they ran.
pub const DECISION_PATCH: &str = "record-decisions";
/// Patch marking histories whose workflow attempts every refund even after one failed for
/// good, and then ends in `needs_attention`: invoices started before it failed at the first
/// refund that failed.
pub const COMPENSATION_PATCH: &str = "refund-every-line";

/// Patch marking histories whose payments give up only after their retry limit has passed
/// since the first attempt a worker started (time without a worker does not count), and whose
/// charges, when the invoice is cancelled, are waited for until their outcome is known.
pub const PAYMENT_ATTEMPTS_PATCH: &str = "limit-from-first-attempt";
/// Patch marking histories whose workflow, when cancelled, refunds every line charged and every
/// line whose charge may have gone through, and ends `cancelled`: invoices started before it
/// ended at once, with their lines charged.
pub const CANCEL_REFUNDS_PATCH: &str = "refund-on-cancel";
/// Patch marking histories whose workflow retries failing refunds until every line is refunded
/// or settled by hand: invoices started before it ended in `needs_attention`.
pub const REFUND_RETRY_PATCH: &str = "retry-refunds-until-settled";
/// Patch marking histories whose workflow records the decisions it refuses after they were
/// sent (the memo [`REFUSED_MEMO`]).
pub const REFUSAL_PATCH: &str = "record-refused-decisions";

const WORKFLOW_ID_PREFIX: &str = "invoice-";

/// The workflow id of an invoice: `invoice-<id>`.
pub fn workflow_id(invoice_id: &str) -> String {
    format!("{WORKFLOW_ID_PREFIX}{invoice_id}")
}

/// The invoice id inside a workflow id, if it is an invoice's.
pub fn invoice_id(workflow_id: &str) -> Option<&str> {
    workflow_id.strip_prefix(WORKFLOW_ID_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{InvoiceWorkflow, payments::PaymentActivities};
    use temporalio_common::{
        ActivityDefinition, QueryDefinition, SignalDefinition, UpdateDefinition,
    };

    #[test]
    fn sdk_derived_names_match_the_wire_contract() {
        assert_eq!(InvoiceWorkflow::name(), WORKFLOW_TYPE);
        assert_eq!(InvoiceWorkflow::approve_invoice.name(), APPROVE_SIGNAL);
        assert_eq!(InvoiceWorkflow::reject_invoice.name(), REJECT_SIGNAL);
        assert_eq!(InvoiceWorkflow::get_status.name(), STATUS_QUERY);
        assert_eq!(InvoiceWorkflow::get_details.name(), DETAILS_QUERY);
        assert_eq!(InvoiceWorkflow::decide.name(), DECIDE_UPDATE);
        assert_eq!(InvoiceWorkflow::retry_refunds.name(), RETRY_REFUNDS_UPDATE);
        assert_eq!(InvoiceWorkflow::settle_refund.name(), SETTLE_REFUND_UPDATE);
        assert_eq!(PaymentActivities::process_payment.name(), CHARGE_ACTIVITY);
        assert_eq!(PaymentActivities::refund_payment.name(), REFUND_ACTIVITY);
    }

    #[test]
    fn workflow_ids_follow_the_tutorial() {
        assert_eq!(workflow_id("INV-001"), "invoice-INV-001");
        assert_eq!(invoice_id("invoice-INV-001"), Some("INV-001"));
        assert_eq!(invoice_id("other-INV-001"), None);
    }

    #[test]
    fn search_attribute_keys_match_their_registration() {
        assert_eq!(SEARCH_ATTRIBUTES[0].0, STATE_ATTRIBUTE.name());
        assert_eq!(SEARCH_ATTRIBUTES[0].1, STATE_ATTRIBUTE.indexed_value_type());
        assert_eq!(SEARCH_ATTRIBUTES[1].0, DEADLINE_ATTRIBUTE.name());
        assert_eq!(
            SEARCH_ATTRIBUTES[1].1,
            DEADLINE_ATTRIBUTE.indexed_value_type()
        );
        assert_eq!(SEARCH_ATTRIBUTES[2].0, DECIDED_BY_ATTRIBUTE.name());
    }
}
