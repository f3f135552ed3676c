//! Starting an invoice: check it, then start its workflow under `invoice-<id>`.

use super::{
    InvoiceOpError, Invoices, OpResult,
    history::{self, StatusAnswer},
    temporal::{CALL_LIMIT, bounded, refused},
};
use crate::view::InvoiceView;
use temporalio_client::{WorkflowIdReusePolicy, WorkflowStartOptions, errors::WorkflowStartError};
use temporalio_common::{MemoValues, search_attributes::SearchAttributes};
use workflows::{
    Invoice, InvoiceState, InvoiceWorkflow,
    names::{self, INVOICE_MEMO, STATE_ATTRIBUTE, TASK_QUEUE},
};

/// What starting an invoice did.
pub enum Started {
    /// Its workflow started now: the invoice as started.
    New(Invoice),
    /// The same invoice was started before (a retried call) and still runs: where it stands.
    /// Nothing new started.
    Running(Box<InvoiceView>),
}

impl Invoices {
    /// Checks the invoice and starts its workflow. The same invoice submitted again answers
    /// where it stands while it runs, and that it has finished once it has; a different one
    /// under the same id is refused.
    pub async fn start(&self, invoice_data: &serde_json::Value) -> OpResult<Started> {
        let invoice = Invoice::from_json(invoice_data)
            .map_err(InvoiceOpError::InvalidInvoice)?
            .with_approval_timeout(self.policy.approval_timeout)
            .with_payment_retry_limit(self.policy.payment_retry_limit)
            .with_refund_retry_cap(self.policy.refund_retry_cap);
        let invoice = match &self.policy.submitted_by {
            Some(person) => invoice.submitted_by(person, self.policy.separation_of_duties),
            None => invoice,
        };
        let client = self.client().await?;
        let options = WorkflowStartOptions::new(TASK_QUEUE, names::workflow_id(&invoice.id))
            // An invoice id names one invoice forever: its idempotency keys depend on it.
            .id_reuse_policy(WorkflowIdReusePolicy::RejectDuplicate)
            .static_summary(invoice.summary())
            // Listed as processing from the first moment, with its lines and total at hand.
            .search_attributes(SearchAttributes::new([
                STATE_ATTRIBUTE.value_set(InvoiceState::Processing.as_str().to_owned())
            ]))
            .memo({
                let mut memo = MemoValues::new();
                memo.insert(INVOICE_MEMO, invoice.clone());
                memo
            })
            .build();
        let started = bounded(
            CALL_LIMIT,
            "start the invoice",
            client.start_workflow(InvoiceWorkflow::run, invoice.clone(), options),
        )
        .await?;
        match started {
            Ok(_) => Ok(Started::New(invoice)),
            // A retry of a start that timed out on our side but went through, or the same
            // invoice sent again: say truthfully where it stands.
            Err(WorkflowStartError::AlreadyStarted { .. }) => {
                let existing = self.submitted(&invoice.id).await?;
                match existing.map(|existing| existing.differences(&invoice)) {
                    Some(differences) if differences.is_empty() => {}
                    Some(differences) => {
                        return Err(InvoiceOpError::DuplicateContent {
                            id: invoice.id,
                            differences: differences.join("; "),
                        });
                    }
                    None => return Err(InvoiceOpError::DuplicateId(invoice.id)),
                }
                let view = self.where_it_stands(&invoice.id).await?;
                match &view.closed_at {
                    Some(closed_at) => Err(InvoiceOpError::AlreadyFinished {
                        id: invoice.id,
                        status: view.status.clone(),
                        closed_at: closed_at.clone(),
                    }),
                    None => Ok(Started::Running(Box::new(view))),
                }
            }
            Err(error) => Err(refused("start the invoice", error)),
        }
    }

    /// The invoice as it stands; while no worker answers, as it last published.
    async fn where_it_stands(&self, invoice_id: &str) -> OpResult<InvoiceView> {
        match self.details(invoice_id).await {
            Err(InvoiceOpError::NoWorker { .. }) => {
                let handle = self.handle(invoice_id).await?;
                let described = self.description(&handle, invoice_id).await?;
                let answer = StatusAnswer::published(&described);
                Ok(described.view(invoice_id, answer))
            }
            other => other,
        }
    }

    /// The invoice that was started under `invoice_id`: from the memo this server writes,
    /// else from the workflow's input (an invoice started by the tutorial's server).
    async fn submitted(&self, invoice_id: &str) -> OpResult<Option<Invoice>> {
        let handle = self.handle(invoice_id).await?;
        let described = self.describe(&handle, invoice_id, CALL_LIMIT).await?;
        let info = described.raw().workflow_execution_info.as_ref();
        if let Some(invoice) = history::memo_invoice(info.and_then(|info| info.memo.as_ref())) {
            return Ok(Some(invoice));
        }
        let events = self.history(&handle, invoice_id).await?;
        Ok(events.first().and_then(history::started_invoice))
    }
}
