//! Reaching Temporal, the same way for the worker and the MCP server.
//!
//! Settings come from Temporal's environment configuration, as for the `temporal` CLI and every
//! other SDK: `TEMPORAL_ADDRESS` (a bare `host:port` is fine), `TEMPORAL_NAMESPACE`,
//! `TEMPORAL_API_KEY`, `TEMPORAL_TLS*`, and profiles from `TEMPORAL_CONFIG_FILE` /
//! `TEMPORAL_PROFILE`. Without any of them: `localhost:7233`, namespace `default`.

use std::{collections::HashMap, time::Duration};
use temporalio_client::{
    Client, ClientOptions, Connection, ConnectionOptions, NamespacedClient,
    envconfig::LoadClientConfigProfileOptions, tonic,
};
use temporalio_common::protos::temporal::api::{
    enums::v1::IndexedValueType,
    operatorservice::v1::{AddSearchAttributesRequest, ListSearchAttributesRequest},
};

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
    /// Loads the settings from the environment and the config file, naming this process
    /// (for example "mcp-server") in the identity Temporal records on each event.
    pub fn load(process: &str) -> Result<Self, ConnectError> {
        let (mut connection, client) =
            ClientOptions::load_from_config(LoadClientConfigProfileOptions::default())
                // envconfig's error is not Send + Sync: keep its message only.
                .map_err(|e| ConnectError::InvalidSettings(e.to_string()))?;
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
