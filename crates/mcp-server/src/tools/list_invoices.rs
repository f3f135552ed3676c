//! `list_invoices`: invoices by state, newest first, a page at a time.

use crate::{
    answer::Answer,
    server::{InvoiceServer, tool_error},
};
use invoices::{MAX_PAGE_SIZE, view::InvoiceList};
use rmcp::{
    handler::server::{tool::schema_for_output, wrapper::Parameters},
    tool, tool_router,
};
use schemars::JsonSchema;
use serde::Deserialize;
use workflows::InvoiceState;

/// Invoices per page when the caller does not say.
const DEFAULT_PAGE_SIZE: usize = 20;

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ListInvoicesArgs {
    /// Only invoices in this state, such as "awaiting_approval"; every state if omitted.
    pub state: Option<InvoiceState>,
    /// Invoices per page, 1 to 100 (default 20).
    #[schemars(with = "Option<i64>")]
    pub page_size: Option<usize>,
    /// The `next_cursor` of the previous page; omit for the first page.
    pub cursor: Option<String>,
}

#[tool_router(router = list_invoices_router, vis = "pub(crate)")]
impl InvoiceServer {
    /// List invoices, newest first, optionally only those in one state (for example
    /// "awaiting_approval"), with totals and approval deadlines. Paginated: pass `next_cursor`
    /// back as `cursor` for the next page.
    #[tool(
        output_schema = schema_for_output::<InvoiceList>(),
        annotations(
            title = "List invoices",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn list_invoices(
        &self,
        Parameters(args): Parameters<ListInvoicesArgs>,
    ) -> Result<Answer<InvoiceList>, String> {
        let page_size = args.page_size.unwrap_or(DEFAULT_PAGE_SIZE);
        if !(1..=MAX_PAGE_SIZE).contains(&page_size) {
            return Err(format!(
                "Invalid page_size {page_size}: it must be between 1 and {MAX_PAGE_SIZE}."
            ));
        }
        let list = self
            .invoices
            .list(args.state, page_size, args.cursor.as_deref())
            .await
            .map_err(tool_error("list_invoices"))?;
        Ok(Answer {
            text: list_text(&list),
            data: list,
        })
    }
}

/// The text of a listing: one line per invoice, and how to get the next page.
fn list_text(list: &InvoiceList) -> String {
    let which = list.state.map_or("", InvoiceState::as_str);
    if list.invoices.is_empty() {
        return match list.state {
            Some(_) => format!("No invoices in state {which}."),
            None => "No invoices.".to_owned(),
        };
    }
    let mut text = match list.state {
        Some(_) => format!("Invoices in state {which}, newest first:"),
        None => "Invoices, newest first:".to_owned(),
    };
    for entry in &list.invoices {
        text.push_str(&format!("\n- {}", entry.line()));
    }
    if let Some(cursor) = &list.next_cursor {
        text.push_str(&format!(
            "\nMore: call list_invoices again with cursor \"{cursor}\"."
        ));
    }
    text
}
