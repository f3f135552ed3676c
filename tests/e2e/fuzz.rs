//! Arbitrary JSON thrown at every tool's arguments and at the invoice, against a real dev
//! server and worker: every request must be answered within its bound, and the server must
//! still serve afterwards. A fixed seed in CI (`FUZZ_SEED` to change it); `just fuzz` runs
//! many more cases (`FUZZ_CASES`).

use crate::protocol::RawSession;
use harness::{DevServer, TOOL_NAMES, WorkerProcess};
use proptest::{
    prelude::*,
    sample::select,
    test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner},
};
use serde_json::{Map, Value, json};
use std::cell::RefCell;

/// Cases per run unless `FUZZ_CASES` says otherwise: enough to cover every shape in CI.
const DEFAULT_CASES: u32 = 64;
/// The seed CI uses, so that a failure there reproduces here.
const DEFAULT_SEED: u64 = 20_261_201;

/// Any JSON value, with the names and shapes the tools look for mixed in.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("JSON numbers are finite", |f| f.is_finite())
            .prop_map(Value::from),
        prop_oneof![Just(1e300), Just(-0.0), Just(0.005), Just(1_000_000_000.01)]
            .prop_map(Value::from),
        "\\PC{0,24}".prop_map(Value::from),
        "(INV|FUZZ)-[0-9]{1,2}".prop_map(Value::from),
        select(vec![
            "awaiting_approval",
            "needs_attention",
            "approve",
            "",
            " ",
            "../x",
            "ff",
        ])
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::from),
            prop::collection::vec((field_name(), inner), 0..6)
                .prop_map(|fields| Value::Object(fields.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        select(vec![
            "id",
            "lines",
            "item",
            "amount",
            "description",
            "invoice_id",
            "invoice_data",
            "reason",
            "state",
            "page_size",
            "cursor",
            "approval_timeout_seconds",
            "payment_retry_limit_seconds",
        ])
        .prop_map(str::to_owned),
        "[a-z_]{1,10}",
    ]
}

/// Something shaped like an invoice, with anything in its fields.
fn invoice_like() -> impl Strategy<Value = Value> {
    let line = (any_json(), any_json(), any_json(), any_json()).prop_map(
        |(item, amount, description, extra)| {
            json!({"item": item, "amount": amount, "description": description, "note": extra})
        },
    );
    prop_oneof![
        any_json(),
        (
            "(INV|FUZZ)-[0-9]{1,2}",
            prop::collection::vec(line, 0..4),
            any_json()
        )
            .prop_map(|(id, lines, extra)| {
                json!({"id": id, "lines": lines, "approval_timeout_seconds": extra})
            }),
        // Well-formed, so that some of them really start.
        ("FUZZ-[0-9]{1,2}", 1..500_000i64).prop_map(|(id, cents)| {
            json!({"id": id, "lines": [{"item": "Fuzz", "amount": cents as f64 / 100.0}]})
        }),
    ]
}

/// A tool and its arguments: shaped like what the tool expects, or anything at all.
fn tool_call() -> impl Strategy<Value = (String, Value)> {
    let tool = select(TOOL_NAMES.to_vec()).prop_map(str::to_owned);
    prop_oneof![
        (tool, any_json()),
        invoice_like().prop_map(|invoice| {
            (
                "process_invoice".to_owned(),
                json!({"invoice_data": invoice}),
            )
        }),
        (
            select(vec![
                "approve_invoice",
                "reject_invoice",
                "get_invoice_status"
            ]),
            any_json(),
            any_json()
        )
            .prop_map(|(tool, id, reason)| {
                (tool.to_owned(), json!({"invoice_id": id, "reason": reason}))
            }),
        (any_json(), any_json(), any_json()).prop_map(|(state, page_size, cursor)| {
            (
                "list_invoices".to_owned(),
                json!({"state": state, "page_size": page_size, "cursor": cursor}),
            )
        }),
    ]
}

fn env_number<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(default)
}

#[tokio::test(flavor = "multi_thread")]
async fn arbitrary_tool_arguments_always_get_an_answer() {
    let server = DevServer::start().await;
    let _worker = WorkerProcess::start(&server);
    let (address, namespace) = (server.address.clone(), server.namespace.clone());
    let cases = env_number("FUZZ_CASES", DEFAULT_CASES);
    let seed = env_number("FUZZ_SEED", DEFAULT_SEED);
    eprintln!("fuzz: {cases} cases, FUZZ_SEED={seed}");

    // The requests are synchronous (one line out, one line back): off the async threads.
    tokio::task::spawn_blocking(move || {
        let session = RefCell::new(RawSession::start_with_temporal(&address, &namespace));
        let mut seed_bytes = [0u8; 32];
        seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
        let config = Config {
            cases,
            failure_persistence: None,
            ..Config::default()
        };
        let mut runner = TestRunner::new_with_rng(
            config,
            TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes),
        );
        let outcome = runner.run(&tool_call(), |(tool, arguments)| {
            let mut session = session.borrow_mut();
            let request = json!({"name": tool, "arguments": arguments});
            // `request` waits at most 10 s for the answer, and panics without one.
            let reply = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                session.request("tools/call", request.clone())
            }))
            .map_err(|_| TestCaseError::fail(format!("no answer to {request}")))?;
            let answered = reply["result"]["content"].is_array() || reply["error"].is_object();
            prop_assert!(answered, "{request} got {reply}");
            Ok(())
        });
        if let Err(error) = outcome {
            panic!("FUZZ_SEED={seed}: {error}");
        }
        session.borrow_mut().assert_alive();
    })
    .await
    .expect("the fuzz run");
}
