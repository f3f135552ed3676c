//! The approval inbox in a real browser (Debian's headless Chromium through ChromeDriver),
//! against a real dev server and worker: list, open, approve with a name and a reason, reject,
//! a refused second decision, an expired invoice, a page while the worker is down; and what
//! no browser sends: GETs, POSTs without a valid token, a submitter approving their own.

use crate::{STEP, start_and_await_approval};
use harness::{
    DevServer, McpSession, WorkerProcess,
    web::{Browser, InboxProcess, form_token, http},
};
use serde_json::json;

/// With `RECORD_SCREENSHOTS=1`, the browser's view is saved as `docs/<name>.png`.
async fn screenshot(browser: &Browser, name: &str) {
    if std::env::var_os("RECORD_SCREENSHOTS").is_none() {
        return;
    }
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("docs")
        .join(format!("{name}.png"));
    std::fs::write(&path, browser.screenshot().await).expect("write the screenshot");
    eprintln!("recorded {}", path.display());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_person_lists_opens_approves_and_rejects_in_the_browser() {
    let server = DevServer::start().await;
    let _worker = WorkerProcess::start(&server);
    // The agent submits as sam; ana decides in the inbox.
    let mcp = McpSession::start(&server, &[("INVOICE_APPROVER", "sam")]).await;
    for id in ["WEB-1", "WEB-2", "WEB-3"] {
        start_and_await_approval(&mcp, id).await;
    }
    let inbox = InboxProcess::start(&server, &[]);
    let browser = Browser::start().await;

    // The list: newest first, with totals and time left.
    let list = browser.open(&inbox.url).await;
    assert!(list.contains("Awaiting your decision"), "{list}");
    let positions: Vec<usize> = ["WEB-3", "WEB-2", "WEB-1"]
        .iter()
        .map(|id| {
            list.find(id)
                .unwrap_or_else(|| panic!("{id} not listed: {list}"))
        })
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{list}");
    assert!(
        list.contains("$7,000.00") && list.contains("4 days 23 hours"),
        "{list}"
    );
    screenshot(&browser, "approval-inbox").await;

    // Open one, approve it with a name and a reason.
    let page = browser.follow("WEB-1").await;
    assert!(
        page.contains("Web Development") && page.contains("Design Services"),
        "{page}"
    );
    browser.fill("by", "ana").await;
    browser.fill("reason", "matches the purchase order").await;
    let done = browser.click("approve").await;
    assert!(
        done.contains("Approved by ana via inbox at ")
            && done.contains(": matches the purchase order.")
            && done.contains("Status: Approved and finalized"),
        "{done}"
    );
    assert!(
        !browser.has("approve").await,
        "a decided invoice offers no form"
    );
    screenshot(&browser, "approval-inbox-decided").await;
    let status = mcp.status("WEB-1").await.structured.unwrap();
    assert_eq!(status["decision"]["by"], "ana");
    assert_eq!(status["decision"]["via"], "inbox");

    // Reject another.
    browser.open(&format!("{}/invoices/WEB-2", inbox.url)).await;
    browser.fill("by", "ana").await;
    let rejected = browser.click("reject").await;
    assert!(rejected.contains("Rejected by ana via inbox"), "{rejected}");
    mcp.await_status("WEB-2", "Rejected by approver", STEP)
        .await;
    server.books().assert_invoice("WEB-2", 2, true);

    // A second decision: the page's form was loaded, then someone else decided first.
    browser.open(&format!("{}/invoices/WEB-3", inbox.url)).await;
    mcp.call("reject_invoice", json!({"invoice_id": "WEB-3"}))
        .await
        .ok();
    browser.fill("by", "ana").await;
    let refused = browser.click("approve").await;
    assert!(
        refused.contains("Nothing was decided: the invoice was already rejected by sam via rmcp"),
        "{refused}"
    );
    mcp.await_status("WEB-3", "Rejected by approver", STEP)
        .await;

    // Decided invoices show who decided, in the list too.
    let list = browser.open(&inbox.url).await;
    assert!(list.contains("Lately decided or finished"), "{list}");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_inbox_says_the_right_thing_for_an_expired_invoice_and_a_missing_worker() {
    let server = DevServer::start().await;
    let worker = WorkerProcess::start(&server);
    let mcp = McpSession::start(&server, &[("INVOICE_APPROVAL_TIMEOUT", "3s")]).await;
    start_and_await_approval(&mcp, "OLD-1").await;
    mcp.await_status("OLD-1", "Approval timeout - invoice rejected", STEP)
        .await;
    let patient = McpSession::start(&server, &[]).await;
    start_and_await_approval(&patient, "DOWN-1").await;
    let inbox = InboxProcess::start(&server, &[]);
    let browser = Browser::start().await;

    let expired = browser.open(&format!("{}/invoices/OLD-1", inbox.url)).await;
    assert!(
        expired.contains("timed_out") && expired.contains("Approval timeout - invoice rejected"),
        "{expired}"
    );
    assert!(
        !browser.has("approve").await,
        "an expired invoice offers no form"
    );

    worker.kill();
    let down = browser
        .open(&format!("{}/invoices/DOWN-1", inbox.url))
        .await;
    assert!(
        down.contains("No worker is running") && down.contains("applied when a worker returns"),
        "{down}"
    );
    // The decision is still taken, and applied once a worker runs again.
    browser.fill("by", "ana").await;
    let kept = browser.click("approve").await;
    // Kept, never said to be recorded before the workflow has judged it.
    assert!(
        kept.contains("the decision is kept, and applied when a worker returns"),
        "{kept}"
    );
    assert!(!kept.contains("recorded."), "{kept}");
    let _back = WorkerProcess::start(&server);
    patient
        .await_status("DOWN-1", "Approved and finalized", STEP)
        .await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn only_a_post_with_a_valid_token_by_someone_else_than_the_submitter_decides() {
    let server = DevServer::start().await;
    let _worker = WorkerProcess::start(&server);
    let mcp = McpSession::start(
        &server,
        &[
            ("INVOICE_APPROVER", "sam"),
            ("INVOICE_SEPARATION_OF_DUTIES", "on"),
        ],
    )
    .await;
    start_and_await_approval(&mcp, "SOD-1").await;
    let inbox = InboxProcess::start(&server, &[]);
    let page_url = format!("{}/invoices/SOD-1", inbox.url);
    let decision_url = format!("{page_url}/decision");
    let session = &mcp;
    let waiting = |reply: String| async move {
        let status = session.status("SOD-1").await.text;
        assert_eq!(status, "Invoice SOD-1 status: Awaiting approval", "{reply}");
    };

    // A link a model could visit: nothing happens, and the page says why.
    let (status, body) = http("GET", &decision_url, None, &[]);
    assert_eq!(status, 405, "{body}");
    assert!(body.contains("never by opening a link"), "{body}");
    waiting(body).await;
    let (status, body) = http(
        "GET",
        &format!("{page_url}?decision=approve&by=ana"),
        None,
        &[],
    );
    assert_eq!(status, 200);
    waiting(body).await;

    // A POST without a token, or with one made up, or used twice.
    for form in [
        "decision=approve&by=ana".to_owned(),
        "decision=approve&by=ana&token=0123456789abcdef".to_owned(),
    ] {
        let (status, body) = http("POST", &decision_url, Some(&form), &[]);
        assert_eq!(status, 403, "{body}");
        assert!(body.contains("this form is not valid here"), "{body}");
        waiting(body).await;
    }

    // The page's form, posted with `fields` (and `headers`): what a browser would send.
    let post = |token: &str, fields: &str, headers: &[(&str, &str)]| {
        http(
            "POST",
            &decision_url,
            Some(&format!("token={token}&{fields}")),
            headers,
        )
    };
    let fresh_token = || {
        let (_, page) = http("GET", &page_url, None, &[]);
        form_token(&page).expect("a form on the page")
    };

    // The submitter approving their own invoice: refused by the workflow.
    let token = fresh_token();
    let (status, body) = post(&token, "decision=approve&by=sam", &[]);
    assert_eq!(status, 409, "{body}");
    assert!(
        body.contains("sam submitted this invoice and cannot approve it too"),
        "{body}"
    );
    waiting(body).await;
    // ...also through the MCP tool, where sam is the approver.
    let own = mcp
        .call("approve_invoice", json!({"invoice_id": "SOD-1"}))
        .await
        .err();
    assert!(own.contains("cannot approve it too"), "{own}");
    // The token of that attempt is spent.
    let (status, _) = post(&token, "decision=approve&by=ana", &[]);
    assert_eq!(status, 403);

    // A page reached under another name (DNS rebinding), and a form posted from another
    // site: nothing happens.
    let port = inbox.url.rsplit(':').next().unwrap();
    let (status, _) = http(
        "GET",
        &page_url,
        None,
        &[("Host", &format!("evil.example:{port}"))],
    );
    assert_eq!(status, 421);
    let (status, body) = post(
        &fresh_token(),
        "decision=approve&by=ana",
        &[("Origin", "http://evil.example")],
    );
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("posted from another site"), "{body}");
    waiting(body).await;

    // Someone else, with a fresh form: decided.
    let (status, body) = post(&fresh_token(), "decision=approve&by=ana&reason=ok", &[]);
    assert_eq!(status, 200, "{body}");
    mcp.await_status("SOD-1", "Approved and finalized", STEP)
        .await;
    server.books().assert_invoice("SOD-1", 2, false);
}

#[tokio::test(flavor = "multi_thread")]
async fn behind_a_signing_in_proxy_the_identity_comes_from_its_header() {
    let server = DevServer::start().await;
    let _worker = WorkerProcess::start(&server);
    let mcp = McpSession::start(&server, &[]).await;
    start_and_await_approval(&mcp, "SSO-1").await;
    let inbox = InboxProcess::start(
        &server,
        &[("INVOICE_INBOX_IDENTITY_HEADER", "X-Forwarded-User")],
    );
    let page_url = format!("{}/invoices/SSO-1", inbox.url);
    let signed_in = [("X-Forwarded-User", "lee@example.com")];

    // Not signed in: no form to use.
    let (_, page) = http("GET", &page_url, None, &[]);
    assert!(form_token(&page).is_none(), "{page}");
    let (_, page) = http("GET", &page_url, None, &signed_in);
    assert!(
        page.contains("You decide as <strong>lee@example.com</strong>"),
        "{page}"
    );
    let token = form_token(&page).expect("a form");
    // A name typed into the form is not who decides: the proxy's header is.
    let (status, body) = http(
        "POST",
        &format!("{page_url}/decision"),
        Some(&format!("token={token}&decision=reject&by=mallory")),
        &signed_in,
    );
    assert_eq!(status, 200, "{body}");
    let decided = mcp.status("SSO-1").await.structured.unwrap();
    assert_eq!(decided["decision"]["by"], "lee@example.com");
    mcp.await_status("SSO-1", "Rejected by approver", STEP)
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_submitter_cannot_approve_even_before_the_invoice_first_runs() {
    let server = DevServer::start().await;
    let mcp = McpSession::start(
        &server,
        &[
            ("INVOICE_APPROVER", "sam"),
            ("INVOICE_SEPARATION_OF_DUTIES", "on"),
        ],
    )
    .await;
    // No worker yet: the invoice has not run a single step when sam's approval arrives, so
    // the workflow meets it in its very first task.
    mcp.call(
        "process_invoice",
        json!({"invoice_data": harness::tutorial_invoice("SOD-2")}),
    )
    .await
    .ok();
    let sent = mcp
        .call("approve_invoice", json!({"invoice_id": "SOD-2"}))
        .await
        .ok();
    assert!(sent.contains("No worker is running"), "{sent}");

    let _worker = WorkerProcess::start(&server);
    mcp.await_status("SOD-2", "Awaiting approval", STEP).await;
    let status = mcp.status("SOD-2").await.structured.unwrap();
    assert_eq!(status["decision"], serde_json::Value::Null, "{status}");
    server.books().assert_invoice("SOD-2", 2, false);
}
