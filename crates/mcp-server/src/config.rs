//! The MCP server's command line ([`Cli`]) and what it amounts to ([`Config`]). Every setting
//! is a flag and an environment variable; the flag wins. A malformed one stops the server with
//! exit code 2 before it serves anything. An empty variable counts as unset: each parser turns
//! a blank into the default, and the settings whose default is not a fixed text take an empty
//! default for that reason.

use clap::ValueEnum;
use connection::TemporalArgs;
use logs::LogArgs;
use std::time::Duration;
use workflows::{
    decision::{MAX_BY_LEN, UNKNOWN_SENDER},
    duration::{
        self, DEFAULT_APPROVAL_TIMEOUT, DEFAULT_APPROVAL_TIMEOUT_TEXT, DEFAULT_PAYMENT_RETRY_LIMIT,
        DEFAULT_PAYMENT_RETRY_LIMIT_TEXT, DEFAULT_REFUND_RETRY_CAP, DEFAULT_REFUND_RETRY_CAP_TEXT,
    },
};
/// The inbox's address when nothing is configured (the `approvals` binary's default).
pub const DEFAULT_INBOX_URL: &str = "http://127.0.0.1:8234";

/// The invoice tools over MCP on stdio, for Claude Desktop or any MCP client.
#[derive(Debug, clap::Parser)]
#[command(version)]
pub struct Cli {
    /// How long each new invoice waits for a decision: `30s`, `2m`, `5d`
    #[arg(long, env = "INVOICE_APPROVAL_TIMEOUT", default_value = DEFAULT_APPROVAL_TIMEOUT_TEXT, value_name = "DURATION",
        value_parser = duration_or(DEFAULT_APPROVAL_TIMEOUT))]
    pub approval_timeout: Duration,
    /// How long each new invoice retries a failing charge or refund, counted from its first attempt that a worker started (time without a worker never counts)
    #[arg(long, env = "PAYMENT_RETRY_LIMIT", default_value = DEFAULT_PAYMENT_RETRY_LIMIT_TEXT, value_name = "DURATION",
        value_parser = duration_or(DEFAULT_PAYMENT_RETRY_LIMIT))]
    pub payment_retry_limit: Duration,
    /// The longest wait between two rounds of retries of refunds that keep failing (refunds are retried until every line is refunded or settled by hand)
    #[arg(long, env = "REFUND_RETRY_CAP", default_value = DEFAULT_REFUND_RETRY_CAP_TEXT, value_name = "DURATION",
        value_parser = duration_or(DEFAULT_REFUND_RETRY_CAP))]
    pub refund_retry_cap: Duration,
    /// Who decisions taken here are recorded as [default: the operating-system user]
    #[arg(long, env = "INVOICE_APPROVER", value_name = "NAME", default_value = "",
        hide_default_value = true, value_parser = approver)]
    pub approver: String,
    /// Who may decide through the tools: `agent` (the model, when told) or `human` (only the person)
    #[arg(long, env = "INVOICE_DECISIONS", default_value = "agent", value_name = "MODE",
        value_parser = decisions)]
    pub decisions: DecisionPolicy,
    /// Bar an invoice's submitter from approving it: `on` or `off` [default: on in human mode, off in agent mode]
    // Spelled out so that clap takes the parser's answer as is: an empty value means unset.
    #[arg(long, env = "INVOICE_SEPARATION_OF_DUTIES", value_name = "on|off", default_value = "",
        hide_default_value = true, value_parser = switch)]
    pub separation_of_duties: std::option::Option<bool>,
    /// Where the approval inbox is, for the links the tools give
    #[arg(long, env = "INVOICE_INBOX_URL", default_value = DEFAULT_INBOX_URL, value_name = "URL",
        value_parser = inbox_url)]
    pub inbox_url: String,
    #[command(flatten)]
    pub temporal: TemporalArgs,
    #[command(flatten)]
    pub logs: LogArgs,
}

/// Who may decide through approve_invoice and reject_invoice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
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
    /// The longest wait between two rounds of retries of failing refunds.
    pub refund_retry_cap: Duration,
    /// Who the decisions taken through this server are recorded as. Also who submits the
    /// invoices started here.
    pub approver: String,
    /// Who may decide through the tools.
    pub decisions: DecisionPolicy,
    /// Whether the submitter of an invoice is barred from approving it: on by default in
    /// `human` mode, off in `agent` mode (where the person who asks also approves).
    pub separation_of_duties: bool,
    /// Where the approval inbox is, for links.
    pub inbox_url: String,
}

impl Cli {
    /// The configuration the flags amount to.
    pub fn config(&self) -> Config {
        Config {
            approval_timeout: self.approval_timeout,
            payment_retry_limit: self.payment_retry_limit,
            refund_retry_cap: self.refund_retry_cap,
            approver: self.approver.clone(),
            decisions: self.decisions,
            separation_of_duties: self
                .separation_of_duties
                .unwrap_or(self.decisions == DecisionPolicy::Human),
            inbox_url: self.inbox_url.clone(),
        }
    }
}

/// A duration (`30s`, `5d`), or `default` when blank.
fn duration_or(
    default: Duration,
) -> impl Fn(&str) -> Result<Duration, String> + Clone + Send + Sync + 'static {
    move |text| match text.trim() {
        "" => Ok(default),
        _ => duration::parse(text),
    }
}

/// A name, trimmed and cut to what a decision records; blank is the operating-system user.
fn approver(text: &str) -> Result<String, String> {
    let name = [text.to_owned()]
        .into_iter()
        .chain(["USER", "LOGNAME", "USERNAME"].map(|var| std::env::var(var).unwrap_or_default()))
        .map(|name| name.trim().to_owned())
        .find(|name| !name.is_empty())
        .unwrap_or_else(|| UNKNOWN_SENDER.to_owned());
    Ok(name.chars().take(MAX_BY_LEN).collect())
}

/// `agent` or `human`; blank is `agent`.
fn decisions(text: &str) -> Result<DecisionPolicy, String> {
    match text.trim() {
        "" => Ok(DecisionPolicy::Agent),
        text => DecisionPolicy::from_str(text, false)
            .map_err(|_| format!("{text:?} is neither \"agent\" nor \"human\"")),
    }
}

/// On or off, in the usual spellings; blank is unset.
fn switch(text: &str) -> Result<Option<bool>, String> {
    match text.trim() {
        "" => Ok(None),
        "1" | "true" | "on" | "yes" => Ok(Some(true)),
        "0" | "false" | "off" | "no" => Ok(Some(false)),
        other => Err(format!("{other:?} is neither on nor off")),
    }
}

/// A base URL, without a trailing slash; blank is the default.
fn inbox_url(text: &str) -> Result<String, String> {
    match text.trim().trim_end_matches('/') {
        "" => Ok(DEFAULT_INBOX_URL.to_owned()),
        url => Ok(url.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, Parser};

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn blank_values_are_the_defaults() {
        let cli = Cli::try_parse_from([
            "mcp-server",
            "--approval-timeout= ",
            "--payment-retry-limit=",
            "--refund-retry-cap=",
            "--decisions=",
            "--separation-of-duties=",
            "--inbox-url= / ",
        ])
        .unwrap();
        let config = cli.config();
        assert_eq!(config.approval_timeout, DEFAULT_APPROVAL_TIMEOUT);
        assert_eq!(config.payment_retry_limit, DEFAULT_PAYMENT_RETRY_LIMIT);
        assert_eq!(config.refund_retry_cap, DEFAULT_REFUND_RETRY_CAP);
        assert_eq!(config.decisions, DecisionPolicy::Agent);
        assert!(!config.separation_of_duties);
        assert_eq!(config.inbox_url, DEFAULT_INBOX_URL);
    }

    #[test]
    fn separation_of_duties_follows_the_mode_unless_set() {
        let config = |args: &[&str]| {
            Cli::try_parse_from(["mcp-server"].iter().chain(args))
                .unwrap()
                .config()
        };
        assert!(config(&["--decisions", " human "]).separation_of_duties);
        assert!(!config(&["--decisions=human", "--separation-of-duties=off"]).separation_of_duties);
        assert!(config(&["--separation-of-duties", "yes"]).separation_of_duties);
        assert_eq!(
            config(&["--approver", "  Ana  ", "--inbox-url", "https://x/"]).approver,
            "Ana"
        );
    }

    #[test]
    fn malformed_values_are_refused() {
        for args in [
            ["--approval-timeout", "soon"],
            ["--payment-retry-limit", "500ms"],
            ["--decisions", "robot"],
            ["--separation-of-duties", "maybe"],
        ] {
            let error = Cli::try_parse_from(["mcp-server"].iter().chain(&args)).unwrap_err();
            assert_eq!(error.exit_code(), 2, "{args:?}: {error}");
        }
    }
}
