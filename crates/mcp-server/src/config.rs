//! What the MCP server reads from its environment (Temporal's own settings are read by the
//! `connection` crate).

use std::time::Duration;
use workflows::duration::{self, DEFAULT_APPROVAL_TIMEOUT};

/// Environment variable holding how long an invoice waits for a decision.
pub const APPROVAL_TIMEOUT_VAR: &str = "INVOICE_APPROVAL_TIMEOUT";

#[derive(Clone, Debug)]
pub struct Config {
    /// How long each new invoice waits for a human decision before it is rejected and refunded.
    pub approval_timeout: Duration,
}

impl Config {
    /// Reads the configuration; a malformed value is an error rather than a silent default.
    pub fn from_env() -> Result<Self, String> {
        let approval_timeout = match std::env::var(APPROVAL_TIMEOUT_VAR) {
            Ok(text) if !text.trim().is_empty() => {
                duration::parse(&text).map_err(|e| format!("{APPROVAL_TIMEOUT_VAR}: {e}"))?
            }
            _ => DEFAULT_APPROVAL_TIMEOUT,
        };
        Ok(Self { approval_timeout })
    }
}
