//! Admin pages besides users: customer categories, the audit log and the background jobs.

pub mod audit_log;
pub mod categories;
pub mod fields;
pub mod jobs;
