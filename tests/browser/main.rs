//! Browser tests in headless Chromium (see `kehu_tests::browser`). Every step takes a
//! screenshot into `target/test-artifacts/<test>/` (or `$KEHU_TEST_ARTIFACTS`).

mod account_flow;
mod calendar;
mod contacts;
mod custom_fields;
mod customer_search;
mod customers;
mod errors;
mod harness;
mod imports;
mod language;
mod notes;
mod opportunities;
mod opportunity_list;
mod recovery;
mod small_screens;
mod statistics;
mod steps;
mod targets;
mod tasks;
