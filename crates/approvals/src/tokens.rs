//! Per-form tokens: every decision form carries one, and a decision is taken only with a token
//! this process handed out for that invoice, once. A link, a replayed or a forged POST changes
//! nothing.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

/// How long a form stays good.
const LIFETIME: Duration = Duration::from_secs(60 * 60);
/// Most forms outstanding at once; the oldest are forgotten first.
const MAX_OUTSTANDING: usize = 10_000;

#[derive(Default)]
pub struct Tokens {
    issued: Mutex<HashMap<String, (String, Instant)>>,
}

impl Tokens {
    /// A fresh token for a form about `invoice_id`.
    pub fn issue(&self, invoice_id: &str) -> String {
        let token = uuid::Uuid::new_v4().simple().to_string();
        let mut issued = self.issued.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        issued.retain(|_, (_, at)| now.duration_since(*at) < LIFETIME);
        if issued.len() >= MAX_OUTSTANDING
            && let Some(oldest) = issued
                .iter()
                .min_by_key(|(_, (_, at))| *at)
                .map(|(token, _)| token.clone())
        {
            issued.remove(&oldest);
        }
        issued.insert(token.clone(), (invoice_id.to_owned(), now));
        token
    }

    /// Takes `token` for `invoice_id`: true once, for a token issued for that invoice and
    /// not expired.
    pub fn redeem(&self, token: &str, invoice_id: &str) -> bool {
        let mut issued = self.issued.lock().unwrap_or_else(|e| e.into_inner());
        match issued.remove(token) {
            Some((id, at)) if id == invoice_id && at.elapsed() < LIFETIME => true,
            // A token for another invoice is spent all the same: it was misused.
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_good_once_and_for_its_invoice_only() {
        let tokens = Tokens::default();
        let token = tokens.issue("INV-1");
        assert!(!tokens.redeem(&token, "INV-2"));
        let token = tokens.issue("INV-1");
        assert!(tokens.redeem(&token, "INV-1"));
        assert!(!tokens.redeem(&token, "INV-1"));
        assert!(!tokens.redeem("made-up", "INV-1"));
    }
}
