//! The MCP server's state: the invoice operations, the settings the tools follow, this
//! session's subscriptions, and the routers that `handler` assembles. Every tool, resource,
//! prompt and task module adds its methods to [`InvoiceServer`]; none of them is imported here.

use crate::{config::DecisionPolicy, watch};
use invoices::{InvoiceOpError, Invoices};
use rmcp::{
    RoleServer,
    handler::server::router::{prompt::PromptRouter, tool::ToolRouter},
    service::RequestContext,
};
use std::sync::Arc;

/// The channel of a decision from a client that did not say its name.
const UNNAMED_CLIENT: &str = "mcp";

#[derive(Clone)]
pub struct InvoiceServer {
    pub(crate) invoices: Arc<Invoices>,
    /// Who decides through this server (INVOICE_APPROVER, or the operating-system user).
    pub(crate) approver: Arc<str>,
    /// Who may decide through the tools.
    pub(crate) decisions: DecisionPolicy,
    /// Whether the submitter of an invoice may not approve it.
    pub(crate) separation_of_duties: bool,
    /// Where the approval inbox is.
    pub(crate) inbox_url: Arc<str>,
    /// This session's `resources/subscribe` subscriptions.
    pub(crate) subscriptions: watch::Subscriptions,
    pub(crate) tool_router: ToolRouter<Self>,
    pub(crate) prompt_router: PromptRouter<Self>,
}

impl InvoiceServer {
    /// The inbox page of one invoice.
    pub(crate) fn inbox_link(&self, invoice_id: &str) -> String {
        format!("{}/invoices/{invoice_id}", self.inbox_url)
    }
}

/// The MCP client's name (from `initialize`, or from each request from MCP 2026-07-28 on): the
/// channel a decision came through.
pub(crate) fn client_name(context: &RequestContext<RoleServer>) -> String {
    let name = context
        .client_info()
        .map(|info| info.name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| UNNAMED_CLIENT.to_owned());
    workflows::decision::channel(&name)
}

/// Logs a failed tool call and turns it into the text the client sees.
pub(crate) fn tool_error(tool: &'static str) -> impl Fn(InvoiceOpError) -> String {
    move |error| {
        tracing::warn!(tool, "{error}");
        error.to_string()
    }
}
