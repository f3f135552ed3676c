//! The invoice approval contract, shared by every crate in the workspace.
//!
//! - [`names`]: the wire names (workflow type, signals, query, task queue, workflow ids), kept
//!   equal to the tutorial's Python implementation so either side can be swapped.
//! - [`invoice`]: the invoice an agent submits, and its validation.
//! - [`status`]: the status and result texts the workflow reports.
//! - [`payments`]: the payment activities the workflow calls (implemented in `activities`).
//! - [`duration`]: human durations such as `30s` or `5d`, for the approval timeout.
//! - [`InvoiceWorkflow`]: the durable workflow itself.

pub mod duration;
pub mod invoice;
pub mod names;
pub mod payments;
pub mod status;
mod workflow;

pub use invoice::{Invoice, InvoiceError, InvoiceLine};
pub use status::{Decision, InvoiceState, InvoiceStatus};
pub use workflow::InvoiceWorkflow;
