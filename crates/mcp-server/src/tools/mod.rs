//! The tools, one file each: the tutorial's four (`process_invoice`, `approve_invoice`,
//! `reject_invoice`, `get_invoice_status`) and `list_invoices`. Each file adds its tool to
//! [`InvoiceServer`] with its own router, which `handler` adds up.
//!
//! Every tool answers the tutorial's sentence and the same facts as structured content (see
//! `invoices::view`). Every failure is a tool result with `isError: true` and a sentence
//! saying what to do; the server itself never stops on a bad call.

pub mod approve_invoice;
pub mod get_invoice_status;
pub mod list_invoices;
pub mod process_invoice;
pub mod reject_invoice;

use crate::{
    answer::Answer,
    config::DecisionPolicy,
    server::{InvoiceServer, client_name},
};
use invoices::view::InvoiceView;
use rmcp::{RoleServer, service::RequestContext};
use schemars::JsonSchema;
use serde::Deserialize;
use workflows::{Decision, Signature};

/// The arguments of approve_invoice and reject_invoice.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct DecisionArgs {
    /// The invoice id, such as "INV-001" (not the workflow id "invoice-INV-001").
    pub invoice_id: String,
    /// Why, in the approver's words; recorded with the decision.
    pub reason: Option<String>,
}

/// The arguments of the tools that name one invoice.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct InvoiceIdArgs {
    /// The invoice id, such as "INV-001" (not the workflow id "invoice-INV-001").
    pub invoice_id: String,
}

impl InvoiceServer {
    /// approve_invoice and reject_invoice: the same call, the tutorial's reply, and the status
    /// the decision led to, with who decided and why. In human mode the person decides.
    async fn decide_by_tool(
        &self,
        context: &RequestContext<RoleServer>,
        args: DecisionArgs,
        decision: Decision,
    ) -> Result<Answer<InvoiceView>, String> {
        if self.decisions == DecisionPolicy::Human {
            return self
                .ask_the_person(context, &args.invoice_id, decision, args.reason.as_deref())
                .await;
        }
        let signature = Signature {
            by: self.approver.to_string(),
            reason: args.reason.filter(|reason| !reason.trim().is_empty()),
            via: client_name(context),
        };
        self.take(&args.invoice_id, decision, signature).await
    }
}
