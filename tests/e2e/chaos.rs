//! Crashes, restarts and races, each ending with the payment ledger checked: every invoice in
//! the right final state, one charge per line, one refund per charged line of a rejected or
//! expired invoice, and nothing else.

use crate::{STEP, start_and_await_approval};
use harness::{DevServer, McpSession, WorkerProcess, tutorial_invoice};
use serde_json::json;
use std::time::{Duration, Instant};

/// Waits until the ledger shows a charge of `line` of `invoice_id`.
async fn await_charge(server: &DevServer, invoice_id: &str, line: i64) {
    let deadline = Instant::now() + STEP;
    while !server.books().lines(invoice_id, "charge").contains(&line) {
        assert!(
            Instant::now() < deadline,
            "line {line} of {invoice_id} never charged"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_worker_killed_between_booking_a_charge_and_reporting_it_charges_once() {
    let server = DevServer::start().await;
    // Each booking is followed by 5 s of "network": the crash lands after the money moved and
    // before Temporal heard of it, the worst moment.
    let slow = WorkerProcess::start_with(&server, &[("PAYMENT_GATEWAY_LATENCY", "5s")]);
    let mcp = McpSession::start(&server, &[]).await;
    mcp.call(
        "process_invoice",
        json!({"invoice_data": tutorial_invoice("INV-100")}),
    )
    .await
    .ok();
    await_charge(&server, "INV-100", 1).await;
    slow.kill();

    // Temporal retries the charge once its 30 s attempt timeout passes; the ledger already has
    // it, so the retry moves nothing.
    let _fresh = WorkerProcess::start(&server);
    mcp.await_status("INV-100", "Awaiting approval", Duration::from_secs(90))
        .await;
    mcp.call("approve_invoice", json!({"invoice_id": "INV-100"}))
        .await
        .ok();
    mcp.await_status("INV-100", "Approved and finalized", STEP)
        .await;
    server.books().assert_invoice("INV-100", 2, false);
}

#[tokio::test(flavor = "multi_thread")]
async fn with_two_workers_one_killed_mid_run_the_other_finishes_everything() {
    let server = DevServer::start().await;
    let latency = [("PAYMENT_GATEWAY_LATENCY", "300ms")];
    let doomed = WorkerProcess::start_with(&server, &latency);
    let _survivor = WorkerProcess::start_with(&server, &latency);
    let mcp = McpSession::start(&server, &[]).await;

    let ids: Vec<String> = (0..8).map(|n| format!("TWO-{n}")).collect();
    for id in &ids {
        mcp.call(
            "process_invoice",
            json!({"invoice_data": tutorial_invoice(id)}),
        )
        .await
        .ok();
    }
    // Kill once payments are under way and before they are done, so that the kill lands on
    // work in progress (16 charges of 300 ms shared by two workers take over 2 s).
    let deadline = Instant::now() + STEP;
    while server.books().movements.len() < 2 {
        assert!(Instant::now() < deadline, "no payment started");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let moved = server.books().movements.len();
    doomed.kill();
    assert!(
        moved < 16,
        "all 16 charges were done before the kill: it hit no work"
    );

    for (n, id) in ids.iter().enumerate() {
        mcp.await_status(id, "Awaiting approval", Duration::from_secs(90))
            .await;
        let tool = if n % 2 == 0 {
            "approve_invoice"
        } else {
            "reject_invoice"
        };
        mcp.call(tool, json!({"invoice_id": id})).await.ok();
    }
    let books_ok = |server: &DevServer| {
        let books = server.books();
        for (n, id) in ids.iter().enumerate() {
            books.assert_invoice(id, 2, n % 2 == 1);
        }
    };
    for (n, id) in ids.iter().enumerate() {
        let last = if n % 2 == 0 {
            "Approved and finalized"
        } else {
            "Rejected by approver"
        };
        mcp.await_status(id, last, STEP).await;
    }
    books_ok(&server);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_mcp_server_killed_between_calls_loses_nothing() {
    let server = DevServer::start().await;
    let _worker = WorkerProcess::start(&server);
    let first = McpSession::start(&server, &[]).await;
    start_and_await_approval(&first, "INV-200").await;
    first.kill();

    let second = McpSession::start(&server, &[]).await;
    second
        .await_status("INV-200", "Awaiting approval", STEP)
        .await;
    second
        .call("reject_invoice", json!({"invoice_id": "INV-200"}))
        .await
        .ok();
    second
        .await_status("INV-200", "Rejected by approver", STEP)
        .await;
    server.books().assert_invoice("INV-200", 2, true);
}

#[tokio::test(flavor = "multi_thread")]
async fn racing_starts_of_one_invoice_start_it_once() {
    let server = DevServer::start().await;
    let _worker = WorkerProcess::start(&server);
    let a = McpSession::start(&server, &[]).await;
    let b = McpSession::start(&server, &[]).await;
    let arguments = json!({"invoice_data": tutorial_invoice("RACE-1")});
    let (first, second) = tokio::join!(
        a.call("process_invoice", arguments.clone()),
        b.call("process_invoice", arguments.clone())
    );
    // One of them started it; the other found the same invoice started, and says so.
    let mut texts = [first.ok(), second.ok()];
    texts.sort();
    assert_eq!(
        texts[1],
        "Started processing invoice RACE-1. Workflow ID: invoice-RACE-1"
    );
    assert!(
        texts[0].starts_with("Invoice RACE-1 was already started and is still running"),
        "{texts:?}"
    );
    a.await_status("RACE-1", "Awaiting approval", STEP).await;
    a.call("approve_invoice", json!({"invoice_id": "RACE-1"}))
        .await
        .ok();
    a.await_status("RACE-1", "Approved and finalized", STEP)
        .await;
    server.books().assert_invoice("RACE-1", 2, false);
    assert_eq!(server.invoice_count().await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn racing_approve_and_reject_record_one_decision() {
    let server = DevServer::start().await;
    let _worker = WorkerProcess::start(&server);
    let a = McpSession::start(&server, &[]).await;
    let b = McpSession::start(&server, &[]).await;
    for round in 0..3 {
        let id = format!("DUEL-{round}");
        start_and_await_approval(&a, &id).await;
        let (approve, reject) = tokio::join!(
            a.call("approve_invoice", json!({"invoice_id": id})),
            b.call("reject_invoice", json!({"invoice_id": id}))
        );
        assert_ne!(
            approve.is_error, reject.is_error,
            "{approve:?} / {reject:?}"
        );
        let (winner, loser) = if approve.is_error {
            (&reject, &approve)
        } else {
            (&approve, &reject)
        };
        // The loser is told which decision stands; the winner's is the one recorded.
        let won = winner.structured.as_ref().expect("structured")["decision"]["decision"].clone();
        let past = if won == "approve" {
            "approved"
        } else {
            "rejected"
        };
        assert!(
            loser.text.contains(&format!("was already {past} by ")),
            "{loser:?}"
        );
        let approved = !approve.is_error;
        let last = if approved {
            "Approved and finalized"
        } else {
            "Rejected by approver"
        };
        a.await_status(&id, last, STEP).await;
        let recorded = a.status(&id).await.structured.expect("structured");
        assert_eq!(recorded["decision"]["decision"], won);
        server.books().assert_invoice(&id, 2, !approved);
    }
}

/// A tiny deterministic generator, so a failing soak can be rerun with its seed.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, bound: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % bound
    }
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Plan {
    Approve,
    Reject,
    Expire,
}

/// Invoices with random lines and random decisions (some left to expire) while workers are
/// killed and replaced at random. `SOAK_INVOICES` sets the count (default 24; the full soak
/// is 200), `SOAK_SEED` replays a run.
#[tokio::test(flavor = "multi_thread")]
async fn soak_random_decisions_under_random_worker_kills() {
    let count: usize =
        std::env::var("SOAK_INVOICES").map_or(24, |v| v.parse().expect("SOAK_INVOICES"));
    let seed: u64 = std::env::var("SOAK_SEED").map_or_else(
        |_| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        },
        |v| v.parse().expect("SOAK_SEED"),
    );
    eprintln!("soak: {count} invoices, SOAK_SEED={seed}");
    let mut rng = Lcg(seed);

    let server = DevServer::start().await;
    let latency = [("PAYMENT_GATEWAY_LATENCY", "50ms")];
    let mut workers = vec![
        WorkerProcess::start_with(&server, &latency),
        WorkerProcess::start_with(&server, &latency),
    ];
    let deciding = McpSession::start(&server, &[]).await;
    let expiring = McpSession::start(&server, &[("INVOICE_APPROVAL_TIMEOUT", "10s")]).await;

    struct Soaked {
        id: String,
        lines: i64,
        plan: Plan,
        decided: bool,
        done: bool,
    }
    let mut invoices = Vec::new();
    for n in 0..count {
        let plan = match rng.next(5) {
            0 | 1 => Plan::Approve,
            2 | 3 => Plan::Reject,
            _ => Plan::Expire,
        };
        let lines = 1 + rng.next(3) as i64;
        let id = format!("SOAK-{n}");
        let invoice = json!({
            "id": id,
            "lines": (1..=lines).map(|line| json!({
                "item": format!("Item {line}"),
                "amount": (1 + rng.next(1_000_000)) as f64 / 100.0,
            })).collect::<Vec<_>>(),
        });
        let session = if plan == Plan::Expire {
            &expiring
        } else {
            &deciding
        };
        session
            .call("process_invoice", json!({ "invoice_data": invoice }))
            .await
            .ok();
        invoices.push(Soaked {
            id,
            lines,
            plan,
            decided: false,
            done: false,
        });
    }

    let mut kills = 0;
    let max_kills = (count / 8).max(2);
    let mut next_kill = Instant::now() + Duration::from_secs(1);
    let deadline = Instant::now() + Duration::from_secs(300);
    while invoices.iter().any(|i| !i.done) {
        assert!(
            Instant::now() < deadline,
            "soak did not finish (seed {seed})"
        );
        for invoice in invoices.iter_mut().filter(|i| !i.done) {
            if kills < max_kills && Instant::now() >= next_kill {
                let victim = rng.next(workers.len() as u64) as usize;
                workers.swap_remove(victim).kill();
                workers.push(WorkerProcess::start_with(&server, &latency));
                kills += 1;
                next_kill = Instant::now() + Duration::from_millis(500 + rng.next(2_500));
            }
            let reply = deciding.status(&invoice.id).await;
            if reply.is_error {
                continue; // no worker for a moment: ask again later
            }
            let status = reply
                .text
                .rsplit(": ")
                .next()
                .unwrap_or_default()
                .to_owned();
            let last = match invoice.plan {
                Plan::Approve => "Approved and finalized",
                Plan::Reject => "Rejected by approver",
                Plan::Expire => "Approval timeout - invoice rejected",
            };
            if status == last {
                invoice.done = true;
            } else if status == "Awaiting approval"
                && !invoice.decided
                && invoice.plan != Plan::Expire
            {
                let tool = if invoice.plan == Plan::Approve {
                    "approve_invoice"
                } else {
                    "reject_invoice"
                };
                deciding
                    .call(tool, json!({"invoice_id": invoice.id}))
                    .await
                    .ok();
                invoice.decided = true;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let books = server.books();
    for invoice in &invoices {
        books.assert_invoice(&invoice.id, invoice.lines, invoice.plan != Plan::Approve);
    }
    let charges = books
        .entries
        .iter()
        .filter(|e| e.operation == "charge")
        .count();
    let refunds = books.entries.len() - charges;
    let expected_charges: i64 = invoices.iter().map(|i| i.lines).sum();
    assert_eq!(charges as i64, expected_charges);
    eprintln!(
        "soak: {count} invoices, {kills} worker kills (each replaced by a new worker), {charges} charges, {refunds} refunds, 0 lost (seed {seed})"
    );
}
