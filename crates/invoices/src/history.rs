//! The pure translation of what Temporal records about an invoice (its history, its
//! description, its visibility record) into our views. No calls: everything here is tested
//! on the recorded histories in `tests/histories/`.

use crate::view::{Contents, InvoiceView};
use std::time::{Duration, SystemTime};
use temporalio_client::WorkflowExecutionStatus;
use temporalio_common::protos::temporal::api::{
    common::v1::{Header, Memo, Payload, Payloads, SearchAttributes},
    enums::v1::WorkflowExecutionStatus as ProtoExecutionStatus,
    history::v1::{HistoryEvent, history_event::Attributes},
    workflow::v1::WorkflowExecutionInfo,
};
use workflows::{
    Decision, DecisionRecord, DecisionRequest, Invoice, InvoiceState, InvoiceStatus, Signature,
    names::{
        APPROVE_SIGNAL, DEADLINE_ATTRIBUTE, DECIDE_UPDATE, DECISION_HEADER, DECISION_MEMO,
        INVOICE_MEMO, REJECT_SIGNAL, STATE_ATTRIBUTE,
    },
};

/// What a status read finds: the status text, the decision the workflow holds, and the
/// result once the invoice has finished.
pub(super) struct Observed {
    pub status: String,
    pub decision: Option<DecisionRecord>,
    pub result: Option<String>,
    /// Read from the outcome: the invoice has finished.
    pub finished: bool,
}

/// What Temporal's description of an invoice says besides its status.
#[derive(Clone, Debug)]
pub(super) struct Facts {
    pub contents: Option<Contents>,
    pub started_at: Option<String>,
    pub approval_deadline: Option<String>,
    pub closed_at: Option<String>,
    pub running: bool,
    /// The state the workflow last published: the fallback for a status text we do not know
    /// (another implementation's worker).
    pub published: Option<InvoiceState>,
    /// The decision the workflow published when it took it.
    pub decision: Option<DecisionRecord>,
}

impl Facts {
    /// The facts in a workflow's description (or visibility record).
    pub fn of(info: &WorkflowExecutionInfo) -> Self {
        let attributes = info.search_attributes.as_ref();
        Facts {
            contents: memo_contents(info.memo.as_ref()),
            started_at: info.start_time.map(|t| time_text(t.seconds, t.nanos)),
            approval_deadline: deadline(attributes),
            closed_at: info.close_time.map(|t| time_text(t.seconds, t.nanos)),
            running: info.status() == ProtoExecutionStatus::Running,
            published: attribute(attributes, STATE_ATTRIBUTE.name())
                .and_then(|text| InvoiceState::parse(&text)),
            decision: memo_decision(info.memo.as_ref()),
        }
    }

    /// Nothing known: an invoice whose description could not be read.
    pub fn unknown() -> Self {
        Facts {
            running: true,
            ..Facts::of(&WorkflowExecutionInfo::default())
        }
    }

    /// Whether these facts stay true while the invoice runs: its lines and start never
    /// change, and its deadline is set once, when every line is charged.
    pub fn settled(&self) -> bool {
        self.running && self.approval_deadline.is_some()
    }

    /// The structured view of an invoice from its status and these facts.
    pub fn view(self, invoice_id: &str, observed: Observed) -> InvoiceView {
        let state = InvoiceStatus::of_text(&observed.status)
            .map(InvoiceStatus::state)
            .or_else(|| {
                InvoiceStatus::of_result(observed.result.as_deref().unwrap_or_default())
                    .map(InvoiceStatus::state)
            })
            .unwrap_or(match (self.running, self.published) {
                (true, published) => published.unwrap_or(InvoiceState::Processing),
                // A charge failed and a refund too: the workflow failed, money is charged.
                (false, Some(InvoiceState::NeedsAttention)) => InvoiceState::NeedsAttention,
                (false, _) => InvoiceState::Failed,
            });
        // The workflow's own record first; for invoices that kept none (the tutorial's
        // workflow, or one started before decisions were recorded), what the outcome says.
        let decision = observed.decision.or(self.decision).or_else(|| match state {
            InvoiceState::Approved => Some(DecisionRecord::unrecorded(Decision::Approve)),
            InvoiceState::Rejected => Some(DecisionRecord::unrecorded(Decision::Reject)),
            _ => None,
        });
        let mut view =
            InvoiceView::new(invoice_id, state, observed.status).with_contents(self.contents);
        view.decision = decision;
        view.approval_deadline = self.approval_deadline;
        view.started_at = self.started_at;
        view.closed_at = self.closed_at;
        view.result = observed.result;
        view
    }
}

/// The invoice the MCP server stored in the memo at start, if it did.
pub(super) fn memo_invoice(memo: Option<&Memo>) -> Option<Invoice> {
    serde_json::from_slice(&memo?.fields.get(INVOICE_MEMO)?.data).ok()
}

/// The lines and total of the invoice in the memo.
pub(super) fn memo_contents(memo: Option<&Memo>) -> Option<Contents> {
    memo_invoice(memo).map(|invoice| Contents::of(&invoice))
}

/// The invoice a workflow was started with, from its first event.
pub(super) fn started_invoice(event: &HistoryEvent) -> Option<Invoice> {
    match event.attributes.as_ref()? {
        Attributes::WorkflowExecutionStartedEventAttributes(started) => {
            serde_json::from_slice(&started.input.as_ref()?.payloads.first()?.data).ok()
        }
        _ => None,
    }
}

/// The decision the workflow stored in the memo when it took it, if it did.
fn memo_decision(memo: Option<&Memo>) -> Option<DecisionRecord> {
    serde_json::from_slice(&memo?.fields.get(DECISION_MEMO)?.data).ok()
}

/// A search attribute's value as text (keywords and datetimes are JSON strings).
pub(super) fn attribute(attributes: Option<&SearchAttributes>, name: &str) -> Option<String> {
    let payload: &Payload = attributes?.indexed_fields.get(name)?;
    serde_json::from_slice(&payload.data).ok()
}

/// The approval deadline, to the second (Temporal stores nanoseconds).
pub(super) fn deadline(attributes: Option<&SearchAttributes>) -> Option<String> {
    let text = attribute(attributes, DEADLINE_ATTRIBUTE.name())?;
    Some(humantime::parse_rfc3339_weak(&text).map_or(text, rfc3339))
}

fn rfc3339(time: SystemTime) -> String {
    humantime::format_rfc3339_seconds(time).to_string()
}

/// A protobuf timestamp or duration (seconds and nanoseconds) as a `Duration`.
fn span(seconds: i64, nanos: i32) -> Duration {
    Duration::new(seconds.max(0) as u64, nanos.max(0) as u32)
}

/// A protobuf timestamp as RFC 3339 text.
pub(super) fn time_text(seconds: i64, nanos: i32) -> String {
    rfc3339(SystemTime::UNIX_EPOCH + span(seconds, nanos))
}

/// The text in a result or activity output (our payloads are JSON strings); empty if absent.
pub(super) fn payload_text(payloads: Option<&Payloads>) -> String {
    payloads
        .and_then(|p| p.payloads.first())
        .and_then(|payload| serde_json::from_slice::<String>(&payload.data).ok())
        .unwrap_or_default()
}

/// What happened to the invoice, one line per step that matters to a person.
pub fn story(events: &[HistoryEvent]) -> Vec<String> {
    events.iter().filter_map(story_line).collect()
}

/// One history event in words, if it is a step a person cares about.
fn story_line(event: &HistoryEvent) -> Option<String> {
    let when = event
        .event_time
        .map(|t| time_text(t.seconds, t.nanos))
        .unwrap_or_default();
    let what = match event.attributes.as_ref()? {
        Attributes::WorkflowExecutionStartedEventAttributes(_) => "Started".to_owned(),
        Attributes::ActivityTaskCompletedEventAttributes(done) => {
            payload_text(done.result.as_ref())
        }
        Attributes::ActivityTaskFailedEventAttributes(_) => "A payment attempt failed".to_owned(),
        Attributes::TimerStartedEventAttributes(timer) => format!(
            "Awaiting approval for {}",
            timer
                .start_to_fire_timeout
                .map(|d| workflows::duration::describe(span(d.seconds, d.nanos)))
                .unwrap_or_default()
        ),
        Attributes::TimerFiredEventAttributes(_) => "Approval deadline passed".to_owned(),
        Attributes::WorkflowExecutionSignaledEventAttributes(signal) => {
            let decision = match signal.signal_name.as_str() {
                APPROVE_SIGNAL => Decision::Approve,
                REJECT_SIGNAL => Decision::Reject,
                other => return Some(format!("{when} Signal {other}")),
            };
            let signature =
                signed_header(signal.header.as_ref()).unwrap_or_else(Signature::unknown_signal);
            format!(
                "{} sent by signal: {}",
                decision_noun(decision),
                signature_text(&signature)
            )
        }
        Attributes::WorkflowExecutionUpdateAcceptedEventAttributes(accepted) => {
            let input = accepted.accepted_request.as_ref()?.input.as_ref()?;
            if input.name != DECIDE_UPDATE {
                return None;
            }
            let request: DecisionRequest =
                serde_json::from_slice(&input.args.as_ref()?.payloads.first()?.data).ok()?;
            format!(
                "{} taken: {}",
                decision_noun(request.decision),
                signature_text(&request.signature)
            )
        }
        Attributes::WorkflowExecutionUpdateCompletedEventAttributes(completed) => {
            // A decision refused inside the workflow (the deadline passed in the same task).
            let failure = match completed.outcome.as_ref()?.value.as_ref()? {
                temporalio_common::protos::temporal::api::update::v1::outcome::Value::Failure(
                    failure,
                ) => failure,
                _ => return None,
            };
            format!("Decision refused: {}", failure.message)
        }
        Attributes::WorkflowExecutionCompletedEventAttributes(done) => {
            let result = payload_text(done.result.as_ref());
            format!("Finished: {}", result.lines().next().unwrap_or_default())
        }
        Attributes::WorkflowExecutionFailedEventAttributes(_) => "Failed".to_owned(),
        Attributes::WorkflowExecutionTerminatedEventAttributes(_) => "Terminated".to_owned(),
        Attributes::WorkflowExecutionCanceledEventAttributes(_) => "Cancelled".to_owned(),
        Attributes::WorkflowExecutionTimedOutEventAttributes(_) => "Timed out".to_owned(),
        _ => return None,
    };
    Some(format!("{when} {what}"))
}

fn decision_noun(decision: Decision) -> &'static str {
    match decision {
        Decision::Approve => "Approval",
        Decision::Reject => "Rejection",
    }
}

/// "ana via claude-ai: looks right".
fn signature_text(signature: &Signature) -> String {
    let mut text = format!("{} via {}", signature.by, signature.via);
    if let Some(reason) = &signature.reason {
        text.push_str(&format!(": {reason}"));
    }
    text
}

/// Who sent a decision signal, from its `invoice-decision` header.
fn signed_header(header: Option<&Header>) -> Option<Signature> {
    serde_json::from_slice(&header?.fields.get(DECISION_HEADER)?.data).ok()
}

/// The status text of a completed invoice, from its result (which the workflow wrote).
pub(super) fn status_of_result(result: String) -> String {
    InvoiceStatus::of_result(&result)
        .map(|status| status.text().to_owned())
        .unwrap_or(result)
}

/// The status text of an invoice that closed without completing.
pub(super) fn closed_label(status: WorkflowExecutionStatus) -> &'static str {
    match status {
        WorkflowExecutionStatus::Failed => "Failed",
        WorkflowExecutionStatus::Canceled => "Cancelled",
        WorkflowExecutionStatus::Terminated => "Terminated",
        WorkflowExecutionStatus::TimedOut => "Timed out",
        _ => "Closed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use temporalio_client::WorkflowHistory;

    fn recorded(name: &str) -> Vec<HistoryEvent> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/histories")
            .join(format!("{name}.json"));
        let json = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let history = WorkflowHistory::from_json(&json).expect("a recorded history");
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(history.into_events())
            .expect("its events")
    }

    /// The story without its timestamps.
    fn steps(name: &str) -> Vec<String> {
        story(&recorded(name))
            .into_iter()
            .map(|line| {
                line.split_once(' ')
                    .map_or(line.clone(), |(_, what)| what.to_owned())
            })
            .collect()
    }

    #[test]
    fn a_decision_by_update_tells_who_decided_and_why() {
        let steps = steps("approved");
        assert_eq!(steps.first().map(String::as_str), Some("Started"));
        assert!(
            steps.iter().any(|step| step.starts_with("Approval taken: ")
                && step.contains(" via ")
                && step.contains(": ")),
            "{steps:#?}"
        );
        assert!(
            steps
                .last()
                .unwrap()
                .starts_with("Finished: Invoice approved and processed:"),
            "{steps:#?}"
        );
    }

    #[test]
    fn a_bare_signal_is_an_unknown_senders() {
        let steps = steps("pre-visibility-approved");
        assert!(
            steps.contains(&"Approval sent by signal: unknown via signal".to_owned()),
            "{steps:#?}"
        );
        assert!(steps.contains(&"Processed payment for Web Development: $5000.00".to_owned()));
    }

    #[test]
    fn the_story_of_each_outcome_ends_in_it() {
        for (name, ending) in [
            ("rejected", "Finished: Invoice rejected by approver"),
            (
                "timed_out",
                "Finished: Invoice rejected: approval timeout after",
            ),
        ] {
            let steps = steps(name);
            assert!(
                steps.last().unwrap().starts_with(ending),
                "{name}: {steps:#?}"
            );
        }
        let timed_out = steps("timed_out");
        assert!(timed_out.contains(&"Approval deadline passed".to_owned()));
        assert!(timed_out.iter().all(|s| !s.contains("taken")));
    }

    #[test]
    fn results_and_closures_read_as_status_texts() {
        assert_eq!(
            status_of_result("Invoice rejected by approver\nRefunded x".into()),
            "Rejected by approver"
        );
        assert_eq!(status_of_result("something else".into()), "something else");
        assert_eq!(
            closed_label(WorkflowExecutionStatus::Terminated),
            "Terminated"
        );
    }

    #[test]
    fn a_view_without_a_record_says_what_the_outcome_says() {
        let facts = Facts::of(&WorkflowExecutionInfo::default());
        let observed = Observed {
            status: String::new(),
            decision: None,
            result: Some("Invoice rejected by approver".into()),
            finished: true,
        };
        let view = facts.view("INV-1", observed);
        assert_eq!(view.state, InvoiceState::Rejected);
        let decision = view.decision.unwrap();
        assert_eq!(decision.decision, Decision::Reject);
        assert_eq!((decision.by.as_str(), decision.at), ("unknown", None));
    }
}
