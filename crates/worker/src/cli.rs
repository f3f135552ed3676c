//! The worker's command line. Every setting is a flag and an environment variable; the flag
//! wins. A malformed one stops the worker with exit code 2 before it connects to anything.

use connection::TemporalArgs;
use logs::LogArgs;
use std::{net::SocketAddr, path::PathBuf, time::Duration};

/// Runs the invoice workflow and the payment activities on invoice-task-queue until Ctrl-C or
/// SIGTERM. Start as many as you like: Temporal shares the work between them.
#[derive(Debug, clap::Parser)]
#[command(version)]
pub struct Cli {
    /// The simulated gateway's SQLite ledger; workers on one machine may share it
    #[arg(
        long,
        env = "PAYMENT_LEDGER",
        default_value = ".data/payments.db",
        value_name = "FILE"
    )]
    pub payment_ledger: PathBuf,
    /// Simulated gateway latency per charge or refund: `300ms`, `2s`
    #[arg(long, env = "PAYMENT_GATEWAY_LATENCY", default_value = "0s", value_name = "DURATION", value_parser = latency)]
    pub payment_gateway_latency: Duration,
    /// Items whose charge the simulated gateway declines (comma-separated)
    #[arg(long, env = "PAYMENT_GATEWAY_DECLINE", value_name = "ITEMS")]
    pub payment_gateway_decline: Option<String>,
    /// Items whose charge keeps failing as retryable, an outage (comma-separated)
    #[arg(long, env = "PAYMENT_GATEWAY_UNAVAILABLE", value_name = "ITEMS")]
    pub payment_gateway_unavailable: Option<String>,
    /// Items whose refund the simulated gateway declines (comma-separated)
    #[arg(long, env = "PAYMENT_GATEWAY_REFUND_DECLINE", value_name = "ITEMS")]
    pub payment_gateway_refund_decline: Option<String>,
    /// Serve Prometheus metrics at http://ADDR/metrics, for example `127.0.0.1:9464` [default: off]
    #[arg(long, env = "INVOICE_METRICS_ADDR", value_name = "ADDR", value_parser = metrics_addr)]
    metrics_addr: Option<String>,
    #[command(flatten)]
    pub temporal: TemporalArgs,
    #[command(flatten)]
    pub logs: LogArgs,
}

impl Cli {
    /// Where to serve metrics, if anywhere.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
            .as_deref()
            .and_then(|addr| addr.parse().ok())
    }
}

/// A socket address, or blank or `off` for none. (clap hands a blank environment variable over
/// as a value; blank has always meant unset here.)
fn metrics_addr(text: &str) -> Result<String, String> {
    let text = text.trim();
    if text.is_empty() || text == "off" {
        return Ok(String::new());
    }
    text.parse::<SocketAddr>()
        .map(|_| text.to_owned())
        .map_err(|_| "not an address to listen on: try 127.0.0.1:9464".to_owned())
}

/// A latency such as `300ms` or `2s`; blank is none.
fn latency(text: &str) -> Result<Duration, String> {
    if text.trim().is_empty() {
        return Ok(Duration::ZERO);
    }
    humantime::parse_duration(text.trim())
        .map_err(|e| format!("not a duration ({e}): try 300ms or 2s"))
}
