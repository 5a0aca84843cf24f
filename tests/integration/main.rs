//! Integration tests against the real app, worker, PostgreSQL, Redis and SMTP.

mod smoke;
