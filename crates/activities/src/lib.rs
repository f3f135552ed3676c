//! The payment activities: `process_payment` charges one invoice line, `refund_payment` gives
//! it back. Both go through a [`PaymentGateway`], so a real processor plugs in where the
//! simulated one stands, and both hand it an idempotency key so that an activity retried after
//! a crash never moves money twice.

use async_trait::async_trait;
use std::{collections::HashSet, sync::Arc, sync::Mutex};
use temporalio_macros::activities;
use temporalio_sdk::{
    ApplicationFailure,
    activities::{ActivityContext, ActivityError},
};
use workflows::{
    invoice::format_amount,
    payments::{Operation, PaymentRequest},
};

/// Where money actually moves. Implementations must treat `idempotency_key` as the identity of
/// the operation: a second call with the same key succeeds without moving money again.
#[async_trait]
pub trait PaymentGateway: Send + Sync + 'static {
    async fn charge(
        &self,
        idempotency_key: &str,
        request: &PaymentRequest,
    ) -> Result<(), GatewayError>;
    async fn refund(
        &self,
        idempotency_key: &str,
        request: &PaymentRequest,
    ) -> Result<(), GatewayError>;
}

/// Why a gateway did not move the money.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// Trying again will not help (a declined card, a closed account): the invoice fails and
    /// the lines already charged are refunded.
    #[error("declined: {0}")]
    Declined(String),
    /// Trying again may help (a timeout, a 503): Temporal retries the activity.
    #[error("gateway unavailable: {0}")]
    Unavailable(String),
}

impl GatewayError {
    /// The activity failure Temporal sees: retried unless the gateway said it is final.
    fn into_activity_error(self) -> ActivityError {
        let failure = match &self {
            GatewayError::Declined(_) => ApplicationFailure::non_retryable(self),
            GatewayError::Unavailable(_) => ApplicationFailure::new(self),
        };
        ActivityError::application(failure)
    }
}

/// A gateway that moves no money: it logs each operation and remembers its keys for the life
/// of the process, which is what the tutorial's `process_payment` does, plus idempotency.
#[derive(Default)]
pub struct SimulatedGateway {
    done: Mutex<HashSet<String>>,
}

impl SimulatedGateway {
    fn perform(&self, key: &str, verb: &str, request: &PaymentRequest) {
        let first_time = self
            .done
            .lock()
            .expect("lock poisoned")
            .insert(key.to_owned());
        let (item, amount) = (&request.line.item, format_amount(request.line.amount));
        if first_time {
            tracing::info!(%key, "{verb} payment: {item} - {amount}");
        } else {
            tracing::info!(%key, "{verb} payment: {item} - {amount} was already done; not repeated");
        }
    }
}

#[async_trait]
impl PaymentGateway for SimulatedGateway {
    async fn charge(&self, key: &str, request: &PaymentRequest) -> Result<(), GatewayError> {
        self.perform(key, "Processing", request);
        Ok(())
    }

    async fn refund(&self, key: &str, request: &PaymentRequest) -> Result<(), GatewayError> {
        self.perform(key, "Refunding", request);
        Ok(())
    }
}

/// The activity implementations registered by the worker.
pub struct Payments {
    gateway: Arc<dyn PaymentGateway>,
}

impl Payments {
    pub fn new(gateway: Arc<dyn PaymentGateway>) -> Self {
        Self { gateway }
    }

    /// Payments through the [`SimulatedGateway`].
    pub fn simulated() -> Self {
        Self::new(Arc::new(SimulatedGateway::default()))
    }
}

#[activities]
impl Payments {
    /// Charges one invoice line.
    #[activity(name = "process_payment")]
    pub async fn process_payment(
        self: Arc<Self>,
        _ctx: ActivityContext,
        request: PaymentRequest,
    ) -> Result<String, ActivityError> {
        let key = request.idempotency_key(Operation::Charge);
        self.gateway
            .charge(&key, &request)
            .await
            .map_err(GatewayError::into_activity_error)?;
        Ok(request.charge_receipt())
    }

    /// Refunds one charged invoice line.
    #[activity(name = "refund_payment")]
    pub async fn refund_payment(
        self: Arc<Self>,
        _ctx: ActivityContext,
        request: PaymentRequest,
    ) -> Result<String, ActivityError> {
        let key = request.idempotency_key(Operation::Refund);
        self.gateway
            .refund(&key, &request)
            .await
            .map_err(GatewayError::into_activity_error)?;
        Ok(request.refund_receipt())
    }
}
