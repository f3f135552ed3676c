//! Resource updates: a client subscribed to `invoice://<id>` hears whenever that invoice
//! changes (a line charged, awaiting approval, decided, finished), by the means its protocol
//! version offers: `resources/subscribe` up to 2025-11-25, `subscriptions/listen` from
//! 2026-07-28 on. Each subscription follows its invoice by reading it, until it finishes.

use invoices::{InvoiceOpError, Invoices, view::InvoiceView};
use std::{collections::HashMap, sync::Arc, time::Duration};
use tokio::task::AbortHandle;

/// How often a followed invoice is read.
const FOLLOW_INTERVAL: Duration = Duration::from_millis(500);

/// What about an invoice is worth a notification.
#[derive(PartialEq)]
struct Fingerprint {
    status: String,
    decided: bool,
    closed: bool,
}

impl Fingerprint {
    fn of(view: &InvoiceView) -> Self {
        Self {
            status: view.status.clone(),
            decided: view.decision.is_some(),
            closed: view.closed_at.is_some(),
        }
    }
}

/// Reads the invoice until it has finished, and calls `changed` after each change. An invoice
/// that does not exist is not followed; while Temporal does not answer, it keeps trying.
pub async fn follow<F, Fut>(invoices: Arc<Invoices>, invoice_id: String, mut changed: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let mut last: Option<Fingerprint> = None;
    loop {
        match invoices.details(&invoice_id).await {
            Ok(view) => {
                let now = Fingerprint::of(&view);
                let closed = now.closed;
                if last.as_ref().is_some_and(|last| *last != now) && !changed().await {
                    return; // Nobody listens any more.
                }
                if closed {
                    return;
                }
                last = Some(now);
            }
            Err(InvoiceOpError::Unknown(_) | InvoiceOpError::InvalidId(_)) => return,
            Err(error) => tracing::debug!("following {invoice_id}: {error}"),
        }
        tokio::time::sleep(FOLLOW_INTERVAL).await;
    }
}

/// The `resources/subscribe` subscriptions of this session, by URI, so that
/// `resources/unsubscribe` can end them.
#[derive(Clone, Default)]
pub struct Subscriptions(Arc<std::sync::Mutex<HashMap<String, AbortHandle>>>);

impl Subscriptions {
    /// Keeps `follower` running for `uri`, in place of an earlier subscription to it.
    pub fn start(&self, uri: String, follower: impl Future<Output = ()> + Send + 'static) {
        let handle = tokio::spawn(follower).abort_handle();
        let mut subscriptions = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(earlier) = subscriptions.insert(uri, handle) {
            earlier.abort();
        }
    }

    pub fn stop(&self, uri: &str) {
        let mut subscriptions = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(handle) = subscriptions.remove(uri) {
            handle.abort();
        }
    }
}
