//! The one place where the SDKs' words are read: whether a query or an Update failed because
//! the workflow has no handler by that name. The tutorial's Python workflow has neither
//! `get_details` nor `decide`, and an older build of ours may lack a newer handler; both are
//! then asked the tutorial's way (`get_status`, the signals).

/// Whether `message` is an SDK saying that the workflow has no such query or Update handler,
/// in the exact words of the Rust SDK (temporalio-workflow 1.1) and the Python SDK
/// (temporalio 1.x). Each starts with the SDK's own words, before any name it quotes, so a
/// refusal whose text quotes these words elsewhere is not taken for one.
pub fn is_missing_handler(message: &str) -> bool {
    let rust = message.starts_with("No update handler registered for update name ")
        || message.starts_with("No query handler for '");
    let python = (message.starts_with("Update handler for '")
        || message.starts_with("Query handler for '"))
        && message.contains("' expected but not found");
    rust || python
}

#[cfg(test)]
mod tests {
    use super::is_missing_handler;

    #[test]
    fn the_sdks_words_are_recognised_and_nothing_else() {
        // The Python SDK's, word for word (the tutorial's worker); the Rust SDK's are pinned
        // against a real worker in the end-to-end tests (surface.rs).
        assert!(is_missing_handler(
            "Update handler for 'decide' expected but not found, and there is no dynamic handler. known updates: []"
        ));
        assert!(is_missing_handler(
            "Query handler for 'get_details' expected but not found, known queries: [get_status]"
        ));
        assert!(!is_missing_handler(
            "the invoice was already approved by ana via No update handler registered; the first decision stands"
        ));
        assert!(!is_missing_handler("workflow is not running"));
    }
}
