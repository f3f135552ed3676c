//! The invoice approval contract, shared by every crate in the workspace.
//!
//! - [`names`]: the wire names (workflow type, signals, query, task queue, workflow ids), kept
//!   equal to the tutorial's Python implementation so either side can be swapped.
//! - [`invoice`]: the invoice an agent submits, and its validation.
//! - [`status`]: the status and result texts the workflow reports.
//! - [`decision`]: a human decision, who made it and why, and the rules every path obeys.
//! - [`payments`]: the payment activities the workflow calls (implemented in `activities`).
//! - [`duration`]: human durations such as `30s` or `5d`, for the approval timeout.
//! - [`observer`]: what a running invoice tells its worker, for metrics and the audit trail.
//! - [`InvoiceWorkflow`]: the durable workflow itself.

pub mod decision;
pub mod duration;
pub mod invoice;
pub mod names;
pub mod observer;
pub mod payments;
pub mod status;
mod workflow;

pub use decision::{Decision, DecisionOutcome, DecisionRecord, DecisionRequest, Signature};
pub use invoice::{Invoice, InvoiceError, InvoiceLine};
pub use status::{InvoiceState, InvoiceStatus};
pub use workflow::InvoiceWorkflow;
