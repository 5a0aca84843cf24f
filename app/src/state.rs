//! Shared application state handed to every handler.

use std::sync::Arc;

use redis::{RedisResult, aio::ConnectionManager};

use crate::{config::Config, db::DbPool, files::FileStore, jobs::Queues};

/// Everything a handler may need besides the request: no globals.
pub struct AppState {
    /// The typed configuration.
    pub config: Config,
    /// App-role connections.
    pub db: DbPool,
    /// Redis for throttles (sessions and queues hold their own clones).
    pub redis: ConnectionManager,
    /// The job queues.
    pub queues: Queues,
    /// Uploaded and generated files.
    pub files: FileStore,
}

/// The state as handlers receive it.
pub type State = Arc<AppState>;

impl AppState {
    /// Connects to PostgreSQL and Redis, checks the database role and opens the file store.
    pub async fn connect(config: Config) -> anyhow::Result<State> {
        let files = FileStore::from_url(&config.file_store_url)?;
        let db = crate::db::pool(&config.database_url, 16)?;
        crate::db::ensure_app_role_is_restricted(&db).await?;
        let client = redis::Client::open(config.redis_url.as_str())?;
        let redis = ConnectionManager::new(client).await?;
        let queues = Queues::new(redis.clone(), &config.redis_prefix);
        Ok(Arc::new(Self {
            config,
            db,
            redis,
            queues,
            files,
        }))
    }

    /// A Redis key in this deployment's namespace.
    pub fn redis_key(&self, suffix: &str) -> String {
        format!("{}{suffix}", self.config.redis_prefix)
    }
}

/// Runs a Redis command, once more if the connection had dropped (Redis restarted): the
/// connection manager reconnects after the first error, so the first request after a
/// restart is answered instead of refused. Only for commands that may run twice: a reply
/// lost after the command ran runs it again (a throttle then counts one attempt twice).
pub async fn redis_retrying<T, F, Fut>(conn: &ConnectionManager, command: F) -> RedisResult<T>
where
    F: Fn(ConnectionManager) -> Fut,
    Fut: Future<Output = RedisResult<T>>,
{
    match command(conn.clone()).await {
        Err(err) if err.is_connection_dropped() || err.is_io_error() => {
            tracing::info!(error = %err, "Redis connection dropped; trying once more");
            command(conn.clone()).await
        }
        other => other,
    }
}
