//! The benchmark seed's opportunities (`infra/sql/seed-opportunities.sql`, run by
//! `infra/seed`) at a tiny scale: it loads what it promises (counts, the big tenant's
//! share, three years, a history for every opportunity, every reference inside its own
//! tenant, indexes and foreign keys back), and the full nightly rollup over it equals a
//! plain GROUP BY over the same rows. A smoke test of `infra/bench-opportunities`' data.

use std::{path::Path, process::Command};

use chrono::{DateTime, Utc};
use kehu::statistics::rollup;
use kehu_tests::{
    bench::{PLAIN_DAILY, PLAIN_STAGES, connect},
    db,
};
use tokio_postgres::Client;

/// Opportunities in all, and in the big tenant (id 1).
const TOTAL: i64 = 3000;
const BIG: i64 = 1000;

/// Three tenants as `kehu-seed` makes them (the big one is id 1), one of them in another
/// time zone; a few users and companies each.
const TENANTS: &str = "
INSERT INTO tenants (id, name, time_zone, created_at) VALUES
    (1, '大租户', 'Asia/Shanghai', '2023-11-01'),
    (2, '小租户', 'Asia/Shanghai', '2023-11-01'),
    (3, 'Small Inc.', 'America/New_York', '2023-11-01');
SELECT setval(pg_get_serial_sequence('tenants', 'id'), 3);
INSERT INTO users (tenant_id, email, name, role)
SELECT t, format('u%s@t%s.seed.test', n, t), format('用户%s', n),
       CASE WHEN n = 1 THEN 'admin' ELSE 'member' END
  FROM generate_series(1, 3) AS t, generate_series(1, 6 - t) AS n;
INSERT INTO companies (tenant_id, name, owner_id, created_by, created_at)
SELECT u.tenant_id, format('公司%s-%s', u.tenant_id, n), u.id, u.id, '2023-11-01'
  FROM (SELECT DISTINCT ON (tenant_id) tenant_id, id FROM users ORDER BY tenant_id, id) u,
       generate_series(1, CASE u.tenant_id WHEN 1 THEN 50 WHEN 2 THEN 30 ELSE 10 END) AS n;";

/// The foreign keys and secondary indexes of the two tables the seed reloads.
const SCHEMA: &str = "
SELECT string_agg(d, E'\\n' ORDER BY d) FROM (
    SELECT pg_get_constraintdef(c.oid) AS d FROM pg_constraint c
     WHERE c.conrelid IN ('opportunities'::regclass, 'opportunity_events'::regclass)
    UNION ALL
    SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i
     WHERE i.indrelid IN ('opportunities'::regclass, 'opportunity_events'::regclass)) x";

async fn text_of(db: &Client, sql: &str) -> String {
    db.query_one(&format!("SELECT ({sql})::text"), &[])
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .get::<_, Option<String>>(0)
        .unwrap_or_default()
}

async fn int_of(db: &Client, sql: &str) -> i64 {
    text_of(db, sql)
        .await
        .parse()
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

#[tokio::test]
async fn the_opportunity_seed_keeps_its_invariants_and_rolls_up_to_a_plain_group_by() {
    let name = db::create_test_database().await.expect("test database");
    let owner_url = db::with_db(&db::owner_url(), &name);
    let owner = connect(&owner_url).await.expect("owner connection");
    owner.batch_execute(TENANTS).await.expect("tenants");
    let schema = text_of(&owner, SCHEMA).await;

    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/sql/seed-opportunities.sql");
    let out = Command::new("psql")
        .args(["-X", "-w", "-q", &owner_url])
        .args(["-v", &format!("total={TOTAL}"), "-v", &format!("big={BIG}")])
        .arg("-f")
        .arg(&file)
        .output()
        .expect("psql runs");
    assert!(
        out.status.success(),
        "seed-opportunities.sql failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Counts: all of them, the big tenant's, the others' in proportion to companies (30:10).
    assert_eq!(
        int_of(&owner, "SELECT count(*) FROM opportunities").await,
        TOTAL
    );
    assert_eq!(
        text_of(&owner, "SELECT string_agg(concat(tenant_id, ':', n), ' ' ORDER BY tenant_id) FROM (SELECT tenant_id, count(*) AS n FROM opportunities GROUP BY 1) c").await,
        "1:1000 2:1500 3:500"
    );
    assert_eq!(
        text_of(
            &owner,
            "SELECT string_agg(DISTINCT status, ',' ORDER BY status) FROM opportunities"
        )
        .await,
        "lost,tracking,won"
    );
    // Three years, and closed (if at all) after they were created.
    assert_eq!(
        int_of(&owner, "SELECT count(*) FROM opportunities WHERE created_at < '2023-12-01 09:00+08' OR created_at > '2026-12-05 18:00+08' OR closed_at < created_at").await,
        0
    );
    assert_eq!(
        int_of(
            &owner,
            "SELECT count(*) FROM opportunity_events WHERE created_at > '2026-12-05 18:00+08'"
        )
        .await,
        0,
        "no history in the future"
    );
    assert!(
        int_of(
            &owner,
            "SELECT extract(day FROM max(created_at) - min(created_at))::bigint FROM opportunities"
        )
        .await
            > 3 * 365 - 30
    );
    // Every opportunity has one 'created' event, a stage event per stage after the
    // first up to its own, and a status event if it is closed.
    assert_eq!(
        int_of(
            &owner,
            "SELECT count(*) FROM opportunities o
              WHERE (SELECT count(*) FROM opportunity_events e
                      WHERE e.tenant_id = o.tenant_id AND e.opportunity_id = o.id
                        AND e.action = 'created') <> 1"
        )
        .await,
        0
    );
    assert_eq!(
        int_of(&owner, "SELECT count(*) FROM opportunities o JOIN opportunity_stages s ON s.tenant_id = o.tenant_id AND s.id = o.stage_id
              WHERE (SELECT count(*) FROM opportunity_events e
                      WHERE e.tenant_id = o.tenant_id AND e.opportunity_id = o.id AND e.action = 'stage')
                    <> s.position - 1
                 OR (SELECT count(*) FROM opportunity_events e
                      WHERE e.tenant_id = o.tenant_id AND e.opportunity_id = o.id AND e.action = 'status')
                    <> (o.status <> 'tracking')::int").await,
        0
    );
    // Everything an opportunity or event points at is in its own tenant.
    for (what, sql) in [
        (
            "stage",
            "SELECT count(*) FROM opportunities o WHERE NOT EXISTS (SELECT 1 FROM opportunity_stages s WHERE s.tenant_id = o.tenant_id AND s.id = o.stage_id)",
        ),
        (
            "category",
            "SELECT count(*) FROM opportunities o WHERE category_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM opportunity_categories c WHERE c.tenant_id = o.tenant_id AND c.id = o.category_id)",
        ),
        (
            "lost reason",
            "SELECT count(*) FROM opportunities o WHERE (status = 'lost') <> (lost_reason_id IS NOT NULL) OR (lost_reason_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM lost_reasons r WHERE r.tenant_id = o.tenant_id AND r.id = o.lost_reason_id))",
        ),
        (
            "company",
            "SELECT count(*) FROM opportunities o WHERE NOT EXISTS (SELECT 1 FROM companies c WHERE c.tenant_id = o.tenant_id AND c.id = o.company_id)",
        ),
        (
            "owner",
            "SELECT count(*) FROM opportunities o WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.tenant_id = o.tenant_id AND u.id = o.owner_id)",
        ),
        (
            "event stage",
            "SELECT count(*) FROM opportunity_events e WHERE to_stage_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM opportunity_stages s WHERE s.tenant_id = e.tenant_id AND s.id = e.to_stage_id)",
        ),
    ] {
        assert_eq!(
            int_of(&owner, sql).await,
            0,
            "every {what} is in the opportunity's tenant"
        );
    }
    assert_eq!(
        text_of(&owner, SCHEMA).await,
        schema,
        "the seed puts back every index and foreign key it dropped"
    );

    // The seed's inserts marked the days; a full rollup after the last of them (as the
    // app role, through the real code) writes what a plain GROUP BY computes.
    let now: DateTime<Utc> = "2027-01-01T00:00:00Z".parse().expect("a time");
    let pool = kehu::db::pool(&db::with_db(&db::app_url(), &name), 2).expect("pool");
    let report = rollup::run(&pool, now, None).await.expect("rollup");
    assert_eq!(
        i64::try_from(report.days).expect("days"),
        int_of(&owner, "SELECT count(*) FROM (SELECT tenant_id, day FROM opportunity_daily UNION SELECT tenant_id, day FROM opportunity_stage_daily) d").await,
        "every day with an opportunity created, closed or entering a stage is rolled up"
    );
    assert_eq!(
        int_of(&owner, "SELECT count(*) FROM opportunity_dirty_days").await,
        0
    );
    for (table, plain) in [
        (
            "SELECT tenant_id, day, owner_id, visibility, created_count, created_amount, won_count, won_amount, lost_count, lost_amount FROM opportunity_daily",
            PLAIN_DAILY,
        ),
        (
            "SELECT tenant_id, day, owner_id, visibility, stage_id, entered, entered_amount FROM opportunity_stage_daily",
            PLAIN_STAGES,
        ),
    ] {
        let rows = int_of(&owner, &format!("SELECT count(*) FROM ({table}) r")).await;
        assert!(rows > 100, "{table}: {rows} rows");
        assert_eq!(
            int_of(
                &owner,
                &format!("SELECT count(*) FROM (({table}) EXCEPT ({plain})) d")
            )
            .await
                + int_of(
                    &owner,
                    &format!("SELECT count(*) FROM (({plain}) EXCEPT ({table})) d")
                )
                .await,
            0,
            "{table} equals its plain GROUP BY"
        );
        assert_eq!(
            int_of(&owner, &format!("SELECT count(*) FROM ({plain}) p")).await,
            rows
        );
    }
    assert_eq!(
        i64::try_from(report.rows).expect("rows"),
        int_of(&owner, "SELECT (SELECT count(*) FROM opportunity_daily) + (SELECT count(*) FROM opportunity_stage_daily)").await
    );

    // The open (跟踪中) figures the ranking reads were kept by the triggers during the
    // seed's bulk inserts: they equal a plain GROUP BY.
    let open = "SELECT tenant_id, owner_id, visibility, open_count, open_amount \
                FROM opportunity_open WHERE open_count <> 0";
    let plain_open = "SELECT tenant_id, owner_id, visibility, count(*), sum(amount)::bigint \
                      FROM opportunities WHERE status = 'tracking' GROUP BY 1, 2, 3";
    assert!(int_of(&owner, &format!("SELECT count(*) FROM ({open}) o")).await > 10);
    assert_eq!(
        int_of(
            &owner,
            &format!("SELECT (SELECT count(*) FROM (({open}) EXCEPT ({plain_open})) a) + (SELECT count(*) FROM (({plain_open}) EXCEPT ({open})) b)")
        )
        .await,
        0,
        "opportunity_open equals its plain GROUP BY"
    );

    drop(pool);
    drop(owner);
    db::drop_test_database(&name).await.expect("drop");
}
