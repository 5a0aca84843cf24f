//! Kehu CRM: the web app, and the library the worker shares (models, schema, tenancy,
//! job payloads, mail).

rust_i18n::i18n!("locales", fallback = "zh-CN");

pub mod account;
pub mod admin;
pub mod audit;
pub mod auth;
pub mod cleanup;
pub mod config;
pub mod contacts;
pub mod custom_fields;
pub mod customers;
pub mod db;
pub mod error;
pub mod exports;
pub mod files;
pub mod history;
pub mod home;
pub mod i18n;
pub mod ids;
pub mod imports;
pub mod jobs;
pub mod listing;
pub mod mail;
pub mod money;
pub mod notes;
pub mod opportunities;
pub mod routes;
pub mod schema;
pub mod state;
pub mod statistics;
pub mod tags;
pub mod targets;
pub mod tasks;
pub mod users;
pub mod visibility;
pub mod web;
