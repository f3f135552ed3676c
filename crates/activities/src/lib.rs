//! The payment activities: `process_payment` charges one invoice line, `refund_payment` gives
//! it back. Both go through a [`PaymentGateway`], so a real processor plugs in where the
//! simulated one stands, and both hand it an idempotency key so that an activity retried after
//! a crash never moves money twice.

pub mod ledger;

use async_trait::async_trait;
use ledger::{Ledger, LedgerError, Recorded};
use std::{collections::HashSet, path::Path, sync::Arc, time::Duration};
use temporalio_macros::activities;
use temporalio_sdk::{
    ApplicationFailure,
    activities::{ActivityContext, ActivityError},
};
use workflows::{
    duration,
    money::format_cents,
    payments::{GAVE_UP_FAILURE, Operation, PaymentRequest},
};

/// How long one call to the gateway may take before the attempt counts it as unanswered:
/// under the attempt's own timeout (30 s), so that the attempt can still say so, and count it
/// against its retry limit, before Temporal times it out.
const GATEWAY_CALL_LIMIT: Duration = Duration::from_secs(25);

/// Where money actually moves. Implementations must treat `idempotency_key` as the identity of
/// the operation: a second call with the same key succeeds without moving money again, and
/// says so.
#[async_trait]
pub trait PaymentGateway: Send + Sync + 'static {
    async fn charge(
        &self,
        idempotency_key: &str,
        request: &PaymentRequest,
    ) -> Result<Charge, GatewayError>;
    /// Refunds a charge. A refund of a line that was never charged (its charge gave up
    /// before the gateway took it, or the invoice was cancelled while it was under way) moves
    /// nothing, succeeds as [`Refund::NothingCharged`], and voids that charge: an attempt of it
    /// still in flight somewhere must be refused when it arrives, or its money would stay.
    async fn refund(
        &self,
        idempotency_key: &str,
        request: &PaymentRequest,
    ) -> Result<Refund, GatewayError>;
}

/// What a charge did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Charge {
    /// The money moved now.
    Charged,
    /// This key's charge had moved it before (a retry after a lost answer): nothing moved now.
    AlreadyCharged,
}

/// What a refund did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refund {
    /// The money went back now.
    Refunded,
    /// This key's refund had given it back before: nothing moved now.
    AlreadyRefunded,
    /// There was no charge to give back.
    NothingCharged,
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
    /// A refund found no charge to give back.
    #[error("nothing was charged")]
    NothingCharged,
}

impl GatewayError {
    /// The activity failure Temporal sees: retried unless the gateway said it is final.
    fn into_activity_error(self) -> ActivityError {
        let failure = match &self {
            GatewayError::Declined(_) | GatewayError::NothingCharged => {
                ApplicationFailure::non_retryable(self)
            }
            GatewayError::Unavailable(_) => ApplicationFailure::new(self),
        };
        ActivityError::application(failure)
    }
}

/// Failures the simulated gateway is told to make, by item name, so that every failure path
/// of an invoice can run end to end. Empty by default.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Faults {
    /// Items whose charge is declined (final).
    pub decline: HashSet<String>,
    /// Items whose charge keeps failing as retryable (a gateway outage).
    pub unavailable: HashSet<String>,
    /// Items whose refund is declined (final).
    pub refund_decline: HashSet<String>,
}

impl Faults {
    /// The item names in a comma-separated list, trimmed, blanks dropped.
    pub fn items(list: &str) -> HashSet<String> {
        list.split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// The failure the gateway makes for this operation, if told to.
    fn check(&self, operation: Operation, item: &str) -> Result<(), GatewayError> {
        match operation {
            Operation::Charge if self.decline.contains(item) => Err(GatewayError::Declined(
                format!("the card was declined for {item}"),
            )),
            Operation::Charge if self.unavailable.contains(item) => Err(GatewayError::Unavailable(
                format!("no answer while charging {item}"),
            )),
            Operation::Refund if self.refund_decline.contains(item) => Err(GatewayError::Declined(
                format!("the refund of {item} was refused"),
            )),
            _ => Ok(()),
        }
    }
}

/// A gateway that moves no money: it books each operation in a SQLite [`Ledger`] under its
/// idempotency key, optionally after a simulated network latency, and logs it as the
/// tutorial's `process_payment` does.
pub struct SimulatedGateway {
    ledger: Arc<Ledger>,
    latency: Duration,
    faults: Faults,
}

impl SimulatedGateway {
    /// Books into the ledger at `path`, taking `latency` per operation. The latency comes
    /// after the booking, which is the window a crash can hit between moving the money and
    /// reporting it: the retry then finds the entry and moves nothing.
    pub fn open(path: &Path, latency: Duration) -> Result<Self, LedgerError> {
        Ok(Self {
            ledger: Arc::new(Ledger::open(path)?),
            latency,
            faults: Faults::default(),
        })
    }

    /// The same gateway, failing as `faults` says.
    pub fn with_faults(mut self, faults: Faults) -> Self {
        self.faults = faults;
        self
    }

    async fn book(
        &self,
        key: &str,
        operation: Operation,
        request: &PaymentRequest,
    ) -> Result<Recorded, GatewayError> {
        if let Err(error) = self.faults.check(operation, &request.line.item) {
            tracing::warn!(%key, "{error}");
            return Err(error);
        }
        let ledger = Arc::clone(&self.ledger);
        let (owned_key, owned_request) = (key.to_owned(), request.clone());
        let recorded = tokio::task::spawn_blocking(move || {
            ledger.record(&owned_key, operation, &owned_request)
        })
        .await
        .map_err(|e| GatewayError::Unavailable(e.to_string()))?
        .map_err(|e| match e {
            LedgerError::Database(_) => GatewayError::Unavailable(e.to_string()),
            LedgerError::NothingToRefund { .. } => GatewayError::NothingCharged,
            other => GatewayError::Declined(other.to_string()),
        })?;
        let verb = match operation {
            Operation::Charge => "Processing",
            Operation::Refund => "Refunding",
        };
        let (item, amount) = (&request.line.item, format_cents(request.line.cents()));
        match recorded {
            Recorded::New => tracing::info!(%key, "{verb} payment: {item} - {amount}"),
            Recorded::AlreadyRecorded => {
                tracing::info!(%key, "{verb} payment: {item} - {amount} was already booked; not repeated")
            }
        }
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
        Ok(recorded)
    }
}

#[async_trait]
impl PaymentGateway for SimulatedGateway {
    async fn charge(&self, key: &str, request: &PaymentRequest) -> Result<Charge, GatewayError> {
        Ok(match self.book(key, Operation::Charge, request).await? {
            Recorded::New => Charge::Charged,
            Recorded::AlreadyRecorded => Charge::AlreadyCharged,
        })
    }

    async fn refund(&self, key: &str, request: &PaymentRequest) -> Result<Refund, GatewayError> {
        match self.book(key, Operation::Refund, request).await {
            Ok(Recorded::New) => Ok(Refund::Refunded),
            Ok(Recorded::AlreadyRecorded) => Ok(Refund::AlreadyRefunded),
            Err(GatewayError::NothingCharged) => Ok(Refund::NothingCharged),
            Err(error) => Err(error),
        }
    }
}

/// How long a payment that keeps failing has been tried: its attempts, and the backoff waits
/// between them as its retry policy sets them, but never the time an attempt waited for a
/// worker to take it. So a gateway that answers on the first attempt after a day without
/// workers is simply used, and one that fails is retried for the whole limit once workers are
/// back. Measured with this process's monotonic clock only: no two machines' clocks are
/// compared.
///
/// What was spent travels from attempt to attempt as the activity's heartbeat details:
/// recorded when an attempt fails, handed by Temporal to the next one. An attempt cut short by
/// a crash records nothing, so a crash can only lengthen the retries, never end them early.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct TimeSpent {
    /// Milliseconds spent trying before the attempt that reads it, its backoff included.
    spent_ms: u64,
}

impl TimeSpent {
    /// What has been spent once an attempt that ran for `attempt` fails, before the wait the
    /// retry policy sets for the next one.
    fn tried(self, attempt: Duration) -> Duration {
        Duration::from_millis(self.spent_ms) + attempt
    }

    /// What the next attempt starts with: all that was tried, and the `backoff` before it.
    fn before_next(tried: Duration, backoff: Duration) -> Self {
        Self {
            spent_ms: (tried + backoff).as_millis().try_into().unwrap_or(u64::MAX),
        }
    }
}

/// The wait a retry policy sets after the `attempt`th attempt failed: the initial interval,
/// times the backoff coefficient for each attempt before, capped at the maximum interval.
fn backoff(policy: Option<&temporalio_common::RetryPolicy>, attempt: u32) -> Duration {
    let Some(policy) = policy else {
        return Duration::ZERO;
    };
    let exponent = i32::try_from(attempt.saturating_sub(1)).unwrap_or(i32::MAX);
    let wait = policy.initial_interval().as_secs_f64()
        * policy.backoff_coefficient().max(1.0).powi(exponent);
    let wait = Duration::try_from_secs_f64(wait).unwrap_or(Duration::MAX);
    policy.maximum_interval().map_or(wait, |max| wait.min(max))
}

/// The retry limit of one payment attempt, and what was spent before it.
struct RetryWindow {
    spent: TimeSpent,
    started: std::time::Instant,
    limit: Option<Duration>,
}

impl RetryWindow {
    fn open(ctx: &ActivityContext, request: &PaymentRequest) -> Self {
        Self {
            spent: ctx
                .heartbeat_details()
                .deserialize::<TimeSpent>()
                .ok()
                .flatten()
                .unwrap_or_default(),
            started: std::time::Instant::now(),
            limit: request.give_up_after_seconds.map(Duration::from_secs),
        }
    }

    /// The activity's failure for what the gateway said: retried while the limit has not
    /// been spent; past it, given up for good (the workflow then refunds the line, in case an
    /// attempt took the money without its answer arriving).
    async fn failure(&self, ctx: &ActivityContext, error: GatewayError) -> ActivityError {
        if !matches!(error, GatewayError::Unavailable(_)) {
            return error.into_activity_error();
        }
        let info = ctx.info();
        let tried = self.spent.tried(self.started.elapsed());
        // For the next attempt.
        let next = TimeSpent::before_next(tried, backoff(info.retry_policy.as_ref(), info.attempt));
        let _ = ctx.record_heartbeat(next).await;
        match self.limit {
            Some(limit) if tried >= limit => ActivityError::application(
                ApplicationFailure::builder(format!(
                    "gave up at the retry limit ({} of attempts, {} in all); last: {error}",
                    duration::describe(limit),
                    info.attempt
                ))
                .type_name(GAVE_UP_FAILURE.to_owned())
                .non_retryable(true)
                .build(),
            ),
            _ => error.into_activity_error(),
        }
    }
}

/// A gateway call, bounded by [`GATEWAY_CALL_LIMIT`]: no answer in time is an outage.
async fn bounded<T>(
    call: impl Future<Output = Result<T, GatewayError>>,
) -> Result<T, GatewayError> {
    tokio::time::timeout(GATEWAY_CALL_LIMIT, call)
        .await
        .unwrap_or_else(|_| {
            Err(GatewayError::Unavailable(format!(
                "no answer within {}",
                duration::describe(GATEWAY_CALL_LIMIT)
            )))
        })
}

/// Money the gateway moved, as the activity that asked for it reports it.
#[derive(Clone, Copy, Debug)]
pub struct MoneyMoved<'a> {
    pub operation: Operation,
    pub request: &'a PaymentRequest,
    pub idempotency_key: &'a str,
    /// Which attempt of the activity moved it (1 for the first).
    pub attempt: u32,
}

/// Hears of every charge and refund that moved money (not of a retry the gateway recognised as
/// done before): the worker's metrics and audit log.
pub trait PaymentObserver: Send + Sync + 'static {
    fn moved(&self, movement: MoneyMoved<'_>);
}

/// The activity implementations registered by the worker.
pub struct Payments {
    gateway: Arc<dyn PaymentGateway>,
    observer: Option<Arc<dyn PaymentObserver>>,
}

impl Payments {
    pub fn new(gateway: Arc<dyn PaymentGateway>) -> Self {
        Self {
            gateway,
            observer: None,
        }
    }

    /// The same activities, telling `observer` of each movement of money.
    pub fn observed_by(mut self, observer: Arc<dyn PaymentObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    fn report(
        &self,
        ctx: &ActivityContext,
        operation: Operation,
        key: &str,
        request: &PaymentRequest,
    ) {
        if let Some(observer) = &self.observer {
            observer.moved(MoneyMoved {
                operation,
                request,
                idempotency_key: key,
                attempt: ctx.info().attempt,
            });
        }
    }
}

#[activities]
impl Payments {
    /// Charges one invoice line.
    #[activity(name = "process_payment")]
    pub async fn process_payment(
        self: Arc<Self>,
        ctx: ActivityContext,
        request: PaymentRequest,
    ) -> Result<String, ActivityError> {
        let key = request.idempotency_key(Operation::Charge);
        let window = RetryWindow::open(&ctx, &request);
        let charge = match bounded(self.gateway.charge(&key, &request)).await {
            Ok(charge) => charge,
            Err(error) => return Err(window.failure(&ctx, error).await),
        };
        if charge == Charge::Charged {
            self.report(&ctx, Operation::Charge, &key, &request);
        }
        Ok(request.charge_receipt())
    }

    /// Refunds one charged invoice line.
    #[activity(name = "refund_payment")]
    pub async fn refund_payment(
        self: Arc<Self>,
        ctx: ActivityContext,
        request: PaymentRequest,
    ) -> Result<String, ActivityError> {
        let key = request.idempotency_key(Operation::Refund);
        let window = RetryWindow::open(&ctx, &request);
        let refund = match bounded(self.gateway.refund(&key, &request)).await {
            Ok(refund) => refund,
            Err(error) => return Err(window.failure(&ctx, error).await),
        };
        Ok(match refund {
            Refund::Refunded => {
                self.report(&ctx, Operation::Refund, &key, &request);
                request.refund_receipt()
            }
            Refund::AlreadyRefunded => request.refund_receipt(),
            Refund::NothingCharged => format!(
                "Nothing to refund for {}: it was never charged",
                request.line.item
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_spent_counts_attempts_and_backoffs_only() {
        let policy = temporalio_common::RetryPolicy::builder()
            .initial_interval(Duration::from_secs(1))
            .backoff_coefficient(2.0)
            .maximum_interval(Duration::from_secs(30))
            .build();
        assert_eq!(backoff(Some(&policy), 1), Duration::from_secs(1));
        assert_eq!(backoff(Some(&policy), 3), Duration::from_secs(4));
        assert_eq!(backoff(Some(&policy), 40), Duration::from_secs(30));
        // Attempt 1 runs 2 s and fails; its retry waits 1 s, then however long for a worker
        // (a day, say), which is never read; attempt 2 runs 1 s and fails.
        let first = TimeSpent::default().tried(Duration::from_secs(2));
        let next = TimeSpent::before_next(first, backoff(Some(&policy), 1));
        assert_eq!(
            next.tried(Duration::from_secs(1)),
            Duration::from_secs(2 + 1 + 1)
        );
        // Heartbeat details from the release before (with the time of the last failure) read.
        let older: TimeSpent =
            serde_json::from_str(r#"{"spent_ms": 5000, "last_failed_at_ms": 1}"#).unwrap();
        assert_eq!(older.spent_ms, 5000);
    }
}
