//! The invoice approval contract, shared by every crate in the workspace.
//!
//! - [`names`]: the wire names (workflow type, signals, queries, Updates, task queue, memo
//!   keys, patches), kept equal to the tutorial's Python implementation where it has them.
//! - [`invoice`]: the invoice an agent submits, and its validation.
//! - [`status`]: the status texts the workflow reports while it runs.
//! - [`outcome`]: how an invoice ends, the workflow's typed result.
//! - [`decision`]: a human decision, who made it and why, and the rules every path obeys.
//! - [`refunds`]: refunds that fail, and what people do about them.
//! - [`payments`]: the payment activities the workflow calls (implemented in `activities`).
//! - [`duration`]: human durations such as `30s` or `5d`, and the defaults.
//! - [`observer`]: what a running invoice tells its worker, for metrics and the audit trail.
//! - [`InvoiceWorkflow`]: the durable workflow itself, whose steps are `charging`,
//!   `approval` and `compensation`, announced by `progress`, calling the payments as
//!   `payment_calls` says.

mod approval;
mod charging;
mod compensation;
pub mod decision;
pub mod duration;
pub mod invoice;
pub mod names;
pub mod observer;
pub mod outcome;
mod payment_calls;
pub mod payments;
mod progress;
pub mod refunds;
pub mod status;
mod workflow;

pub use decision::{Decision, DecisionOutcome, DecisionRecord, DecisionRequest, Signature};
pub use invoice::{Invoice, InvoiceError, InvoiceLine};
pub use outcome::InvoiceOutcome;
pub use status::{InvoiceSnapshot, InvoiceState, InvoiceStatus};
pub use workflow::InvoiceWorkflow;
