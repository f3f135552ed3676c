//! Refunds that keep failing: retried at once, or a line settled by hand by a person, through
//! the workflow's `retry_refunds` and `settle_refund` Updates. The workflow alone judges
//! whether either may be done; this module carries the request there and reports the answer.

use super::{InvoiceOpError, Invoices, OpResult, temporal::refused};
use std::time::Duration;
use temporalio_client::{
    RpcOptions, WorkflowStartUpdateOptions, WorkflowUpdateHandle, errors::WorkflowUpdateError,
};
use workflows::{
    InvoiceWorkflow,
    refunds::{RefundsOutcome, SettlementRequest},
};

/// How long a worker has to accept the request.
const ACCEPT_LIMIT: Duration = Duration::from_secs(3);
/// How long the answer may take once accepted: a round of refunds against a gateway that
/// answers; one that does not is still under way when the answer goes out.
const OUTCOME_LIMIT: Duration = Duration::from_secs(10);

/// What became of a request about failing refunds.
pub enum RefundsAnswer {
    /// The workflow acted on it: where the invoice stands now.
    Done(RefundsOutcome),
    /// Accepted, still running (a refund is being retried); the status will tell.
    UnderWay,
    /// No worker took it in time: Temporal keeps it, and the workflow judges it when a worker
    /// returns.
    Kept,
}

impl Invoices {
    /// Retries at once the refunds that keep failing on an invoice that needs attention.
    pub async fn retry_refunds(&self, invoice_id: &str) -> OpResult<RefundsAnswer> {
        let handle = self.handle(invoice_id).await?;
        let options = WorkflowStartUpdateOptions::builder()
            .update_id(self.request_id())
            .build();
        let start = handle.start_update(InvoiceWorkflow::retry_refunds, (), options);
        let update = tokio::time::timeout(ACCEPT_LIMIT, start).await;
        self.answer(invoice_id, update).await
    }

    /// Settles by hand a line whose refund keeps failing: `request` says who, how and why.
    pub async fn settle_refund(
        &self,
        invoice_id: &str,
        request: SettlementRequest,
    ) -> OpResult<RefundsAnswer> {
        request.check().map_err(|reason| InvoiceOpError::Refused {
            id: invoice_id.to_owned(),
            reason,
        })?;
        let handle = self.handle(invoice_id).await?;
        let options = WorkflowStartUpdateOptions::builder()
            .update_id(self.request_id())
            .build();
        let start = handle.start_update(InvoiceWorkflow::settle_refund, request, options);
        let update = tokio::time::timeout(ACCEPT_LIMIT, start).await;
        self.answer(invoice_id, update).await
    }

    async fn answer(
        &self,
        invoice_id: &str,
        update: Result<
            Result<
                WorkflowUpdateHandle<temporalio_client::Client, RefundsOutcome>,
                WorkflowUpdateError,
            >,
            tokio::time::error::Elapsed,
        >,
    ) -> OpResult<RefundsAnswer> {
        let update = match update {
            Err(_) => return Ok(RefundsAnswer::Kept),
            Ok(Ok(update)) => update,
            Ok(Err(error)) => return Err(self.refunds_refusal(invoice_id, error)),
        };
        self.forget(invoice_id);
        match tokio::time::timeout(OUTCOME_LIMIT, update.get_result(RpcOptions::default())).await {
            Ok(Ok(outcome)) => Ok(RefundsAnswer::Done(outcome)),
            Ok(Err(error @ WorkflowUpdateError::Failed(_))) => {
                Err(self.refunds_refusal(invoice_id, error))
            }
            Ok(Err(error)) => {
                tracing::warn!("{invoice_id}: the request was accepted; its outcome: {error}");
                Ok(RefundsAnswer::UnderWay)
            }
            Err(_) => Ok(RefundsAnswer::UnderWay),
        }
    }

    fn refunds_refusal(&self, invoice_id: &str, error: WorkflowUpdateError) -> InvoiceOpError {
        match error {
            // The workflow's own words: nothing failing, not that line, a retry running.
            WorkflowUpdateError::Failed(failure) => InvoiceOpError::Refused {
                id: invoice_id.to_owned(),
                reason: failure.message,
            },
            WorkflowUpdateError::NotFound(_) => InvoiceOpError::Refused {
                id: invoice_id.to_owned(),
                reason: "the invoice is not running (it has finished, or never existed), so no refund of it is failing".to_owned(),
            },
            other => refused("send the request", other),
        }
    }
}
