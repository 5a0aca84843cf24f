//! Visibility of customer records: the shared rule of [`crate::visibility`], under the
//! name the customer modules (and the modules built on them) have always imported.

pub use crate::visibility::{CompanyFilter, OpportunityFilter, Rule, Scope, View, team_of};
