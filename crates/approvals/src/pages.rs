//! The inbox's pages, rendered on the server as plain HTML: no script, nothing to build.
//! Every text that came from outside (invoice fields, names, reasons) is escaped.

use invoices::view::{InvoiceList, InvoiceListEntry, InvoiceView};
use std::time::SystemTime;
use workflows::{
    Decision, InvoiceState,
    money::{self, format_amount},
};

/// A form of one invoice's page.
pub struct Form {
    /// The single-use token the POST must carry.
    pub token: String,
    /// Who acts, when an authenticating proxy says so; otherwise the form asks.
    pub identity: Option<String>,
}

/// What a person can do on an invoice's page now.
pub enum Actions {
    /// It awaits a decision: approve or reject.
    Decide(Form),
    /// Refunds keep failing: retry them now, or settle a line by hand.
    Refunds { retry: Form, settle: Form },
}

/// A sentence at the top of a page: what just happened, or why nothing did.
pub enum Banner {
    Done(String),
    Refused(String),
}

const STYLE: &str = "
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:0;background:#f6f7f9;color:#1d2330}
header{background:#1d2330;color:#fff;padding:14px 28px;display:flex;gap:18px;align-items:baseline}
header a{color:#fff;text-decoration:none;font-weight:600;font-size:18px}
header span{color:#aab3c5;font-size:14px}
main{max-width:960px;margin:24px auto;padding:0 20px}
h1{font-size:22px;margin:8px 0 16px}
h2{font-size:17px;margin:28px 0 10px}
table{width:100%;border-collapse:collapse;background:#fff;border:1px solid #dde1e8;border-radius:6px}
th,td{text-align:left;padding:9px 12px;border-bottom:1px solid #eceff3;font-size:14px;vertical-align:top}
th{background:#f0f2f5;font-weight:600}
td.money,th.money{text-align:right;font-variant-numeric:tabular-nums}
.state{display:inline-block;padding:2px 8px;border-radius:10px;font-size:12px;font-weight:600;background:#e8ebf0}
.awaiting_approval{background:#fff3cd;color:#7a5a00}.approved{background:#d8f3dc;color:#1b5e20}
.rejected,.timed_out,.cancelled{background:#e9ecef;color:#495057}.failed,.needs_attention{background:#fde2e1;color:#a4161a}
.banner{padding:12px 16px;border-radius:6px;margin:0 0 18px;font-size:15px}
.done{background:#d8f3dc;border:1px solid #95d5b2}.refused{background:#fde2e1;border:1px solid #f5a3a0}
.note{background:#fff3cd;border:1px solid #ffe08a}
form{background:#fff;border:1px solid #dde1e8;border-radius:6px;padding:16px;margin-top:18px}
label{display:block;font-size:13px;font-weight:600;margin:10px 0 4px}
input[type=text],textarea{width:100%;box-sizing:border-box;padding:8px;border:1px solid #c5cbd6;border-radius:4px;font:inherit}
button{margin:14px 10px 0 0;padding:9px 18px;border:0;border-radius:4px;font:inherit;font-weight:600;cursor:pointer}
button.approve{background:#2d6a4f;color:#fff}button.reject{background:#a4161a;color:#fff}
button.retry{background:#1d3557;color:#fff}button.settle{background:#6c757d;color:#fff}
select{padding:8px;border:1px solid #c5cbd6;border-radius:4px;font:inherit}
ul.records{background:#fff;border:1px solid #dde1e8;border-radius:6px;padding:10px 10px 10px 30px;font-size:14px}
ol.story{background:#fff;border:1px solid #dde1e8;border-radius:6px;padding:12px 12px 12px 36px;font-size:13px}
ol.story li{margin:3px 0}.muted{color:#6b7385;font-size:13px}
";

/// A whole page.
pub fn layout(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{title} · Invoice approvals</title><style>{STYLE}</style></head><body>\
         <header><a href=\"/\">Invoice approvals</a><span>decisions go to the invoice's \
         Temporal workflow, which records who decided, when and why</span></header>\
         <main>{body}</main></body></html>",
        title = escape(title)
    )
}

/// The inbox: what awaits a decision, newest first, then what was decided lately.
pub fn inbox(pending: &InvoiceList, recent: &InvoiceList, now: SystemTime) -> String {
    let mut body = String::from("<h1>Awaiting your decision</h1>");
    if pending.invoices.is_empty() {
        body.push_str("<p class=\"muted\">No invoice is awaiting approval.</p>");
    } else {
        body.push_str(
            "<table><tr><th>Invoice</th><th>Lines</th><th class=\"money\">Total</th>\
             <th>Decide by</th><th>Time left</th></tr>",
        );
        for entry in &pending.invoices {
            body.push_str(&format!(
                "<tr><td><a href=\"/invoices/{id}\">{id}</a></td><td>{lines}</td>\
                 <td class=\"money\">{total}</td><td>{deadline}</td><td>{left}</td></tr>",
                id = escape(&entry.invoice_id),
                lines = entry.line_count.map_or("–".to_owned(), |n| n.to_string()),
                total = escape(entry.total.as_deref().unwrap_or("–")),
                deadline = escape(entry.approval_deadline.as_deref().unwrap_or("–")),
                left = time_left(entry.approval_deadline.as_deref(), now),
            ));
        }
        body.push_str("</table>");
    }
    let decided: Vec<&InvoiceListEntry> = recent
        .invoices
        .iter()
        .filter(|entry| entry.state.is_some_and(InvoiceState::is_decided))
        .collect();
    if !decided.is_empty() {
        body.push_str(
            "<h2>Lately decided or finished</h2><table><tr><th>Invoice</th><th>State</th>\
             <th class=\"money\">Total</th><th>Decided by</th></tr>",
        );
        for entry in decided {
            let state = entry.state.map_or("", InvoiceState::as_str);
            body.push_str(&format!(
                "<tr><td><a href=\"/invoices/{id}\">{id}</a></td>\
                 <td><span class=\"state {state}\">{state}</span></td>\
                 <td class=\"money\">{total}</td><td>{by}</td></tr>",
                id = escape(&entry.invoice_id),
                total = escape(entry.total.as_deref().unwrap_or("–")),
                by = escape(entry.decided_by.as_deref().unwrap_or("–")),
            ));
        }
        body.push_str("</table>");
    }
    layout("Inbox", &body)
}

/// One invoice: its status, lines, decision, history, and the decision form while it awaits
/// one. `view` is an error text when the invoice cannot be read (no worker running, say).
pub fn invoice(
    invoice_id: &str,
    view: Result<&InvoiceView, &str>,
    story: &[String],
    actions: Option<&Actions>,
    banner: Option<&Banner>,
) -> String {
    let mut body = String::new();
    match banner {
        Some(Banner::Done(text)) => body.push_str(&format!(
            "<div class=\"banner done\" id=\"banner\">{}</div>",
            escape(text)
        )),
        Some(Banner::Refused(text)) => body.push_str(&format!(
            "<div class=\"banner refused\" id=\"banner\">{}</div>",
            escape(text)
        )),
        None => {}
    }
    body.push_str(&format!("<h1>Invoice {}</h1>", escape(invoice_id)));
    match view {
        Ok(view) => body.push_str(&details(view)),
        Err(problem) => body.push_str(&format!(
            "<div class=\"banner note\" id=\"status\">{}</div>",
            escape(problem)
        )),
    }
    match (actions, view) {
        (Some(Actions::Decide(form)), _) => body.push_str(&decision_form(invoice_id, form)),
        (Some(Actions::Refunds { retry, settle }), Ok(view)) => {
            body.push_str(&refund_forms(invoice_id, view, retry, settle));
        }
        _ => {}
    }
    if !story.is_empty() {
        body.push_str("<h2>History</h2><ol class=\"story\">");
        for line in story {
            body.push_str(&format!("<li>{}</li>", escape(line)));
        }
        body.push_str("</ol>");
    }
    layout(&format!("Invoice {invoice_id}"), &body)
}

/// A page that only says why nothing happened (a GET where a POST belongs, a bad token).
pub fn refusal(title: &str, why: &str, back: Option<&str>) -> String {
    let mut body = format!(
        "<div class=\"banner refused\" id=\"banner\">{}</div>",
        escape(why)
    );
    if let Some(back) = back {
        body.push_str(&format!(
            "<p><a href=\"{href}\">Back to the invoice</a></p>",
            href = escape(back)
        ));
    }
    layout(title, &body)
}

fn details(view: &InvoiceView) -> String {
    let state = view.state.as_str();
    let mut html = format!(
        "<p id=\"status\"><span class=\"state {state}\">{state}</span> {}</p>",
        escape(&view.status)
    );
    html.push_str("<table><tr><th>#</th><th>Item</th><th>Description</th><th class=\"money\">Amount</th></tr>");
    for (number, line) in view.lines.iter().enumerate() {
        html.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"money\">{}</td></tr>",
            number + 1,
            escape(&line.item),
            escape(line.description.as_deref().unwrap_or("")),
            format_amount(money::cents(line.amount))
        ));
    }
    html.push_str(&format!(
        "<tr><th></th><th>Total</th><th></th><th class=\"money\">{}</th></tr></table>",
        escape(view.total.as_deref().unwrap_or("–"))
    ));
    let mut facts = Vec::new();
    if let Some(started) = &view.started_at {
        facts.push(format!("Started {}", escape(started)));
    }
    if let Some(deadline) = &view.approval_deadline {
        facts.push(format!("decide by {}", escape(deadline)));
    }
    if let Some(closed) = &view.closed_at {
        facts.push(format!("finished {}", escape(closed)));
    }
    if !facts.is_empty() {
        html.push_str(&format!("<p class=\"muted\">{}</p>", facts.join(" · ")));
    }
    if let Some(decision) = &view.decision {
        html.push_str(&format!(
            "<p id=\"decision\"><strong>{}</strong></p>",
            escape(&decision.sentence())
        ));
    }
    if let Some(cancellation) = &view.cancellation {
        html.push_str(&format!(
            "<p id=\"cancellation\"><strong>{}</strong></p>",
            escape(&cancellation.sentence())
        ));
    }
    records(
        &mut html,
        "refused",
        "Decisions refused after they were sent",
        view.refused_decisions
            .iter()
            .map(|refused| refused.sentence()),
    );
    if !view.failing_refunds.is_empty() {
        let next = view
            .next_refund_retry
            .as_deref()
            .map(|at| format!(" They are retried on their own at {}.", escape(at)))
            .unwrap_or_default();
        html.push_str(&format!(
            "<div class=\"banner refused\" id=\"attention\">These refunds failed, and the \
             money is still charged.{next}</div>"
        ));
        records(
            &mut html,
            "failing",
            "Refunds failing",
            view.failing_refunds
                .iter()
                .map(|failing| failing.sentence()),
        );
    }
    records(
        &mut html,
        "settled",
        "Settled by hand",
        view.settled_by_hand
            .iter()
            .map(|settled| settled.sentence()),
    );
    html
}

/// A titled list of records (refusals, failing refunds, settlements), if there are any.
fn records(html: &mut String, id: &str, title: &str, lines: impl Iterator<Item = String>) {
    let items: Vec<String> = lines
        .map(|line| format!("<li>{}</li>", escape(&line)))
        .collect();
    if !items.is_empty() {
        html.push_str(&format!(
            "<h2>{title}</h2><ul class=\"records\" id=\"{id}\">{}</ul>",
            items.concat()
        ));
    }
}

/// Retry the failing refunds now, or settle one line by hand with a reason.
fn refund_forms(invoice_id: &str, view: &InvoiceView, retry: &Form, settle: &Form) -> String {
    let options: String = view
        .failing_refunds
        .iter()
        .map(|failing| {
            format!(
                "<option value=\"{}\">{}</option>",
                failing.line_number,
                escape(&format!(
                    "line {}: {} {}",
                    failing.line_number, failing.item, failing.amount
                ))
            )
        })
        .collect();
    format!(
        "<form method=\"post\" action=\"/invoices/{id}/refunds/retry\">\
         <input type=\"hidden\" name=\"token\" value=\"{retry_token}\">\
         <p class=\"muted\">Once the gateway takes refunds again, retry them now rather than \
         wait for the next automatic retry.</p>\
         <button class=\"retry\" type=\"submit\" id=\"retry\">Retry the refunds now</button>\
         </form>\
         <form method=\"post\" action=\"/invoices/{id}/refunds/settle\">\
         <input type=\"hidden\" name=\"token\" value=\"{settle_token}\">\
         <p class=\"muted\">Paid back another way (a bank transfer, a credit note)? Settle the \
         line by hand: it is not refunded again, and who, when and why are recorded.</p>\
         <label for=\"line\">Line</label><select id=\"line\" name=\"line\">{options}</select>\
         {who}\
         <label for=\"settle-reason\">How it was settled (required)</label>\
         <textarea id=\"settle-reason\" name=\"reason\" rows=\"2\" maxlength=\"2000\" required></textarea>\
         <button class=\"settle\" type=\"submit\" id=\"settle\">Settle by hand</button>\
         </form>",
        id = escape(invoice_id),
        retry_token = escape(&retry.token),
        settle_token = escape(&settle.token),
        who = who_field(settle, "settle"),
    )
}

/// Who acts: from the sign-in when a proxy says so, otherwise asked.
fn who_field(form: &Form, verb: &str) -> String {
    match &form.identity {
        Some(identity) => format!(
            "<p class=\"muted\">You {verb} as <strong>{}</strong> (from your sign-in).</p>",
            escape(identity)
        ),
        None => "<label for=\"by\">Your name</label>\
                 <input type=\"text\" id=\"by\" name=\"by\" required maxlength=\"200\">"
            .to_owned(),
    }
}

fn decision_form(invoice_id: &str, form: &Form) -> String {
    let who = who_field(form, "decide");
    format!(
        "<form method=\"post\" action=\"/invoices/{id}/decision\">\
         <input type=\"hidden\" name=\"token\" value=\"{token}\">{who}\
         <label for=\"reason\">Reason (recorded with the decision)</label>\
         <textarea id=\"reason\" name=\"reason\" rows=\"2\" maxlength=\"2000\"></textarea>\
         <button class=\"approve\" type=\"submit\" name=\"decision\" value=\"{approve}\" id=\"approve\">Approve</button>\
         <button class=\"reject\" type=\"submit\" name=\"decision\" value=\"{reject}\" id=\"reject\">Reject and refund</button>\
         </form>",
        id = escape(invoice_id),
        token = escape(&form.token),
        approve = Decision::Approve.as_str(),
        reject = Decision::Reject.as_str(),
    )
}

/// "4 days 23 hours", "12 minutes", or "passed".
fn time_left(deadline: Option<&str>, now: SystemTime) -> String {
    let Some(deadline) = deadline.and_then(|text| humantime::parse_rfc3339_weak(text).ok()) else {
        return "–".to_owned();
    };
    match deadline.duration_since(now) {
        Ok(left) => {
            let minutes = left.as_secs() / 60;
            let rounded = std::time::Duration::from_secs(if minutes >= 60 * 24 {
                minutes / 60 * 3600
            } else {
                minutes * 60
            });
            if rounded.is_zero() {
                "under a minute".to_owned()
            } else {
                workflows::duration::describe(rounded)
            }
        }
        Err(_) => "passed".to_owned(),
    }
}

/// Text made safe to put in HTML, in an element or an attribute.
pub fn escape(text: &str) -> String {
    let mut safe = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => safe.push_str("&amp;"),
            '<' => safe.push_str("&lt;"),
            '>' => safe.push_str("&gt;"),
            '"' => safe.push_str("&quot;"),
            '\'' => safe.push_str("&#39;"),
            c => safe.push(c),
        }
    }
    safe
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn outside_text_cannot_become_markup() {
        assert_eq!(
            escape("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
    }

    #[test]
    fn time_left_reads_like_a_person_would_say_it() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let at = |seconds: u64| {
            humantime::format_rfc3339_seconds(now + Duration::from_secs(seconds)).to_string()
        };
        assert_eq!(
            time_left(Some(&at(5 * 86_400 - 30)), now),
            "4 days 23 hours"
        );
        assert_eq!(time_left(Some(&at(754)), now), "12 minutes");
        assert_eq!(time_left(Some(&at(20)), now), "under a minute");
        let past = humantime::format_rfc3339_seconds(now - Duration::from_secs(5)).to_string();
        assert_eq!(time_left(Some(&past), now), "passed");
        assert_eq!(time_left(None, now), "–");
    }
}
