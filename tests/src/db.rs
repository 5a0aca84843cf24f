//! Test databases: one template per migration set, migrated once under an advisory lock
//! (so parallel test processes agree), and one clone per test.

use anyhow::Context;
use diesel::sql_types::BigInt;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use sha2::{Digest, Sha256};

/// The owner-role URL from the environment (as infra/test sets it).
pub fn owner_url() -> String {
    std::env::var("DATABASE_OWNER_URL")
        .unwrap_or_else(|_| "postgres://kehu_owner:kehu_owner_dev@127.0.0.1:5432/kehu".into())
}

/// The app-role URL from the environment.
pub fn app_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://kehu_app:kehu_app_dev@127.0.0.1:5432/kehu".into())
}

/// `url` with its database name replaced.
pub fn with_db(url: &str, db: &str) -> String {
    let mut parsed = url::Url::parse(url).expect("database URL");
    parsed.set_path(&format!("/{db}"));
    parsed.to_string()
}

/// Name of the template for the current migrations (their names and contents hashed),
/// so a changed migration gets a fresh template instead of a stale one.
fn template_name() -> String {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations");
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .expect("migrations dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    entries.sort();
    let mut hasher = Sha256::new();
    for entry in entries {
        hasher.update(entry.file_name().unwrap_or_default().as_encoded_bytes());
        for part in ["up.sql", "down.sql"] {
            hasher.update(std::fs::read(entry.join(part)).unwrap_or_default());
        }
    }
    format!("kehu_tpl_{}", &hex::encode(hasher.finalize())[..12])
}

async fn admin_conn() -> anyhow::Result<AsyncPgConnection> {
    AsyncPgConnection::establish(&owner_url())
        .await
        .context("connecting with DATABASE_OWNER_URL (run ./infra/test, which provisions it)")
}

async fn database_exists(conn: &mut AsyncPgConnection, name: &str) -> anyhow::Result<bool> {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let row: Count = diesel::sql_query("SELECT count(*) AS n FROM pg_database WHERE datname = $1")
        .bind::<diesel::sql_types::Text, _>(name)
        .get_result(conn)
        .await?;
    Ok(row.n > 0)
}

/// Makes sure the migrated template exists and returns its name.
async fn ensure_template(conn: &mut AsyncPgConnection) -> anyhow::Result<String> {
    let name = template_name();
    diesel::sql_query("SELECT pg_advisory_lock(727274)")
        .execute(conn)
        .await?;
    let result = async {
        if !database_exists(conn, &name).await? {
            diesel::sql_query(format!(
                "CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' \
                 LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'"
            ))
            .execute(conn)
            .await?;
            diesel::sql_query(format!(
                "GRANT CONNECT, TEMPORARY ON DATABASE {name} TO kehu_app"
            ))
            .execute(conn)
            .await?;
            kehu::db::run_migrations(&with_db(&owner_url(), &name)).await?;
        }
        anyhow::Ok(())
    }
    .await;
    diesel::sql_query("SELECT pg_advisory_unlock(727274)")
        .execute(conn)
        .await?;
    result?;
    Ok(name)
}

/// Creates a fresh, migrated database for one test and returns its name.
pub async fn create_test_database() -> anyhow::Result<String> {
    let mut conn = admin_conn().await?;
    let template = ensure_template(&mut conn).await?;
    let name = format!("kehu_t_{}", uuid::Uuid::new_v4().simple());
    // Cloning fails while another session is connected to the template; retry briefly.
    let mut last = None;
    for _ in 0..20 {
        match diesel::sql_query(format!("CREATE DATABASE {name} TEMPLATE {template}"))
            .execute(&mut conn)
            .await
        {
            Ok(_) => {
                diesel::sql_query(format!(
                    "GRANT CONNECT, TEMPORARY ON DATABASE {name} TO kehu_app"
                ))
                .execute(&mut conn)
                .await?;
                return Ok(name);
            }
            Err(e) => {
                last = Some(e);
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
    Err(last
        .map(anyhow::Error::from)
        .unwrap_or_else(|| anyhow::anyhow!("clone failed")))
}

/// Drops a test database, disconnecting anyone still on it.
pub async fn drop_test_database(name: &str) -> anyhow::Result<()> {
    let mut conn = admin_conn().await?;
    diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut conn)
        .await?;
    Ok(())
}
