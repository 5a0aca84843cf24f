//! Admin pages besides users: the named lists (customer and opportunity categories, lost
//! reasons), custom fields, the sales pipeline, the audit log and the background jobs.

pub mod audit_log;
pub mod fields;
pub mod jobs;
pub mod lists;
pub mod stages;
