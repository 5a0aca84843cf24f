//! Server-side sessions in Redis: poem's `ServerSession` keeps only a random id in the
//! cookie; the entries live under `{prefix}session:{id}` with a TTL.

use std::{collections::BTreeMap, time::Duration};

use poem::session::SessionStorage;
use redis::{AsyncCommands, aio::ConnectionManager};
use serde_json::Value;

use crate::state::redis_retrying;

/// Session storage on the Redis connection the app already holds.
#[derive(Clone)]
pub struct RedisSessions {
    conn: ConnectionManager,
    prefix: String,
    ttl: Duration,
}

impl RedisSessions {
    /// Sessions under `{prefix}session:`, expiring after `ttl` without a request.
    pub fn new(conn: ConnectionManager, prefix: &str, ttl: Duration) -> Self {
        Self {
            conn,
            prefix: format!("{prefix}session:"),
            ttl,
        }
    }

    fn key(&self, id: &str) -> String {
        format!("{}{id}", self.prefix)
    }
}

fn storage_error(err: redis::RedisError) -> poem::Error {
    poem::Error::new(err, poem::http::StatusCode::SERVICE_UNAVAILABLE)
}

impl RedisSessions {
    /// Runs a session command (each may run twice) through [`redis_retrying`].
    async fn run<T, F, Fut>(&self, command: F) -> poem::Result<T>
    where
        F: Fn(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        redis_retrying(&self.conn, command)
            .await
            .map_err(storage_error)
    }
}

impl SessionStorage for RedisSessions {
    async fn load_session<'a>(
        &'a self,
        session_id: &'a str,
    ) -> poem::Result<Option<BTreeMap<String, Value>>> {
        let key = self.key(session_id);
        let data: Option<String> = self
            .run(|mut conn| {
                let key = key.clone();
                async move { conn.get(key).await }
            })
            .await?;
        Ok(data.and_then(|d| serde_json::from_str(&d).ok()))
    }

    async fn update_session<'a>(
        &'a self,
        session_id: &'a str,
        entries: &'a BTreeMap<String, Value>,
        expires: Option<Duration>,
    ) -> poem::Result<()> {
        let value = serde_json::to_string(entries).map_err(poem::error::InternalServerError)?;
        let ttl = expires.unwrap_or(self.ttl).as_secs().max(1);
        let key = self.key(session_id);
        self.run(|mut conn| {
            let (key, value) = (key.clone(), value.clone());
            async move { conn.set_ex::<_, _, ()>(key, value, ttl).await }
        })
        .await
    }

    async fn remove_session<'a>(&'a self, session_id: &'a str) -> poem::Result<()> {
        let key = self.key(session_id);
        self.run(|mut conn| {
            let key = key.clone();
            async move { conn.del::<_, ()>(key).await }
        })
        .await
    }
}
