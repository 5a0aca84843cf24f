//! The test harness: [`TestApp`] gives each test its own database (cloned from a migrated
//! template), its own Redis namespace, a real SMTP server and the real app and worker on
//! a random port. [`Client`] is a browser-like HTTP client with a cookie jar that
//! carries the CSRF token of the last page it loaded.

pub mod app;
pub mod bench;
pub mod browser;
pub mod client;
pub mod db;
pub mod fixtures;
pub mod opportunities;
pub mod sink;
pub mod smtp;
pub mod worker;

pub use app::{TestApp, TestOptions};
pub use client::Client;

/// A password that passes the policy.
pub const PASSWORD: &str = "Quiet-Harbor-Lantern-42";
