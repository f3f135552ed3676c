//! Money, counted and written one way everywhere: whole cents, and dollars for people.

/// An amount in dollars as whole cents. Exact for any amount an invoice accepts (at most two
/// decimals, at most a billion dollars): the nearest integer is the one written.
pub fn cents(amount: f64) -> i64 {
    (amount * 100.0).round() as i64
}

/// Dollars and cents from whole cents, as in "$5000.00".
pub fn format_cents(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    format!("{sign}${}.{:02}", cents.abs() / 100, cents.abs() % 100)
}

/// Dollars and cents for people, thousands grouped: "$7,000.00".
pub fn format_amount(cents: i64) -> String {
    let dollars = (cents.abs() / 100).to_string();
    let mut grouped = String::with_capacity(dollars.len() + dollars.len() / 3);
    for (index, digit) in dollars.chars().enumerate() {
        if index > 0 && (dollars.len() - index).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    let sign = if cents < 0 { "-" } else { "" };
    format!("{sign}${grouped}.{:02}", cents.abs() % 100)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Invoice;
    use serde_json::json;

    #[test]
    fn money_is_counted_in_whole_cents() {
        assert_eq!(format_cents(500_000), "$5000.00");
        assert_eq!(format_cents(1_990), "$19.90");
        assert_eq!(format_cents(-5), "-$0.05");
        assert_eq!(format_amount(700_000), "$7,000.00");
        assert_eq!(format_amount(99_999), "$999.99");
        assert_eq!(format_amount(100_000), "$1,000.00");
        assert_eq!(format_amount(-123_456_789), "-$1,234,567.89");
        // 0.1 + 0.2 is not 0.3 in floating point; in cents it is.
        let value = json!({"id": "C-1", "lines": [
            {"item": "a", "amount": 0.1}, {"item": "b", "amount": 0.2}, {"item": "c", "amount": 999999999.99}
        ]});
        let invoice = Invoice::from_json(&value).unwrap();
        assert_eq!(invoice.total_cents(), 10 + 20 + 99_999_999_999);
        assert_eq!(
            invoice.summary(),
            "Invoice C-1 · 3 lines · $1,000,000,000.29"
        );
    }
}
