//! Login throttles in Redis: a per-IP limit per minute, and the wrong-password count of
//! emails that have no account (so they lock exactly like real ones).

use std::net::IpAddr;

use redis::AsyncCommands;
use sha2::{Digest, Sha256};

use crate::{error::AppResult, state::AppState};

/// Counts a login or sign-up attempt from `ip`; true while the IP is under its
/// per-minute limit.
pub async fn allow_login_attempt(state: &AppState, ip: Option<IpAddr>) -> AppResult<bool> {
    let Some(ip) = ip else { return Ok(true) };
    let minute = chrono::Utc::now().timestamp() / 60;
    let key = state.redis_key(&format!("throttle:login:{ip}:{minute}"));
    let mut conn = state.redis.clone();
    let (count,): (u32,) = redis::pipe()
        .atomic()
        .incr(&key, 1)
        .expire(&key, 120)
        .ignore()
        .query_async(&mut conn)
        .await?;
    Ok(count <= state.config.login_ip_limit_per_minute)
}

fn unknown_key(state: &AppState, email: &str) -> String {
    let digest = hex::encode(Sha256::digest(email.as_bytes()));
    state.redis_key(&format!("login_fail:{digest}"))
}

/// Counts a wrong password for an email without an account; returns the count.
pub async fn count_unknown_failure(state: &AppState, email: &str) -> AppResult<i64> {
    let key = unknown_key(state, email);
    let mut conn = state.redis.clone();
    let (count,): (i64,) = redis::pipe()
        .atomic()
        .incr(&key, 1)
        .expire(&key, 30 * 24 * 3600)
        .ignore()
        .query_async(&mut conn)
        .await?;
    Ok(count)
}

/// Wrong passwords so far for an email without an account.
pub async fn unknown_failures(state: &AppState, email: &str) -> AppResult<i64> {
    let mut conn = state.redis.clone();
    let count: Option<i64> = conn.get(unknown_key(state, email)).await?;
    Ok(count.unwrap_or(0))
}
