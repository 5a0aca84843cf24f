//! User administration (系统设置 → 用户): list, create, invite, edit role and manager,
//! lock and unlock, disable and enable, reset passwords. Admins only.

pub mod actions;
pub mod form;
pub mod list;
pub mod model;
pub mod password;
