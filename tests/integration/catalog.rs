//! The schema rules of DESIGN §2, read from pg_catalog of a freshly migrated database, and
//! row-level security seen from the app role.

use diesel_async::SimpleAsyncConnection;
use kehu_tests::TestApp;

use crate::support::count_on;

/// Tables exempt from the tenant-owned rules. `tenants` is the tenancy root (its own `id`
/// is the tenant) and must still force RLS; `user_directory` is not readable by the app
/// role at all.
const NOT_TENANT_OWNED: &str = "'__diesel_schema_migrations', 'tenants', 'user_directory'";

/// Tables that need no RLS.
const NO_RLS: &str = "'__diesel_schema_migrations', 'user_directory'";

/// Tenant-owned tables with the attnum of their `tenant_id` (NULL when it is missing).
fn tenant_tables() -> String {
    format!(
        "SELECT c.oid, c.relname, a.attnum AS tenant_att, a.attnotnull AS tenant_notnull
           FROM pg_class c
           JOIN pg_namespace n ON n.oid = c.relnamespace
           LEFT JOIN pg_attribute a
                  ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
          WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
            AND c.relname NOT IN ({NOT_TENANT_OWNED})"
    )
}

/// Runs a query that lists violations as text; empty means none.
async fn violations(app: &TestApp, what: &str, select_names_from: &str) -> String {
    let found = app
        .text(&format!(
            "SELECT coalesce(string_agg(v.name, ', ' ORDER BY v.name), '') FROM ({select_names_from}) v"
        ))
        .await;
    assert!(found.is_empty(), "{what}: {found}");
    found
}

#[tokio::test(flavor = "multi_thread")]
async fn the_tenant_owned_tables_are_the_ones_we_expect() {
    let app = TestApp::start().await;
    let tables = app
        .text(&format!(
            "SELECT string_agg(t.relname, ',' ORDER BY t.relname) FROM ({}) t",
            tenant_tables()
        ))
        .await;
    // A guard against the other checks passing on an empty set.
    for expected in ["audit_log", "emails", "invitations", "users"] {
        assert!(
            tables.split(',').any(|t| t == expected),
            "{expected} missing from {tables}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_table_but_the_allowlist_enables_and_forces_row_level_security() {
    let app = TestApp::start().await;
    violations(
        &app,
        "tables without ENABLE + FORCE ROW LEVEL SECURITY",
        &format!(
            "SELECT c.relname AS name FROM pg_class c
               JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
                AND c.relname NOT IN ({NO_RLS})
                AND NOT (c.relrowsecurity AND c.relforcerowsecurity)"
        ),
    )
    .await;
    assert_eq!(
        app.scalar(
            "SELECT count(*) FROM pg_class WHERE relname = 'tenants' \
             AND relrowsecurity AND relforcerowsecurity"
        )
        .await,
        1,
        "the tenant root forces RLS too"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_tenant_owned_table_has_a_not_null_tenant_id_leading_its_primary_key() {
    let app = TestApp::start().await;
    violations(
        &app,
        "tables without a NOT NULL tenant_id",
        &format!(
            "SELECT t.relname AS name FROM ({}) t WHERE t.tenant_att IS NULL OR NOT t.tenant_notnull",
            tenant_tables()
        ),
    )
    .await;
    violations(
        &app,
        "tables whose primary key does not start with tenant_id",
        &format!(
            "SELECT t.relname AS name FROM ({}) t
              WHERE NOT EXISTS (SELECT 1 FROM pg_constraint k
                                 WHERE k.conrelid = t.oid AND k.contype = 'p'
                                   AND k.conkey[1] = t.tenant_att
                                   AND array_length(k.conkey, 1) >= 2)",
            tenant_tables()
        ),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn tenant_id_leads_every_unique_constraint_and_every_index() {
    let app = TestApp::start().await;
    violations(
        &app,
        "unique or exclusion constraints not led by tenant_id",
        &format!(
            "SELECT t.relname || '.' || k.conname AS name FROM ({}) t
               JOIN pg_constraint k ON k.conrelid = t.oid
              WHERE k.contype IN ('u', 'x') AND k.conkey[1] IS DISTINCT FROM t.tenant_att",
            tenant_tables()
        ),
    )
    .await;
    violations(
        &app,
        "indexes not led by tenant_id",
        &format!(
            "SELECT t.relname || '.' || ic.relname AS name FROM ({}) t
               JOIN pg_index i ON i.indrelid = t.oid
               JOIN pg_class ic ON ic.oid = i.indexrelid
              WHERE i.indkey[0] IS DISTINCT FROM t.tenant_att",
            tenant_tables()
        ),
    )
    .await;
    // The check sees the indexes at all.
    assert!(
        app.scalar(&format!(
            "SELECT count(*) FROM ({}) t JOIN pg_index i ON i.indrelid = t.oid",
            tenant_tables()
        ))
        .await
            >= 6
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn foreign_keys_between_tenant_owned_tables_are_composite_and_start_with_tenant_id() {
    let app = TestApp::start().await;
    // Any table with a tenant_id (including user_directory) pointing at a table with a
    // tenant_id: (tenant_id, …) → (tenant_id, …).
    let with_tenant = "SELECT c.oid, c.relname, a.attnum AS tenant_att FROM pg_class c
                         JOIN pg_namespace n ON n.oid = c.relnamespace
                         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id'
                        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')";
    violations(
        &app,
        "foreign keys between tenant-owned tables that are not (tenant_id, …)",
        &format!(
            "SELECT src.relname || '.' || k.conname AS name
               FROM ({with_tenant}) src
               JOIN pg_constraint k ON k.conrelid = src.oid AND k.contype = 'f'
               JOIN ({with_tenant}) dst ON dst.oid = k.confrelid
              WHERE array_length(k.conkey, 1) < 2
                 OR k.conkey[1] <> src.tenant_att
                 OR k.confkey[1] <> dst.tenant_att"
        ),
    )
    .await;
    violations(
        &app,
        "foreign keys to tenants that do not go from tenant_id to tenants.id",
        &format!(
            "SELECT src.relname || '.' || k.conname AS name
               FROM ({with_tenant}) src
               JOIN pg_constraint k ON k.conrelid = src.oid AND k.contype = 'f'
              WHERE k.confrelid = 'tenants'::regclass
                AND (k.conkey <> ARRAY[src.tenant_att]
                     OR k.confkey <> ARRAY[(SELECT attnum FROM pg_attribute
                                            WHERE attrelid = 'tenants'::regclass AND attname = 'id')])"
        ),
    )
    .await;
    violations(
        &app,
        "foreign keys from tenant-owned tables to tables without a tenant",
        &format!(
            "SELECT src.relname || '.' || k.conname AS name
               FROM ({}) src
               JOIN pg_constraint k ON k.conrelid = src.oid AND k.contype = 'f'
              WHERE k.confrelid <> 'tenants'::regclass
                AND NOT EXISTS (SELECT 1 FROM pg_attribute a
                                 WHERE a.attrelid = k.confrelid AND a.attname = 'tenant_id')",
            tenant_tables()
        ),
    )
    .await;
    // users.reports_to, invitations → users (twice), audit_log → users (twice), …
    assert!(
        app.scalar(&format!(
            "SELECT count(*) FROM ({with_tenant}) src
               JOIN pg_constraint k ON k.conrelid = src.oid AND k.contype = 'f'
              WHERE k.confrelid <> 'tenants'::regclass"
        ))
        .await
            >= 5,
        "the check sees the composite foreign keys"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_policy_compares_the_tenant_with_kehu_current_tenant_in_using_and_with_check() {
    let app = TestApp::start().await;
    violations(
        &app,
        "RLS tables without a policy",
        &format!(
            "SELECT c.relname AS name FROM pg_class c
               JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
                AND c.relname NOT IN ({NO_RLS})
                AND NOT EXISTS (SELECT 1 FROM pg_policies p
                                 WHERE p.schemaname = 'public' AND p.tablename = c.relname)"
        ),
    )
    .await;
    violations(
        &app,
        "policies whose USING or WITH CHECK does not compare the tenant to kehu_current_tenant()",
        "SELECT p.tablename || '.' || p.policyname AS name FROM pg_policies p
          WHERE p.schemaname = 'public'
            AND (p.qual IS NULL OR p.with_check IS NULL
                 OR position('kehu_current_tenant()' IN p.qual) = 0
                 OR position('kehu_current_tenant()' IN p.with_check) = 0
                 OR position(CASE WHEN p.tablename = 'tenants' THEN '(id = kehu_current_tenant())'
                                  ELSE '(tenant_id = kehu_current_tenant())' END IN p.qual) = 0
                 OR position(CASE WHEN p.tablename = 'tenants' THEN '(id = kehu_current_tenant())'
                                  ELSE '(tenant_id = kehu_current_tenant())' END IN p.with_check) = 0)",
    )
    .await;
    let body = app
        .text("SELECT prosrc FROM pg_proc WHERE proname = 'kehu_current_tenant'")
        .await;
    assert!(
        body.contains("NULLIF(current_setting('app.tenant_id', true), '')"),
        "kehu_current_tenant() must treat the '' left after a transaction as no tenant: {body}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_app_role_is_not_superuser_cannot_bypass_rls_and_owns_nothing() {
    let app = TestApp::start().await;
    assert_eq!(
        app.scalar("SELECT count(*) FROM pg_roles WHERE rolname = 'kehu_app'")
            .await,
        1
    );
    assert_eq!(
        app.scalar(
            "SELECT count(*) FROM pg_roles WHERE rolname = 'kehu_app' AND (rolsuper OR rolbypassrls)"
        )
        .await,
        0,
        "kehu_app must be NOSUPERUSER NOBYPASSRLS"
    );
    for (catalog, owner) in [
        ("pg_class", "relowner"),
        ("pg_proc", "proowner"),
        ("pg_namespace", "nspowner"),
        ("pg_type", "typowner"),
    ] {
        assert_eq!(
            app.scalar(&format!(
                "SELECT count(*) FROM {catalog} WHERE {owner} = 'kehu_app'::regrole"
            ))
            .await,
            0,
            "kehu_app owns something in {catalog}"
        );
    }
    assert_eq!(
        app.scalar(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = 'public' AND pg_has_role('kehu_app', c.relowner, 'MEMBER')"
        )
        .await,
        0,
        "kehu_app is a member of a table owner"
    );
    for privilege in [
        "SELECT",
        "INSERT",
        "UPDATE",
        "DELETE",
        "TRUNCATE",
        "REFERENCES",
        "TRIGGER",
    ] {
        assert_eq!(
            app.scalar(&format!(
                "SELECT has_table_privilege('kehu_app', 'user_directory', '{privilege}')::int"
            ))
            .await,
            0,
            "kehu_app has {privilege} on user_directory"
        );
    }
    // The audit log is append-only for the app.
    for privilege in ["UPDATE", "DELETE", "TRUNCATE"] {
        assert_eq!(
            app.scalar(&format!(
                "SELECT has_table_privilege('kehu_app', 'audit_log', '{privilege}')::int"
            ))
            .await,
            0,
            "kehu_app has {privilege} on audit_log"
        );
    }
    let mut conn = app.app_conn().await;
    let err = count_on(&mut conn, "SELECT count(*) FROM user_directory")
        .await
        .expect_err("the app role cannot read user_directory");
    assert!(err.contains("permission denied"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn rls_shows_the_app_role_only_the_tenant_set_in_its_transaction() {
    let app = TestApp::start().await;
    let admin_a = app.signup("甲公司", "甲管理员", "admin@a.test").await;
    app.create_user(&admin_a, "甲员工", "member@a.test", "member", None)
        .await;
    app.signup("乙公司", "乙管理员", "admin@b.test").await;
    let a = app.tenant_of("admin@a.test").await;
    let b = app.tenant_of("admin@b.test").await;
    assert_eq!(app.scalar("SELECT count(*) FROM users").await, 3);

    let mut conn = app.app_conn().await;
    // No tenant set: nothing is visible.
    for table in ["users", "tenants", "audit_log", "emails", "invitations"] {
        let n = count_on(&mut conn, &format!("SELECT count(*) FROM {table}"))
            .await
            .expect("count");
        assert_eq!(n, 0, "{table} without a tenant");
    }

    conn.batch_execute("BEGIN").await.expect("begin");
    count_on(
        &mut conn,
        &format!("SELECT count(*) FROM (SELECT set_config('app.tenant_id', '{a}', true)) s"),
    )
    .await
    .expect("set tenant");
    assert_eq!(
        count_on(&mut conn, "SELECT count(*) FROM users")
            .await
            .expect("count"),
        2,
        "tenant A sees its two users"
    );
    assert_eq!(
        count_on(
            &mut conn,
            &format!("SELECT count(*) FROM users WHERE tenant_id <> {a}")
        )
        .await
        .expect("count"),
        0
    );
    assert_eq!(
        count_on(&mut conn, "SELECT count(*) FROM tenants")
            .await
            .expect("count"),
        1
    );
    // Updating B's rows from A's transaction touches nothing.
    let updated = diesel_async::RunQueryDsl::execute(
        diesel::sql_query(format!(
            "UPDATE users SET name = 'hijacked' WHERE tenant_id = {b}"
        )),
        &mut conn,
    )
    .await
    .expect("update");
    assert_eq!(updated, 0);
    conn.batch_execute("COMMIT").await.expect("commit");

    // After commit the setting reads '' and nothing is visible again.
    assert_eq!(
        count_on(
            &mut conn,
            "SELECT count(*) FROM (SELECT 1 WHERE current_setting('app.tenant_id', true) = '') s"
        )
        .await
        .expect("setting"),
        1,
        "app.tenant_id reads '' after the transaction"
    );
    assert_eq!(
        count_on(&mut conn, "SELECT count(*) FROM users")
            .await
            .expect("count"),
        0
    );

    // Writing a row for B inside A's transaction is refused.
    conn.batch_execute(&format!(
        "BEGIN; SELECT set_config('app.tenant_id', '{a}', true);"
    ))
    .await
    .expect("begin");
    let err = diesel_async::RunQueryDsl::execute(
        diesel::sql_query(format!(
            "INSERT INTO users (tenant_id, email, name, role) \
             VALUES ({b}, 'sneaky@b.test', 'Sneaky', 'member')"
        )),
        &mut conn,
    )
    .await
    .expect_err("inserting into another tenant");
    assert!(err.to_string().contains("row-level security"), "{err}");
    conn.batch_execute("ROLLBACK").await.expect("rollback");

    // Moving A's user to B is refused too (WITH CHECK).
    conn.batch_execute(&format!(
        "BEGIN; SELECT set_config('app.tenant_id', '{a}', true);"
    ))
    .await
    .expect("begin");
    let err = diesel_async::RunQueryDsl::execute(
        diesel::sql_query(format!(
            "UPDATE users SET tenant_id = {b} WHERE email = 'member@a.test'"
        )),
        &mut conn,
    )
    .await
    .expect_err("moving a user to another tenant");
    conn.batch_execute("ROLLBACK").await.expect("rollback");
    assert!(err.to_string().contains("row-level security"), "{err}");
    assert_eq!(app.tenant_of("member@a.test").await, a);
    assert_eq!(
        app.scalar(&format!("SELECT count(*) FROM users WHERE tenant_id = {b}"))
            .await,
        1
    );
}
