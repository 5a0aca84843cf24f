//! Tags (标签) on companies: the tag list with counts, tagging one company or many
//! selected ones, and filtering the customer list by tag. Counts and lists only include
//! companies the user may see; tagging needs the right to change the company.

pub mod model;
pub mod routes;
