//! Human durations for the approval timeout: parsed from `30s`, `2m`, `1h 30m`, `5d`, and
//! written back in words ("5 days", "1 minute 30 seconds") for status and result texts.

use std::time::Duration;

/// The approval timeout when none is configured: five days, as in the tutorial.
pub const DEFAULT_APPROVAL_TIMEOUT: Duration = Duration::from_secs(5 * 24 * 60 * 60);
/// The same, as a command line shows it (a test keeps the two equal).
pub const DEFAULT_APPROVAL_TIMEOUT_TEXT: &str = "5d";

/// How long a failing charge or refund is retried when nothing is configured.
pub const DEFAULT_PAYMENT_RETRY_LIMIT: Duration = Duration::from_secs(60 * 60);
/// The same, as a command line shows it.
pub const DEFAULT_PAYMENT_RETRY_LIMIT_TEXT: &str = "1h";
/// The longest wait between two rounds of retries of refunds that keep failing, when nothing
/// is configured.
pub const DEFAULT_REFUND_RETRY_CAP: Duration = Duration::from_secs(60 * 60);
/// The same, as a command line shows it.
pub const DEFAULT_REFUND_RETRY_CAP_TEXT: &str = "1h";

/// Parses a human duration (`30s`, `2m`, `1h 30m`, `5d`). Must be at least one second and a
/// whole number of seconds, since the workflow input carries seconds.
pub fn parse(text: &str) -> Result<Duration, String> {
    let duration = humantime::parse_duration(text.trim()).map_err(|e| {
        format!("'{text}' is not a duration ({e}); use forms like 30s, 2m, 1h or 5d")
    })?;
    if duration < Duration::from_secs(1) {
        return Err(format!("'{text}' is shorter than one second"));
    }
    if duration.subsec_nanos() != 0 {
        return Err(format!("'{text}' is not a whole number of seconds"));
    }
    Ok(duration)
}

/// Writes a duration in words, largest units first: "5 days", "1 hour 30 minutes".
pub fn describe(duration: Duration) -> String {
    const UNITS: [(u64, &str); 4] = [
        (86_400, "day"),
        (3_600, "hour"),
        (60, "minute"),
        (1, "second"),
    ];
    let mut left = duration.as_secs();
    let mut parts = Vec::new();
    for (size, name) in UNITS {
        let count = left / size;
        left %= size;
        if count > 0 {
            let plural = if count == 1 { "" } else { "s" };
            parts.push(format!("{count} {name}{plural}"));
        }
    }
    if parts.is_empty() {
        return "0 seconds".to_owned();
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_forms() {
        assert_eq!(parse("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse(" 1h 30m "), Ok(Duration::from_secs(5_400)));
        assert_eq!(parse("5d"), Ok(DEFAULT_APPROVAL_TIMEOUT));
    }

    #[test]
    fn refuses_what_the_workflow_cannot_carry() {
        assert!(parse("soon").unwrap_err().contains("not a duration"));
        assert!(
            parse("500ms")
                .unwrap_err()
                .contains("shorter than one second")
        );
        assert!(
            parse("1500ms")
                .unwrap_err()
                .contains("whole number of seconds")
        );
        assert!(parse("").is_err());
    }

    #[test]
    fn describes_in_words() {
        assert_eq!(describe(DEFAULT_APPROVAL_TIMEOUT), "5 days");
        assert_eq!(describe(Duration::from_secs(1)), "1 second");
        assert_eq!(describe(Duration::from_secs(90)), "1 minute 30 seconds");
        assert_eq!(describe(Duration::from_secs(93_600)), "1 day 2 hours");
        assert_eq!(describe(Duration::ZERO), "0 seconds");
    }

    #[test]
    fn the_defaults_read_as_their_texts() {
        for (text, duration) in [
            (DEFAULT_APPROVAL_TIMEOUT_TEXT, DEFAULT_APPROVAL_TIMEOUT),
            (
                DEFAULT_PAYMENT_RETRY_LIMIT_TEXT,
                DEFAULT_PAYMENT_RETRY_LIMIT,
            ),
            (DEFAULT_REFUND_RETRY_CAP_TEXT, DEFAULT_REFUND_RETRY_CAP),
        ] {
            assert_eq!(parse(text), Ok(duration), "{text}");
        }
    }
}
