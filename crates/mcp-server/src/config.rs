//! What the MCP server reads from its environment (Temporal's own settings are read by the
//! `connection` crate).

use std::time::Duration;
use workflows::duration::{self, DEFAULT_APPROVAL_TIMEOUT};

/// Environment variable holding how long an invoice waits for a decision.
pub const APPROVAL_TIMEOUT_VAR: &str = "INVOICE_APPROVAL_TIMEOUT";
/// Environment variable holding how long a failing charge or refund is retried.
pub const PAYMENT_RETRY_LIMIT_VAR: &str = "PAYMENT_RETRY_LIMIT";
/// How long a failing payment is retried when nothing is configured.
pub const DEFAULT_PAYMENT_RETRY_LIMIT: Duration = Duration::from_secs(60 * 60);
/// Environment variable naming who decides through this server.
pub const APPROVER_VAR: &str = "INVOICE_APPROVER";

#[derive(Clone, Debug)]
pub struct Config {
    /// How long each new invoice waits for a human decision before it is rejected and refunded.
    pub approval_timeout: Duration,
    /// How long each new invoice retries a failing charge or refund before it gives up.
    pub payment_retry_limit: Duration,
    /// Who the decisions taken through this server are recorded as: `INVOICE_APPROVER`, else
    /// the operating-system user.
    pub approver: String,
}

impl Config {
    /// Reads the configuration; a malformed value is an error rather than a silent default.
    pub fn from_env() -> Result<Self, String> {
        let approval_timeout = duration_var(APPROVAL_TIMEOUT_VAR, DEFAULT_APPROVAL_TIMEOUT)?;
        let payment_retry_limit =
            duration_var(PAYMENT_RETRY_LIMIT_VAR, DEFAULT_PAYMENT_RETRY_LIMIT)?;
        let approver = [APPROVER_VAR, "USER", "LOGNAME", "USERNAME"]
            .into_iter()
            .filter_map(|var| std::env::var(var).ok())
            .map(|name| name.trim().to_owned())
            .find(|name| !name.is_empty())
            .unwrap_or_else(|| workflows::decision::UNKNOWN_SENDER.to_owned());
        let approver: String = approver
            .chars()
            .take(workflows::decision::MAX_BY_LEN)
            .collect();
        Ok(Self {
            approval_timeout,
            payment_retry_limit,
            approver,
        })
    }
}

/// A duration from the environment, or `default` when unset or blank.
fn duration_var(var: &str, default: Duration) -> Result<Duration, String> {
    match std::env::var(var) {
        Ok(text) if !text.trim().is_empty() => {
            duration::parse(&text).map_err(|e| format!("{var}: {e}"))
        }
        _ => Ok(default),
    }
}
