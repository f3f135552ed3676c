//! The inbox's command line. Every setting is a flag and an environment variable; the flag
//! wins. A malformed one stops the inbox with exit code 2 before it listens or connects. An
//! empty variable counts as unset.

use axum::http::HeaderName;
use connection::TemporalArgs;
use logs::LogArgs;

/// Where the inbox listens when nothing is configured.
const DEFAULT_ADDR: &str = "127.0.0.1:8234";

/// The approval inbox: a web page where a person approves or rejects invoices.
#[derive(Debug, clap::Parser)]
#[command(version)]
pub struct Cli {
    /// Where the inbox listens
    #[arg(long, env = "INVOICE_INBOX_ADDR", default_value = DEFAULT_ADDR, value_name = "HOST:PORT",
        value_parser = addr)]
    pub inbox_addr: String,
    /// The header a signing-in reverse proxy puts the person in, who then decides [default: none: the form asks for a name]
    // Spelled out so that clap takes the parser's answer as is: an empty value means none.
    #[arg(long, env = "INVOICE_INBOX_IDENTITY_HEADER", value_name = "NAME", default_value = "",
        hide_default_value = true, value_parser = header_name)]
    pub inbox_identity_header: std::option::Option<HeaderName>,
    #[command(flatten)]
    pub temporal: TemporalArgs,
    #[command(flatten)]
    pub logs: LogArgs,
}

/// An address to listen on; blank is the default.
fn addr(text: &str) -> Result<String, String> {
    match text.trim() {
        "" => Ok(DEFAULT_ADDR.to_owned()),
        _ => Ok(text.to_owned()),
    }
}

/// An HTTP header name; blank is none.
fn header_name(text: &str) -> Result<Option<HeaderName>, String> {
    match text.trim() {
        "" => Ok(None),
        name => HeaderName::try_from(name)
            .map(Some)
            .map_err(|_| format!("{name:?} is not an HTTP header name")),
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
        let cli = Cli::try_parse_from(["approvals", "--inbox-addr=", "--inbox-identity-header= "])
            .unwrap();
        assert_eq!(cli.inbox_addr, DEFAULT_ADDR);
        assert_eq!(cli.inbox_identity_header, None);
    }
}
