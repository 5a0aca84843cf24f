//! Integration tests against the real app, worker, PostgreSQL, Redis and SMTP.

mod account;
mod catalog;
mod categories;
mod contacts;
mod custom_fields;
mod customer_list;
mod customers;
mod exports;
mod history;
mod import_resume;
mod imports;
mod inline_edit;
mod jobs;
mod login;
mod notes;
mod security;
mod sessions;
mod signup;
mod smoke;
mod startup;
mod support;
mod tags;
mod targets;
mod tenancy;
mod users;
