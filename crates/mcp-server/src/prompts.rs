//! The prompt that walks a person through the invoices awaiting their approval.

use crate::{resources::PENDING_SHOWN, server::InvoiceServer};
use rmcp::{
    ErrorData as McpError,
    model::{GetPromptResult, PromptMessage, Role},
    prompt, prompt_router,
};

#[prompt_router(vis = "pub(crate)")]
impl InvoiceServer {
    /// Walk me through the invoices awaiting my approval, one at a time.
    #[prompt(name = "review_pending_invoices")]
    async fn review_pending_invoices(&self) -> Result<GetPromptResult, McpError> {
        let pending = self.pending().await?;
        let mut text = String::from(
            "Help me review the invoices awaiting my approval. Take them one at a time, oldest \
             deadline first: show the invoice's lines and total (read invoice://<id> or call \
             get_invoice_status), then ask me whether to approve or reject it. Call \
             approve_invoice or reject_invoice only with my explicit answer; never decide for \
             me. A decision is final, and a rejection refunds every line.\n\n",
        );
        text.push_str(&format!(
            "I can also decide myself in the approval inbox, {}, where each invoice has its \
             own page ({}).\n\n",
            self.inbox_url,
            self.inbox_link("<id>")
        ));
        if pending.invoices.is_empty() {
            text.push_str("No invoice is awaiting approval right now.");
        } else {
            text.push_str(&format!(
                "{} invoice(s) awaiting approval:\n",
                pending.invoices.len()
            ));
            for entry in &pending.invoices {
                text.push_str(&format!("- {}\n", entry.line()));
            }
            if pending.next_cursor.is_some() {
                text.push_str(&format!(
                    "(first {PENDING_SHOWN} shown; list_invoices with state \
                     \"awaiting_approval\" pages through the rest)\n"
                ));
            }
        }
        Ok(
            GetPromptResult::new(vec![PromptMessage::new_text(Role::User, text)])
                .with_description("Review the invoices awaiting approval"),
        )
    }
}
