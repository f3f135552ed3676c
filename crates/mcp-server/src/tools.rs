//! The MCP face of the invoices: four tools, named and worded as in Temporal's tutorial.
//!
//! Every failure is a tool result with `isError: true` and a sentence saying what to do; the
//! server itself never stops on a bad call.

use crate::invoices::Invoices;
use rmcp::{
    ServerHandler,
    handler::server::{router::tool::ToolRouter, wrapper::Parameters},
    model::{Implementation, ServerCapabilities, ServerConfig},
    tool, tool_handler, tool_router,
};
use schemars::JsonSchema;
use serde::Deserialize;
use std::sync::Arc;
use workflows::{Decision, Invoice, names};

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ProcessInvoiceArgs {
    /// The invoice to process: an id and its line items.
    /// Example: {"id": "INV-001", "lines": [{"item": "Web Development", "amount": 5000.00}]}
    // Taken as raw JSON and checked by `Invoice::from_json`, so that each mistake gets its own
    // message; the schema the model sees is still the invoice's.
    #[schemars(with = "Invoice")]
    pub invoice_data: serde_json::Value,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct InvoiceIdArgs {
    /// The invoice id, such as "INV-001" (not the workflow id "invoice-INV-001").
    pub invoice_id: String,
}

#[derive(Clone)]
pub struct InvoiceTools {
    invoices: Arc<Invoices>,
    tool_router: ToolRouter<Self>,
}

#[tool_router]
impl InvoiceTools {
    pub fn new(invoices: Invoices) -> Self {
        Self {
            invoices: Arc::new(invoices),
            tool_router: Self::tool_router(),
        }
    }

    /// Start processing an invoice: each line is charged, then it waits for a human decision.
    /// Rejected or expired invoices are refunded. Returns the workflow id for tracking.
    #[tool]
    async fn process_invoice(
        &self,
        Parameters(args): Parameters<ProcessInvoiceArgs>,
    ) -> Result<String, String> {
        let invoice = self
            .invoices
            .start(&args.invoice_data)
            .await
            .map_err(report("process_invoice"))?;
        Ok(format!(
            "Started processing invoice {id}. Workflow ID: {workflow_id}",
            id = invoice.id,
            workflow_id = names::workflow_id(&invoice.id)
        ))
    }

    /// Approve an invoice that is awaiting approval. The first decision on an invoice is final.
    #[tool]
    async fn approve_invoice(
        &self,
        Parameters(args): Parameters<InvoiceIdArgs>,
    ) -> Result<String, String> {
        self.decide(&args.invoice_id, Decision::Approve).await
    }

    /// Reject an invoice that is awaiting approval; every charged line is refunded.
    /// The first decision on an invoice is final.
    #[tool]
    async fn reject_invoice(
        &self,
        Parameters(args): Parameters<InvoiceIdArgs>,
    ) -> Result<String, String> {
        self.decide(&args.invoice_id, Decision::Reject).await
    }

    /// Get the current status of an invoice, such as "Awaiting approval".
    #[tool]
    async fn get_invoice_status(
        &self,
        Parameters(args): Parameters<InvoiceIdArgs>,
    ) -> Result<String, String> {
        let status = self
            .invoices
            .status(&args.invoice_id)
            .await
            .map_err(report("get_invoice_status"))?;
        Ok(format!("Invoice {} status: {status}", args.invoice_id))
    }
}

impl InvoiceTools {
    /// approve_invoice and reject_invoice: the same call, and the tutorial's reply.
    async fn decide(&self, invoice_id: &str, decision: Decision) -> Result<String, String> {
        let (tool, signal) = match decision {
            Decision::Approve => ("approve_invoice", "approval"),
            Decision::Reject => ("reject_invoice", "rejection"),
        };
        self.invoices
            .decide(invoice_id, decision)
            .await
            .map_err(report(tool))?;
        Ok(format!("Sent {signal} signal for invoice {invoice_id}"))
    }
}

/// Logs a failed tool call and turns it into the text the client sees.
fn report(tool: &'static str) -> impl Fn(crate::invoices::InvoiceOpError) -> String {
    move |error| {
        tracing::warn!(tool, "{error}");
        error.to_string()
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for InvoiceTools {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new(
                "invoice-processor",
                env!("CARGO_PKG_VERSION"),
            ))
            .with_instructions(
                "Durable invoice processing with human approval, backed by Temporal. \
                 process_invoice charges each line and then waits (up to the configured \
                 approval timeout) for approve_invoice or reject_invoice; rejected or expired \
                 invoices are refunded. get_invoice_status reports where an invoice is.",
            )
    }
}
