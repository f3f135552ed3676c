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
/// Environment variable choosing who may decide through the tools: `agent` or `human`.
pub const DECISIONS_VAR: &str = "INVOICE_DECISIONS";
/// Environment variable switching separation of duties on or off.
pub const SEPARATION_VAR: &str = "INVOICE_SEPARATION_OF_DUTIES";
/// Environment variable holding the approval inbox's address, for the links the tools give.
pub const INBOX_URL_VAR: &str = "INVOICE_INBOX_URL";
/// The inbox's address when nothing is configured (the `approvals` binary's default).
pub const DEFAULT_INBOX_URL: &str = "http://127.0.0.1:8234";

/// Who may decide through approve_invoice and reject_invoice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecisionPolicy {
    /// The tutorial's flow: the model decides when the person tells it to.
    Agent,
    /// Never on the model's word: the person answers a form (elicitation), or uses the inbox.
    Human,
}

#[derive(Clone, Debug)]
pub struct Config {
    /// How long each new invoice waits for a human decision before it is rejected and refunded.
    pub approval_timeout: Duration,
    /// How long each new invoice retries a failing charge or refund before it gives up.
    pub payment_retry_limit: Duration,
    /// Who the decisions taken through this server are recorded as: `INVOICE_APPROVER`, else
    /// the operating-system user. Also who submits the invoices started here.
    pub approver: String,
    /// Who may decide through the tools.
    pub decisions: DecisionPolicy,
    /// Whether the submitter of an invoice is barred from approving it: on by default in
    /// `human` mode, off in `agent` mode (where the person who asks also approves).
    pub separation_of_duties: bool,
    /// Where the approval inbox is, for links.
    pub inbox_url: String,
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
        let decisions = match std::env::var(DECISIONS_VAR).as_deref().map(str::trim) {
            Err(_) | Ok("") | Ok("agent") => DecisionPolicy::Agent,
            Ok("human") => DecisionPolicy::Human,
            Ok(other) => {
                return Err(format!(
                    "{DECISIONS_VAR}: {other:?} is neither \"agent\" nor \"human\""
                ));
            }
        };
        let separation_of_duties = match std::env::var(SEPARATION_VAR).as_deref().map(str::trim) {
            Err(_) | Ok("") => decisions == DecisionPolicy::Human,
            Ok("1" | "true" | "on" | "yes") => true,
            Ok("0" | "false" | "off" | "no") => false,
            Ok(other) => {
                return Err(format!("{SEPARATION_VAR}: {other:?} is neither on nor off"));
            }
        };
        let inbox_url = std::env::var(INBOX_URL_VAR)
            .ok()
            .map(|url| url.trim().trim_end_matches('/').to_owned())
            .filter(|url| !url.is_empty())
            .unwrap_or_else(|| DEFAULT_INBOX_URL.to_owned());
        Ok(Self {
            approval_timeout,
            payment_retry_limit,
            approver,
            decisions,
            separation_of_duties,
            inbox_url,
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
