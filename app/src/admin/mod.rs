//! Admin pages besides users: the audit log and the background jobs.

pub mod audit_log;
pub mod jobs;
