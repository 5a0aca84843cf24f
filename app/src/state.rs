//! Shared application state handed to every handler.

use std::sync::Arc;

use redis::aio::ConnectionManager;

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
