//! Taking a decision through the workflow, for every way this server takes one (the approve
//! and reject tools, the person's form, a task's input or cancellation), and the tutorial's
//! sentence about what it led to.

use crate::{
    answer::Answer,
    server::{InvoiceServer, tool_error},
};
use invoices::{Decided, Delivery, view::InvoiceView};
use workflows::{Decision, DecisionRequest, Signature};

impl InvoiceServer {
    /// Takes a decision through the workflow and answers the tutorial's sentence with what it
    /// led to.
    pub(crate) async fn take(
        &self,
        invoice_id: &str,
        decision: Decision,
        signature: Signature,
    ) -> Result<Answer<InvoiceView>, String> {
        let (tool, signal) = match decision {
            Decision::Approve => ("approve_invoice", "approval"),
            Decision::Reject => ("reject_invoice", "rejection"),
        };
        let request = DecisionRequest {
            decision,
            signature,
        };
        let id = invoice_id;
        let Decided { view, how } = self
            .invoices
            .decide(id, request)
            .await
            .map_err(tool_error(tool))?;
        let outcome = match how {
            Delivery::Acted => format!("Invoice {id} status: {}", view.status),
            Delivery::Accepted => format!(
                "The decision is taken; the invoice acts on it once every line is charged (status: {})",
                view.status
            ),
            Delivery::Pending => format!(
                "No worker is running: the decision is kept, and applied when a worker returns unless the invoice refuses it then (decided before, deadline passed, or separation of duties); get_invoice_status tells which (status: {})",
                view.status
            ),
            Delivery::Signalled => format!(
                "This invoice's worker takes decisions by signal only, so who decided is kept in the signal's header (status: {})",
                view.status
            ),
        };
        let signed = view
            .decision
            .as_ref()
            .map(|record| format!(" {}.", record.sentence()))
            .unwrap_or_default();
        Ok(Answer {
            text: format!("Sent {signal} signal for invoice {id}. {outcome}.{signed}"),
            data: view,
        })
    }
}
