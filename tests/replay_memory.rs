//! A finished invoice must leave nothing behind in the worker. Replays the recorded approved,
//! rejected and timed-out invoices (an approval cancels the deadline timer, a rejection too
//! and then refunds, a timeout lets the timer fire and refunds) many times on the current
//! code and counts the bytes still allocated: they must not grow with the number of invoices
//! run.
//!
//! temporalio-sdk 1.1 kept every such workflow's whole context alive when its timer was
//! cancelled on the workflow's default cancellation token; `operation_token` in the workflow
//! avoids that. Counting allocations makes this exact, with no timing involved.

use std::{
    alloc::{GlobalAlloc, Layout, System},
    path::PathBuf,
    sync::atomic::{AtomicIsize, Ordering},
};
use temporalio_client::WorkflowHistory;
use temporalio_sdk::workflow_replayer::{WorkflowReplayer, WorkflowReplayerOptions};
use workflows::InvoiceWorkflow;

/// The system allocator, keeping count of the bytes currently allocated.
struct Counting;

static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let pointer = unsafe { System.alloc(layout) };
        if !pointer.is_null() {
            LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        pointer
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let pointer = unsafe { System.alloc_zeroed(layout) };
        if !pointer.is_null() {
            LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        pointer
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        unsafe { System.dealloc(pointer, layout) };
        LIVE_BYTES.fetch_sub(layout.size() as isize, Ordering::Relaxed);
    }

    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let moved = unsafe { System.realloc(pointer, layout, new_size) };
        if !moved.is_null() {
            LIVE_BYTES.fetch_add(
                new_size as isize - layout.size() as isize,
                Ordering::Relaxed,
            );
        }
        moved
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The outcomes replayed, one recorded history each.
const OUTCOMES: [&str; 3] = ["approved", "rejected", "timed_out"];

/// Replays `rounds` copies of each outcome's history on one replay worker, as a worker runs
/// many invoices one after another.
async fn replay_invoices(replayer: &WorkflowReplayer, histories: &[Vec<u8>], rounds: usize) {
    let copies = (0..rounds).flat_map(|_| {
        histories
            .iter()
            .map(|json| WorkflowHistory::from_json(json).expect("a recorded history"))
    });
    let results = replayer
        .replay_workflows(copies)
        .await
        .expect("the replay worker runs");
    assert_eq!(results.len(), rounds * histories.len());
    for result in results {
        assert!(
            result.replay_failure.is_none(),
            "a recorded invoice replays: {:?}",
            result.replay_failure
        );
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_finished_invoice_leaves_no_memory_behind() {
    let histories: Vec<Vec<u8>> = OUTCOMES
        .iter()
        .map(|name| {
            let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("tests/histories")
                .join(format!("{name}.json"));
            std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        })
        .collect();
    let replayer = WorkflowReplayer::new(
        WorkflowReplayerOptions::new()
            .register_workflow::<InvoiceWorkflow>()
            .expect("register InvoiceWorkflow")
            .build(),
    )
    .expect("replayer");

    // The first runs fill caches and one-time state; only growth after them counts.
    replay_invoices(&replayer, &histories, 10).await;
    const ROUNDS: usize = 40;
    let runs = ROUNDS * histories.len();
    let before = LIVE_BYTES.load(Ordering::Relaxed);
    replay_invoices(&replayer, &histories, ROUNDS).await;
    let per_invoice = (LIVE_BYTES.load(Ordering::Relaxed) - before) / runs as isize;
    // Measured: about 750 bytes per invoice stay with the SDK's replay worker whatever the
    // workflow does; with the timer on the workflow's default token, about 5,500.
    assert!(
        per_invoice < 2_048,
        "{per_invoice} bytes per finished invoice are still allocated after {runs} of them"
    );
}
