//! The simulated gateway's books: every charge and refund, in a SQLite file, each under its
//! idempotency key. Recording the same key twice is a no-op, so an activity retried after a
//! crash (even one that struck after the money moved) never charges or refunds twice.
//!
//! Several workers may share one ledger file: SQLite serialises their writes.

use rusqlite::{Connection, OptionalExtension, params};
use std::{path::Path, sync::Mutex, time::Duration};
use workflows::payments::{Operation, PaymentRequest};

/// One row of the ledger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub idempotency_key: String,
    pub invoice_id: String,
    pub line_number: i64,
    pub operation: String,
    pub item: String,
    pub amount_cents: i64,
}

/// Whether a call moved money or found it already moved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recorded {
    New,
    AlreadyRecorded,
}

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("ledger database error: {0}")]
    Database(#[from] rusqlite::Error),
    #[error("refund {key} has no matching charge")]
    NothingToRefund { key: String },
    #[error(
        "charge {key} was voided: its refund came first (the invoice gave up on it, or was cancelled), so it is never made"
    )]
    Voided { key: String },
    #[error("idempotency key {key} was first recorded for {recorded} cents, now asked for {asked}")]
    Conflict {
        key: String,
        recorded: i64,
        asked: i64,
    },
}

pub struct Ledger {
    connection: Mutex<Connection>,
}

impl Ledger {
    /// Opens (creating if needed) the ledger at `path`.
    pub fn open(path: &Path) -> Result<Self, LedgerError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            let _ = std::fs::create_dir_all(dir);
        }
        let connection = Connection::open(path)?;
        connection.busy_timeout(Duration::from_secs(10))?;
        connection.pragma_update(None, "journal_mode", "WAL")?;
        // In WAL mode, NORMAL keeps every commit through a process crash (the failure this
        // ledger guards against); only a power cut can lose the last commits.
        connection.pragma_update(None, "synchronous", "NORMAL")?;
        connection.execute_batch(
            "CREATE TABLE IF NOT EXISTS payments (
                 idempotency_key TEXT PRIMARY KEY,
                 invoice_id      TEXT NOT NULL,
                 line_number     INTEGER NOT NULL,
                 operation       TEXT NOT NULL CHECK (operation IN ('charge', 'refund')),
                 item            TEXT NOT NULL,
                 amount_cents    INTEGER NOT NULL CHECK (amount_cents > 0),
                 recorded_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
             );
             -- Charges refunded before they were made: a refund of a charge whose outcome
             -- was unknown (it gave up, or the invoice was cancelled) voids it, so that an
             -- attempt still under way somewhere can never take the money afterwards.
             CREATE TABLE IF NOT EXISTS voids (
                 charge_key TEXT PRIMARY KEY,
                 voided_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
             );
             -- Every time money actually moved, with no key to deduplicate it: what a test
             -- counts to catch a double charge, whatever the idempotency check above did.
             CREATE TABLE IF NOT EXISTS movements (
                 invoice_id   TEXT NOT NULL,
                 line_number  INTEGER NOT NULL,
                 operation    TEXT NOT NULL,
                 amount_cents INTEGER NOT NULL,
                 moved_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
             )",
        )?;
        Ok(Self {
            connection: Mutex::new(connection),
        })
    }

    /// Records one operation under its idempotency key, at most once. A refund must match a
    /// recorded charge of the same line; one that finds none voids that charge for good.
    pub fn record(
        &self,
        key: &str,
        operation: Operation,
        request: &PaymentRequest,
    ) -> Result<Recorded, LedgerError> {
        let key = key.to_owned();
        let cents = request.line.cents();
        let mut connection = self.connection.lock().expect("ledger lock poisoned");
        let transaction = connection.transaction()?;
        let existing: Option<i64> = transaction
            .query_row(
                "SELECT amount_cents FROM payments WHERE idempotency_key = ?1",
                params![key],
                |row| row.get(0),
            )
            .optional()?;
        if let Some(recorded) = existing {
            if recorded != cents {
                return Err(LedgerError::Conflict {
                    key,
                    recorded,
                    asked: cents,
                });
            }
            return Ok(Recorded::AlreadyRecorded);
        }
        let charge_key = request.idempotency_key(Operation::Charge);
        match operation {
            Operation::Charge => {
                let voided: Option<String> = transaction
                    .query_row(
                        "SELECT charge_key FROM voids WHERE charge_key = ?1",
                        params![charge_key],
                        |row| row.get(0),
                    )
                    .optional()?;
                if voided.is_some() {
                    return Err(LedgerError::Voided { key });
                }
            }
            Operation::Refund => {
                let charged: Option<i64> = transaction
                    .query_row(
                        "SELECT amount_cents FROM payments WHERE idempotency_key = ?1",
                        params![charge_key],
                        |row| row.get(0),
                    )
                    .optional()?;
                if charged != Some(cents) {
                    transaction.execute(
                        "INSERT OR IGNORE INTO voids (charge_key) VALUES (?1)",
                        params![charge_key],
                    )?;
                    transaction.commit()?;
                    return Err(LedgerError::NothingToRefund { key });
                }
            }
        }
        transaction.execute(
            "INSERT INTO payments (idempotency_key, invoice_id, line_number, operation, item, amount_cents)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                key,
                request.invoice_id,
                request.line_number as i64,
                operation_name(operation),
                request.line.item,
                cents
            ],
        )?;
        transaction.execute(
            "INSERT INTO movements (invoice_id, line_number, operation, amount_cents)
             VALUES (?1, ?2, ?3, ?4)",
            params![
                request.invoice_id,
                request.line_number as i64,
                operation_name(operation),
                cents
            ],
        )?;
        transaction.commit()?;
        Ok(Recorded::New)
    }

    /// Every entry, in the order recorded.
    pub fn entries(&self) -> Result<Vec<Entry>, LedgerError> {
        let connection = self.connection.lock().expect("ledger lock poisoned");
        let mut statement = connection.prepare(
            "SELECT idempotency_key, invoice_id, line_number, operation, item, amount_cents
             FROM payments ORDER BY rowid",
        )?;
        let rows = statement.query_map([], |row| {
            Ok(Entry {
                idempotency_key: row.get(0)?,
                invoice_id: row.get(1)?,
                line_number: row.get(2)?,
                operation: row.get(3)?,
                item: row.get(4)?,
                amount_cents: row.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// One movement of money: which line, which way, how much.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Movement {
    pub invoice_id: String,
    pub line_number: i64,
    pub operation: String,
    pub amount_cents: i64,
}

impl Ledger {
    /// Every time money moved, in order, duplicates included.
    pub fn movements(&self) -> Result<Vec<Movement>, LedgerError> {
        let connection = self.connection.lock().expect("ledger lock poisoned");
        let mut statement = connection.prepare(
            "SELECT invoice_id, line_number, operation, amount_cents FROM movements ORDER BY rowid",
        )?;
        let rows = statement.query_map([], |row| {
            Ok(Movement {
                invoice_id: row.get(0)?,
                line_number: row.get(1)?,
                operation: row.get(2)?,
                amount_cents: row.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

fn operation_name(operation: Operation) -> &'static str {
    match operation {
        Operation::Charge => "charge",
        Operation::Refund => "refund",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use workflows::InvoiceLine;

    fn request(line_number: usize, amount: f64) -> PaymentRequest {
        PaymentRequest {
            invoice_id: "INV-1".into(),
            line_number,
            line: InvoiceLine {
                item: "Work".into(),
                amount,
                description: None,
                extra: Default::default(),
            },
            give_up_after_seconds: None,
        }
    }

    #[test]
    fn each_key_is_recorded_once() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(&dir.path().join("ledger.db")).unwrap();
        let line = request(1, 19.99);
        let record = |operation| ledger.record(&line.idempotency_key(operation), operation, &line);
        assert_eq!(record(Operation::Charge).unwrap(), Recorded::New);
        assert_eq!(
            record(Operation::Charge).unwrap(),
            Recorded::AlreadyRecorded
        );
        assert_eq!(record(Operation::Refund).unwrap(), Recorded::New);
        assert_eq!(
            record(Operation::Refund).unwrap(),
            Recorded::AlreadyRecorded
        );
        let entries = ledger.entries().unwrap();
        assert_eq!(entries.len(), 2);
        // Money moved once each way, however often it was asked.
        assert_eq!(ledger.movements().unwrap().len(), 2);
        assert_eq!(entries[0].amount_cents, 1999);
        assert_eq!(entries[1].operation, "refund");
        // Another process sees the same books.
        let reopened = Ledger::open(&dir.path().join("ledger.db")).unwrap();
        assert_eq!(reopened.entries().unwrap(), entries);
    }

    #[test]
    fn a_refund_before_its_charge_voids_the_charge() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(&dir.path().join("ledger.db")).unwrap();
        let line = request(2, 5.0);
        let record = |operation| ledger.record(&line.idempotency_key(operation), operation, &line);
        assert!(matches!(
            record(Operation::Refund),
            Err(LedgerError::NothingToRefund { .. })
        ));
        // An attempt still under way when the invoice gave up arrives too late: refused.
        assert!(matches!(
            record(Operation::Charge),
            Err(LedgerError::Voided { .. })
        ));
        assert!(ledger.movements().unwrap().is_empty());
    }

    #[test]
    fn a_key_reused_for_another_amount_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(&dir.path().join("ledger.db")).unwrap();
        let key = request(1, 10.0).idempotency_key(Operation::Charge);
        ledger
            .record(&key, Operation::Charge, &request(1, 10.0))
            .unwrap();
        assert!(matches!(
            ledger.record(&key, Operation::Charge, &request(1, 11.0)),
            Err(LedgerError::Conflict { .. })
        ));
    }
}
