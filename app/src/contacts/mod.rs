//! Contacts (联系人): people at a company. A contact is visible exactly when its company
//! is (see [`crate::customers::visibility`]), and may be changed by whoever may change
//! the company.

pub mod form;
pub mod list;
pub mod model;
