//! The person's form: where a person, not the model, decides an invoice through the MCP client
//! (MCP elicitation), and how their answer is signed. The tools open the question; a task's
//! input answers the same form (`tasks`).

use crate::{
    answer::Answer,
    server::{InvoiceServer, client_name, tool_error},
};
use invoices::view::InvoiceView;
use rmcp::{RoleServer, service::ElicitationError, service::RequestContext};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use workflows::{Decision, InvoiceState, Signature, decision::channel};

/// How long a person has to answer the decision form.
const PERSON_ANSWER_LIMIT: Duration = Duration::from_secs(15 * 60);

/// What a person answers when asked to decide (MCP elicitation): their decision, their name
/// and why. The form the client shows them is this type's schema.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct PersonsDecision {
    /// Approve (keep the charges) or reject (refund every line).
    pub decision: Decision,
    /// Your name, recorded with the decision.
    pub name: String,
    /// Why, in your words (optional), recorded with the decision.
    #[serde(default)]
    pub reason: String,
}

rmcp::elicit_safe!(PersonsDecision);

impl InvoiceServer {
    /// A person decides, through a form their client shows them, or in the inbox. The model's
    /// call only opens the question: `proposed` and its `reason` are what the model proposes.
    pub(crate) async fn ask_the_person(
        &self,
        context: &RequestContext<RoleServer>,
        id: &str,
        proposed: Decision,
        reason: Option<&str>,
    ) -> Result<Answer<InvoiceView>, String> {
        let tool = match proposed {
            Decision::Approve => "approve_invoice",
            Decision::Reject => "reject_invoice",
        };
        let view = self.invoices.details(id).await.map_err(tool_error(tool))?;
        if view.state != InvoiceState::AwaitingApproval {
            return Err(format!(
                "Invoice {id} is not awaiting approval (status: {}); there is nothing to decide.",
                view.status
            ));
        }
        let link = self.inbox_link(id);
        let proposal = format!(
            "The assistant proposes to {} it{}.",
            proposed.as_str(),
            reason
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
        self.take(id, answer.decision, signature).await
    }

    /// The question a person is asked to decide an invoice, with what the assistant proposes.
    pub(crate) fn question(&self, view: &InvoiceView, proposal: &str) -> String {
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
    pub(crate) fn persons_signature(&self, answer: &PersonsDecision, via: &str) -> Signature {
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
            via: channel(via),
        }
    }
}
