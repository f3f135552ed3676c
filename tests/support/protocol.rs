//! An MCP client of a chosen protocol version, with or without the tasks extension, that keeps
//! the resource updates it hears: the real `mcp-server` binary driven by rmcp's client, as in
//! [`crate::McpSession`], for the tests of every protocol version, tasks and subscriptions.

use crate::{CALL_BOUND, DevServer, mcp_server_command, stdio_transport};
use rmcp::{
    ClientHandler, ClientServiceExt, RoleClient, ServiceExt,
    model::{
        CallToolRequestParams, CallToolResponse, ClientCapabilities, ClientConfig, Implementation,
        ProtocolVersion, ResourceUpdatedNotificationParam,
    },
    service::{ClientLifecycleMode, NotificationContext, RunningService},
};
use serde_json::Value;
use std::time::Duration;
use tokio::sync::{Mutex, mpsc};

/// The client's name, recorded as the channel of the decisions it takes.
pub const CLIENT_NAME: &str = "rmcp";

/// The protocol versions rmcp speaks, oldest first.
pub const VERSIONS: [ProtocolVersion; 5] = [
    ProtocolVersion::V_2024_11_05,
    ProtocolVersion::V_2025_03_26,
    ProtocolVersion::V_2025_06_18,
    ProtocolVersion::V_2025_11_25,
    ProtocolVersion::V_2026_07_28,
];

/// Passes the `notifications/resources/updated` it gets on (protocol versions up to
/// 2025-11-25; from 2026-07-28 on they arrive on a `subscriptions/listen` stream instead).
pub struct Listener {
    config: ClientConfig,
    updates: mpsc::UnboundedSender<String>,
}

impl ClientHandler for Listener {
    fn get_info(&self) -> ClientConfig {
        self.config.clone()
    }

    async fn on_resource_updated(
        &self,
        params: ResourceUpdatedNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        let _ = self.updates.send(params.uri);
    }
}

pub struct VersionedSession {
    pub service: RunningService<RoleClient, Listener>,
    pub version: ProtocolVersion,
    updates: Mutex<mpsc::UnboundedReceiver<String>>,
}

impl VersionedSession {
    /// Starts an mcp-server for this test's server and talks `version` to it: the `initialize` handshake
    /// up to 2025-11-25, `server/discover` and per-request metadata from 2026-07-28 on.
    /// `tasks` declares the tasks extension.
    pub async fn start(
        server: &DevServer,
        env: &[(&str, &str)],
        version: ProtocolVersion,
        tasks: bool,
    ) -> Self {
        let transport = stdio_transport(
            mcp_server_command(server, env),
            &server.dir().join("mcp-server.log"),
        );
        let capabilities = if tasks {
            ClientCapabilities::builder().enable_tasks().build()
        } else {
            ClientCapabilities::default()
        };
        let (updates, received) = mpsc::unbounded_channel();
        let listener = Listener {
            config: ClientConfig::new(capabilities, Implementation::new(CLIENT_NAME, "1.0"))
                .with_protocol_version(version.clone()),
            updates,
        };
        let started = if version.has_initialize() {
            tokio::time::timeout(CALL_BOUND, listener.serve(transport))
                .await
                .map(|started| started.map_err(|e| e.to_string()))
        } else {
            let lifecycle = ClientLifecycleMode::Discover {
                preferred_versions: vec![version.clone()],
            };
            tokio::time::timeout(
                CALL_BOUND,
                listener.serve_with_lifecycle(transport, lifecycle),
            )
            .await
            .map(|started| started.map_err(|e| e.to_string()))
        };
        let service = started
            .unwrap_or_else(|_| panic!("no session on {version} within {CALL_BOUND:?}"))
            .unwrap_or_else(|e| panic!("no session on {version}: {e}"));
        Self {
            service,
            version,
            updates: Mutex::new(received),
        }
    }

    /// Calls a tool once and answers whatever it answered: a result, or a task.
    pub async fn call(&self, tool: &str, arguments: Value) -> CallToolResponse {
        let arguments = arguments.as_object().cloned().unwrap_or_default();
        let call = self
            .service
            .call_tool_once(CallToolRequestParams::new(tool.to_owned()).with_arguments(arguments));
        tokio::time::timeout(CALL_BOUND, call)
            .await
            .unwrap_or_else(|_| panic!("{tool} did not answer within {CALL_BOUND:?}"))
            .unwrap_or_else(|e| panic!("{tool} failed at the protocol level: {e}"))
    }

    /// The next resource update heard through `on_resource_updated`, within `within`.
    pub async fn next_update(&self, within: Duration) -> Option<String> {
        let mut updates = self.updates.lock().await;
        tokio::time::timeout(within, updates.recv())
            .await
            .ok()
            .flatten()
    }
}
