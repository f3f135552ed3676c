//! Invoices as MCP tasks (the `io.modelcontextprotocol/tasks` extension of MCP 2026-07-28).
//!
//! A Temporal workflow already is a durable task, so a task here is only a view of one: its id
//! is the workflow id, and every `tasks/get` reads the workflow. Nothing is kept in this
//! process, so a new server process answers for the tasks an old one created.
//!
//! | invoice | task |
//! |---|---|
//! | charging, or decided and being refunded | `working` |
//! | awaiting approval, undecided | `input_required`: the decision, as a form |
//! | finished (approved, rejected, timed out) | `completed`, with the result |
//! | failed (a payment failed; nothing is kept) | `failed`, with the reason |
//! | cancelled (an operator cancelled it; every charged line refunded) | `cancelled` |

use crate::{
    answer::Answer,
    config::DecisionPolicy,
    person::PersonsDecision,
    server::{InvoiceServer, client_name},
};
use invoices::{InvoiceOpError, view::InvoiceView};
use rmcp::{
    ErrorData as McpError, RoleServer,
    handler::server::tool::IntoCallToolResult,
    model::{
        CallToolResponse, CancelTaskParams, CreateTaskResult, DetailedTask, ElicitRequest,
        ElicitRequestParams, ElicitResult, ElicitationAction, ElicitationSchema, GetTaskParams,
        GetTaskResult, InputRequest, JsonObject, ProtocolVersion, Task, TaskPayload, TaskStatus,
        UpdateTaskParams,
    },
    service::RequestContext,
};
use std::collections::BTreeMap;
use workflows::{Decision, InvoiceState, Signature, decision::channel, names};

/// The key of the one input an invoice asks for. Never reused for another question: an
/// invoice is decided once.
pub const DECISION_INPUT: &str = "decision";
/// How often a client should poll an invoice's task.
const POLL_INTERVAL_MS: u64 = 1_000;

/// Whether this request may be answered with a task: the extension exists from MCP 2026-07-28
/// on, and the client declared it on this very request.
pub fn wanted(context: &RequestContext<RoleServer>) -> bool {
    let version = context
        .protocol_version()
        .unwrap_or(ProtocolVersion::V_2024_11_05);
    version >= ProtocolVersion::V_2026_07_28
        && context
            .client_capabilities()
            .is_some_and(|capabilities| capabilities.supports_tasks())
}

/// The task id of an invoice: its workflow id.
pub fn task_id(invoice_id: &str) -> String {
    names::workflow_id(invoice_id)
}

/// The invoice a task id stands for.
pub fn invoice_id(task_id: &str) -> Result<&str, McpError> {
    names::invoice_id(task_id)
        .filter(|id| !id.is_empty())
        .ok_or_else(|| {
            McpError::invalid_params(
                format!("Unknown task {task_id:?}: invoice tasks are invoice-<id>"),
                None,
            )
        })
}

/// A task whose invoice runs but cannot be read more closely now (just started, or no worker
/// answers), saying why.
pub fn working(invoice_id: &str, status_message: &str) -> Task {
    task(invoice_id, TaskStatus::Working, None, None, status_message)
}

fn base(view: &InvoiceView, status: TaskStatus) -> Task {
    task(
        &view.invoice_id,
        status,
        view.started_at.clone(),
        view.closed_at.clone(),
        &view.status,
    )
}

fn task(
    invoice_id: &str,
    status: TaskStatus,
    created: Option<String>,
    updated: Option<String>,
    status_message: &str,
) -> Task {
    let now = || humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    Task::new(
        task_id(invoice_id),
        status,
        created.unwrap_or_else(now),
        updated.unwrap_or_else(now),
    )
    .with_status_message(status_message)
    .with_poll_interval_ms(POLL_INTERVAL_MS)
    // No ttl: invoices are kept as long as Temporal keeps their workflows.
}

/// The task an invoice is now. `question` is the decision form, asked for only while the
/// invoice awaits one.
pub fn detailed(
    view: &InvoiceView,
    question: impl FnOnce(&InvoiceView) -> String,
) -> Result<DetailedTask, McpError> {
    let payload = match (view.state, view.closed_at.is_some()) {
        (InvoiceState::AwaitingApproval, false) if view.decision.is_none() => {
            TaskPayload::InputRequired {
                input_requests: BTreeMap::from([(
                    DECISION_INPUT.to_owned(),
                    decision_form(question(view))?,
                )]),
            }
        }
        (_, false) => TaskPayload::Working,
        (InvoiceState::Failed, true) => TaskPayload::Failed {
            error: failure(view),
        },
        (InvoiceState::Cancelled, true) => TaskPayload::Cancelled,
        (_, true) => TaskPayload::Completed {
            result: result(view)?,
        },
    };
    let status = payload.status();
    Ok(DetailedTask::new(base(view, status), payload))
}

/// The form that asks the person for the decision: the same one elicitation shows.
fn decision_form(message: String) -> Result<InputRequest, McpError> {
    let requested_schema = ElicitationSchema::from_type::<PersonsDecision>()
        .map_err(|e| McpError::internal_error(format!("the decision form: {e}"), None))?;
    Ok(InputRequest::Elicitation(ElicitRequest::new(
        ElicitRequestParams::FormElicitationParams {
            meta: None,
            message,
            requested_schema,
        },
    )))
}

/// A finished invoice's result, as `get_invoice_status` answers it.
fn result(view: &InvoiceView) -> Result<JsonObject, McpError> {
    let answer = Answer {
        text: format!("Invoice {} status: {}", view.invoice_id, view.status),
        data: view,
    };
    let CallToolResponse::Complete(result) = answer.into_call_tool_result()? else {
        unreachable!("an answer is a complete result")
    };
    match serde_json::to_value(result) {
        Ok(serde_json::Value::Object(object)) => Ok(object),
        other => Err(McpError::internal_error(
            format!("cannot encode the result of {}: {other:?}", view.invoice_id),
            None,
        )),
    }
}

/// A failed invoice's reason, as the JSON-RPC error the task failed with.
fn failure(view: &InvoiceView) -> JsonObject {
    let error = McpError::internal_error(
        format!("Invoice {} failed: {}", view.invoice_id, view.status),
        serde_json::to_value(view).ok(),
    );
    match serde_json::to_value(error) {
        Ok(serde_json::Value::Object(object)) => object,
        _ => JsonObject::new(),
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

impl InvoiceServer {
    /// process_invoice's answer as the task to follow, once the invoice is started; a refused
    /// invoice stays the tool's error.
    pub(crate) fn as_task(answer: CallToolResponse) -> Result<CallToolResponse, McpError> {
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
        Ok(CallToolResponse::Task(CreateTaskResult::new(working(
            invoice_id, status,
        ))))
    }

    /// `tasks/get`: the invoice read now, as a task.
    pub(crate) async fn task(&self, request: GetTaskParams) -> Result<GetTaskResult, McpError> {
        let invoice_id = invoice_id(&request.task_id)?;
        let view = match self.invoices.details(invoice_id).await {
            Ok(view) => view,
            // Running, but nobody can say more now: the task goes on.
            Err(error @ InvoiceOpError::NoWorker { .. }) => {
                let task = working(invoice_id, &error.to_string());
                return Ok(GetTaskResult::new(DetailedTask::new(
                    task,
                    TaskPayload::Working,
                )));
            }
            Err(error) => return Err(task_error(error)),
        };
        let question = |view: &InvoiceView| self.question(view, "It asks for your decision.");
        Ok(GetTaskResult::new(detailed(&view, question)?))
    }

    /// `tasks/update`: the decision, as the input an invoice's task asks for: the person's
    /// answer to the form, under the same rules as the elicitation form's.
    pub(crate) async fn answer_task(
        &self,
        request: UpdateTaskParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        let invoice_id = invoice_id(&request.task_id)?;
        // Answers to anything else are ignored, as the extension asks.
        let Some(answer) = request.input_responses.get(DECISION_INPUT) else {
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
        self.take(invoice_id, answer.decision, signature)
            .await
            .map(drop)
            .map_err(|refused| McpError::invalid_request(refused, None))
    }

    /// `tasks/cancel`: rejects the invoice (every charged line is refunded), if this server
    /// lets its client decide; otherwise it is refused, saying why.
    pub(crate) async fn cancel_invoice_task(
        &self,
        request: CancelTaskParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        let invoice_id = invoice_id(&request.task_id)?;
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
            via: channel(&format!("{} tasks/cancel", client_name(&context))),
        };
        self.take(invoice_id, Decision::Reject, signature)
            .await
            .map(drop)
            .map_err(|refused| McpError::invalid_request(format!("Not cancelled: {refused}"), None))
    }
}
