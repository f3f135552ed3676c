//! Listing invoices by state, newest first, from Temporal's visibility store.

use super::{
    InvoiceOpError, Invoices, OpResult,
    history::{attribute, deadline, memo_contents, time_text},
    temporal::{CALL_LIMIT, bounded, refused},
};
use crate::view::{InvoiceList, InvoiceListEntry};
use temporalio_client::{NamespacedClient, tonic};
use temporalio_common::protos::temporal::api::{
    enums::v1::WorkflowExecutionStatus as ExecutionStatus,
    workflowservice::v1::ListWorkflowExecutionsRequest,
};
use workflows::{
    InvoiceState,
    names::{self, DECIDED_BY_ATTRIBUTE, STATE_ATTRIBUTE, WORKFLOW_TYPE},
};

/// Largest page `list_invoices` returns.
pub const MAX_PAGE_SIZE: usize = 100;

impl Invoices {
    /// One page of invoices, newest first, in `state` (or every state). `cursor` is the
    /// `next_cursor` of the page before.
    pub async fn list(
        &self,
        state: Option<InvoiceState>,
        page_size: usize,
        cursor: Option<&str>,
    ) -> OpResult<InvoiceList> {
        let next_page_token = match cursor {
            None => Vec::new(),
            Some(cursor) => decode_cursor(cursor)
                .ok_or_else(|| InvoiceOpError::InvalidCursor(cursor.to_owned()))?,
        };
        let query = visibility_query(state);
        let client = self.client().await?;
        let request = ListWorkflowExecutionsRequest {
            namespace: client.namespace(),
            page_size: page_size.clamp(1, MAX_PAGE_SIZE) as i32,
            next_page_token,
            query,
        };
        let mut service = client.connection().workflow_service();
        let page = bounded(
            CALL_LIMIT,
            "list the invoices",
            service.list_workflow_executions(tonic::Request::new(request)),
        )
        .await?
        .map_err(|status| match status.code() {
            tonic::Code::InvalidArgument if cursor.is_some() => {
                InvoiceOpError::InvalidCursor(cursor.unwrap_or_default().to_owned())
            }
            _ => refused("list the invoices", status.message()),
        })?
        .into_inner();
        let invoices = page
            .executions
            .iter()
            .filter_map(|info| {
                let workflow_id = &info.execution.as_ref()?.workflow_id;
                let invoice_id = names::invoice_id(workflow_id)?;
                let contents = memo_contents(info.memo.as_ref());
                let attributes = info.search_attributes.as_ref();
                let published = attribute(attributes, STATE_ATTRIBUTE.name())
                    .and_then(|text| InvoiceState::parse(&text));
                Some(InvoiceListEntry {
                    invoice_id: invoice_id.to_owned(),
                    workflow_id: workflow_id.clone(),
                    state: listed_state(published, info.status()),
                    line_count: contents.as_ref().map(|c| c.lines.len()),
                    total: contents
                        .as_ref()
                        .map(|c| workflows::money::format_amount(c.total_cents)),
                    total_cents: contents.as_ref().map(|c| c.total_cents),
                    approval_deadline: deadline(attributes),
                    started_at: info.start_time.map(|t| time_text(t.seconds, t.nanos)),
                    decided_by: attribute(attributes, DECIDED_BY_ATTRIBUTE.name()),
                })
            })
            .collect();
        Ok(InvoiceList {
            state,
            invoices,
            next_cursor: (!page.next_page_token.is_empty())
                .then(|| encode_cursor(&page.next_page_token)),
        })
    }
}

/// The visibility query for invoices in `state` (or every state). An invoice is in a state
/// it waits in (processing, awaiting approval) only while its workflow runs. One whose workflow
/// ended there without refunding (terminated, timed out, or cancelled by a release before
/// cancellations refunded, its money possibly still charged) is listed as failed, whatever it
/// last published; a cancellation that refunded publishes `cancelled` itself.
fn visibility_query(state: Option<InvoiceState>) -> String {
    let invoices = format!("WorkflowType = '{WORKFLOW_TYPE}'");
    let Some(state) = state else {
        return invoices;
    };
    let attribute = STATE_ATTRIBUTE.name();
    let published = format!("{attribute} = '{}'", state.as_str());
    match state {
        ongoing if ongoing.is_ongoing() => {
            format!("{invoices} AND {published} AND ExecutionStatus = 'Running'")
        }
        InvoiceState::Failed => format!(
            "{invoices} AND ({published} OR ExecutionStatus = 'Terminated' \
             OR ExecutionStatus = 'TimedOut' \
             OR (ExecutionStatus = 'Canceled' AND {attribute} != 'cancelled'))"
        ),
        _ => format!("{invoices} AND {published}"),
    }
}

/// Where a listed invoice stands: what it last published, unless its workflow ended without
/// refunding (the query above says how).
fn listed_state(published: Option<InvoiceState>, status: ExecutionStatus) -> Option<InvoiceState> {
    let waiting = published.is_none_or(InvoiceState::is_ongoing);
    match status {
        ExecutionStatus::Running | ExecutionStatus::Unspecified => published,
        ExecutionStatus::Canceled if published != Some(InvoiceState::Cancelled) => {
            Some(InvoiceState::Failed)
        }
        ExecutionStatus::Terminated | ExecutionStatus::TimedOut if waiting => {
            Some(InvoiceState::Failed)
        }
        _ => published,
    }
}

/// Page tokens are opaque bytes; cursors travel as hex text.
fn encode_cursor(token: &[u8]) -> String {
    token.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn decode_cursor(cursor: &str) -> Option<Vec<u8>> {
    if cursor.is_empty() || !cursor.len().is_multiple_of(2) {
        return None;
    }
    (0..cursor.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(cursor.get(at..at + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiting_states_list_only_running_invoices() {
        let query = visibility_query(Some(InvoiceState::AwaitingApproval));
        assert!(
            query.ends_with(
                "AND InvoiceState = 'awaiting_approval' AND ExecutionStatus = 'Running'"
            ),
            "{query}"
        );
        assert!(!visibility_query(Some(InvoiceState::Approved)).contains("ExecutionStatus"));
        // Cancelled before cancellations refunded: its money may still be charged.
        assert_eq!(
            listed_state(
                Some(InvoiceState::AwaitingApproval),
                ExecutionStatus::Canceled
            ),
            Some(InvoiceState::Failed)
        );
        assert_eq!(
            listed_state(Some(InvoiceState::Cancelled), ExecutionStatus::Canceled),
            Some(InvoiceState::Cancelled)
        );
        let attention = visibility_query(Some(InvoiceState::NeedsAttention));
        assert!(!attention.contains("ExecutionStatus"), "{attention}");
        assert_eq!(
            listed_state(
                Some(InvoiceState::AwaitingApproval),
                ExecutionStatus::Terminated
            ),
            Some(InvoiceState::Failed)
        );
        assert_eq!(
            listed_state(Some(InvoiceState::Rejected), ExecutionStatus::Completed),
            Some(InvoiceState::Rejected)
        );
    }

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let token = [0u8, 1, 0xab, 0xff];
        assert_eq!(decode_cursor(&encode_cursor(&token)), Some(token.to_vec()));
        for bad in ["", "abc", "zz", "0g"] {
            assert_eq!(decode_cursor(bad), None, "{bad:?}");
        }
    }
}
