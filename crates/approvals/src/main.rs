//! `approvals`: the approval inbox, a small web application where a person approves or
//! rejects the invoices awaiting a decision. The model has no way in: a decision is a POST of
//! the invoice page's form, with a single-use token, and a GET never decides anything.
//!
//! Settings are flags and environment variables (`approvals --help`, and [`cli`]): where it
//! listens, and for teams the header an authenticating reverse proxy sets to the signed-in
//! person (without one, the form asks for a name). Logs go to stderr.

mod cli;
mod pages;
mod tokens;

use anyhow::Context;
use axum::{
    Router,
    extract::{Form, Path, State},
    http::{HeaderMap, StatusCode, header::HeaderName},
    response::{Html, IntoResponse, Response},
    routing::get,
};
use clap::Parser;
use invoices::{
    Decided, Delivery, InvoiceOpError, Invoices, RefundsAnswer, StartPolicy, view::InvoiceList,
};
use pages::Banner;
use serde::Deserialize;
use std::{sync::Arc, time::SystemTime};
use tokens::Tokens;
use workflows::{Decision, DecisionRequest, InvoiceState, Signature, refunds::SettlementRequest};

/// The channel decisions taken here are recorded as coming through.
const VIA: &str = "inbox";
/// How many invoices a page lists.
const LISTED: usize = 50;

struct App {
    invoices: Invoices,
    tokens: Tokens,
    /// The header an authenticating proxy puts the signed-in person in, if one is trusted.
    identity_header: Option<HeaderName>,
    /// The names this inbox answers to when it listens on loopback (`127.0.0.1:8234`,
    /// `localhost:8234`): a page reached under another name (DNS rebinding) gets nothing.
    loopback_hosts: Option<Vec<String>>,
}

type Shared = Arc<App>;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Before anything else: `--help`, `--version` and a bad flag end here (exit 0 or 2).
    let cli = cli::Cli::parse();
    logs::init(&cli.logs);
    let stop = shutdown::StopSignal::install();
    let addr = cli.inbox_addr;
    let settings = connection::Settings::load("approvals", &cli.temporal)?;
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener.local_addr()?;
    let loopback_hosts = local.ip().is_loopback().then(|| {
        let port = local.port();
        vec![
            format!("127.0.0.1:{port}"),
            format!("localhost:{port}"),
            format!("[::1]:{port}"),
        ]
    });
    let app = Arc::new(App {
        // The inbox starts no invoice: the start policy is never used.
        invoices: Invoices::new(settings.clone(), StartPolicy::default()),
        tokens: Tokens::default(),
        identity_header: cli.inbox_identity_header,
        loopback_hosts,
    });
    tracing::info!(
        "Approval inbox ready at http://{} (Temporal {}, namespace {})",
        listener.local_addr()?,
        settings.address(),
        settings.namespace()
    );
    axum::serve(listener, router(app))
        .with_graceful_shutdown(async move { stop.requested().await })
        .await?;
    Ok(())
}

fn router(app: Shared) -> Router {
    Router::new()
        .route("/", get(inbox))
        .route("/invoices/{id}", get(invoice))
        .route(
            "/invoices/{id}/decision",
            get(no_decision_by_get).post(decide),
        )
        .route(
            "/invoices/{id}/refunds/retry",
            get(no_decision_by_get).post(retry_refunds),
        )
        .route(
            "/invoices/{id}/refunds/settle",
            get(no_decision_by_get).post(settle_refund),
        )
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            same_origin,
        ))
        .with_state(app)
}

/// Every request must name this inbox as its host (when it listens on loopback), and a POST
/// must come from this inbox's own pages: a page elsewhere cannot post a form here, even with
/// a token it got hold of.
async fn same_origin(
    State(app): State<Shared>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let headers = request.headers();
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|host| host.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    if let Some(allowed) = &app.loopback_hosts
        && !allowed.iter().any(|name| name.eq_ignore_ascii_case(&host))
    {
        let why = format!(
            "Nothing was done: this inbox answers only as {}.",
            allowed.join(" or ")
        );
        return (
            StatusCode::MISDIRECTED_REQUEST,
            Html(pages::refusal("Wrong address", &why, None)),
        )
            .into_response();
    }
    if request.method() == axum::http::Method::POST {
        let origin = headers
            .get(axum::http::header::ORIGIN)
            .and_then(|origin| origin.to_str().ok());
        let site = headers
            .get("sec-fetch-site")
            .and_then(|site| site.to_str().ok());
        let foreign_origin = origin.is_some_and(|origin| {
            !origin.eq_ignore_ascii_case(&format!("http://{host}"))
                && !origin.eq_ignore_ascii_case(&format!("https://{host}"))
        });
        let foreign_site = site.is_some_and(|site| site != "same-origin" && site != "none");
        if foreign_origin || foreign_site {
            return (
                StatusCode::FORBIDDEN,
                Html(pages::refusal(
                    "Nothing was decided",
                    "Nothing was decided: the form was posted from another site.",
                    None,
                )),
            )
                .into_response();
        }
    }
    next.run(request).await
}

async fn inbox(State(app): State<Shared>) -> Response {
    let (pending, recent) = tokio::join!(
        app.invoices
            .list(Some(InvoiceState::AwaitingApproval), LISTED, None),
        app.invoices.list(None, LISTED, None)
    );
    match pending {
        Ok(pending) => {
            let recent = recent.unwrap_or_else(|_| InvoiceList {
                state: None,
                invoices: Vec::new(),
                next_cursor: None,
            });
            Html(pages::inbox(&pending, &recent, SystemTime::now())).into_response()
        }
        Err(error) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Html(pages::refusal("Inbox", &error.to_string(), None)),
        )
            .into_response(),
    }
}

async fn invoice(
    State(app): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    render_invoice(&app, &id, &headers, StatusCode::OK, None).await
}

/// The invoice page, with a fresh form while the invoice awaits a decision.
async fn render_invoice(
    app: &App,
    id: &str,
    headers: &HeaderMap,
    status: StatusCode,
    banner: Option<Banner>,
) -> Response {
    let (view, story) = tokio::join!(app.invoices.details(id), app.invoices.story(id));
    if let Err(error @ (InvoiceOpError::Unknown(_) | InvoiceOpError::InvalidId(_))) = &view {
        return (
            StatusCode::NOT_FOUND,
            Html(pages::refusal("Not found", &error.to_string(), None)),
        )
            .into_response();
    }
    let no_worker = "No worker is running, so the invoice's status cannot be read right now. \
         A decision made here is kept and applied when a worker returns, unless the invoice \
         refuses it then (decided before, deadline passed, or separation of duties): this page \
         says which once a worker has run it.";
    // What the page offers: a decision while the invoice awaits one, the refund forms while
    // refunds fail.
    enum Offer {
        Nothing,
        Decision,
        Refunds,
    }
    let (offer, problem) = match &view {
        Ok(view) if view.state == InvoiceState::AwaitingApproval => (Offer::Decision, None),
        Ok(view) if !view.failing_refunds.is_empty() => (Offer::Refunds, None),
        Ok(_) => (Offer::Nothing, None),
        Err(InvoiceOpError::NoWorker { .. }) => (Offer::Decision, Some(no_worker.to_owned())),
        Err(error) => (Offer::Nothing, Some(error.to_string())),
    };
    let identity = identity(app, headers);
    // Behind a proxy that signs people in, but nobody is signed in: no form to offer.
    let signed_out = app.identity_header.is_some() && identity.is_none();
    let form = || pages::Form {
        token: app.tokens.issue(id),
        identity: identity.clone(),
    };
    let actions = match offer {
        _ if signed_out => None,
        Offer::Nothing => None,
        Offer::Decision => Some(pages::Actions::Decide(form())),
        Offer::Refunds => Some(pages::Actions::Refunds {
            retry: form(),
            settle: form(),
        }),
    };
    let story = story.unwrap_or_default();
    let page = match (&view, &problem) {
        (Ok(view), _) => pages::invoice(id, Ok(view), &story, actions.as_ref(), banner.as_ref()),
        (Err(_), Some(problem)) => {
            pages::invoice(id, Err(problem), &story, actions.as_ref(), banner.as_ref())
        }
        (Err(error), None) => pages::refusal("Error", &error.to_string(), None),
    };
    (status, Html(page)).into_response()
}

/// The person signed in through the trusted proxy, if one is configured and says so.
fn identity(app: &App, headers: &HeaderMap) -> Option<String> {
    let header = app.identity_header.as_ref()?;
    // Exactly one: a proxy that appends rather than replaces would leave the client's own.
    let mut values = headers.get_all(header).iter();
    let value = values.next()?.to_str().ok()?.trim();
    if values.next().is_some() {
        return None;
    }
    (!value.is_empty()).then(|| value.to_owned())
}

/// What the decision form posts.
#[derive(Deserialize)]
struct DecisionForm {
    token: Option<String>,
    decision: Option<String>,
    by: Option<String>,
    reason: Option<String>,
}

async fn decide(
    State(app): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<DecisionForm>,
) -> Response {
    let refuse = |status: StatusCode, why: &str| refused(status, "Nothing was decided", why, &id);
    // The token first: without one this inbox handed out for this invoice, nothing else is
    // even looked at.
    if let Some(refused) = spent_token(&app, &id, form.token.as_deref(), "Nothing was decided") {
        return refused;
    }
    let Some(decision) = form.decision.as_deref().and_then(Decision::parse) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "choose Approve or Reject and refund.",
        );
    };
    let by = match who(&app, &headers, form.by.as_deref()) {
        Ok(by) => by,
        Err((status, why)) => return refuse(status, &why),
    };
    let reason = form
        .reason
        .map(|reason| reason.trim().to_owned())
        .filter(|reason| !reason.is_empty());
    let request = DecisionRequest {
        decision,
        signature: Signature {
            by,
            reason,
            via: VIA.to_owned(),
        },
    };
    match app.invoices.decide(&id, request).await {
        Ok(Decided { view, how }) => {
            let said = match (how, &view.decision) {
                // Not taken yet: never "recorded" until the workflow has judged it.
                (Delivery::Pending, _) => "No worker is running: the decision is kept, and \
                     applied when a worker returns unless the invoice refuses it then; this \
                     page says which once it is known."
                    .to_owned(),
                (_, Some(record)) => format!("{}.", record.sentence()),
                (_, None) => "The decision was sent to the invoice.".to_owned(),
            };
            let banner = Banner::Done(format!("{said} Status: {}", view.status));
            render_invoice(&app, &id, &headers, StatusCode::OK, Some(banner)).await
        }
        Err(InvoiceOpError::DecisionRefused { reason, .. }) => {
            let banner = Banner::Refused(format!("Nothing was decided: {reason}."));
            render_invoice(&app, &id, &headers, StatusCode::CONFLICT, Some(banner)).await
        }
        Err(error) => {
            let banner = Banner::Refused(format!("Nothing was decided: {error}"));
            let status = match error {
                InvoiceOpError::Closed { .. } => StatusCode::CONFLICT,
                _ => StatusCode::SERVICE_UNAVAILABLE,
            };
            render_invoice(&app, &id, &headers, status, Some(banner)).await
        }
    }
}

/// Who acts: the signed-in person when a proxy signs people in, else the name typed in the
/// form. The error is the status and why, for the refusal page.
fn who(
    app: &App,
    headers: &HeaderMap,
    typed: Option<&str>,
) -> Result<String, (StatusCode, String)> {
    match (&app.identity_header, identity(app, headers)) {
        (Some(_), Some(person)) => Ok(person),
        (Some(header), None) => Err((
            StatusCode::UNAUTHORIZED,
            format!("the sign-in proxy did not say who you are (no {header} header)."),
        )),
        (None, _) => match typed.map(str::trim) {
            Some(name) if !name.is_empty() => Ok(name.to_owned()),
            _ => Err((
                StatusCode::BAD_REQUEST,
                "say who you are: your name.".to_owned(),
            )),
        },
    }
}

/// What the refund forms post.
#[derive(Deserialize)]
struct RefundsForm {
    token: Option<String>,
    line: Option<String>,
    by: Option<String>,
    reason: Option<String>,
}

/// "Retry the refunds now".
async fn retry_refunds(
    State(app): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<RefundsForm>,
) -> Response {
    if let Some(refused) = spent_token(&app, &id, form.token.as_deref(), "Nothing was done") {
        return refused;
    }
    let answer = app.invoices.retry_refunds(&id).await;
    refunds_answer(&app, &id, &headers, answer, "Retried").await
}

/// "Settle by hand": a line whose refund keeps failing, with who and how.
async fn settle_refund(
    State(app): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<RefundsForm>,
) -> Response {
    if let Some(refused) = spent_token(&app, &id, form.token.as_deref(), "Nothing was settled") {
        return refused;
    }
    let refuse = |status: StatusCode, why: &str| refused(status, "Nothing was settled", why, &id);
    let Some(line_number) = form
        .line
        .as_deref()
        .and_then(|line| line.trim().parse().ok())
    else {
        return refuse(StatusCode::BAD_REQUEST, "choose the line you settled.");
    };
    let by = match who(&app, &headers, form.by.as_deref()) {
        Ok(by) => by,
        Err((status, why)) => return refuse(status, &why),
    };
    let request = SettlementRequest {
        line_number,
        by,
        reason: form.reason.unwrap_or_default().trim().to_owned(),
        via: VIA.to_owned(),
    };
    let answer = app.invoices.settle_refund(&id, request).await;
    refunds_answer(&app, &id, &headers, answer, "Settled").await
}

/// Takes the token of a form of `invoice_id`'s page, once; answers the refusal page (headed
/// `nothing`, such as "Nothing was decided") when it is not valid.
fn spent_token(
    app: &App,
    invoice_id: &str,
    token: Option<&str>,
    nothing: &str,
) -> Option<Response> {
    if app.tokens.redeem(token.unwrap_or_default(), invoice_id) {
        return None;
    }
    let why = "this form is not valid here (it was used already, it expired, or it did not come \
               from this inbox's page for this invoice). Open the invoice again.";
    Some(refused(StatusCode::FORBIDDEN, nothing, why, invoice_id))
}

/// A page that says why nothing happened ("Nothing was decided: ..."), with a way back to the
/// invoice.
fn refused(status: StatusCode, nothing: &str, why: &str, invoice_id: &str) -> Response {
    let back = format!("/invoices/{invoice_id}");
    let text = format!("{nothing}: {why}");
    (status, Html(pages::refusal(nothing, &text, Some(&back)))).into_response()
}

/// The invoice page again, with what became of a request about its refunds.
async fn refunds_answer(
    app: &App,
    id: &str,
    headers: &HeaderMap,
    answer: Result<RefundsAnswer, InvoiceOpError>,
    done: &str,
) -> Response {
    let (status, banner) = match answer {
        Ok(RefundsAnswer::Done(outcome)) if outcome.failing_refunds.is_empty() => (
            StatusCode::OK,
            Banner::Done(format!(
                "{done}: no refund is failing any more. Status: {}",
                outcome.status
            )),
        ),
        Ok(RefundsAnswer::Done(outcome)) => {
            let failing: Vec<String> =
                outcome.failing_refunds.iter().map(|f| f.sentence()).collect();
            (
                StatusCode::OK,
                Banner::Refused(format!(
                    "{done}, but {} refund(s) still fail: {}. Status: {}",
                    failing.len(),
                    failing.join("; "),
                    outcome.status
                )),
            )
        }
        Ok(RefundsAnswer::UnderWay) => (
            StatusCode::ACCEPTED,
            Banner::Done(
                "Under way: a refund is being retried; this page shows the outcome once it is known."
                    .to_owned(),
            ),
        ),
        Ok(RefundsAnswer::Kept) => (
            StatusCode::ACCEPTED,
            Banner::Done(
                "No worker is running: the request is kept, and applied when a worker returns \
                 unless the invoice refuses it then."
                    .to_owned(),
            ),
        ),
        Err(error) => (
            StatusCode::CONFLICT,
            Banner::Refused(format!("Nothing was done: {error}")),
        ),
    };
    render_invoice(app, id, headers, status, Some(banner)).await
}

async fn no_decision_by_get(Path(id): Path<String>) -> Response {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        Html(pages::refusal(
            "Nothing was decided",
            "Nothing was decided: a decision is made only with the invoice page's form (a POST \
             with its token), never by opening a link.",
            Some(&format!("/invoices/{id}")),
        )),
    )
        .into_response()
}

async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Html(pages::refusal(
            "Not found",
            "There is no such page. The inbox is at /, each invoice at /invoices/<id>.",
            None,
        )),
    )
        .into_response()
}
