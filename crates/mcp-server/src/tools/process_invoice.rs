//! `process_invoice`: start an invoice. For a client that declares MCP's tasks extension, the
//! answer is the invoice as a task to follow (`tasks`).

use crate::{
    answer::Answer,
    server::{InvoiceServer, tool_error},
};
use invoices::{
    Started,
    view::{Contents, InvoiceView},
};
use rmcp::{
    handler::server::{tool::schema_for_output, wrapper::Parameters},
    tool, tool_router,
};
use schemars::JsonSchema;
use serde::Deserialize;
use workflows::{Invoice, InvoiceStatus, names};

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ProcessInvoiceArgs {
    /// The invoice to process: an id and its line items.
    /// Example: {"id": "INV-001", "lines": [{"item": "Web Development", "amount": 5000.00}]}
    // Taken as raw JSON and checked by `Invoice::from_json`, so that each mistake gets its own
    // message; the schema the model sees is still the invoice's.
    #[schemars(with = "Invoice")]
    pub invoice_data: serde_json::Value,
}

#[tool_router(router = process_invoice_router, vis = "pub(crate)")]
impl InvoiceServer {
    /// Start processing an invoice: each line is charged, then it waits for a human decision.
    /// Rejected or expired invoices are refunded. An invoice id can be used only once.
    #[tool(
        output_schema = schema_for_output::<InvoiceView>(),
        annotations(
            title = "Process invoice",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn process_invoice(
        &self,
        Parameters(args): Parameters<ProcessInvoiceArgs>,
    ) -> Result<Answer<InvoiceView>, String> {
        let started = self
            .invoices
            .start(&args.invoice_data)
            .await
            .map_err(tool_error("process_invoice"))?;
        let invoice = match started {
            Started::New(invoice) => invoice,
            // Sent again: nothing new started, and the answer says where it stands.
            Started::Running(view) => {
                return Ok(Answer {
                    text: format!(
                        "Invoice {id} was already started and is still running (status: {status}); nothing new was started. Workflow ID: {workflow_id}",
                        id = view.invoice_id,
                        status = view.status,
                        workflow_id = view.workflow_id
                    ),
                    data: *view,
                });
            }
        };
        let received = InvoiceStatus::Received;
        let view = InvoiceView::new(&invoice.id, received.state(), received.text().to_owned())
            .with_contents(Some(Contents::of(&invoice)));
        Ok(Answer {
            text: format!(
                "Started processing invoice {id}. Workflow ID: {workflow_id}",
                id = invoice.id,
                workflow_id = names::workflow_id(&invoice.id)
            ),
            data: view,
        })
    }
}
