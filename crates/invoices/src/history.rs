//! The pure translation of what Temporal records about an invoice (its history, its
//! description, its visibility record) into our views. No calls: everything here is tested
//! on the recorded histories in `tests/histories/`.

use crate::view::{Contents, InvoiceView};
use serde::de::DeserializeOwned;
use std::time::{Duration, SystemTime};
use temporalio_client::WorkflowExecutionStatus;
use temporalio_common::protos::temporal::api::{
    common::v1::{Header, Memo, Payload, Payloads, SearchAttributes},
    enums::v1::WorkflowExecutionStatus as ProtoExecutionStatus,
    history::v1::{HistoryEvent, history_event::Attributes},
    workflow::v1::WorkflowExecutionInfo,
};
use workflows::{
    Decision, DecisionRecord, DecisionRequest, Invoice, InvoiceOutcome, InvoiceSnapshot,
    InvoiceState, InvoiceStatus, Signature,
    decision::RefusedDecision,
    names::{
        APPROVE_SIGNAL, CANCELLATION_MEMO, DEADLINE_ATTRIBUTE, DECIDE_UPDATE, DECISION_HEADER,
        DECISION_MEMO, FAILING_REFUNDS_MEMO, INVOICE_MEMO, REFUSED_MEMO, REJECT_SIGNAL,
        RETRY_REFUNDS_UPDATE, SETTLEMENTS_MEMO, STATE_ATTRIBUTE,
    },
    outcome::CancellationRecord,
    refunds::{FailingRefund, Settlement},
};

/// What a status read finds: what the workflow says of itself while it runs (its answer to
/// `get_details`), or how it ended once it has finished.
pub(super) struct StatusAnswer {
    pub snapshot: InvoiceSnapshot,
    /// The state it ended in, when its outcome says so.
    pub ended: Option<InvoiceState>,
    /// Its result text, once finished.
    pub result: Option<String>,
    /// Read from the outcome: the invoice has finished.
    pub finished: bool,
    /// The snapshot is the workflow's whole account (our `get_details` answer, or our
    /// outcome), not just a status text.
    pub whole: bool,
}

impl StatusAnswer {
    /// What a running workflow of ours answered.
    pub fn running(snapshot: InvoiceSnapshot) -> Self {
        Self {
            snapshot,
            ended: None,
            result: None,
            finished: false,
            whole: true,
        }
    }

    /// A running invoice known only by its status text: the tutorial's workflow answers
    /// nothing more, and without a worker only what it published is known.
    pub fn status_only(status: String) -> Self {
        Self {
            whole: false,
            ..Self::running(InvoiceSnapshot {
                status,
                ..InvoiceSnapshot::default()
            })
        }
    }

    /// What the invoice last published (its state; the rest from its memo), when the
    /// workflow itself cannot be asked: no worker is running.
    pub fn published(described: &Described) -> Self {
        let status = match described.published {
            Some(InvoiceState::Processing) => InvoiceStatus::ProcessingPayments,
            Some(InvoiceState::Approved) => InvoiceStatus::Approved,
            Some(InvoiceState::Rejected) => InvoiceStatus::RefundingRejected,
            Some(InvoiceState::TimedOut) => InvoiceStatus::RefundingTimedOut,
            Some(InvoiceState::Failed) => InvoiceStatus::RefundingFailedPayment,
            Some(InvoiceState::Cancelled) => InvoiceStatus::RefundingCancelled,
            Some(InvoiceState::NeedsAttention) => InvoiceStatus::NeedsAttention,
            Some(InvoiceState::AwaitingApproval) | None => InvoiceStatus::AwaitingApproval,
        };
        Self::status_only(status.text().to_owned())
    }

    /// A finished invoice, from its outcome.
    pub fn ended(outcome: InvoiceOutcome) -> Self {
        Self {
            snapshot: InvoiceSnapshot {
                status: InvoiceStatus::ended_in(outcome.state).text().to_owned(),
                decision: outcome.decision,
                refused_decisions: outcome.refused_decisions,
                cancellation: outcome.cancellation,
                settled_by_hand: outcome.settled_by_hand,
                ..InvoiceSnapshot::default()
            },
            ended: Some(outcome.state),
            result: Some(outcome.text),
            finished: true,
            whole: true,
        }
    }

    /// A finished invoice without an outcome of ours: a status text, and its result if any.
    pub fn closed(status: String, result: Option<String>) -> Self {
        Self {
            snapshot: InvoiceSnapshot {
                status,
                ..InvoiceSnapshot::default()
            },
            ended: None,
            result,
            finished: true,
            whole: false,
        }
    }
}

/// What Temporal's description of an invoice says besides its status.
#[derive(Clone, Debug)]
pub(super) struct Described {
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
    /// What else the workflow published in its memo: for when it cannot be asked.
    pub refused_decisions: Vec<RefusedDecision>,
    pub cancellation: Option<CancellationRecord>,
    pub failing_refunds: Vec<FailingRefund>,
    pub settled_by_hand: Vec<Settlement>,
}

impl Described {
    /// The described in a workflow's description (or visibility record).
    pub fn of(info: &WorkflowExecutionInfo) -> Self {
        let attributes = info.search_attributes.as_ref();
        let memo = info.memo.as_ref();
        Described {
            contents: memo_contents(memo),
            started_at: info.start_time.map(|t| time_text(t.seconds, t.nanos)),
            approval_deadline: deadline(attributes),
            closed_at: info.close_time.map(|t| time_text(t.seconds, t.nanos)),
            running: info.status() == ProtoExecutionStatus::Running,
            published: attribute(attributes, STATE_ATTRIBUTE.name())
                .and_then(|text| InvoiceState::parse(&text)),
            decision: memo_field(memo, DECISION_MEMO),
            refused_decisions: memo_field(memo, REFUSED_MEMO).unwrap_or_default(),
            cancellation: memo_field(memo, CANCELLATION_MEMO),
            failing_refunds: memo_field(memo, FAILING_REFUNDS_MEMO).unwrap_or_default(),
            settled_by_hand: memo_field(memo, SETTLEMENTS_MEMO).unwrap_or_default(),
        }
    }

    /// Nothing known: an invoice whose description could not be read.
    pub fn unknown() -> Self {
        Described {
            running: true,
            ..Described::of(&WorkflowExecutionInfo::default())
        }
    }

    /// Whether these described stay true while the invoice runs: its lines and start never
    /// change, and its deadline is set once, when every line is charged. (What the memo says
    /// of refunds and refusals may change; the workflow's own answer says it then.)
    pub fn fixed_while_waiting(&self) -> bool {
        self.running && self.approval_deadline.is_some()
    }

    /// The structured view of an invoice from its status and these described.
    pub fn view(self, invoice_id: &str, answer: StatusAnswer) -> InvoiceView {
        let snapshot = answer.snapshot;
        let state = answer
            .ended
            .or_else(|| InvoiceStatus::of_text(&snapshot.status).map(InvoiceStatus::state))
            .unwrap_or(match (self.running, self.published) {
                (true, published) => published.unwrap_or(InvoiceState::Processing),
                // A charge failed and a refund too: the workflow failed, money is charged.
                (false, Some(InvoiceState::NeedsAttention)) => InvoiceState::NeedsAttention,
                (false, _) => InvoiceState::Failed,
            });
        // The workflow's own record first; for invoices that kept none (the tutorial's
        // workflow, or one started before decisions were recorded), what the outcome says.
        let decision = snapshot.decision.or(self.decision).or_else(|| match state {
            InvoiceState::Approved => Some(DecisionRecord::unrecorded(Decision::Approve)),
            InvoiceState::Rejected => Some(DecisionRecord::unrecorded(Decision::Reject)),
            _ => None,
        });
        let mut view =
            InvoiceView::new(invoice_id, state, snapshot.status).with_contents(self.contents);
        view.decision = decision;
        view.approval_deadline = self.approval_deadline;
        view.started_at = self.started_at;
        view.closed_at = self.closed_at;
        view.result = answer.result;
        // The workflow's own account, else what it last published in its memo.
        if answer.whole {
            view.refused_decisions = snapshot.refused_decisions;
            view.cancellation = snapshot.cancellation;
            view.failing_refunds = snapshot.failing_refunds;
            view.settled_by_hand = snapshot.settled_by_hand;
            view.next_refund_retry = snapshot.next_refund_retry;
        } else {
            view.refused_decisions = self.refused_decisions;
            view.cancellation = self.cancellation;
            view.failing_refunds = self.failing_refunds;
            view.settled_by_hand = self.settled_by_hand;
        }
        if answer.finished {
            view.failing_refunds.clear();
        }
        view
    }
}

/// A memo field the workflow or the MCP server wrote, if it is there and reads as `T`.
fn memo_field<T: DeserializeOwned>(memo: Option<&Memo>, key: &str) -> Option<T> {
    serde_json::from_slice(&memo?.fields.get(key)?.data).ok()
}

/// The invoice the MCP server stored in the memo at start, if it did.
pub(super) fn memo_invoice(memo: Option<&Memo>) -> Option<Invoice> {
    memo_field(memo, INVOICE_MEMO)
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

/// The text in an activity's output (our payloads are JSON strings); empty if absent.
pub(super) fn payload_text(payloads: Option<&Payloads>) -> String {
    payload_json(payloads)
        .and_then(|value| value.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The first payload as JSON, if there is one.
pub(super) fn payload_json(payloads: Option<&Payloads>) -> Option<serde_json::Value> {
    let payload = payloads?.payloads.first()?;
    serde_json::from_slice(&payload.data).ok()
}

/// The first line of a finished invoice's outcome, for its story.
fn outcome_heading(payloads: Option<&Payloads>) -> Option<String> {
    let value = payload_json(payloads)?;
    let text = match InvoiceOutcome::of_result(value.clone()) {
        Some(outcome) => outcome.text,
        None => value.as_str()?.to_owned(),
    };
    let heading = text.lines().next()?.trim_end_matches(':').to_owned();
    Some(heading)
}

/// What happened to the invoice, one line per step that matters to a person.
pub fn story(events: &[HistoryEvent]) -> Vec<String> {
    // Timers other than the approval deadline wait between retries of failing refunds.
    let mut retry_timers = std::collections::HashSet::new();
    events
        .iter()
        .filter_map(|event| {
            if let Some(Attributes::TimerStartedEventAttributes(timer)) = &event.attributes
                && summary(event).is_some_and(|summary| summary.starts_with("Retry"))
            {
                retry_timers.insert(timer.timer_id.clone());
                return None;
            }
            if let Some(Attributes::TimerFiredEventAttributes(fired)) = &event.attributes
                && retry_timers.contains(&fired.timer_id)
            {
                return None;
            }
            story_line(event)
        })
        .collect()
}

/// The summary an event carries for the Web UI, if any.
fn summary(event: &HistoryEvent) -> Option<String> {
    let payload = event.user_metadata.as_ref()?.summary.as_ref()?;
    serde_json::from_slice(&payload.data).ok()
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
            match input.name.as_str() {
                DECIDE_UPDATE => {
                    let request: DecisionRequest =
                        serde_json::from_slice(&input.args.as_ref()?.payloads.first()?.data)
                            .ok()?;
                    format!(
                        "{} taken: {}",
                        decision_noun(request.decision),
                        signature_text(&request.signature)
                    )
                }
                RETRY_REFUNDS_UPDATE => "Asked to retry the failing refunds now".to_owned(),
                _ => return None,
            }
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
        Attributes::WorkflowPropertiesModifiedEventAttributes(modified) => {
            return memo_story(modified.upserted_memo.as_ref(), &when);
        }
        Attributes::WorkflowExecutionCancelRequestedEventAttributes(requested) => {
            let mut text = String::from("Cancellation requested");
            if !requested.identity.trim().is_empty() {
                text.push_str(&format!(" by {}", requested.identity));
            }
            if !requested.cause.trim().is_empty() {
                text.push_str(&format!(": {}", requested.cause));
            }
            text
        }
        Attributes::WorkflowExecutionCompletedEventAttributes(done) => format!(
            "Finished: {}",
            outcome_heading(done.result.as_ref()).unwrap_or_default()
        ),
        Attributes::WorkflowExecutionFailedEventAttributes(_) => "Failed".to_owned(),
        Attributes::WorkflowExecutionTerminatedEventAttributes(_) => "Terminated".to_owned(),
        Attributes::WorkflowExecutionCanceledEventAttributes(cancelled) => {
            match outcome_heading(cancelled.details.as_ref()) {
                Some(heading) => format!("Finished: {heading}"),
                None => "Cancelled".to_owned(),
            }
        }
        Attributes::WorkflowExecutionTimedOutEventAttributes(_) => "Timed out".to_owned(),
        _ => return None,
    };
    Some(format!("{when} {what}"))
}

/// What a memo change says to a person: a decision refused, refunds failing, a line settled.
fn memo_story(memo: Option<&Memo>, when: &str) -> Option<String> {
    if let Some(refused) = memo_field::<Vec<RefusedDecision>>(memo, REFUSED_MEMO) {
        return Some(format!("{when} {}", refused.last()?.sentence()));
    }
    if let Some(settled) = memo_field::<Vec<Settlement>>(memo, SETTLEMENTS_MEMO) {
        return Some(format!("{when} {}", settled.last()?.sentence()));
    }
    let failing = memo_field::<Vec<FailingRefund>>(memo, FAILING_REFUNDS_MEMO)?;
    if failing.is_empty() {
        return None;
    }
    let lines: Vec<String> = failing.iter().map(FailingRefund::sentence).collect();
    Some(format!(
        "{when} Needs attention: {} refund(s) failed, the money is still charged: {}",
        failing.len(),
        lines.join("; ")
    ))
}

/// Who asked to cancel the invoice, and why, from its history.
pub(super) fn cancellation_request(events: &[HistoryEvent]) -> Option<CancellationRecord> {
    events
        .iter()
        .find_map(|event| match event.attributes.as_ref()? {
            Attributes::WorkflowExecutionCancelRequestedEventAttributes(requested) => {
                let text = |value: &str| Some(value.trim().to_owned()).filter(|v| !v.is_empty());
                Some(CancellationRecord {
                    reason: text(&requested.cause),
                    at: event.event_time.map(|t| time_text(t.seconds, t.nanos)),
                    by: text(&requested.identity),
                })
            }
            _ => None,
        })
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

/// The status text of an invoice that closed without an outcome of ours.
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
                .starts_with("Finished: Invoice approved and processed"),
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
    fn closures_read_as_status_texts() {
        assert_eq!(
            closed_label(WorkflowExecutionStatus::Terminated),
            "Terminated"
        );
    }

    #[test]
    fn a_view_without_a_record_says_what_the_outcome_says() {
        let described = Described::of(&WorkflowExecutionInfo::default());
        let outcome =
            InvoiceOutcome::of_result(serde_json::json!("Invoice rejected by approver")).unwrap();
        let view = described.view("INV-1", StatusAnswer::ended(outcome));
        assert_eq!(view.status, "Rejected by approver");
        assert_eq!(view.state, InvoiceState::Rejected);
        let decision = view.decision.unwrap();
        assert_eq!(decision.decision, Decision::Reject);
        assert_eq!((decision.by.as_str(), decision.at), ("unknown", None));
    }
}
