//! The MCP server as rmcp serves it: [`InvoiceServer`] assembled from its parts (a router per
//! tool, the prompt, the resources, the tasks), its capabilities, and a last line of defence
//! around every tool call.

use crate::{
    config::{Config, DecisionPolicy},
    server::InvoiceServer,
    tasks, watch,
};
use invoices::Invoices;
use rmcp::{
    ErrorData as McpError, RoleServer, ServerHandler,
    handler::server::tool::ToolCallContext,
    model::{
        CallToolRequestParams, CallToolResponse, CancelTaskParams, GetTaskParams, GetTaskResult,
        Implementation, ListResourceTemplatesResult, ListResourcesResult, PaginatedRequestParams,
        ReadResourceRequestParams, ReadResourceResponse, ServerCapabilities, ServerConfig,
        SubscribeRequestParams, SubscriptionFilter, UnsubscribeRequestParams, UpdateTaskParams,
    },
    prompt_handler,
    service::{RequestContext, SubscriptionContext},
    tool_handler,
};
use std::sync::Arc;

impl InvoiceServer {
    pub fn new(invoices: Invoices, config: &Config) -> Self {
        let mut tool_router = Self::process_invoice_router()
            + Self::approve_invoice_router()
            + Self::reject_invoice_router()
            + Self::get_invoice_status_router()
            + Self::list_invoices_router();
        if config.decisions == DecisionPolicy::Human {
            // The descriptions the model reads say what the tools will and will not do.
            for (tool, verb) in [("approve_invoice", "approve"), ("reject_invoice", "reject")] {
                if let Some(route) = tool_router.map.get_mut(tool) {
                    route.attr.description = Some(
                        format!(
                            "Ask the person to {verb} an invoice awaiting approval. This server \
                             never decides on the model's word: the person is shown the \
                             invoice and answers approve or reject, with their name and a \
                             reason, in a form their client shows (MCP elicitation); without \
                             one, the answer is a link to the approval inbox and nothing is \
                             decided."
                        )
                        .into(),
                    );
                }
            }
        }
        Self {
            invoices: Arc::new(invoices),
            approver: config.approver.as_str().into(),
            decisions: config.decisions,
            separation_of_duties: config.separation_of_duties,
            inbox_url: config.inbox_url.as_str().into(),
            subscriptions: watch::Subscriptions::default(),
            tool_router,
            prompt_router: Self::prompt_router(),
        }
    }
}

#[tool_handler(router = self.tool_router)]
#[prompt_handler(router = self.prompt_router)]
impl ServerHandler for InvoiceServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_prompts()
                .enable_resources()
                .enable_resources_subscribe()
                .enable_tasks()
                .build(),
        )
        .with_server_info(Implementation::new(
            "invoice-processor",
            env!("CARGO_PKG_VERSION"),
        ))
        .with_instructions(
            "Durable invoice processing with human approval, backed by Temporal. \
             process_invoice charges each line and then waits (up to the configured \
             approval timeout) for approve_invoice or reject_invoice, which record who \
             decided and why; rejected, expired or cancelled invoices are refunded. \
             get_invoice_status reports where an invoice is; \
             list_invoices finds invoices by state (such as awaiting_approval). Each invoice \
             is also the resource invoice://<id>, and subscribers hear when it changes. A \
             client that declares the tasks extension gets process_invoice as a task to \
             follow, whose input is the decision.",
        )
    }

    /// The router's call, with a last line of defence: a bug that panics in a tool still
    /// answers the request (as an internal error) and leaves the server serving.
    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        use futures::FutureExt;
        let tool = request.name.clone();
        let as_task = tool == "process_invoice" && tasks::wanted(&context);
        let call = ToolCallContext::new(self, request, context);
        match std::panic::AssertUnwindSafe(self.tool_router.call(call))
            .catch_unwind()
            .await
        {
            Ok(answer) if as_task => Self::as_task(answer?),
            Ok(answer) => answer,
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                tracing::error!(%tool, "the tool panicked: {what}");
                Err(McpError::internal_error(
                    format!("{tool} failed unexpectedly ({what}); the server keeps serving"),
                    None,
                ))
            }
        }
    }

    async fn get_task(
        &self,
        request: GetTaskParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetTaskResult, McpError> {
        self.task(request).await
    }

    async fn update_task(
        &self,
        request: UpdateTaskParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        self.answer_task(request, context).await
    }

    async fn cancel_task(
        &self,
        request: CancelTaskParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        self.cancel_invoice_task(request, context).await
    }

    #[allow(deprecated)] // resources/subscribe, for protocol versions up to 2025-11-25
    async fn subscribe(
        &self,
        request: SubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        self.subscribe_to(request, context).await
    }

    #[allow(deprecated)]
    async fn unsubscribe(
        &self,
        request: UnsubscribeRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        self.subscriptions.stop(&request.uri);
        Ok(())
    }

    fn accepted_subscription_filter(
        &self,
        requested: &SubscriptionFilter,
    ) -> Option<SubscriptionFilter> {
        self.invoice_subscriptions(requested)
    }

    async fn listen(&self, subscription: SubscriptionContext) -> Result<(), McpError> {
        self.follow_subscriptions(subscription).await
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        Ok(self.invoice_resources().await)
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        Ok(Self::invoice_template())
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        Ok(self.read_invoice(request).await?.into())
    }
}
