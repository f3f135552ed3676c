//! The invoice an agent submits, and the checks it must pass before anything is charged.
//!
//! Wire-compatible with the tutorial: `{"id": "INV-001", "lines": [{"item": "Web Development",
//! "amount": 5000.00, "description": "Frontend work"}]}`. Fields we do not know travel along
//! unchanged, so a customer name or a due date still shows in the workflow's input.

use crate::{
    duration::{DEFAULT_APPROVAL_TIMEOUT, DEFAULT_REFUND_RETRY_CAP},
    money::format_amount,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::time::Duration;

/// Largest invoice, as JSON: it travels in the workflow input and every history event that
/// carries it, and Temporal refuses payloads past a few megabytes.
pub const MAX_INVOICE_BYTES: usize = 64 * 1024;
/// Longest invoice id: it becomes part of a workflow id and of every idempotency key.
pub const MAX_ID_LEN: usize = 64;
/// Most lines on one invoice: each line is a charge, a refund and events in the history.
pub const MAX_LINES: usize = 100;
/// Longest item name.
pub const MAX_ITEM_LEN: usize = 200;
/// Longest line description.
pub const MAX_DESCRIPTION_LEN: usize = 2_000;
/// Largest amount for one line, in dollars.
pub const MAX_LINE_AMOUNT: f64 = 1_000_000_000.0;
/// Fields of the workflow input that the MCP server sets from its configuration.
const SERVER_FIELDS: [&str; 5] = [
    "approval_timeout_seconds",
    "payment_retry_limit_seconds",
    "refund_retry_cap_seconds",
    "submitted_by",
    "separation_of_duties",
];

/// An invoice: an id and the lines to charge.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Invoice {
    /// Unique invoice identifier, such as "INV-001": letters, digits, '.', '_' or '-', at most
    /// 64 characters. The workflow id is "invoice-" followed by it.
    pub id: String,
    /// The line items; each one is charged separately. At least one, at most 100.
    #[serde(default)]
    pub lines: Vec<InvoiceLine>,
    /// Seconds to wait for a human decision; absent means five days. Set by the MCP server from
    /// its configuration, so that it is recorded in the workflow history.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(skip)]
    pub approval_timeout_seconds: Option<u64>,
    /// How long a failing charge or refund is retried before the invoice gives up, in
    /// seconds; absent means forever (invoices started before this setting existed). Set by
    /// the MCP server from its configuration, so that it is recorded in the history.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(skip)]
    pub payment_retry_limit_seconds: Option<u64>,
    /// The longest wait between two rounds of retries of refunds that keep failing, in
    /// seconds; absent means an hour. Set by the MCP server from its configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(skip)]
    pub refund_retry_cap_seconds: Option<u64>,
    /// Who submitted the invoice (the person behind the agent), set by the MCP server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(skip)]
    pub submitted_by: Option<String>,
    /// Whether the submitter is barred from approving it, set by the MCP server.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    #[schemars(skip)]
    pub separation_of_duties: bool,
    /// Fields this code does not interpret, kept as they came.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Map<String, Value>,
}

/// One line of an invoice.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct InvoiceLine {
    /// What is being charged, such as "Web Development".
    pub item: String,
    /// Amount in dollars: a positive number with at most two decimal places.
    pub amount: f64,
    /// Optional free text, such as "Frontend work".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Fields this code does not interpret, kept as they came.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Map<String, Value>,
}

/// Why an invoice was refused. Each message names the field and says what would be accepted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InvoiceError {
    #[error("invoice_data must be a JSON object with an \"id\" and \"lines\", got {0}")]
    NotAnObject(&'static str),
    #[error("the invoice is {0} bytes of JSON; at most {MAX_INVOICE_BYTES} are allowed")]
    TooLarge(usize),
    #[error("invoice_data is a string that is not valid JSON: {0}")]
    UnparsableText(String),
    #[error("the invoice has no \"id\"")]
    MissingId,
    #[error("the invoice id must be a string, got {0}")]
    IdNotText(&'static str),
    #[error("the invoice id is blank")]
    BlankId,
    #[error("the invoice id is {0} characters long; at most {MAX_ID_LEN} are allowed")]
    IdTooLong(usize),
    #[error(
        "the invoice id {id:?} contains {found}; use only letters, digits, '.', '_' or '-' (it becomes part of the workflow id)"
    )]
    IdBadCharacter { id: String, found: String },
    #[error("the invoice has no \"lines\"; add at least one line with an item and an amount")]
    MissingLines,
    #[error("\"lines\" must be a list of line items, got {0}")]
    LinesNotList(&'static str),
    #[error("the invoice has no lines; add at least one line with an item and an amount")]
    NoLines,
    #[error("the invoice has {0} lines; at most {MAX_LINES} are allowed")]
    TooManyLines(usize),
    #[error("line {line} must be an object with \"item\" and \"amount\", got {found}")]
    LineNotObject { line: usize, found: &'static str },
    #[error("line {line} has no \"item\"")]
    MissingItem { line: usize },
    #[error(
        "line {line}: \"item\" must be a non-blank string of at most {MAX_ITEM_LEN} characters"
    )]
    BadItem { line: usize },
    #[error("line {line} has no \"amount\"")]
    MissingAmount { line: usize },
    #[error("line {line}: \"amount\" must be a number, got {found}")]
    AmountNotNumber { line: usize, found: String },
    #[error("line {line}: \"amount\" must be greater than zero, got {amount}")]
    AmountNotPositive { line: usize, amount: String },
    #[error("line {line}: \"amount\" {amount} is larger than the limit of {MAX_LINE_AMOUNT}")]
    AmountTooLarge { line: usize, amount: String },
    #[error("line {line}: \"amount\" {amount} has more than two decimal places")]
    AmountTooPrecise { line: usize, amount: String },
    #[error(
        "line {line}: \"description\" must be a string of at most {MAX_DESCRIPTION_LEN} characters"
    )]
    BadDescription { line: usize },
    #[error("the invoice does not fit its schema: {0}")]
    Malformed(String),
}

impl Invoice {
    /// Checks untrusted JSON (an object, or a string holding one, as some models send) and
    /// builds the invoice from it. Line numbers in errors count from 1.
    pub fn from_json(value: &Value) -> Result<Self, InvoiceError> {
        let parsed;
        let value = match value {
            Value::String(text) => {
                parsed = serde_json::from_str::<Value>(text)
                    .map_err(|e| InvoiceError::UnparsableText(e.to_string()))?;
                &parsed
            }
            other => other,
        };
        let size = serde_json::to_vec(value).map_or(usize::MAX, |json| json.len());
        if size > MAX_INVOICE_BYTES {
            return Err(InvoiceError::TooLarge(size));
        }
        let object = value
            .as_object()
            .ok_or(InvoiceError::NotAnObject(kind(value)))?;
        check_id(object.get("id"))?;
        let lines = match object.get("lines") {
            None | Some(Value::Null) => return Err(InvoiceError::MissingLines),
            Some(Value::Array(lines)) => lines,
            Some(other) => return Err(InvoiceError::LinesNotList(kind(other))),
        };
        if lines.is_empty() {
            return Err(InvoiceError::NoLines);
        }
        if lines.len() > MAX_LINES {
            return Err(InvoiceError::TooManyLines(lines.len()));
        }
        for (index, line) in lines.iter().enumerate() {
            check_line(index + 1, line)?;
        }
        // Fields the server sets itself are input too: whatever the caller put there is
        // dropped, never trusted, and never a reason to fail.
        let mut object = object.clone();
        for field in SERVER_FIELDS {
            object.remove(field);
        }
        Invoice::deserialize(Value::Object(object))
            .map_err(|error| InvoiceError::Malformed(error.to_string()))
    }

    /// How long the workflow waits for a decision.
    pub fn approval_timeout(&self) -> Duration {
        self.approval_timeout_seconds
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT_APPROVAL_TIMEOUT)
    }

    /// One line for the Temporal Web UI: "Invoice INV-001 · 2 lines · $7,000.00". The total
    /// adds whole cents, so it is exact.
    pub fn summary(&self) -> String {
        let count = self.lines.len();
        let plural = if count == 1 { "" } else { "s" };
        format!(
            "Invoice {} · {count} line{plural} · {}",
            self.id,
            format_amount(self.total_cents())
        )
    }

    /// The sum of the lines, in whole cents.
    pub fn total_cents(&self) -> i64 {
        self.lines.iter().map(InvoiceLine::cents).sum()
    }

    /// The same invoice with the given approval timeout (whole seconds).
    pub fn with_approval_timeout(mut self, timeout: Duration) -> Self {
        self.approval_timeout_seconds = Some(timeout.as_secs());
        self
    }

    /// The same invoice with the given payment retry limit (whole seconds).
    pub fn with_payment_retry_limit(mut self, limit: Duration) -> Self {
        self.payment_retry_limit_seconds = Some(limit.as_secs());
        self
    }

    /// The same invoice with the given cap on the wait between refund retries (whole seconds).
    pub fn with_refund_retry_cap(mut self, cap: Duration) -> Self {
        self.refund_retry_cap_seconds = Some(cap.as_secs());
        self
    }

    /// The longest wait between two rounds of retries of failing refunds.
    pub fn refund_retry_cap(&self) -> Duration {
        self.refund_retry_cap_seconds
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT_REFUND_RETRY_CAP)
    }

    /// How long a failing payment is retried; `None`: for as long as it takes.
    pub fn payment_retry_limit(&self) -> Option<Duration> {
        self.payment_retry_limit_seconds.map(Duration::from_secs)
    }

    /// The same invoice, submitted by `person`, who may not approve it when `separated`.
    pub fn submitted_by(mut self, person: &str, separated: bool) -> Self {
        self.submitted_by = Some(person.to_owned());
        self.separation_of_duties = separated;
        self
    }

    /// The invoice as the caller wrote it: without the fields the server sets.
    pub fn as_submitted(&self) -> Self {
        Self {
            approval_timeout_seconds: None,
            payment_retry_limit_seconds: None,
            refund_retry_cap_seconds: None,
            submitted_by: None,
            separation_of_duties: false,
            ..self.clone()
        }
    }
}

impl InvoiceLine {
    /// The amount in whole cents. Exact for any amount `Invoice::from_json` accepted: at most
    /// two decimals and at most a billion dollars, so the nearest integer is the one written.
    pub fn cents(&self) -> i64 {
        crate::money::cents(self.amount)
    }
}

fn check_id(id: Option<&Value>) -> Result<(), InvoiceError> {
    match id {
        None | Some(Value::Null) => Err(InvoiceError::MissingId),
        Some(Value::String(id)) => validate_id(id),
        Some(other) => Err(InvoiceError::IdNotText(kind(other))),
    }
}

/// Checks that an invoice id is non-blank, short, and safe inside a workflow id.
pub fn validate_id(id: &str) -> Result<(), InvoiceError> {
    if id.trim().is_empty() {
        return Err(InvoiceError::BlankId);
    }
    let length = id.chars().count();
    if length > MAX_ID_LEN {
        return Err(InvoiceError::IdTooLong(length));
    }
    if let Some(bad) = id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        let found = match bad {
            ' ' => "a space".to_owned(),
            c if c.is_control() => format!("a control character (U+{:04X})", c as u32),
            c => format!("the character {c:?}"),
        };
        return Err(InvoiceError::IdBadCharacter {
            id: id.to_owned(),
            found,
        });
    }
    Ok(())
}

fn check_line(line: usize, value: &Value) -> Result<(), InvoiceError> {
    let object = value.as_object().ok_or(InvoiceError::LineNotObject {
        line,
        found: kind(value),
    })?;
    match object.get("item") {
        None | Some(Value::Null) => return Err(InvoiceError::MissingItem { line }),
        Some(Value::String(item))
            if !item.trim().is_empty() && item.chars().count() <= MAX_ITEM_LEN => {}
        Some(_) => return Err(InvoiceError::BadItem { line }),
    }
    match object.get("amount") {
        None | Some(Value::Null) => return Err(InvoiceError::MissingAmount { line }),
        Some(Value::Number(number)) => check_amount(line, number)?,
        Some(other) => {
            return Err(InvoiceError::AmountNotNumber {
                line,
                found: other.to_string(),
            });
        }
    }
    match object.get("description") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::String(text)) if text.chars().count() <= MAX_DESCRIPTION_LEN => Ok(()),
        Some(_) => Err(InvoiceError::BadDescription { line }),
    }
}

fn check_amount(line: usize, number: &serde_json::Number) -> Result<(), InvoiceError> {
    let amount_text = number.to_string();
    let amount = number.as_f64().unwrap_or(f64::NAN);
    if !amount.is_finite() || amount > MAX_LINE_AMOUNT {
        return Err(InvoiceError::AmountTooLarge {
            line,
            amount: amount_text,
        });
    }
    if amount <= 0.0 {
        return Err(InvoiceError::AmountNotPositive {
            line,
            amount: amount_text,
        });
    }
    // Rust prints the shortest decimal that reads back as the same f64, never in exponent
    // form, so its digits after the point are the ones the caller wrote.
    let decimals = amount
        .to_string()
        .split_once('.')
        .map_or(0, |(_, fraction)| fraction.len());
    if decimals > 2 {
        return Err(InvoiceError::AmountTooPrecise {
            line,
            amount: amount_text,
        });
    }
    Ok(())
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tutorial_invoice() -> Value {
        json!({
            "id": "INV-001",
            "lines": [
                {"item": "Web Development", "amount": 5000.00, "description": "Frontend work"},
                {"item": "Design Services", "amount": 2000.00, "description": "UI/UX design"}
            ]
        })
    }

    fn refusal(value: Value) -> String {
        Invoice::from_json(&value).unwrap_err().to_string()
    }

    #[test]
    fn accepts_the_tutorial_invoice_and_keeps_unknown_fields() {
        let mut value = tutorial_invoice();
        value["customer"] = json!("ACME");
        let invoice = Invoice::from_json(&value).unwrap();
        assert_eq!(invoice.id, "INV-001");
        assert_eq!(invoice.lines.len(), 2);
        assert_eq!(invoice.lines[1].amount, 2000.0);
        assert_eq!(invoice.extra["customer"], "ACME");
        assert_eq!(invoice.approval_timeout(), DEFAULT_APPROVAL_TIMEOUT);
        assert_eq!(invoice.summary(), "Invoice INV-001 · 2 lines · $7,000.00");
        assert_eq!(serde_json::to_value(&invoice).unwrap(), value);
    }

    #[test]
    fn accepts_an_invoice_sent_as_a_json_string() {
        let text = tutorial_invoice().to_string();
        assert_eq!(
            Invoice::from_json(&Value::String(text)).unwrap().id,
            "INV-001"
        );
    }

    #[test]
    fn ignores_caller_supplied_server_fields_of_any_type() {
        for timeout in [
            json!(1),
            json!("soon"),
            json!(-1),
            json!(1e300),
            json!({"a": []}),
        ] {
            let mut value = tutorial_invoice();
            value["approval_timeout_seconds"] = timeout.clone();
            value["payment_retry_limit_seconds"] = timeout.clone();
            value["refund_retry_cap_seconds"] = timeout.clone();
            let invoice = Invoice::from_json(&value).unwrap_or_else(|e| panic!("{timeout}: {e}"));
            assert_eq!(invoice.approval_timeout_seconds, None);
            assert_eq!(invoice.payment_retry_limit_seconds, None);
            assert!(invoice.extra.is_empty(), "{:?}", invoice.extra);
        }
    }

    #[test]
    fn refuses_each_kind_of_bad_invoice_with_a_specific_reason() {
        let cases: Vec<(Value, &str)> = vec![
            (json!([1, 2]), "must be a JSON object"),
            (Value::String("{oops".into()), "not valid JSON"),
            (json!({"lines": []}), "no \"id\""),
            (
                json!({"id": 7, "lines": []}),
                "must be a string, got a number",
            ),
            (json!({"id": "  ", "lines": []}), "blank"),
            (json!({"id": "x".repeat(65), "lines": []}), "65 characters"),
            (json!({"id": "INV 1", "lines": []}), "a space"),
            (json!({"id": "INV/1", "lines": []}), "'/'"),
            (json!({"id": "INV\u{7}", "lines": []}), "control character"),
            (json!({"id": "INV-1"}), "no \"lines\""),
            (json!({"id": "INV-1", "lines": {}}), "must be a list"),
            (json!({"id": "INV-1", "lines": []}), "has no lines"),
            (
                json!({"id": "INV-1", "lines": vec![json!({"item": "a", "amount": 1}); 101]}),
                "101 lines",
            ),
            (
                json!({"id": "INV-1", "lines": [3]}),
                "line 1 must be an object",
            ),
            (
                json!({"id": "INV-1", "lines": [{"amount": 1}]}),
                "line 1 has no \"item\"",
            ),
            (
                json!({"id": "INV-1", "lines": [{"item": " ", "amount": 1}]}),
                "non-blank",
            ),
            (
                json!({"id": "INV-1", "lines": [{"item": "a"}]}),
                "no \"amount\"",
            ),
            (
                json!({"id": "INV-1", "lines": [{"item": "a", "amount": "NaN"}]}),
                "must be a number",
            ),
            (
                json!({"id": "INV-1", "lines": [{"item": "a", "amount": 0}]}),
                "greater than zero",
            ),
            (
                json!({"id": "INV-1", "lines": [{"item": "a", "amount": -5}]}),
                "greater than zero",
            ),
            (
                json!({"id": "INV-1", "lines": [{"item": "a", "amount": 1e308}]}),
                "larger than the limit",
            ),
            (
                json!({"id": "INV-1", "lines": [{"item": "a", "amount": 1.005}]}),
                "two decimal places",
            ),
            (
                json!({"id": "INV-1", "lines": [{"item": "a", "amount": 1, "description": 5}]}),
                "description",
            ),
        ];
        for (value, expected) in cases {
            let message = refusal(value.clone());
            assert!(
                message.contains(expected),
                "{value} gave {message:?}, expected {expected:?}"
            );
        }
    }

    #[test]
    fn accepts_cents_exactly() {
        for amount in [0.01, 0.1, 19.99, 999_999_999.99, 1_000_000_000.0] {
            let value = json!({"id": "INV-1", "lines": [{"item": "a", "amount": amount}]});
            assert!(Invoice::from_json(&value).is_ok(), "{amount} was refused");
        }
    }
}
