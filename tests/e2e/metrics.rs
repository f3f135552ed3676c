//! The worker's Prometheus endpoint, scraped after known operations: every invoice outcome,
//! decision and movement of money is counted exactly, next to the SDK's own worker metrics.

use crate::{STEP, payments::await_state, start_and_await_approval};
use harness::{DevServer, McpSession, WorkerProcess, free_port, web::http};
use serde_json::json;
use std::time::{Duration, Instant};
use workflows::InvoiceWorkflow;

/// An invoice of one line, `cents` for `item`.
fn one_line(id: &str, item: &str, cents: i64) -> serde_json::Value {
    json!({"id": id, "lines": [{"item": item, "amount": cents as f64 / 100.0}]})
}

/// The value of one sample (`name{labels}`, exactly as exposed), if the endpoint has it.
fn sample(scrape: &str, series: &str) -> Option<f64> {
    scrape
        .lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse().ok())
}

async fn scrape(addr: &str) -> String {
    let url = format!("http://{addr}/metrics");
    let (status, body) = tokio::task::spawn_blocking(move || http("GET", &url, None, &[]))
        .await
        .expect("the scrape ran");
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test(flavor = "multi_thread")]
async fn the_worker_counts_every_outcome_decision_and_movement_of_money() {
    let server = DevServer::start().await;
    let addr = format!("127.0.0.1:{}", free_port());
    let _worker = WorkerProcess::start_with(
        &server,
        &[
            ("INVOICE_METRICS_ADDR", &addr),
            ("PAYMENT_GATEWAY_DECLINE", "Declined card"),
            ("PAYMENT_GATEWAY_REFUND_DECLINE", "Stuck refund"),
        ],
    );
    let mcp = McpSession::start(&server, &[]).await;
    let expiring = McpSession::start(&server, &[("INVOICE_APPROVAL_TIMEOUT", "2s")]).await;
    let decide = |tool: &'static str, id: &'static str| {
        let mcp = &mcp;
        async move {
            mcp.call(tool, json!({"invoice_id": id})).await.ok();
        }
    };

    // Approved, rejected and still waiting: the tutorial's two lines, $7,000.00, each.
    for id in ["M-APPROVED", "M-REJECTED", "M-WAITING"] {
        start_and_await_approval(&mcp, id).await;
    }
    decide("approve_invoice", "M-APPROVED").await;
    decide("reject_invoice", "M-REJECTED").await;
    // Timed out: charged, then refunded by the deadline.
    expiring
        .call(
            "process_invoice",
            json!({"invoice_data": harness::tutorial_invoice("M-EXPIRED")}),
        )
        .await
        .ok();
    // Failed: its only line is declined, so nothing is charged or refunded.
    mcp.call(
        "process_invoice",
        json!({"invoice_data": one_line("M-FAILED", "Declined card", 1_234)}),
    )
    .await
    .ok();
    // Needs attention: charged, rejected, and its refund refused (it keeps running).
    start_and_await_approval_of(&mcp, one_line("M-STUCK", "Stuck refund", 4_321), "M-STUCK").await;
    decide("reject_invoice", "M-STUCK").await;
    // Cancelled while awaiting approval: both lines refunded.
    start_and_await_approval(&mcp, "M-CANCELLED").await;
    server
        .client()
        .await
        .get_workflow_handle::<InvoiceWorkflow>("invoice-M-CANCELLED")
        .cancel(Default::default())
        .await
        .expect("cancel");

    for (id, state) in [
        ("M-APPROVED", "approved"),
        ("M-REJECTED", "rejected"),
        ("M-EXPIRED", "timed_out"),
        ("M-FAILED", "failed"),
        ("M-CANCELLED", "cancelled"),
    ] {
        await_state(&mcp, id, state, STEP).await;
    }

    let tutorial = 700_000.0;
    let expected = [
        ("invoices_started_total", 7.0),
        ("invoices_decided_total{decision=\"approve\"}", 1.0),
        ("invoices_decided_total{decision=\"reject\"}", 2.0),
        ("invoices_finished_total{outcome=\"approved\"}", 1.0),
        ("invoices_finished_total{outcome=\"rejected\"}", 1.0),
        ("invoices_finished_total{outcome=\"timed_out\"}", 1.0),
        ("invoices_finished_total{outcome=\"failed\"}", 1.0),
        ("invoices_finished_total{outcome=\"cancelled\"}", 1.0),
        // Two lines each for the five tutorial invoices, and the stuck one's line.
        ("invoice_charges_total", 11.0),
        ("invoice_charged_cents_total", 5.0 * tutorial + 4_321.0),
        // The rejected, expired and cancelled invoices' lines; the stuck refund moved nothing.
        ("invoice_refunds_total", 6.0),
        ("invoice_refunded_cents_total", 3.0 * tutorial),
        ("invoice_decision_wait_seconds_count", 3.0),
        ("invoices_awaiting_approval", 1.0),
        ("invoices_needing_attention", 1.0),
    ];
    // The awaiting-approval gauge is refreshed from visibility every few seconds.
    let deadline = Instant::now() + STEP;
    let text = loop {
        let text = scrape(&addr).await;
        let wrong: Vec<String> = expected
            .iter()
            .filter(|(series, value)| sample(&text, series) != Some(*value))
            .map(|(series, value)| {
                format!("{series}: want {value}, have {:?}", sample(&text, series))
            })
            .collect();
        if wrong.is_empty() {
            break text;
        }
        assert!(Instant::now() < deadline, "{}\n\n{text}", wrong.join("\n"));
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    // The SDK's own worker metrics share the endpoint.
    for series in [
        "temporal_workflow_completed_total",
        "temporal_activity_execution_latency_seconds_count",
    ] {
        assert!(
            text.lines().any(|line| line.starts_with(series)),
            "no {series} in\n{text}"
        );
    }
}

/// Starts `invoice` and waits until it awaits approval.
async fn start_and_await_approval_of(mcp: &McpSession, invoice: serde_json::Value, id: &str) {
    mcp.call("process_invoice", json!({ "invoice_data": invoice }))
        .await
        .ok();
    mcp.await_status(id, "Awaiting approval", STEP).await;
}
