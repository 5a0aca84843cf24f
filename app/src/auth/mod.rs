//! Accounts: sign-up, login with lockout, invitations, password recovery.

pub mod invite;
pub mod login;
pub mod password;
pub mod recovery;
pub mod session_routes;
pub mod signup;
pub mod throttle;
