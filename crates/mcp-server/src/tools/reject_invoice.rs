//! `reject_invoice`: refund every charged line of an invoice.

use super::DecisionArgs;
use crate::{answer::Answer, server::InvoiceServer};
use invoices::view::InvoiceView;
use rmcp::{
    RoleServer,
    handler::server::{tool::schema_for_output, wrapper::Parameters},
    service::RequestContext,
    tool, tool_router,
};
use workflows::Decision;

#[tool_router(router = reject_invoice_router, vis = "pub(crate)")]
impl InvoiceServer {
    /// Reject an invoice that is awaiting approval (every charged line is refunded), and answer
    /// its resulting status. The decision is recorded with the configured approver, this
    /// client's name and the reason given. The first decision on an invoice is final; none is
    /// taken after its deadline.
    #[tool(
        output_schema = schema_for_output::<InvoiceView>(),
        annotations(
            title = "Reject invoice",
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn reject_invoice(
        &self,
        context: RequestContext<RoleServer>,
        Parameters(args): Parameters<DecisionArgs>,
    ) -> Result<Answer<InvoiceView>, String> {
        self.decide_by_tool(&context, args, Decision::Reject).await
    }
}
