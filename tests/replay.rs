//! Replays the recorded histories in `tests/histories/` (one per outcome, as recorded by each
//! release that changed the workflow) on the current workflow code. A change that would break invoices already
//! running in production fails here with a nondeterminism error.
//!
//! Histories are recorded by the end-to-end tests: `RECORD_HISTORIES=1 just test`.

use std::{path::PathBuf, time::Duration};
use temporalio_client::WorkflowHistory;
use temporalio_sdk::workflow_replayer::{WorkflowReplayer, WorkflowReplayerOptions};
use workflows::InvoiceWorkflow;

fn histories_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/histories")
}

fn replayer() -> WorkflowReplayer {
    let options = WorkflowReplayerOptions::new()
        .register_workflow::<InvoiceWorkflow>()
        .expect("register InvoiceWorkflow")
        .build();
    WorkflowReplayer::new(options).expect("replayer")
}

/// Replays one history, bounded: the replayer hangs rather than fails on some broken inputs.
async fn replay(json: &[u8]) -> Result<(), String> {
    let history = WorkflowHistory::from_json(json).map_err(|e| e.to_string())?;
    tokio::time::timeout(Duration::from_secs(60), replayer().replay_workflow(history))
        .await
        .map_err(|_| "replay did not finish within 60 s".to_owned())?
        .map_err(|e| e.to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn every_recorded_outcome_replays_on_the_current_code() {
    let mut replayed = Vec::new();
    for entry in std::fs::read_dir(histories_dir()).expect("tests/histories") {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let json = std::fs::read(&path).unwrap();
            if let Err(error) = replay(&json).await {
                panic!("{} no longer replays: {error}", path.display());
            }
            replayed.push(path.file_stem().unwrap().to_string_lossy().into_owned());
        }
    }
    replayed.sort();
    // Each outcome as recorded by every release that changed the workflow: before it published
    // its state to visibility, before it recorded who decided (decisions by bare signal),
    // before refunds were retried until settled (pre-settlement), and now. Invoices still
    // waiting under an older release must finish on today's code. And the paths where money
    // goes back: a declined charge, a refund declined then retried, a cancellation while
    // awaiting approval and one while a charge was under way; and the previous release's
    // cancellations (awaiting approval, and while refunding), which did not refund.
    assert_eq!(
        replayed,
        [
            "approved",
            "cancelled_awaiting",
            "cancelled_charging",
            "needs_attention_retried",
            "payment_failed",
            "pre-decision-approved",
            "pre-decision-rejected",
            "pre-decision-timed_out",
            "pre-settlement-approved",
            "pre-settlement-cancelled_awaiting",
            "pre-settlement-cancelled_refunding",
            "pre-settlement-needs_attention",
            "pre-settlement-payment_failed",
            "pre-settlement-rejected",
            "pre-settlement-timed_out",
            "pre-visibility-approved",
            "pre-visibility-rejected",
            "pre-visibility-timed_out",
            "rejected",
            "timed_out"
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_history_the_code_would_not_produce_is_caught() {
    // The same approved invoice, but its history charged through an activity the workflow
    // does not call: exactly what a careless rename of an activity would look like.
    let json = std::fs::read_to_string(histories_dir().join("pre-decision-approved.json")).unwrap();
    let tampered = json.replace(r#""name":"process_payment""#, r#""name":"charge_card""#);
    assert_ne!(json, tampered, "the history names process_payment");
    let error = replay(tampered.as_bytes())
        .await
        .expect_err("a diverging history must not replay");
    assert!(error.to_lowercase().contains("nondetermin"), "{error}");
}
