//! The connection to Temporal and the bounded calls the operations share.

use super::{InvoiceOpError, Invoices, OpResult};
use connection::ConnectError;
use std::time::Duration;
use temporalio_client::{
    Client, WorkflowDescribeOptions, WorkflowExecutionDescription, WorkflowFetchHistoryOptions,
    WorkflowHandle, errors::WorkflowInteractionError,
};
use temporalio_common::protos::temporal::api::history::v1::HistoryEvent;
use workflows::{InvoiceWorkflow, invoice::validate_id, names, names::SEARCH_ATTRIBUTES};

/// Longest wait for a connection to Temporal.
const CONNECT_LIMIT: Duration = Duration::from_secs(3);
/// Longest wait for one Temporal call once connected.
pub(super) const CALL_LIMIT: Duration = Duration::from_secs(4);

impl Invoices {
    /// The client, connected on first use; a failed connection is retried on the next call.
    pub(super) async fn client(&self) -> OpResult<&Client> {
        Ok(self
            .client
            .get_or_try_init(|| async {
                let client = self.settings.connect(CONNECT_LIMIT).await?;
                // Invoices start with their state as a search attribute: a namespace without
                // it would refuse every start. The worker adds them too; whoever comes first.
                match bounded(
                    CALL_LIMIT,
                    "check the search attributes",
                    connection::ensure_search_attributes(&client, &SEARCH_ATTRIBUTES),
                )
                .await
                {
                    Ok(Ok(added)) if !added.is_empty() => {
                        tracing::info!("registered the search attributes {added:?}")
                    }
                    Ok(Ok(_)) => {}
                    Ok(Err(error)) => tracing::warn!("{error}"),
                    Err(error) => tracing::warn!("{error}"),
                }
                Ok::<_, ConnectError>(client)
            })
            .await?)
    }

    /// The handle of an invoice's workflow, once its id is known to be well formed.
    pub(super) async fn handle(
        &self,
        invoice_id: &str,
    ) -> OpResult<WorkflowHandle<Client, InvoiceWorkflow>> {
        validate_id(invoice_id).map_err(InvoiceOpError::InvalidId)?;
        let client = self.client().await?;
        Ok(client.get_workflow_handle::<InvoiceWorkflow>(names::workflow_id(invoice_id)))
    }

    /// Temporal's description of the invoice's workflow (status, dates, memo, search
    /// attributes); needs no worker.
    pub(super) async fn describe(
        &self,
        handle: &WorkflowHandle<Client, InvoiceWorkflow>,
        invoice_id: &str,
        limit: Duration,
    ) -> OpResult<WorkflowExecutionDescription> {
        bounded(
            limit,
            "look up the invoice",
            handle.describe(WorkflowDescribeOptions::default()),
        )
        .await?
        .map_err(|e| interaction_error(invoice_id, "look up the invoice", e))
    }

    /// The invoice's whole history; needs no worker.
    pub(super) async fn history(
        &self,
        handle: &WorkflowHandle<Client, InvoiceWorkflow>,
        invoice_id: &str,
    ) -> OpResult<Vec<HistoryEvent>> {
        bounded(
            CALL_LIMIT,
            "read the invoice history",
            handle
                .fetch_history(WorkflowFetchHistoryOptions::default())
                .into_events(),
        )
        .await?
        .map_err(|e| interaction_error(invoice_id, "read the invoice history", e))
    }

    /// What happened to the invoice, one line per step that matters to a person.
    pub async fn story(&self, invoice_id: &str) -> OpResult<Vec<String>> {
        let handle = self.handle(invoice_id).await?;
        let events = self.history(&handle, invoice_id).await?;
        Ok(super::history::story(&events))
    }
}

/// Runs a Temporal call with a deadline.
pub(super) async fn bounded<T>(
    limit: Duration,
    action: &'static str,
    call: impl Future<Output = T>,
) -> OpResult<T> {
    tokio::time::timeout(limit, call)
        .await
        .map_err(|_| InvoiceOpError::TimedOut { limit, action })
}

pub(super) fn interaction_error(
    invoice_id: &str,
    action: &'static str,
    error: WorkflowInteractionError,
) -> InvoiceOpError {
    match error {
        WorkflowInteractionError::NotFound(_) => InvoiceOpError::Unknown(invoice_id.to_owned()),
        other => refused(action, other),
    }
}

pub(super) fn refused(action: &'static str, error: impl std::fmt::Display) -> InvoiceOpError {
    InvoiceOpError::Temporal {
        action,
        message: error.to_string(),
    }
}
