//! Throttles in Redis: a per-IP limit per minute (for logins, sign-ups and password reset
//! requests), daily allowances (sign-ups per IP, invitations per tenant and per IP), and
//! cooldowns (one email per address per so many seconds).

use std::net::IpAddr;

use crate::{
    error::AppResult,
    state::{AppState, redis_retrying},
};

/// Counts a login or sign-up attempt from `ip`; true while the IP is under its
/// per-minute limit.
pub async fn allow_login_attempt(state: &AppState, ip: Option<IpAddr>) -> AppResult<bool> {
    let Some(ip) = ip else { return Ok(true) };
    let minute = chrono::Utc::now().timestamp() / 60;
    let key = state.redis_key(&format!("throttle:login:{}:{minute}", client_block(ip)));
    let count = incr_expiring(state, &key, 120).await?;
    Ok(count <= i64::from(state.config.login_ip_limit_per_minute))
}

/// Counts one use of a daily allowance: `scope` (e.g. `signup:ip`) for `bucket` (an IP
/// block, a tenant); true while today's count (UTC) is within `limit`.
pub async fn allow_daily(
    state: &AppState,
    scope: &str,
    bucket: &str,
    limit: u32,
) -> AppResult<bool> {
    let day = chrono::Utc::now().timestamp() / 86_400;
    let key = state.redis_key(&format!("throttle:{scope}:{bucket}:{day}"));
    let count = incr_expiring(state, &key, 2 * 86_400).await?;
    Ok(count <= i64::from(limit))
}

/// The bucket of a client IP for [`allow_daily`] (`unknown` when there is none).
pub fn ip_bucket(ip: Option<IpAddr>) -> String {
    ip.map_or_else(|| "unknown".to_owned(), client_block)
}

/// True the first time `key` is asked for within `secs` seconds (a cooldown).
pub async fn first_in(state: &AppState, key: &str, secs: u64) -> AppResult<bool> {
    let key = state.redis_key(key);
    let first: Option<String> = redis_retrying(&state.redis, |mut conn| {
        let key = key.clone();
        async move {
            redis::cmd("SET")
                .arg(&key)
                .arg(1)
                .arg("NX")
                .arg("EX")
                .arg(secs)
                .query_async(&mut conn)
                .await
        }
    })
    .await?;
    Ok(first.is_some())
}

/// Adds one to the counter `key`, which expires `ttl_secs` after its last count.
async fn incr_expiring(state: &AppState, key: &str, ttl_secs: i64) -> AppResult<i64> {
    let (count,): (i64,) = redis_retrying(&state.redis, |mut conn| async move {
        redis::pipe()
            .atomic()
            .incr(key, 1)
            .expire(key, ttl_secs)
            .ignore()
            .query_async(&mut conn)
            .await
    })
    .await?;
    Ok(count)
}

/// The unit a throttle counts: one IPv4 address, or one IPv6 /64 (a single client
/// usually holds a whole /64).
fn client_block(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::client_block;

    #[test]
    fn ipv6_clients_are_counted_per_64_block() {
        let a = client_block("2001:db8:1:2:aaaa::1".parse().expect("ip"));
        let b = client_block("2001:db8:1:2:bbbb::9".parse().expect("ip"));
        assert_eq!(a, b);
        assert_ne!(a, client_block("2001:db8:1:3::1".parse().expect("ip")));
        assert_eq!(
            client_block("::ffff:10.0.0.1".parse().expect("ip")),
            "10.0.0.1"
        );
        assert_eq!(client_block("10.0.0.1".parse().expect("ip")), "10.0.0.1");
    }
}
