//! The worker's Prometheus endpoint, `http://ADDR/metrics`: the SDK's own worker metrics
//! (`temporal_*`: task slots, latencies, failures, the workflow cache) and the invoices' own
//! (`invoice*`), in one registry. Names follow Prometheus conventions: counters end in
//! `_total`, durations are in seconds and say so.

use anyhow::Context;
use std::{collections::HashMap, net::SocketAddr, sync::Arc, time::Duration};
use temporalio_client::Client;
use temporalio_common::telemetry::{
    HistogramBucketOverrides, PrometheusExporterOptions,
    metrics::{
        CoreMeter, Counter, Gauge, HistogramDuration, MetricAttributes, MetricKeyValue,
        MetricParameters, NewAttributes,
    },
    start_prometheus_metric_exporter,
};
use workflows::{Decision, InvoiceState, names::WORKFLOW_TYPE};

/// How the time from start to decision is bucketed: a minute to the five-day default deadline.
const DECISION_WAIT_BUCKETS: [f64; 10] = [
    1.0, 10.0, 60.0, 300.0, 1_800.0, 3_600.0, 14_400.0, 86_400.0, 172_800.0, 432_000.0,
];
/// How often the invoices awaiting approval are counted (a visibility query to Temporal).
pub const AWAITING_REFRESH: Duration = Duration::from_secs(5);

/// The endpoint, listening, and the meter everything records into.
pub struct Endpoint {
    pub meter: Arc<dyn CoreMeter>,
    pub addr: SocketAddr,
}

/// Starts serving `/metrics` on `addr`.
pub fn serve(addr: SocketAddr) -> anyhow::Result<Endpoint> {
    let options = PrometheusExporterOptions::builder()
        .socket_addr(addr)
        .counters_total_suffix(true)
        .unit_suffix(true)
        .use_seconds_for_durations(true)
        .histogram_bucket_overrides(HistogramBucketOverrides {
            overrides: HashMap::from([(DECISION_WAIT.to_owned(), DECISION_WAIT_BUCKETS.to_vec())]),
        })
        .build();
    let started = start_prometheus_metric_exporter(options)
        .with_context(|| format!("cannot serve metrics on {addr}"))?;
    Ok(Endpoint {
        meter: started.meter,
        addr: started.bound_addr,
    })
}

const DECISION_WAIT: &str = "invoice_decision_wait";

/// The invoices' own metrics.
pub struct InvoiceMetrics {
    meter: Arc<dyn CoreMeter>,
    no_labels: MetricAttributes,
    started: Counter,
    decided: Counter,
    finished: Counter,
    charges: Counter,
    charged_cents: Counter,
    refunds: Counter,
    refunded_cents: Counter,
    decision_wait: HistogramDuration,
    awaiting: Gauge,
    needing_attention: Gauge,
}

impl InvoiceMetrics {
    pub fn new(meter: Arc<dyn CoreMeter>) -> Self {
        let counter = |name: &'static str, description: &'static str| {
            meter.counter(
                MetricParameters::builder()
                    .name(name)
                    .description(description)
                    .build(),
            )
        };
        Self {
            no_labels: meter.new_attributes(NewAttributes::default()),
            started: counter("invoices_started", "Invoices started"),
            decided: counter(
                "invoices_decided",
                "Decisions taken, by decision (approve, reject)",
            ),
            finished: counter(
                "invoices_finished",
                "Invoices ended, by outcome (approved, rejected, timed_out, failed, cancelled)",
            ),
            charges: counter("invoice_charges", "Invoice lines charged"),
            charged_cents: counter("invoice_charged_cents", "Money charged, in cents"),
            refunds: counter("invoice_refunds", "Invoice lines refunded"),
            refunded_cents: counter("invoice_refunded_cents", "Money refunded, in cents"),
            decision_wait: meter.histogram_duration(
                MetricParameters::builder()
                    .name(DECISION_WAIT)
                    .description("Time from an invoice's start to its decision")
                    .build(),
            ),
            awaiting: meter.gauge(
                MetricParameters::builder()
                    .name("invoices_awaiting_approval")
                    .description(
                        "Invoices awaiting a decision in the namespace (from Temporal's visibility)",
                    )
                    .build(),
            ),
            needing_attention: meter.gauge(
                MetricParameters::builder()
                    .name("invoices_needing_attention")
                    .description(
                        "Invoices whose refunds keep failing, money still charged (from Temporal's visibility)",
                    )
                    .build(),
            ),
            meter,
        }
    }

    fn labelled(&self, key: &'static str, value: &'static str) -> MetricAttributes {
        self.meter
            .new_attributes(NewAttributes::new(vec![MetricKeyValue::new(key, value)]))
    }

    pub fn started(&self) {
        self.started.add(1, &self.no_labels);
    }

    pub fn decided(&self, decision: Decision, waited: Option<Duration>) {
        self.decided
            .add(1, &self.labelled("decision", decision.as_str()));
        if let Some(waited) = waited {
            self.decision_wait.record(waited, &self.no_labels);
        }
    }

    pub fn finished(&self, outcome: InvoiceState) {
        self.finished
            .add(1, &self.labelled("outcome", outcome.as_str()));
    }

    pub fn charged(&self, cents: u64) {
        self.charges.add(1, &self.no_labels);
        self.charged_cents.add(cents, &self.no_labels);
    }

    pub fn refunded(&self, cents: u64) {
        self.refunds.add(1, &self.no_labels);
        self.refunded_cents.add(cents, &self.no_labels);
    }

    /// Keeps `invoices_awaiting_approval` and `invoices_needing_attention` current by asking
    /// Temporal's visibility every [`AWAITING_REFRESH`]: every worker reports the whole
    /// namespace's count, so that the figure survives restarts (take the max across workers,
    /// not the sum).
    pub async fn count_awaiting(self: Arc<Self>, client: Client) {
        let running_in = |state: InvoiceState| {
            format!(
                "WorkflowType = '{WORKFLOW_TYPE}' AND ExecutionStatus = 'Running' AND {} = '{}'",
                workflows::names::STATE_ATTRIBUTE.name(),
                state.as_str()
            )
        };
        let counts = [
            (running_in(InvoiceState::AwaitingApproval), &self.awaiting),
            (
                running_in(InvoiceState::NeedsAttention),
                &self.needing_attention,
            ),
        ];
        let mut ticks = tokio::time::interval(AWAITING_REFRESH);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            for (query, gauge) in &counts {
                let counted = tokio::time::timeout(
                    AWAITING_REFRESH,
                    client.count_workflows(query.as_str(), Default::default()),
                )
                .await;
                match counted {
                    Ok(Ok(count)) => gauge.record(count.count() as u64, &self.no_labels),
                    Ok(Err(error)) => {
                        tracing::debug!("could not count invoices ({query}): {error}")
                    }
                    Err(_) => tracing::debug!("counting invoices timed out ({query})"),
                }
            }
        }
    }
}
