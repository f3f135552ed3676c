//! Starting an invoice: check it, then start its workflow under `invoice-<id>`.

use super::{
    InvoiceOpError, Invoices, OpResult, history,
    temporal::{CALL_LIMIT, bounded, refused},
};
use temporalio_client::{WorkflowIdReusePolicy, WorkflowStartOptions, errors::WorkflowStartError};
use temporalio_common::{MemoValues, search_attributes::SearchAttributes};
use workflows::{
    Invoice, InvoiceState, InvoiceWorkflow,
    names::{self, INVOICE_MEMO, STATE_ATTRIBUTE, TASK_QUEUE},
};

impl Invoices {
    /// Checks the invoice and starts its workflow; answers the invoice as started.
    pub async fn start(&self, invoice_data: &serde_json::Value) -> OpResult<Invoice> {
        let invoice = Invoice::from_json(invoice_data)
            .map_err(InvoiceOpError::InvalidInvoice)?
            .with_approval_timeout(self.policy.approval_timeout)
            .with_payment_retry_limit(self.policy.payment_retry_limit);
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
            Ok(_) => Ok(invoice),
            // A retry of a start that timed out on our side but went through: the same
            // invoice is the same invoice, and it has started.
            Err(WorkflowStartError::AlreadyStarted { .. }) => {
                let existing = self.submitted(&invoice.id).await?;
                match existing.map(|existing| existing.differences(&invoice)) {
                    Some(differences) if differences.is_empty() => Ok(invoice),
                    Some(differences) => Err(InvoiceOpError::DuplicateContent {
                        id: invoice.id,
                        differences: differences.join("; "),
                    }),
                    None => Err(InvoiceOpError::DuplicateId(invoice.id)),
                }
            }
            Err(error) => Err(refused("start the invoice", error)),
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
