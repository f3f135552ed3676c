//! Each invoice as the resource `invoice://<id>`: listed while it awaits approval, read with its
//! history, and followed by subscribers (`watch`), by the means each protocol version offers.

use crate::{server::InvoiceServer, watch};
use invoices::{InvoiceOpError, view::InvoiceList};
use rmcp::{
    ErrorData as McpError, RoleServer,
    model::{
        ListResourceTemplatesResult, ListResourcesResult, ReadResourceRequestParams,
        ReadResourceResult, Resource, ResourceContents, ResourceTemplate,
        ResourceUpdatedNotificationParam, SubscribeRequestParams, SubscriptionFilter,
    },
    service::{RequestContext, SubscriptionContext},
};
use std::sync::Arc;
use workflows::InvoiceState;

const RESOURCE_SCHEME: &str = "invoice://";
/// Most invoices the resource list (and the pending-approvals prompt) shows.
pub const PENDING_SHOWN: usize = 50;

/// The invoice an `invoice://<id>` URI names.
fn invoice_of_uri(uri: &str) -> Result<&str, McpError> {
    uri.strip_prefix(RESOURCE_SCHEME)
        .filter(|id| !id.is_empty())
        .ok_or_else(|| {
            McpError::resource_not_found(
                format!("Unknown resource {uri}: invoices are invoice://<id>"),
                None,
            )
        })
}

/// A resource's invoice could not be read: unknown ids are not found.
fn resource_error(error: InvoiceOpError) -> McpError {
    match error {
        InvoiceOpError::Unknown(_) | InvoiceOpError::InvalidId(_) => {
            McpError::resource_not_found(error.to_string(), None)
        }
        other => McpError::internal_error(other.to_string(), None),
    }
}

impl InvoiceServer {
    /// The invoices awaiting approval, newest first (the first [`PENDING_SHOWN`]).
    pub(crate) async fn pending(&self) -> Result<InvoiceList, McpError> {
        self.invoices
            .list(Some(InvoiceState::AwaitingApproval), PENDING_SHOWN, None)
            .await
            .map_err(|error| McpError::internal_error(error.to_string(), None))
    }

    /// `resources/subscribe` (protocol versions up to 2025-11-25).
    pub(crate) async fn subscribe_to(
        &self,
        request: SubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        let invoice_id = invoice_of_uri(&request.uri)?.to_owned();
        // Taken before the subscription is acknowledged: no change after it goes unheard.
        let last = self
            .invoices
            .published(&invoice_id)
            .await
            .map_err(resource_error)?;
        let peer = context.peer.clone();
        let uri = request.uri.clone();
        let follower = watch::follow(Arc::clone(&self.invoices), invoice_id, last, move || {
            let (peer, uri) = (peer.clone(), uri.clone());
            async move {
                peer.notify_resource_updated(ResourceUpdatedNotificationParam::new(uri))
                    .await
                    .is_ok()
            }
        });
        self.subscriptions.start(request.uri, follower);
        Ok(())
    }

    /// From MCP 2026-07-28 on: updates of the `invoice://` resources asked for.
    pub(crate) fn invoice_subscriptions(
        &self,
        requested: &SubscriptionFilter,
    ) -> Option<SubscriptionFilter> {
        let invoices = requested
            .resource_subscriptions
            .iter()
            .flatten()
            .filter(|uri| invoice_of_uri(uri).is_ok())
            .cloned();
        Some(
            SubscriptionFilter::builder()
                .resource_subscriptions(invoices)
                .build(),
        )
    }

    /// `subscriptions/listen` (from MCP 2026-07-28 on): follows every accepted invoice until
    /// the client stops listening.
    pub(crate) async fn follow_subscriptions(
        &self,
        subscription: SubscriptionContext,
    ) -> Result<(), McpError> {
        let uris = subscription
            .accepted()
            .resource_subscriptions
            .clone()
            .unwrap_or_default();
        let mut followers = tokio::task::JoinSet::new();
        for uri in uris {
            let Ok(invoice_id) = invoice_of_uri(&uri) else {
                continue;
            };
            let sink = subscription.sink().clone();
            let (invoices, invoice_id) = (Arc::clone(&self.invoices), invoice_id.to_owned());
            followers.spawn(async move {
                let Ok(last) = invoices.published(&invoice_id).await else {
                    return;
                };
                // The acknowledgment went out before this ran: one update now, so that the
                // client reads whatever changed in between.
                if sink.notify_resource_updated(uri.clone()).await.is_err() {
                    return;
                }
                watch::follow(invoices, invoice_id, last, move || {
                    let (sink, uri) = (sink.clone(), uri.clone());
                    async move { sink.notify_resource_updated(uri).await.is_ok() }
                })
                .await;
            });
        }
        subscription.cancelled().await;
        followers.abort_all();
        Ok(())
    }

    /// `resources/list`: the invoices awaiting approval.
    pub(crate) async fn invoice_resources(&self) -> ListResourcesResult {
        // Clients list resources when they connect: an unreachable Temporal must not make the
        // server look broken, so the list is empty then (the template still works later).
        let pending = match self.pending().await {
            Ok(pending) => pending,
            Err(error) => {
                tracing::warn!(
                    "cannot list the invoices awaiting approval: {}",
                    error.message
                );
                return ListResourcesResult::with_all_items(Vec::new());
            }
        };
        let resources = pending
            .invoices
            .iter()
            .map(|entry| {
                Resource::new(
                    format!("{RESOURCE_SCHEME}{}", entry.invoice_id),
                    entry.invoice_id.clone(),
                )
                .with_title(format!("Invoice {}", entry.invoice_id))
                .with_description(format!(
                    "{} · decide at {}",
                    entry.line(),
                    self.inbox_link(&entry.invoice_id)
                ))
                .with_mime_type("application/json")
            })
            .collect();
        ListResourcesResult::with_all_items(resources)
    }

    /// `resources/templates/list`: `invoice://{invoice_id}`.
    pub(crate) fn invoice_template() -> ListResourceTemplatesResult {
        ListResourceTemplatesResult::with_all_items(vec![
            ResourceTemplate::new(format!("{RESOURCE_SCHEME}{{invoice_id}}"), "invoice")
                .with_title("Invoice")
                .with_description(
                    "An invoice: its status, lines, total, deadline, result and history",
                )
                .with_mime_type("application/json"),
        ])
    }

    /// `resources/read`: the invoice, its history, and where to decide it.
    pub(crate) async fn read_invoice(
        &self,
        request: ReadResourceRequestParams,
    ) -> Result<ReadResourceResult, McpError> {
        let invoice_id = invoice_of_uri(&request.uri)?;
        let (view, story) = tokio::join!(
            self.invoices.details(invoice_id),
            self.invoices.story(invoice_id)
        );
        let body = serde_json::json!({
            "invoice": view.map_err(resource_error)?,
            "history": story.map_err(resource_error)?,
            "decide_at": self.inbox_link(invoice_id),
        });
        let text = serde_json::to_string_pretty(&body)
            .map_err(|e| McpError::internal_error(e.to_string(), None))?;
        Ok(ReadResourceResult::new(vec![
            ResourceContents::text(text, request.uri.clone()).with_mime_type("application/json"),
        ]))
    }
}
