//! The MCP face of the invoices: the tutorial's four tools plus `list_invoices`, a resource per
//! invoice (`invoice://<id>`, with updates to subscribers), a prompt that walks a human through
//! the pending ones, and, for clients that declare MCP's tasks extension, each invoice as a task
//! (`tasks`).
//!
//! Every tool answers the tutorial's sentence and the same facts as structured content (see
//! `view`). Every failure is a tool result with `isError: true` and a sentence saying what to
//! do; the server itself never stops on a bad call.

use crate::answer::Answer;
use crate::config::{Config, DecisionPolicy};
use crate::{tasks, watch};
use invoices::{
    Decided, Delivery, InvoiceOpError, Invoices, MAX_PAGE_SIZE, Started,
    view::{Contents, InvoiceList, InvoiceView},
};
use rmcp::service::ElicitationError;
use rmcp::{
    ErrorData as McpError, RoleServer, ServerHandler,
    handler::server::{
        router::{prompt::PromptRouter, tool::ToolRouter},
        tool::{ToolCallContext, schema_for_output},
        wrapper::Parameters,
    },
    model::{
        CallToolResponse, CancelTaskParams, CreateTaskResult, DetailedTask, ElicitResult,
        ElicitationAction, GetPromptResult, GetTaskParams, GetTaskResult, Implementation,
        ListResourceTemplatesResult, ListResourcesResult, PaginatedRequestParams, PromptMessage,
        ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult, Resource,
        ResourceContents, ResourceTemplate, ResourceUpdatedNotificationParam, Role,
        ServerCapabilities, ServerConfig, SubscribeRequestParams, SubscriptionFilter, TaskPayload,
        UnsubscribeRequestParams, UpdateTaskParams,
    },
    prompt, prompt_handler, prompt_router,
    service::{RequestContext, SubscriptionContext},
    tool, tool_handler, tool_router,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use workflows::{
    Decision, DecisionRequest, Invoice, InvoiceState, InvoiceStatus, Signature, names,
};

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

#[derive(Debug, Deserialize, JsonSchema)]
pub struct DecisionArgs {
    /// The invoice id, such as "INV-001" (not the workflow id "invoice-INV-001").
    pub invoice_id: String,
    /// Why, in the approver's words; recorded with the decision.
    pub reason: Option<String>,
}

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

const DEFAULT_PAGE_SIZE: usize = 20;
/// Most invoices the pending-approvals prompt and the resource list show.
const PENDING_SHOWN: usize = 50;
const RESOURCE_SCHEME: &str = "invoice://";

/// The channel of a decision from a client that did not say its name.
const UNNAMED_CLIENT: &str = "mcp";

/// What a person answers when asked to decide (MCP elicitation): their decision, their name
/// and why. The form the client shows them is this type's schema.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct PersonsDecision {
    /// Approve (keep the charges) or reject (refund every line).
    pub decision: Choice,
    /// Your name, recorded with the decision.
    pub name: String,
    /// Why, in your words (optional), recorded with the decision.
    #[serde(default)]
    pub reason: String,
}

rmcp::elicit_safe!(PersonsDecision);

/// The choice in the form: a plain list of words, as elicitation forms take them.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(inline)]
pub enum Choice {
    Approve,
    Reject,
}

impl From<Choice> for Decision {
    fn from(choice: Choice) -> Self {
        match choice {
            Choice::Approve => Decision::Approve,
            Choice::Reject => Decision::Reject,
        }
    }
}

/// How long a person has to answer the decision form.
const PERSON_ANSWER_LIMIT: std::time::Duration = std::time::Duration::from_secs(15 * 60);

#[derive(Clone)]
pub struct InvoiceTools {
    invoices: Arc<Invoices>,
    /// Who decides through this server (INVOICE_APPROVER, or the operating-system user).
    approver: Arc<str>,
    /// Who may decide through the tools.
    decisions: DecisionPolicy,
    /// Whether the submitter of an invoice may not approve it.
    separation_of_duties: bool,
    /// Where the approval inbox is.
    inbox_url: Arc<str>,
    /// This session's `resources/subscribe` subscriptions.
    subscriptions: watch::Subscriptions,
    tool_router: ToolRouter<Self>,
    prompt_router: PromptRouter<Self>,
}

#[tool_router]
impl InvoiceTools {
    pub fn new(invoices: Invoices, config: &Config) -> Self {
        let mut tool_router = Self::tool_router();
        if config.decisions == DecisionPolicy::Human {
            // The descriptions the model reads say what the tools will and will not do.
            for (tool, verb) in [("approve_invoice", "Approve"), ("reject_invoice", "Reject")] {
                if let Some(route) = tool_router.map.get_mut(tool) {
                    route.attr.description = Some(
                        format!(
                            "Ask the person to {} an invoice awaiting approval. This server \
                             never decides on the model's word: the person is shown the \
                             invoice and answers approve or reject, with their name and a \
                             reason, in a form their client shows (MCP elicitation); without \
                             one, the answer is a link to the approval inbox and nothing is \
                             decided.",
                            verb.to_lowercase()
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

    /// The inbox page of one invoice.
    fn inbox_link(&self, invoice_id: &str) -> String {
        format!("{}/invoices/{invoice_id}", self.inbox_url)
    }

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
            .map_err(report("process_invoice"))?;
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

    /// Approve an invoice that is awaiting approval, and answer its resulting status. The
    /// decision is recorded with the configured approver, this client's name and the reason
    /// given. The first decision on an invoice is final; none is taken after its deadline.
    #[tool(
        output_schema = schema_for_output::<InvoiceView>(),
        annotations(
            title = "Approve invoice",
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn approve_invoice(
        &self,
        context: RequestContext<RoleServer>,
        Parameters(args): Parameters<DecisionArgs>,
    ) -> Result<Answer<InvoiceView>, String> {
        self.decide(&context, args, Decision::Approve).await
    }

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
        self.decide(&context, args, Decision::Reject).await
    }

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
            .map_err(report("get_invoice_status"))?;
        Ok(Answer {
            text: format!("Invoice {} status: {}", args.invoice_id, view.status),
            data: view,
        })
    }

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
            .map_err(report("list_invoices"))?;
        Ok(Answer {
            text: list_text(&list),
            data: list,
        })
    }
}

impl InvoiceTools {
    /// approve_invoice and reject_invoice: the same call, the tutorial's reply, and the status
    /// the decision led to, with who decided and why.
    async fn decide(
        &self,
        context: &RequestContext<RoleServer>,
        args: DecisionArgs,
        decision: Decision,
    ) -> Result<Answer<InvoiceView>, String> {
        if self.decisions == DecisionPolicy::Human {
            return self.ask_the_person(context, args, decision).await;
        }
        let client = client_name(context);
        let signature = Signature {
            by: self.approver.to_string(),
            reason: args.reason.filter(|reason| !reason.trim().is_empty()),
            via: client,
        };
        self.take(&args.invoice_id, decision, signature).await
    }

    /// Human mode: the person decides, through a form their client shows them, or in the
    /// inbox. The model's call only opens the question.
    async fn ask_the_person(
        &self,
        context: &RequestContext<RoleServer>,
        args: DecisionArgs,
        proposed: Decision,
    ) -> Result<Answer<InvoiceView>, String> {
        let tool = match proposed {
            Decision::Approve => "approve_invoice",
            Decision::Reject => "reject_invoice",
        };
        let id = &args.invoice_id;
        let view = self.invoices.details(id).await.map_err(report(tool))?;
        if view.state != InvoiceState::AwaitingApproval {
            return Err(format!(
                "Invoice {id} is not awaiting approval (status: {}); there is nothing to decide.",
                view.status
            ));
        }
        let link = self.inbox_link(id);
        let proposal = format!(
            "The assistant proposes to {} it{}.",
            tool.trim_end_matches("_invoice"),
            args.reason
                .as_deref()
                .filter(|r| !r.trim().is_empty())
                .map(|r| format!(" (its reason: {r})"))
                .unwrap_or_default(),
        );
        let question = self.question(&view, &proposal);
        let asked = context
            .peer
            .elicit_with_timeout::<PersonsDecision>(question, Some(PERSON_ANSWER_LIMIT))
            .await;
        let answer = match asked {
            Ok(Some(answer)) => answer,
            Ok(None)
            | Err(ElicitationError::UserDeclined)
            | Err(ElicitationError::UserCancelled) => {
                return Ok(Answer {
                    text: format!(
                        "Nothing was decided: the person did not answer the decision on invoice {id}. They can decide in the inbox: {link}"
                    ),
                    data: view,
                });
            }
            // No form to show (the client cannot, or the protocol has no server requests):
            // the person decides in the inbox.
            Err(error) => {
                tracing::info!("no decision form for {id} ({error}); pointing at the inbox");
                return Ok(Answer {
                    text: format!(
                        "Nothing was decided: this server takes decisions from a person only, not from the assistant. Open {link} to approve or reject invoice {id}."
                    ),
                    data: view,
                });
            }
        };
        let via = format!("{} form", client_name(context));
        let signature = self.persons_signature(&answer, &via);
        self.take(id, answer.decision.into(), signature).await
    }

    /// The question a person is asked to decide an invoice, with what the assistant proposes.
    fn question(&self, view: &InvoiceView, proposal: &str) -> String {
        let id = &view.invoice_id;
        let lines: Vec<String> = view
            .lines
            .iter()
            .map(|line| format!("{} ${:.2}", line.item, line.amount))
            .collect();
        format!(
            "Invoice {id}: {} in all ({}). {proposal} Approve or reject it yourself, with your \
             name and a reason. A rejection refunds every line. (Or decide in the inbox: {})",
            view.total.clone().unwrap_or_default(),
            lines.join("; "),
            self.inbox_link(id),
        )
    }

    /// Who a person's answer to the decision form is recorded as, and why.
    fn persons_signature(&self, answer: &PersonsDecision, via: &str) -> Signature {
        // Under separation of duties the person at this client is who this server knows
        // (INVOICE_APPROVER): a typed name cannot make the submitter someone else. It is kept
        // in the reason.
        let typed = answer.name.trim();
        let (by, reason) = if self.separation_of_duties {
            let signed = (!typed.is_empty() && !typed.eq_ignore_ascii_case(&self.approver))
                .then(|| format!("signed as {typed}"));
            let reason = [Some(answer.reason.trim().to_owned()), signed]
                .into_iter()
                .flatten()
                .filter(|part| !part.is_empty())
                .collect::<Vec<_>>()
                .join("; ");
            (self.approver.to_string(), reason)
        } else {
            (typed.to_owned(), answer.reason.trim().to_owned())
        };
        Signature {
            by,
            reason: Some(reason).filter(|r| !r.is_empty()),
            via: via.chars().take(workflows::decision::MAX_VIA_LEN).collect(),
        }
    }

    /// Takes a decision through the workflow and answers the tutorial's sentence with what it
    /// led to.
    async fn take(
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
            .map_err(report(tool))?;
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

    /// process_invoice's answer as the task to follow, once the invoice is started; a refused
    /// invoice stays the tool's error.
    fn as_task(answer: CallToolResponse) -> Result<CallToolResponse, McpError> {
        let CallToolResponse::Complete(result) = &answer else {
            return Ok(answer);
        };
        let started = result
            .structured_content
            .as_ref()
            .filter(|_| result.is_error != Some(true))
            .and_then(|view| Some((view["invoice_id"].as_str()?, view["status"].as_str()?)));
        let Some((invoice_id, status)) = started else {
            return Ok(answer);
        };
        // The workflow exists once started: tasks/get answers for it from now on.
        Ok(CallToolResponse::Task(CreateTaskResult::new(
            tasks::working(invoice_id, status),
        )))
    }

    async fn pending(&self) -> Result<InvoiceList, McpError> {
        self.invoices
            .list(Some(InvoiceState::AwaitingApproval), PENDING_SHOWN, None)
            .await
            .map_err(|error| McpError::internal_error(error.to_string(), None))
    }
}

#[prompt_router]
impl InvoiceTools {
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

/// The MCP client's name (from `initialize`, or from each request from MCP 2026-07-28 on): the
/// channel a decision came through.
fn client_name(context: &RequestContext<RoleServer>) -> String {
    context
        .client_info()
        .map(|info| info.name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| UNNAMED_CLIENT.to_owned())
        .chars()
        .take(workflows::decision::MAX_VIA_LEN)
        .collect()
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

/// The invoice an `invoice://<id>` URI names.
fn invoice_of_uri(uri: &str) -> Result<&str, McpError> {
    uri.strip_prefix(RESOURCE_SCHEME)
        .filter(|id| !id.is_empty())
        .ok_or_else(|| {
            McpError::resource_not_found(
                format!("Unknown resource {uri}: invoices are invoice://<id>"),
                None,
            )
        })
}

/// A resource's invoice could not be read: unknown ids are not found.
fn resource_error(error: InvoiceOpError) -> McpError {
    match error {
        InvoiceOpError::Unknown(_) | InvoiceOpError::InvalidId(_) => {
            McpError::resource_not_found(error.to_string(), None)
        }
        other => McpError::internal_error(other.to_string(), None),
    }
}

/// A task's invoice could not be read: unknown ids are the client's mistake.
fn task_error(error: InvoiceOpError) -> McpError {
    match error {
        InvoiceOpError::Unknown(_) | InvoiceOpError::InvalidId(_) => {
            McpError::invalid_params(error.to_string(), None)
        }
        other => McpError::internal_error(other.to_string(), None),
    }
}

/// Logs a failed tool call and turns it into the text the client sees.
fn report(tool: &'static str) -> impl Fn(InvoiceOpError) -> String {
    move |error| {
        tracing::warn!(tool, "{error}");
        error.to_string()
    }
}

#[tool_handler(router = self.tool_router)]
#[prompt_handler(router = self.prompt_router)]
impl ServerHandler for InvoiceTools {
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
             decided and why; rejected or expired invoices are refunded. get_invoice_status reports where an invoice is; \
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
        request: rmcp::model::CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::CallToolResponse, McpError> {
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
        let invoice_id = tasks::invoice_id(&request.task_id)?;
        let view = match self.invoices.details(invoice_id).await {
            Ok(view) => view,
            // Running, but nobody can say more now: the task goes on.
            Err(error @ InvoiceOpError::NoWorker { .. }) => {
                let task = tasks::working(invoice_id, &error.to_string());
                return Ok(GetTaskResult::new(DetailedTask::new(
                    task,
                    TaskPayload::Working,
                )));
            }
            Err(error) => return Err(task_error(error)),
        };
        let question = |view: &InvoiceView| self.question(view, "It asks for your decision.");
        Ok(GetTaskResult::new(tasks::detailed(&view, question)?))
    }

    /// The decision, as the input an invoice's task asks for: the person's answer to the form,
    /// under the same rules as the elicitation form's.
    async fn update_task(
        &self,
        request: UpdateTaskParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        let invoice_id = tasks::invoice_id(&request.task_id)?;
        // Answers to anything else are ignored, as the extension asks.
        let Some(answer) = request.input_responses.get(tasks::DECISION_INPUT) else {
            return Ok(());
        };
        let answer: ElicitResult = serde_json::from_value(answer.clone()).map_err(|e| {
            McpError::invalid_params(format!("The decision is not a form answer: {e}"), None)
        })?;
        if answer.action != ElicitationAction::Accept {
            return Ok(()); // Declined: nothing is decided; the question stays open.
        }
        let answer: PersonsDecision = answer
            .content
            .and_then(|content| serde_json::from_value(content).ok())
            .ok_or_else(|| {
                McpError::invalid_params(
                    "The decision needs decision (approve or reject) and name".to_owned(),
                    None,
                )
            })?;
        let via = format!("{} task", client_name(&context));
        let signature = self.persons_signature(&answer, &via);
        self.take(invoice_id, answer.decision.into(), signature)
            .await
            .map(drop)
            .map_err(|refused| McpError::invalid_request(refused, None))
    }

    /// Cancelling an invoice's task rejects the invoice (every charged line is refunded), if
    /// this server lets its client decide; otherwise it is refused, saying why.
    async fn cancel_task(
        &self,
        request: CancelTaskParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        let invoice_id = tasks::invoice_id(&request.task_id)?;
        if self.decisions == DecisionPolicy::Human {
            return Err(McpError::invalid_request(
                format!(
                    "Not cancelled: cancelling invoice {invoice_id} would reject it, and this \
                     server takes decisions from a person only (INVOICE_DECISIONS=human). \
                     Reject it in the inbox: {}",
                    self.inbox_link(invoice_id)
                ),
                None,
            ));
        }
        let view = self
            .invoices
            .details(invoice_id)
            .await
            .map_err(task_error)?;
        if view.decision.is_some() || view.closed_at.is_some() {
            // Too late to cancel: the task ends as it was going to.
            return Ok(());
        }
        let signature = Signature {
            by: self.approver.to_string(),
            reason: Some("cancelled through tasks/cancel".to_owned()),
            via: format!("{} tasks/cancel", client_name(&context))
                .chars()
                .take(workflows::decision::MAX_VIA_LEN)
                .collect(),
        };
        self.take(invoice_id, Decision::Reject, signature)
            .await
            .map(drop)
            .map_err(|refused| McpError::invalid_request(format!("Not cancelled: {refused}"), None))
    }

    #[allow(deprecated)] // resources/subscribe, for protocol versions up to 2025-11-25
    async fn subscribe(
        &self,
        request: SubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        let invoice_id = invoice_of_uri(&request.uri)?.to_owned();
        // Taken before the subscription is acknowledged: no change after it goes unheard.
        let last = self
            .invoices
            .milestone(&invoice_id)
            .await
            .map_err(resource_error)?;
        let peer = context.peer.clone();
        let uri = request.uri.clone();
        let follower = watch::follow(Arc::clone(&self.invoices), invoice_id, last, move || {
            let (peer, uri) = (peer.clone(), uri.clone());
            async move {
                peer.notify_resource_updated(ResourceUpdatedNotificationParam::new(uri))
                    .await
                    .is_ok()
            }
        });
        self.subscriptions.start(request.uri, follower);
        Ok(())
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

    /// From MCP 2026-07-28 on: updates of the `invoice://` resources asked for.
    fn accepted_subscription_filter(
        &self,
        requested: &SubscriptionFilter,
    ) -> Option<SubscriptionFilter> {
        let invoices = requested
            .resource_subscriptions
            .iter()
            .flatten()
            .filter(|uri| invoice_of_uri(uri).is_ok())
            .cloned();
        Some(
            SubscriptionFilter::builder()
                .resource_subscriptions(invoices)
                .build(),
        )
    }

    async fn listen(&self, subscription: SubscriptionContext) -> Result<(), McpError> {
        let uris = subscription
            .accepted()
            .resource_subscriptions
            .clone()
            .unwrap_or_default();
        let mut followers = tokio::task::JoinSet::new();
        for uri in uris {
            let Ok(invoice_id) = invoice_of_uri(&uri) else {
                continue;
            };
            let sink = subscription.sink().clone();
            let (invoices, invoice_id) = (Arc::clone(&self.invoices), invoice_id.to_owned());
            followers.spawn(async move {
                let Ok(last) = invoices.milestone(&invoice_id).await else {
                    return;
                };
                // The acknowledgment went out before this ran: one update now, so that the
                // client reads whatever changed in between.
                if sink.notify_resource_updated(uri.clone()).await.is_err() {
                    return;
                }
                watch::follow(invoices, invoice_id, last, move || {
                    let (sink, uri) = (sink.clone(), uri.clone());
                    async move { sink.notify_resource_updated(uri).await.is_ok() }
                })
                .await;
            });
        }
        subscription.cancelled().await;
        followers.abort_all();
        Ok(())
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        // Clients list resources when they connect: an unreachable Temporal must not make the
        // server look broken, so the list is empty then (the template still works later).
        let pending = match self.pending().await {
            Ok(pending) => pending,
            Err(error) => {
                tracing::warn!(
                    "cannot list the invoices awaiting approval: {}",
                    error.message
                );
                return Ok(ListResourcesResult::with_all_items(Vec::new()));
            }
        };
        let resources = pending
            .invoices
            .iter()
            .map(|entry| {
                Resource::new(
                    format!("{RESOURCE_SCHEME}{}", entry.invoice_id),
                    entry.invoice_id.clone(),
                )
                .with_title(format!("Invoice {}", entry.invoice_id))
                .with_description(format!(
                    "{} · decide at {}",
                    entry.line(),
                    self.inbox_link(&entry.invoice_id)
                ))
                .with_mime_type("application/json")
            })
            .collect();
        Ok(ListResourcesResult::with_all_items(resources))
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        Ok(ListResourceTemplatesResult::with_all_items(vec![
            ResourceTemplate::new(format!("{RESOURCE_SCHEME}{{invoice_id}}"), "invoice")
                .with_title("Invoice")
                .with_description(
                    "An invoice: its status, lines, total, deadline, result and history",
                )
                .with_mime_type("application/json"),
        ]))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        let invoice_id = invoice_of_uri(&request.uri)?;
        let failed = resource_error;
        let (view, story) = tokio::join!(
            self.invoices.details(invoice_id),
            self.invoices.story(invoice_id)
        );
        let body = serde_json::json!({
            "invoice": view.map_err(failed)?,
            "history": story.map_err(failed)?,
            "decide_at": self.inbox_link(invoice_id),
        });
        let text = serde_json::to_string_pretty(&body)
            .map_err(|e| McpError::internal_error(e.to_string(), None))?;
        Ok(ReadResourceResult::new(vec![
            ResourceContents::text(text, request.uri.clone()).with_mime_type("application/json"),
        ])
        .into())
    }
}
