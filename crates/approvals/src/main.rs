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
use invoices::{Decided, InvoiceOpError, Invoices, StartPolicy, view::InvoiceList};
use pages::Banner;
use serde::Deserialize;
use std::{sync::Arc, time::SystemTime};
use tokens::Tokens;
use workflows::{Decision, DecisionRequest, InvoiceState, Signature};

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
        .with_graceful_shutdown(stop_requested())
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
         A decision made here is kept and applied when a worker returns, unless the invoice was \
         decided before or its deadline has passed by then.";
    let (open, problem) = match &view {
        Ok(view) => (view.state == InvoiceState::AwaitingApproval, None),
        Err(InvoiceOpError::NoWorker { .. }) => (true, Some(no_worker.to_owned())),
        Err(error) => (false, Some(error.to_string())),
    };
    let identity = identity(app, headers);
    let form = match (open, &app.identity_header, identity) {
        (false, _, _) => None,
        // Behind a proxy that signs people in, but nobody is signed in: no form to offer.
        (true, Some(_), None) => None,
        (true, _, identity) => Some(pages::Form {
            token: app.tokens.issue(id),
            identity,
        }),
    };
    let story = story.unwrap_or_default();
    let page = match (&view, &problem) {
        (Ok(view), _) => pages::invoice(id, Ok(view), &story, form.as_ref(), banner.as_ref()),
        (Err(_), Some(problem)) => {
            pages::invoice(id, Err(problem), &story, form.as_ref(), banner.as_ref())
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
    let back = format!("/invoices/{id}");
    let refuse = |status: StatusCode, why: &str| {
        (
            status,
            Html(pages::refusal(
                "Nothing was decided",
                &format!("Nothing was decided: {why}"),
                Some(&back),
            )),
        )
            .into_response()
    };
    // The token first: without one this inbox handed out for this invoice, nothing else is
    // even looked at.
    let token = form.token.as_deref().unwrap_or_default();
    if !app.tokens.redeem(token, &id) {
        return refuse(
            StatusCode::FORBIDDEN,
            "this form is not valid here (it was used already, it expired, or it did not come \
             from this inbox's page for this invoice). Open the invoice again to decide.",
        );
    }
    let decision = match form.decision.as_deref() {
        Some("approve") => Decision::Approve,
        Some("reject") => Decision::Reject,
        _ => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "choose Approve or Reject and refund.",
            );
        }
    };
    let by = match (&app.identity_header, identity(&app, &headers)) {
        (Some(_), Some(person)) => person,
        (Some(header), None) => {
            return refuse(
                StatusCode::UNAUTHORIZED,
                &format!("the sign-in proxy did not say who you are (no {header} header)."),
            );
        }
        (None, _) => match form.by.as_deref().map(str::trim) {
            Some(name) if !name.is_empty() => name.to_owned(),
            _ => return refuse(StatusCode::BAD_REQUEST, "say who you are: your name."),
        },
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
        Ok(Decided { view, .. }) => {
            let said = view.decision.as_ref().map_or_else(
                || "The decision is recorded.".to_owned(),
                |record| format!("{}.", record.sentence()),
            );
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

/// Resolves on Ctrl-C or SIGTERM.
async fn stop_requested() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut terminate = signal(SignalKind::terminate()).expect("the SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}
