//! Reaching Temporal, the same way for the worker and the MCP server.
//!
//! Settings come from Temporal's environment configuration, as for the `temporal` CLI and every
//! other SDK: `TEMPORAL_ADDRESS` (a bare `host:port` is fine), `TEMPORAL_NAMESPACE`,
//! `TEMPORAL_API_KEY`, `TEMPORAL_TLS*`, and profiles from `TEMPORAL_CONFIG_FILE` /
//! `TEMPORAL_PROFILE`. Without any of them: `localhost:7233`, namespace `default`.

use std::time::Duration;
use temporalio_client::{
    Client, ClientOptions, Connection, ConnectionOptions, envconfig::LoadClientConfigProfileOptions,
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
