//! Resource updates: a client subscribed to `invoice://<id>` hears whenever that invoice
//! changes state (awaiting approval, decided, finished), by the means its protocol version
//! offers: `resources/subscribe` up to 2025-11-25, `subscriptions/listen` from 2026-07-28 on.
//! Each subscription follows its invoice through Temporal's record of it (a `describe`, which
//! needs no worker) until the invoice finishes.

use invoices::{InvoiceOpError, Invoices, PublishedState};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex, Weak},
    time::Duration,
};
use tokio::task::{AbortHandle, Id};

/// How often a followed invoice is looked up.
const FOLLOW_INTERVAL: Duration = Duration::from_secs(1);

/// Looks the invoice up until it has finished, and calls `changed` after each change from
/// `last`; stops early when `changed` answers that nobody listens any more. While Temporal
/// does not answer, it keeps trying.
pub async fn follow<F, Fut>(
    invoices: Arc<Invoices>,
    invoice_id: String,
    mut last: PublishedState,
    mut changed: F,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    while !last.closed {
        tokio::time::sleep(FOLLOW_INTERVAL).await;
        match invoices.published(&invoice_id).await {
            Ok(now) if now != last => {
                if !changed().await {
                    return;
                }
                last = now;
            }
            Ok(_) => {}
            Err(InvoiceOpError::Unknown(_) | InvoiceOpError::InvalidId(_)) => return,
            Err(error) => tracing::debug!("following {invoice_id}: {error}"),
        }
    }
}

/// The `resources/subscribe` subscriptions of this session, by URI, so that
/// `resources/unsubscribe` can end them. A follower that ends on its own leaves too.
#[derive(Clone, Default)]
pub struct Subscriptions(Arc<Mutex<HashMap<String, AbortHandle>>>);

impl Subscriptions {
    /// Keeps `follower` running for `uri`, in place of an earlier subscription to it.
    pub fn start(&self, uri: String, follower: impl Future<Output = ()> + Send + 'static) {
        let subscriptions: Weak<_> = Arc::downgrade(&self.0);
        let key = uri.clone();
        let handle = tokio::spawn(async move {
            follower.await;
            if let Some(subscriptions) = subscriptions.upgrade() {
                let me: Id = tokio::task::id();
                let mut subscriptions = subscriptions.lock().unwrap_or_else(|e| e.into_inner());
                if subscriptions
                    .get(&key)
                    .is_some_and(|handle| handle.id() == me)
                {
                    subscriptions.remove(&key);
                }
            }
        })
        .abort_handle();
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
