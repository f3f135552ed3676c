//! The invoice approval contract, shared by every crate in the workspace.
//!
//! - [`names`]: the wire names (workflow type, signals, queries, Updates, task queue, memo
//!   keys, patches), kept equal to the tutorial's Python implementation where it has them.
//! - [`invoice`]: the invoice an agent submits, and its validation; `differences`: how a
//!   resubmitted one differs.
//! - [`money`]: whole cents, and dollars for people, written one way everywhere.
//! - [`status`]: the status texts the workflow reports while it runs.
//! - [`outcome`]: how an invoice ends, the workflow's typed result.
//! - [`decision`]: a human decision, who made it and why, and the rules every path obeys.
//! - [`refunds`]: refunds that fail, and what people do about them.
//! - [`payments`]: the payment activities the workflow calls (implemented in `activities`).
//! - [`duration`]: human durations such as `30s` or `5d`, and the defaults.
//! - [`observer`]: what a running invoice tells its worker, for metrics and the audit trail.
//! - [`InvoiceWorkflow`]: the durable workflow itself. `workflow` holds its run (a page of
//!   steps) and handlers; `state` its state; `plan` what every step knows; the steps are
//!   `charging`, `approval`, `compensation` and `ending`, announced by `progress`, calling the
//!   payments as `payment_calls` says.

mod approval;
mod charging;
mod compensation;
pub mod decision;
mod differences;
pub mod duration;
mod ending;
pub mod invoice;
pub mod money;
pub mod names;
pub mod observer;
pub mod outcome;
mod payment_calls;
pub mod payments;
mod plan;
mod progress;
pub mod refunds;
mod state;
pub mod status;
mod workflow;

pub use decision::{Decision, DecisionOutcome, DecisionRecord, DecisionRequest, Signature};
pub use invoice::{Invoice, InvoiceError, InvoiceLine};
pub use outcome::InvoiceOutcome;
pub use state::InvoiceWorkflow;
pub use status::{InvoiceSnapshot, InvoiceState, InvoiceStatus};
