//! Customers (客户管理): companies, their list and search, detail pages and visibility.

pub mod bulk;
pub mod form;
pub mod inline;
pub mod list;
pub mod model;
pub mod picker;
pub mod visibility;
