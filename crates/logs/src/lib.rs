//! How every binary logs: to stderr (stdout is the MCP server's protocol channel), filtered by
//! `--log` / `RUST_LOG`, as text for people or as JSON lines for machines
//! (`--log-format json` / `INVOICE_LOG_FORMAT=json`).
//!
//! The audit trail is part of the log: one line per decision and per money movement, under the
//! target [`AUDIT`], whose fields are the record (`invoice`, `line`, `amount_cents`,
//! `idempotency_key`, `by`, `at`, ...). In JSON each field is a key of the line's `fields`.

use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

/// The `tracing` target of audit lines: filter on it (`RUST_LOG=audit=info,warn`) or select
/// them from JSON logs by `"target":"audit"`.
pub const AUDIT: &str = "audit";

/// How log lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// One readable line per event.
    #[default]
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// The logging flags every binary takes.
#[derive(Clone, Debug, clap::Args)]
#[command(next_help_heading = "Logging")]
pub struct LogArgs {
    /// How logs are written to stderr: `text` for people, `json` (one object per line) for machines
    #[arg(long, env = "INVOICE_LOG_FORMAT", default_value = "text", value_name = "text|json", value_parser = format)]
    pub log_format: LogFormat,
    /// Which logs to write, as a tracing filter: `info`, `warn,audit=info`, `worker=debug`
    #[arg(
        long = "log",
        env = "RUST_LOG",
        default_value = "info",
        value_name = "FILTER",
        value_parser = filter
    )]
    pub log_filter: String,
}

impl Default for LogArgs {
    fn default() -> Self {
        Self {
            log_format: LogFormat::Text,
            log_filter: "info".to_owned(),
        }
    }
}

/// `text` or `json`; blank is `text` (a blank variable counts as unset).
fn format(text: &str) -> Result<LogFormat, String> {
    match text.trim() {
        "" | "text" => Ok(LogFormat::Text),
        "json" => Ok(LogFormat::Json),
        other => Err(format!("{other:?} is neither text nor json")),
    }
}

/// A filter `tracing` understands, checked while the flags are parsed; blank is `info`.
fn filter(text: &str) -> Result<String, String> {
    let text = match text.trim() {
        "" => "info",
        text => text,
    };
    EnvFilter::try_new(text)
        .map(|_| text.to_owned())
        .map_err(|e| format!("not a log filter: {e}"))
}

/// Installs the process's logger, on stderr.
pub fn init(args: &LogArgs) {
    // Checked by `filter` when the flags were parsed.
    let filter = EnvFilter::new(&args.log_filter);
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter);
    match args.log_format {
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => builder
            .json()
            .with_current_span(false)
            .with_span_list(false)
            .init(),
    }
}
