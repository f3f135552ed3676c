//! How a resubmitted invoice differs from the one already started under its id, in words.

use crate::{Invoice, money::format_cents};

impl Invoice {
    /// How `other` differs from this invoice as the caller wrote it (the fields the server
    /// sets do not count), in words: empty when they are the same invoice.
    pub fn differences(&self, other: &Invoice) -> Vec<String> {
        let (ours, theirs) = (self.as_submitted(), other.as_submitted());
        if ours == theirs {
            return Vec::new();
        }
        let mut differences = Vec::new();
        if ours.lines.len() != theirs.lines.len() {
            differences.push(format!(
                "{} line(s) there, {} here",
                ours.lines.len(),
                theirs.lines.len()
            ));
        }
        for (number, (a, b)) in ours.lines.iter().zip(&theirs.lines).enumerate() {
            let line = number + 1;
            if a.item != b.item {
                differences.push(format!(
                    "line {line} item is {:?} there, {:?} here",
                    a.item, b.item
                ));
            }
            if a.cents() != b.cents() {
                differences.push(format!(
                    "line {line} amount is {} there, {} here",
                    format_cents(a.cents()),
                    format_cents(b.cents())
                ));
            }
            if a.description != b.description {
                differences.push(format!("line {line} description differs"));
            }
            if a.extra != b.extra {
                differences.push(format!("line {line} has other extra fields"));
            }
        }
        if ours.extra != theirs.extra {
            let mut keys: Vec<&String> = ours
                .extra
                .iter()
                .chain(&theirs.extra)
                .filter(|(key, value)| {
                    ours.extra.get(*key) != Some(value) || theirs.extra.get(*key) != Some(value)
                })
                .map(|(key, _)| key)
                .collect();
            keys.sort();
            keys.dedup();
            let keys: Vec<String> = keys.iter().map(|key| format!("{key:?}")).collect();
            differences.push(format!("field(s) {} differ", keys.join(", ")));
        }
        if differences.is_empty() {
            // Equal in every field we name, yet not equal: say so rather than nothing.
            differences.push("the invoices differ".to_owned());
        }
        differences
    }
}

#[cfg(test)]
mod tests {
    use crate::Invoice;
    use serde_json::json;
    use std::time::Duration;

    fn tutorial_invoice() -> serde_json::Value {
        json!({
            "id": "INV-001",
            "lines": [
                {"item": "Web Development", "amount": 5000.00, "description": "Frontend work"},
                {"item": "Design Services", "amount": 2000.00, "description": "UI/UX design"}
            ]
        })
    }

    #[test]
    fn differences_are_named_and_server_fields_do_not_count() {
        let first = Invoice::from_json(&tutorial_invoice()).unwrap();
        let same = first.clone().with_approval_timeout(Duration::from_secs(60));
        assert!(first.differences(&same).is_empty());
        let mut changed = tutorial_invoice();
        changed["lines"][1]["amount"] = json!(2500);
        changed["customer"] = json!("ACME");
        let changed = Invoice::from_json(&changed).unwrap();
        assert_eq!(
            first.differences(&changed),
            [
                "line 2 amount is $2000.00 there, $2500.00 here",
                "field(s) \"customer\" differ"
            ]
        );
    }
}
