//! `get_invoice_status`: where an invoice stands.

use super::InvoiceIdArgs;
use crate::{
    answer::Answer,
    server::{InvoiceServer, tool_error},
};
use invoices::view::InvoiceView;
use rmcp::{
    handler::server::{tool::schema_for_output, wrapper::Parameters},
    tool, tool_router,
};

#[tool_router(router = get_invoice_status_router, vis = "pub(crate)")]
impl InvoiceServer {
    /// Get the current status of an invoice, such as "Awaiting approval", with its lines,
    /// total, decision, approval deadline and result.
    #[tool(
        output_schema = schema_for_output::<InvoiceView>(),
        annotations(
            title = "Get invoice status",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn get_invoice_status(
        &self,
        Parameters(args): Parameters<InvoiceIdArgs>,
    ) -> Result<Answer<InvoiceView>, String> {
        let view = self
            .invoices
            .details(&args.invoice_id)
            .await
            .map_err(tool_error("get_invoice_status"))?;
        Ok(Answer {
            text: format!("Invoice {} status: {}", args.invoice_id, view.status),
            data: view,
        })
    }
}
