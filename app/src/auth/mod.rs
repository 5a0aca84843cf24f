//! Accounts and sessions: sign-up, login with lockout, invitations, the signed-in context.

pub mod ctx;
pub mod invite;
pub mod login;
pub mod password;
pub mod recovery;
pub mod session_routes;
pub mod signup;
pub mod throttle;
