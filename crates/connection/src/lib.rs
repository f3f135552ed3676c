//! Reaching Temporal, the same way for the worker and the MCP server.
//!
//! Settings come from Temporal's environment configuration, as for the `temporal` CLI and every
//! other SDK: `TEMPORAL_ADDRESS` (a bare `host:port` is fine), `TEMPORAL_NAMESPACE`,
//! `TEMPORAL_API_KEY`, `TEMPORAL_TLS*`, and profiles from `TEMPORAL_CONFIG_FILE` /
//! `TEMPORAL_PROFILE`. Without any of them: `localhost:7233`, namespace `default`. Each binary
//! also takes them as flags ([`TemporalArgs`]), which win over the environment.

use std::{collections::HashMap, time::Duration};
use temporalio_client::{
    Client, ClientOptions, Connection, ConnectionOptions, NamespacedClient,
    envconfig::LoadClientConfigProfileOptions, tonic,
};
use temporalio_common::{
    envconfig::load_client_config_profile,
    protos::temporal::api::{
        enums::v1::IndexedValueType,
        operatorservice::v1::{AddSearchAttributesRequest, ListSearchAttributesRequest},
    },
};

/// Temporal's connection settings as command-line flags, each also read from the environment
/// variable that Temporal's environment configuration uses, so that every binary (and the
/// `temporal` CLI) agrees on them. Flatten into a binary's `clap` parser.
#[derive(Clone, Debug, Default, clap::Args)]
#[command(next_help_heading = "Temporal connection")]
pub struct TemporalArgs {
    /// Temporal frontend, `host:port` or a URL [default: localhost:7233]
    #[arg(long, env = "TEMPORAL_ADDRESS", value_name = "HOST:PORT")]
    pub temporal_address: Option<String>,
    /// Namespace of the invoices [default: default]
    #[arg(long, env = "TEMPORAL_NAMESPACE", value_name = "NAMESPACE")]
    pub temporal_namespace: Option<String>,
    /// API key (Temporal Cloud); turns TLS on
    #[arg(
        long,
        env = "TEMPORAL_API_KEY",
        value_name = "KEY",
        hide_env_values = true
    )]
    pub temporal_api_key: Option<String>,
    /// Whether to use TLS (`true` or `false`) [default: on with an API key or certificates]
    #[arg(long, env = "TEMPORAL_TLS", value_name = "BOOL")]
    pub temporal_tls: Option<String>,
    /// Client certificate for mTLS (PEM file)
    #[arg(long, env = "TEMPORAL_TLS_CLIENT_CERT_PATH", value_name = "FILE")]
    pub temporal_tls_client_cert_path: Option<String>,
    /// Client key for mTLS (PEM file)
    #[arg(long, env = "TEMPORAL_TLS_CLIENT_KEY_PATH", value_name = "FILE")]
    pub temporal_tls_client_key_path: Option<String>,
    /// Certificate authority of the server, when not a public one (PEM file)
    #[arg(long, env = "TEMPORAL_TLS_SERVER_CA_CERT_PATH", value_name = "FILE")]
    pub temporal_tls_server_ca_cert_path: Option<String>,
    /// Server name to check the server's certificate against
    #[arg(long, env = "TEMPORAL_TLS_SERVER_NAME", value_name = "NAME")]
    pub temporal_tls_server_name: Option<String>,
    /// Environment-configuration file [default: ~/.config/temporalio/temporal.toml]
    #[arg(long, env = "TEMPORAL_CONFIG_FILE", value_name = "FILE")]
    pub temporal_config_file: Option<String>,
    /// Profile of that file [default: default]
    #[arg(long, env = "TEMPORAL_PROFILE", value_name = "PROFILE")]
    pub temporal_profile: Option<String>,
}

impl TemporalArgs {
    /// The settings as the environment variables envconfig reads, for those that are set.
    fn as_env(&self) -> impl Iterator<Item = (&'static str, &String)> {
        [
            ("TEMPORAL_ADDRESS", &self.temporal_address),
            ("TEMPORAL_NAMESPACE", &self.temporal_namespace),
            ("TEMPORAL_API_KEY", &self.temporal_api_key),
            ("TEMPORAL_TLS", &self.temporal_tls),
            (
                "TEMPORAL_TLS_CLIENT_CERT_PATH",
                &self.temporal_tls_client_cert_path,
            ),
            (
                "TEMPORAL_TLS_CLIENT_KEY_PATH",
                &self.temporal_tls_client_key_path,
            ),
            (
                "TEMPORAL_TLS_SERVER_CA_CERT_PATH",
                &self.temporal_tls_server_ca_cert_path,
            ),
            ("TEMPORAL_TLS_SERVER_NAME", &self.temporal_tls_server_name),
            ("TEMPORAL_CONFIG_FILE", &self.temporal_config_file),
            ("TEMPORAL_PROFILE", &self.temporal_profile),
        ]
        .into_iter()
        .filter_map(|(var, value)| value.as_ref().map(|value| (var, value)))
    }
}

/// Where and how to connect, loaded once per process.
#[derive(Clone, Debug)]
pub struct Settings {
    connection: ConnectionOptions,
    client: ClientOptions,
}

/// Why Temporal could not be reached.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("the Temporal connection settings are invalid: {0}")]
    InvalidSettings(String),
    #[error(
        "Temporal is not reachable at {address} (is `temporal server start-dev` running?): {reason}"
    )]
    Unreachable { address: String, reason: String },
    #[error("Temporal at {address} did not answer within {seconds} s")]
    TimedOut { address: String, seconds: u64 },
}

impl Settings {
    /// Loads the settings from the flags, the environment and the config file, in that order
    /// of precedence, naming this process (for example "mcp-server") in the identity Temporal
    /// records on each event.
    pub fn load(process: &str, args: &TemporalArgs) -> Result<Self, ConnectError> {
        // envconfig's error is not Send + Sync: keep its message only.
        let invalid = |e: temporalio_common::envconfig::ConfigError| {
            ConnectError::InvalidSettings(e.to_string())
        };
        // The flags join the environment as the variables they stand for, so that envconfig
        // applies its own rules (scheme, TLS with an API key, profiles) to both alike.
        let mut env: HashMap<String, String> = std::env::vars_os()
            .filter_map(|(var, value)| Some((var.into_string().ok()?, value.into_string().ok()?)))
            .collect();
        env.extend(
            args.as_env()
                .map(|(var, value)| (var.to_owned(), value.clone())),
        );
        let profile =
            load_client_config_profile(LoadClientConfigProfileOptions::default(), Some(&env))
                .map_err(invalid)?;
        let namespace = profile
            .namespace
            .clone()
            .unwrap_or_else(|| "default".to_owned());
        let mut connection = ConnectionOptions::try_from(profile).map_err(invalid)?;
        let client = ClientOptions::new(namespace).build();
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "localhost".to_owned());
        connection.identity = format!("{process}-{}@{host}", std::process::id());
        Ok(Self { connection, client })
    }

    /// Who this process is to Temporal (`mcp-server-<pid>@<host>`), as recorded in histories.
    pub fn identity(&self) -> &str {
        &self.connection.identity
    }

    /// The server address, as a URL.
    pub fn address(&self) -> String {
        self.connection.target.to_string()
    }

    /// The namespace invoices live in.
    pub fn namespace(&self) -> &str {
        &self.client.namespace
    }

    /// Connects once, giving up after `limit` so that a caller never hangs on a dead server.
    pub async fn connect(&self, limit: Duration) -> Result<Client, ConnectError> {
        let mut options = self.connection.clone();
        options.connect_timeout = Some(limit);
        let address = self.address();
        let attempt = async {
            let connection =
                Connection::connect(options)
                    .await
                    .map_err(|e| ConnectError::Unreachable {
                        address: address.clone(),
                        reason: e.to_string(),
                    })?;
            Client::new(connection, self.client.clone()).map_err(|e| ConnectError::Unreachable {
                address: address.clone(),
                reason: e.to_string(),
            })
        };
        tokio::time::timeout(limit, attempt)
            .await
            .map_err(|_| ConnectError::TimedOut {
                address: address.clone(),
                seconds: limit.as_secs(),
            })?
    }
}

/// Why the custom search attributes could not be made sure of.
#[derive(Debug, thiserror::Error)]
pub enum SearchAttributeError {
    #[error("could not {action} the search attributes of namespace {namespace}: {reason}")]
    Refused {
        action: &'static str,
        namespace: String,
        reason: String,
    },
    #[error(
        "search attribute {name} exists in namespace {namespace} with type {found:?}, not {wanted:?}"
    )]
    WrongType {
        name: String,
        namespace: String,
        found: IndexedValueType,
        wanted: IndexedValueType,
    },
}

/// Registers the custom search attributes the namespace lacks, and answers which ones it added.
/// `temporal server start-dev --search-attribute NAME=TYPE` registers them at start; this
/// covers a server started without them. Temporal Cloud refuses the call: register them there
/// with `tcld`, once.
pub async fn ensure_search_attributes(
    client: &Client,
    wanted: &[(&str, IndexedValueType)],
) -> Result<Vec<String>, SearchAttributeError> {
    let namespace = client.namespace();
    let refused = |action, status: tonic::Status| SearchAttributeError::Refused {
        action,
        namespace: namespace.clone(),
        reason: status.message().to_owned(),
    };
    let mut operator = client.connection().operator_service();
    let existing = operator
        .list_search_attributes(tonic::Request::new(ListSearchAttributesRequest {
            namespace: namespace.clone(),
        }))
        .await
        .map_err(|status| refused("list", status))?
        .into_inner()
        .custom_attributes;
    let mut missing = HashMap::new();
    for &(name, wanted_type) in wanted {
        match existing
            .get(name)
            .map(|&found| IndexedValueType::try_from(found))
        {
            None => {
                missing.insert(name.to_owned(), wanted_type as i32);
            }
            Some(Ok(found)) if found == wanted_type => {}
            Some(found) => {
                return Err(SearchAttributeError::WrongType {
                    name: name.to_owned(),
                    namespace,
                    found: found.unwrap_or(IndexedValueType::Unspecified),
                    wanted: wanted_type,
                });
            }
        }
    }
    let added: Vec<String> = missing.keys().cloned().collect();
    if !missing.is_empty() {
        operator
            .add_search_attributes(tonic::Request::new(AddSearchAttributesRequest {
                search_attributes: missing,
                namespace: namespace.clone(),
            }))
            .await
            .map_err(|status| refused("add", status))?;
    }
    Ok(added)
}
