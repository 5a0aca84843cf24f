//! Database access: the pool, migrations, the start-up role check and tenant-scoped
//! transactions.
//!
//! Every query on tenant data runs inside a [`TenantTx`]: a transaction that first sets
//! `app.tenant_id` with `set_config(.., true)`, so the setting dies with the transaction
//! and a pooled connection can never carry a tenant into the next request. RLS is the
//! second lock; model functions also filter on `tx.tenant()` explicitly.

use anyhow::{Context, bail};
use diesel::{
    QueryableByName,
    sql_types::{BigInt, Bool, Text},
};
use diesel_async::{
    AnsiTransactionManager, AsyncConnection, AsyncMigrationHarness, AsyncPgConnection, RunQueryDsl,
    TransactionManager,
    pooled_connection::{
        AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
        deadpool::{Object, Pool},
    },
};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::{error::AppResult, ids::TenantId};

/// The migrations, compiled into the binary.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations");

/// A pool of connections as the app role.
pub type DbPool = Pool<AsyncPgConnection>;

/// Builds the pool of app-role connections.
///
/// A connection is handed out again without a test query (`RecyclingMethod::Fast`): the
/// default `Verified` sent `SELECT 1` before every transaction, one round trip of each
/// request's two. A connection the server closed is still never reused (diesel-async
/// sees the closed socket, `is_broken`); one that dies silently fails its next
/// statement once and is then dropped.
pub fn pool(database_url: &str, max_size: usize) -> anyhow::Result<DbPool> {
    let mut config = ManagerConfig::default();
    config.recycling_method = RecyclingMethod::Fast;
    let manager =
        AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(database_url, config);
    Pool::builder(manager)
        .max_size(max_size)
        .build()
        .context("building the database pool")
}

/// Runs pending migrations as the owner role.
pub async fn run_migrations(owner_url: &str) -> anyhow::Result<()> {
    let conn = AsyncPgConnection::establish(owner_url)
        .await
        .context("connecting with DATABASE_OWNER_URL")?;
    let mut harness = AsyncMigrationHarness::new(conn);
    let applied = harness
        .run_pending_migrations(MIGRATIONS)
        .map_err(|e| anyhow::anyhow!("migrations failed: {e}"))?;
    tracing::info!(count = applied.len(), "migrations applied");
    Ok(())
}

#[derive(QueryableByName)]
struct RoleFacts {
    #[diesel(sql_type = Text)]
    role: String,
    #[diesel(sql_type = Bool)]
    rolsuper: bool,
    #[diesel(sql_type = Bool)]
    rolbypassrls: bool,
    #[diesel(sql_type = BigInt)]
    owned: i64,
}

/// Refuses to run as a role that could read across tenants: a superuser, a role with
/// BYPASSRLS, or one that owns (or is a member of the owner of) any table.
pub async fn ensure_app_role_is_restricted(pool: &DbPool) -> anyhow::Result<()> {
    let mut conn = pool.get().await.context("connecting with DATABASE_URL")?;
    let facts: RoleFacts = diesel::sql_query(
        "SELECT r.rolname::text AS role, r.rolsuper, r.rolbypassrls,
                (SELECT count(*) FROM pg_class c
                  JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
                   AND pg_has_role(current_user, c.relowner, 'MEMBER')) AS owned
           FROM pg_roles r WHERE r.rolname = current_user",
    )
    .get_result(&mut conn)
    .await
    .context("reading the app role's attributes")?;
    if facts.rolsuper || facts.rolbypassrls || facts.owned > 0 {
        bail!(
            "refusing to start: database role {:?} can bypass row-level security \
             (superuser={}, bypassrls={}, owns {} tables). DATABASE_URL must use the \
             restricted app role.",
            facts.role,
            facts.rolsuper,
            facts.rolbypassrls,
            facts.owned
        );
    }
    Ok(())
}

/// A transaction bound to one tenant. Dropping it without [`TenantTx::commit`] or
/// [`TenantTx::rollback`] (an early `?` return) closes the connection instead of
/// returning it to the pool, so the server rolls back at once and no lock outlives the
/// request.
pub struct TenantTx {
    conn: Option<Object<AsyncPgConnection>>,
    tenant: TenantId,
}

impl TenantTx {
    /// Starts a transaction for `tenant`.
    pub async fn begin(pool: &DbPool, tenant: TenantId) -> AppResult<Self> {
        let mut conn = pool.get().await?;
        // One round trip: BEGIN and the tenant in one simple query (an integer, so no
        // quoting is needed).
        AnsiTransactionManager::begin_transaction_sql(
            &mut *conn,
            &format!(
                "BEGIN; SELECT set_config('app.tenant_id', '{}', true)",
                tenant.0
            ),
        )
        .await?;
        Ok(Self {
            conn: Some(conn),
            tenant,
        })
    }

    /// Starts a transaction for a tenant that does not exist yet: reserves its id and
    /// sets it as the transaction's tenant, so sign-up writes under RLS like any request.
    pub async fn begin_new_tenant(pool: &DbPool) -> AppResult<Self> {
        #[derive(QueryableByName)]
        struct NextId {
            #[diesel(sql_type = BigInt)]
            id: i64,
        }
        let mut conn = pool.get().await?;
        <AsyncPgConnection as AsyncConnection>::TransactionManager::begin_transaction(&mut *conn)
            .await?;
        let next: NextId = diesel::sql_query("SELECT nextval('tenants_id_seq') AS id")
            .get_result(&mut *conn)
            .await?;
        let tenant = TenantId(next.id);
        set_tenant(&mut conn, tenant).await?;
        Ok(Self {
            conn: Some(conn),
            tenant,
        })
    }

    /// The tenant this transaction is bound to.
    pub fn tenant(&self) -> TenantId {
        self.tenant
    }

    /// Commits the transaction and returns the connection to the pool.
    pub async fn commit(mut self) -> AppResult<()> {
        let mut conn = self.conn.take().ok_or_else(finished)?;
        <AsyncPgConnection as AsyncConnection>::TransactionManager::commit_transaction(&mut *conn)
            .await?;
        Ok(())
    }

    /// Rolls the transaction back and returns the connection to the pool.
    pub async fn rollback(mut self) -> AppResult<()> {
        let mut conn = self.conn.take().ok_or_else(finished)?;
        <AsyncPgConnection as AsyncConnection>::TransactionManager::rollback_transaction(
            &mut *conn,
        )
        .await?;
        Ok(())
    }
}

fn finished() -> crate::error::AppError {
    crate::error::AppError::Internal(anyhow::anyhow!("transaction already finished"))
}

impl Drop for TenantTx {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            // Detach from the pool and close: the server rolls the transaction back.
            drop(Object::take(conn));
        }
    }
}

impl TenantTx {
    /// A shared handle for reads: queries made through copies of it may be awaited
    /// together (`try_join!`), and then go out pipelined on the one connection; the server
    /// still runs them in order, inside this transaction.
    pub fn reads(&self) -> Reads<'_> {
        Reads {
            conn: self,
            tenant: self.tenant,
        }
    }
}

/// See [`TenantTx::reads`].
#[derive(Clone, Copy)]
pub struct Reads<'a> {
    conn: &'a AsyncPgConnection,
    tenant: TenantId,
}

impl<'a> Reads<'a> {
    /// The transaction's tenant.
    pub fn tenant(self) -> TenantId {
        self.tenant
    }

    /// The connection, for `query.load(&mut db.conn())`.
    pub fn conn(self) -> &'a AsyncPgConnection {
        self.conn
    }
}

impl std::ops::Deref for TenantTx {
    type Target = AsyncPgConnection;
    fn deref(&self) -> &Self::Target {
        // Only commit/rollback take the connection, and they consume self.
        self.conn.as_ref().expect("transaction in progress")
    }
}

impl std::ops::DerefMut for TenantTx {
    fn deref_mut(&mut self) -> &mut Self::Target {
        // Only commit/rollback take the connection, and they consume self.
        self.conn.as_mut().expect("transaction in progress")
    }
}

async fn set_tenant(conn: &mut AsyncPgConnection, tenant: TenantId) -> AppResult<()> {
    diesel::sql_query("SELECT set_config('app.tenant_id', $1, true)")
        .bind::<Text, _>(tenant.0.to_string())
        .execute(conn)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    /// Tables that can hold millions of rows: an index on one is built concurrently.
    const BIG_TABLES: &[&str] = &[
        "companies",
        "contacts",
        "company_tags",
        "company_events",
        "notes",
        "opportunities",
        "opportunity_events",
        "opportunity_daily",
        "opportunity_stage_daily",
        "emails",
        "import_errors",
        "import_undo",
        "tasks",
        "task_reminders",
        "audit_log",
    ];

    /// The last migration written before the rule; later ones must follow it.
    const RULE_SINCE: &str = "2026-12-07-000032";

    /// What breaks the README's migration rule in one migration: an index on a big table
    /// that is not `CREATE INDEX CONCURRENTLY`, or one in a migration that runs inside a
    /// transaction.
    fn violations(up: &str, metadata: &str) -> Vec<String> {
        let sql = up.to_lowercase();
        let outside = metadata
            .replace(' ', "")
            .contains("run_in_transaction=false");
        let mut found = Vec::new();
        for statement in sql.split(';') {
            let words: Vec<&str> = statement.split_whitespace().collect();
            let Some(at) = words.iter().position(|w| *w == "index") else {
                continue;
            };
            let Some(on) = words.iter().position(|w| *w == "on") else {
                continue;
            };
            if words.first() != Some(&"create") || on < at {
                continue;
            }
            let mut table = words.get(on + 1).copied().unwrap_or_default();
            if table == "only" {
                table = words.get(on + 2).copied().unwrap_or_default();
            }
            let table = table.trim_matches('"');
            if !BIG_TABLES.contains(&table) {
                continue;
            }
            if words.get(at + 1) != Some(&"concurrently") {
                found.push(format!("an index on {table} is not built concurrently"));
            }
            if !outside {
                found.push(format!("an index on {table} is built inside a transaction"));
            }
        }
        found
    }

    #[test]
    fn the_rule_finds_a_blocking_index_on_a_big_table() {
        let blocking = "CREATE INDEX tasks_x_idx ON tasks (tenant_id, x);";
        assert_eq!(violations(blocking, "").len(), 2);
        let in_tx = "CREATE INDEX CONCURRENTLY tasks_x_idx ON ONLY tasks (tenant_id, x);";
        assert_eq!(
            violations(in_tx, ""),
            ["an index on tasks is built inside a transaction"]
        );
        assert!(violations(in_tx, "run_in_transaction = false\n").is_empty());
        let small = "CREATE INDEX a_idx ON task_categories (tenant_id, name)";
        assert!(violations(small, "").is_empty(), "small tables are free");
    }

    /// The README's migration rule holds for every migration after [`RULE_SINCE`].
    #[test]
    fn indexes_on_big_tables_are_built_concurrently_outside_a_transaction() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations");
        for entry in std::fs::read_dir(&dir).expect("the migrations folder") {
            let path = entry.expect("a migration").path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_owned();
            if name.as_str() <= RULE_SINCE || !path.is_dir() {
                continue;
            }
            let up = std::fs::read_to_string(path.join("up.sql")).unwrap_or_default();
            let metadata = std::fs::read_to_string(path.join("metadata.toml")).unwrap_or_default();
            assert_eq!(violations(&up, &metadata), Vec::<String>::new(), "{name}");
        }
    }
}
