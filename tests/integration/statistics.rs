//! 统计分析 and the nightly ranking rollup: the rollup's idempotence (twice, and killed
//! halfway), that it recomputes only changed days, that the ranking from the rollup
//! equals a live GROUP BY in the tenant's time zone (closes around midnight in
//! Shanghai), the chart data endpoints' numbers for a hand-made data set, visibility
//! (member, manager, admin and their switches), the xlsx download, and the cron job
//! running through the worker's job registry.

use std::{collections::BTreeMap, io::Cursor, time::Duration};

use calamine::{Reader, Xlsx};
use chrono::{DateTime, Utc};
use kehu::{
    db::DbPool,
    statistics::rollup::{self, Report},
};
use kehu_tests::{Client, TestApp, TestOptions, fixtures::opportunities::Pipeline};
use serde_json::Value;

use crate::support::{exec, snapshot, zh};

/// The rollup's clock: noon of 2 December 2026 in Shanghai, after every day of the data.
const NOW: &str = "2026-12-02T04:00:00Z";

/// November 2026, as the pages ask for it.
const NOVEMBER: &str = "period=custom&from=2026-11-01&to=2026-11-30";

fn now() -> DateTime<Utc> {
    NOW.parse().expect("a time")
}

/// The hand-made data set: a tenant with an admin, a manager, a member who reports to
/// the manager and another member; three stages; two categories; five opportunities.
struct Data {
    tenant: i64,
    admin: Client,
    admin_id: i64,
    manager: i64,
    member: i64,
    other: i64,
    pipeline: Pipeline,
    categories: [i64; 2],
}

async fn data(app: &TestApp, tag: &str) -> Data {
    let admin = app
        .signup(
            &format!("{tag}统计公司"),
            "管理员甲",
            &format!("admin@{tag}.test"),
        )
        .await;
    let tenant = app.tenant_of(&format!("admin@{tag}.test")).await;
    let admin_id = app.user_id(&format!("admin@{tag}.test")).await;
    let manager = app
        .create_user(
            &admin,
            "经理乙",
            &format!("manager@{tag}.test"),
            "manager",
            None,
        )
        .await;
    let member = app
        .create_user(
            &admin,
            "员工丙",
            &format!("member@{tag}.test"),
            "member",
            Some(manager),
        )
        .await;
    let other = app
        .create_user(
            &admin,
            "员工丁",
            &format!("other@{tag}.test"),
            "member",
            None,
        )
        .await;
    let pipeline = Pipeline::create(
        app,
        tenant,
        admin_id,
        &[("初步接洽", 10), ("需求确认", 50), ("商务谈判", 80)],
    )
    .await;
    let categories = [
        pipeline.category(app, "软件").await,
        pipeline.category(app, "硬件").await,
    ];
    // o1: the member's, through every stage, won one second before midnight in Shanghai.
    pipeline
        .opportunity("甲项目", member)
        .amount(10000)
        .category(categories[0])
        .created("2026-11-02 10:00:00+08")
        .moved(1, "2026-11-03 10:00:00+08")
        .moved(2, "2026-11-05 10:00:00+08")
        .won("2026-11-30 23:59:59+08")
        .insert(app)
        .await;
    // o2: the member's, lost at midnight: 1 December in Shanghai, 30 November in UTC.
    pipeline
        .opportunity("乙项目", member)
        .amount(20000)
        .category(categories[0])
        .created("2026-11-02 11:00:00+08")
        .moved(1, "2026-11-03 11:00:00+08")
        .lost("2026-12-01 00:00:00+08")
        .insert(app)
        .await;
    // o3: the manager's, tracking in the first stage.
    pipeline
        .opportunity("丙项目", manager)
        .amount(30000)
        .category(categories[1])
        .created("2026-11-03 09:00:00+08")
        .insert(app)
        .await;
    // o4: the other member's, private, created at midnight in Shanghai (9 November UTC).
    pipeline
        .opportunity("丁项目", other)
        .amount(5000)
        .created("2026-11-10 00:00:00+08")
        .moved(1, "2026-11-10 12:00:00+08")
        .insert(app)
        .await;
    // o5: the other member's, public, won straight from the first stage.
    pipeline
        .opportunity("戊项目", other)
        .amount(7000)
        .public()
        .created("2026-11-10 13:00:00+08")
        .won("2026-11-11 10:00:00+08")
        .insert(app)
        .await;
    Data {
        tenant,
        admin,
        admin_id,
        manager,
        member,
        other,
        pipeline,
        categories,
    }
}

fn pool(app: &TestApp) -> DbPool {
    kehu::db::pool(&app.config.database_url, 2).expect("an app-role pool")
}

async fn json(client: &Client, path: &str) -> Value {
    let page = client.get(path).await;
    assert_eq!(page.status, 200, "{path}: {}", page.body);
    assert!(
        page.header("content-type")
            .unwrap_or_default()
            .starts_with("application/json"),
        "{path} answers JSON"
    );
    serde_json::from_str(&page.body).unwrap_or_else(|e| panic!("{path}: {e}: {}", page.body))
}

/// The rollup rows of a tenant, both tables.
async fn rollup_rows(app: &TestApp, tenant: i64) -> String {
    format!(
        "{}\n--\n{}",
        snapshot(app, "opportunity_daily", tenant).await,
        snapshot(app, "opportunity_stage_daily", tenant).await
    )
}

async fn dirty_days(app: &TestApp, tenant: i64, condition: &str) -> i64 {
    app.scalar(&format!(
        "SELECT count(DISTINCT day) FROM opportunity_dirty_days WHERE tenant_id = {tenant} AND {condition}"
    ))
    .await
}

/// Ranking rows by user id: (won count, won amount, lost, new count, new amount, open
/// count, open amount), only the users with any figure.
type Figures = BTreeMap<i64, [i64; 7]>;

fn figures_of(ranking: &Value) -> Figures {
    ranking["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            let n = |k: &str| r[k].as_i64().unwrap_or_else(|| panic!("{k} in {r}"));
            (
                n("user_id"),
                [
                    n("won_count"),
                    n("won_amount"),
                    n("lost_count"),
                    n("new_count"),
                    n("new_amount"),
                    n("open_count"),
                    n("open_amount"),
                ],
            )
        })
        .filter(|(_, f)| f.iter().any(|v| *v != 0))
        .collect()
}

/// The same figures by one plain GROUP BY over the opportunities, days in Shanghai time.
async fn live_group_by(app: &TestApp, tenant: i64, from: &str, to: &str) -> Figures {
    let day = |col: &str| {
        format!("({col} AT TIME ZONE 'Asia/Shanghai')::date BETWEEN '{from}' AND '{to}'")
    };
    let sql = format!(
        "SELECT coalesce(string_agg(concat_ws(',', owner_id, won, won_amount, lost, new, new_amount, open, open_amount), ';' ORDER BY owner_id), '') FROM (
             SELECT owner_id,
                    count(*) FILTER (WHERE status = 'won' AND {closed}) AS won,
                    coalesce(sum(amount) FILTER (WHERE status = 'won' AND {closed}), 0) AS won_amount,
                    count(*) FILTER (WHERE status = 'lost' AND {closed}) AS lost,
                    count(*) FILTER (WHERE {created}) AS new,
                    coalesce(sum(amount) FILTER (WHERE {created}), 0) AS new_amount,
                    count(*) FILTER (WHERE status = 'tracking') AS open,
                    coalesce(sum(amount) FILTER (WHERE status = 'tracking'), 0) AS open_amount
               FROM opportunities WHERE tenant_id = {tenant}
              GROUP BY owner_id) g",
        closed = day("closed_at"),
        created = day("created_at"),
    );
    app.text(&sql)
        .await
        .split(';')
        .filter(|r| !r.is_empty())
        .map(|r| {
            let v: Vec<i64> = r.split(',').map(|x| x.parse().expect("a number")).collect();
            (v[0], [v[1], v[2], v[3], v[4], v[5], v[6], v[7]])
        })
        .filter(|(_, f)| f.iter().any(|v| *v != 0))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_rollup_run_twice_or_killed_halfway_gives_the_rows_of_one_full_run() {
    let app = TestApp::start_with(TestOptions {
        worker: false,
        ..TestOptions::default()
    })
    .await;
    let d = data(&app, "idem").await;
    let db = pool(&app);
    // Seven days have data (Shanghai dates): 11-02, 11-03, 11-05, 11-10, 11-11, 11-30, 12-01.
    assert_eq!(dirty_days(&app, d.tenant, "true").await, 7);

    // A run "killed" after three days, then the rest.
    let first = rollup::run(&db, now(), Some(3)).await.expect("rollup");
    assert_eq!(first.days, 3);
    assert_eq!(dirty_days(&app, d.tenant, "true").await, 4);
    let rest = rollup::run(&db, now(), None).await.expect("rollup");
    assert_eq!(rest.days, 4);
    assert_eq!(dirty_days(&app, d.tenant, "true").await, 0);
    let halves = rollup_rows(&app, d.tenant).await;
    assert!(halves.contains("\"won_amount\":10000"), "{halves}");

    // Again: nothing to do, nothing changes.
    assert_eq!(
        rollup::run(&db, now(), None).await.expect("rollup"),
        Report::default()
    );
    assert_eq!(rollup_rows(&app, d.tenant).await, halves);

    // From scratch in one run: the same rows.
    let t = d.tenant;
    exec(
        &app,
        &format!("DELETE FROM opportunity_daily WHERE tenant_id = {t}"),
    )
    .await;
    exec(
        &app,
        &format!("DELETE FROM opportunity_stage_daily WHERE tenant_id = {t}"),
    )
    .await;
    exec(
        &app,
        &format!(
            "INSERT INTO opportunity_dirty_days (tenant_id, day)
             SELECT DISTINCT {t}, (at AT TIME ZONE 'Asia/Shanghai')::date FROM (
                 SELECT created_at FROM opportunities WHERE tenant_id = {t}
                 UNION ALL SELECT closed_at FROM opportunities WHERE tenant_id = {t} AND closed_at IS NOT NULL
                 UNION ALL SELECT created_at FROM opportunity_events WHERE tenant_id = {t}) x(at)"
        ),
    )
    .await;
    assert_eq!(rollup_rows(&app, d.tenant).await, "\n--\n");
    let full = rollup::run(&db, now(), None).await.expect("rollup");
    assert_eq!(full.days, 7);
    assert_eq!(full.rows, first.rows + rest.rows);
    assert_eq!(rollup_rows(&app, d.tenant).await, halves);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rerun_recomputes_only_the_days_that_changed_and_leaves_today_live() {
    let app = TestApp::start_with(TestOptions {
        worker: false,
        ..TestOptions::default()
    })
    .await;
    let d = data(&app, "changed").await;
    let other_tenant = data(&app, "bystander").await;
    let db = pool(&app);
    assert_eq!(
        rollup::run(&db, now(), None).await.expect("rollup").days,
        14,
        "seven days in each tenant"
    );

    // One amount changes: only its creation day (3 November, with its stage entry).
    exec(
        &app,
        &format!(
            "UPDATE opportunities SET amount = 35000 WHERE tenant_id = {} AND name = '丙项目'",
            d.tenant
        ),
    )
    .await;
    // An edit that changes no counted fact marks nothing.
    exec(
        &app,
        &format!(
            "UPDATE opportunities SET description = '改了简介' WHERE tenant_id = {}",
            d.tenant
        ),
    )
    .await;
    let report = rollup::run(&db, now(), None).await.expect("rollup");
    assert_eq!(report.days, 1);
    assert_eq!(
        app.scalar(&format!(
            "SELECT created_amount FROM opportunity_daily WHERE tenant_id = {} AND day = '2026-11-03' AND owner_id = {}",
            d.tenant, d.manager
        ))
        .await,
        35000
    );

    // Winning an opportunity marks its old and new days: created 10 November (and its
    // stage entries that day), closed 1 December.
    exec(
        &app,
        &format!(
            "UPDATE opportunities SET status = 'won', closed_at = '2026-12-01 15:00:00+08' \
             WHERE tenant_id = {} AND name = '丁项目'",
            d.tenant
        ),
    )
    .await;
    assert_eq!(rollup::run(&db, now(), None).await.expect("rollup").days, 2);

    // Today (2 December in Shanghai at NOW) is not over: it stays dirty, served live.
    d.pipeline
        .opportunity("今天的机会", d.member)
        .amount(900)
        .created("2026-12-02 09:00:00+08")
        .insert(&app)
        .await;
    assert_eq!(rollup::run(&db, now(), None).await.expect("rollup").days, 0);
    assert_eq!(dirty_days(&app, d.tenant, "day = '2026-12-02'").await, 1);
    // The next day it is over.
    let tomorrow: DateTime<Utc> = "2026-12-02T16:00:00Z".parse().expect("a time");
    assert_eq!(
        rollup::run(&db, tomorrow, None).await.expect("rollup").days,
        1
    );

    // Deleting an opportunity marks its days.
    exec(
        &app,
        &format!(
            "DELETE FROM opportunities WHERE tenant_id = {} AND name = '戊项目'",
            d.tenant
        ),
    )
    .await;
    assert_eq!(
        rollup::run(&db, tomorrow, None).await.expect("rollup").days,
        2
    );
    assert_eq!(dirty_days(&app, other_tenant.tenant, "true").await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_ranking_from_the_rollup_equals_a_live_group_by_in_shanghai_time() {
    let app = TestApp::start_with(TestOptions {
        worker: false,
        ..TestOptions::default()
    })
    .await;
    let d = data(&app, "live").await;
    let path = format!("/statistics/ranking?format=json&{NOVEMBER}");

    // Before the rollup every day is dirty: the page is live.
    let before = json(&d.admin, &path).await;
    let expected = live_group_by(&app, d.tenant, "2026-11-01", "2026-11-30").await;
    assert_eq!(figures_of(&before), expected);

    rollup::run(&pool(&app), now(), None).await.expect("rollup");
    assert_eq!(
        dirty_days(&app, d.tenant, "day BETWEEN '2026-11-01' AND '2026-11-30'").await,
        0,
        "November now comes from the rollup"
    );
    let after = json(&d.admin, &path).await;
    assert_eq!(figures_of(&after), expected);
    assert_eq!(after, before);

    // Midnight in Shanghai: o1 won at 23:59:59 counts in November, o2 lost at 00:00 does
    // not (in UTC it would).
    let member = &figures_of(&after)[&d.member];
    assert_eq!((member[0], member[1], member[2]), (1, 10000, 0));
    let december_first = json(
        &d.admin,
        "/statistics/ranking?format=json&period=custom&from=2026-12-01&to=2026-12-01",
    )
    .await;
    assert_eq!(figures_of(&december_first)[&d.member][2], 1);
    assert_eq!(
        figures_of(&december_first),
        live_group_by(&app, d.tenant, "2026-12-01", "2026-12-01").await
    );

    // A change after the rollup is seen at once (its day is dirty again, and live).
    exec(
        &app,
        &format!(
            "UPDATE opportunities SET amount = 12345 WHERE tenant_id = {} AND name = '甲项目'",
            d.tenant
        ),
    )
    .await;
    let changed = json(&d.admin, &path).await;
    assert_eq!(figures_of(&changed)[&d.member][1], 12345);
    assert_eq!(
        figures_of(&changed),
        live_group_by(&app, d.tenant, "2026-11-01", "2026-11-30").await
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_chart_data_endpoints_count_the_hand_made_data_set() {
    let app = TestApp::start_with(TestOptions {
        worker: false,
        ..TestOptions::default()
    })
    .await;
    let d = data(&app, "numbers").await;
    rollup::run(&pool(&app), now(), Some(4))
        .await
        .expect("half the days rolled up, the rest live");

    // 比例图.
    let dist = json(&d.admin, "/statistics/distribution?format=json").await;
    let rows = |key: &str| -> Vec<(String, i64, i64)> {
        dist[key]
            .as_array()
            .expect(key)
            .iter()
            .map(|r| {
                (
                    r["key"].as_str().expect("key").to_owned(),
                    r["count"].as_i64().expect("count"),
                    r["amount"].as_i64().expect("amount"),
                )
            })
            .collect()
    };
    assert_eq!(
        rows("by_status"),
        vec![
            ("tracking".into(), 2, 35000),
            ("won".into(), 2, 17000),
            ("lost".into(), 1, 20000),
        ]
    );
    let [s0, s1, s2] = [0, 1, 2].map(|i| d.pipeline.stages[i].to_string());
    assert_eq!(
        rows("by_stage"),
        vec![(s0, 2, 37000), (s1, 2, 25000), (s2, 1, 10000)]
    );
    assert_eq!(
        rows("by_category"),
        vec![
            (d.categories[0].to_string(), 2, 30000),
            (d.categories[1].to_string(), 1, 30000),
            (String::new(), 2, 12000),
        ]
    );
    assert_eq!(dist["by_category"][2]["name"], zh("statistics.no_category"));
    let won_only = json(&d.admin, "/statistics/distribution?format=json&status=won").await;
    assert_eq!(won_only["by_status"].as_array().map(Vec::len), Some(1));
    assert_eq!(won_only["by_category"][0]["count"], 1);

    // 销售排行榜: ranked by won amount; equal amounts share a rank.
    let ranking = json(
        &d.admin,
        &format!("/statistics/ranking?format=json&{NOVEMBER}"),
    )
    .await;
    let order: Vec<(i64, i64)> = ranking["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            (
                r["rank"].as_i64().expect("rank"),
                r["user_id"].as_i64().expect("id"),
            )
        })
        .collect();
    assert_eq!(
        order,
        vec![(1, d.member), (2, d.other), (3, d.manager), (3, d.admin_id)]
    );
    let f = figures_of(&ranking);
    assert_eq!(f[&d.member], [1, 10000, 0, 2, 30000, 0, 0]);
    assert_eq!(f[&d.other], [1, 7000, 0, 2, 12000, 1, 5000]);
    assert_eq!(f[&d.manager], [0, 0, 0, 1, 30000, 1, 30000]);
    assert!(!f.contains_key(&d.admin_id));
    assert_eq!(ranking["rows"][0]["name"], "员工丙");

    // 销售漏斗: entries per stage from the history, weighted by probability, conversion
    // stage to stage (o5 won straight from the first stage: the last rate is 200 %).
    let funnel = json(
        &d.admin,
        &format!("/statistics/funnel?format=json&{NOVEMBER}"),
    )
    .await;
    let ours: Vec<&Value> = funnel["stages"]
        .as_array()
        .expect("stages")
        .iter()
        .filter(|s| {
            d.pipeline
                .stages
                .contains(&s["stage_id"].as_i64().unwrap_or(0))
        })
        .collect();
    let layer = |s: &Value| {
        (
            s["entered"].as_i64().expect("entered"),
            s["amount"].as_i64().expect("amount"),
            s["weighted"].as_i64().expect("weighted"),
            s["conversion"].as_f64(),
        )
    };
    assert_eq!(layer(ours[0]), (5, 72000, 7200, Some(0.6)));
    let (entered, amount, weighted, rate) = layer(ours[1]);
    assert_eq!((entered, amount, weighted), (3, 35000, 17500));
    let rate = rate.expect("a rate");
    assert!((rate - 1.0 / 3.0).abs() < 1e-9, "{rate}");
    assert_eq!(layer(ours[2]), (1, 10000, 8000, Some(2.0)));
    assert_eq!(funnel["won"]["count"], 2);
    assert_eq!(funnel["won"]["amount"], 17000);

    // The pages show the same numbers in their tables, and the charts carry them.
    let page = d.admin.get(&format!("/statistics/funnel?{NOVEMBER}")).await;
    assert_eq!(page.status, 200);
    let cells = page.texts(&format!(
        "#table-funnel tr[data-stage='{}'] td",
        d.pipeline.stages[0]
    ));
    assert_eq!(
        cells,
        vec!["初步接洽", "10%", "5", "¥720.00", "¥72.00", "60.0%"]
    );
    let chart: Value =
        serde_json::from_str(&page.attrs("#chart-funnel", "data-chart")[0]).expect("chart JSON");
    assert_eq!(chart["series"][0]["type"], "funnel");
    assert!(
        chart["series"][0]["data"]
            .as_array()
            .expect("data")
            .iter()
            .any(|l| l["name"] == "初步接洽" && l["value"] == 5.0)
    );

    let page = d
        .admin
        .get(&format!("/statistics/ranking?{NOVEMBER}"))
        .await;
    assert_eq!(
        page.attrs("#table-ranking tbody tr", "data-user"),
        order
            .iter()
            .map(|(_, id)| id.to_string())
            .collect::<Vec<_>>()
    );
    assert_eq!(
        page.texts("#table-ranking tbody tr:first-child td"),
        vec![
            "1",
            "员工丙",
            "¥100.00",
            "1",
            "0",
            "¥0.00",
            "2",
            "¥300.00",
            "0"
        ]
    );
    let chart: Value =
        serde_json::from_str(&page.attrs("#chart-ranking", "data-chart")[0]).expect("chart JSON");
    assert_eq!(chart["series"][0]["type"], "bar");
    assert_eq!(
        chart["yAxis"]["data"]
            .as_array()
            .and_then(|a| a.last())
            .cloned(),
        Some(Value::from("员工丙"))
    );

    let page = d.admin.get("/statistics/distribution?measure=amount").await;
    assert_eq!(
        page.texts("#table-status tbody tr td"),
        vec![
            "跟踪中",
            "2",
            "¥350.00",
            "已经成功",
            "2",
            "¥170.00",
            "失败",
            "1",
            "¥200.00"
        ]
    );
    let chart: Value =
        serde_json::from_str(&page.attrs("#chart-status", "data-chart")[0]).expect("chart JSON");
    assert_eq!(chart["series"][0]["type"], "pie");
    assert_eq!(chart["series"][0]["data"][0]["value"], 350.0);

    // An htmx request gets the fragment only.
    let fragment = d
        .admin
        .get_htmx(&format!("/statistics/ranking?{NOVEMBER}"))
        .await;
    assert_eq!(fragment.status, 200);
    assert!(
        fragment
            .body
            .trim_start()
            .starts_with("<div id=\"stats-body\""),
        "{}",
        fragment.body
    );
    assert!(!fragment.body.contains("app-menu"));
}

#[tokio::test(flavor = "multi_thread")]
async fn each_role_counts_what_it_may_see() {
    let app = TestApp::start_with(TestOptions {
        worker: false,
        ..TestOptions::default()
    })
    .await;
    let d = data(&app, "scope").await;
    rollup::run(&pool(&app), now(), None).await.expect("rollup");
    let member = app.login_ok("member@scope.test").await;
    let manager = app.login_ok("manager@scope.test").await;
    let total = |v: &Value| -> i64 {
        v["by_status"]
            .as_array()
            .expect("by_status")
            .iter()
            .map(|r| r["count"].as_i64().expect("count"))
            .sum()
    };
    let users = |v: &Value| -> Vec<i64> {
        let mut ids: Vec<i64> = v["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .map(|r| r["user_id"].as_i64().expect("id"))
            .collect();
        ids.sort();
        ids
    };
    let sorted = |mut v: Vec<i64>| {
        v.sort();
        v
    };
    let ranking = format!("/statistics/ranking?format=json&{NOVEMBER}");
    let funnel = format!("/statistics/funnel?format=json&{NOVEMBER}");
    let entered = |v: &Value| -> i64 {
        v["stages"]
            .as_array()
            .expect("stages")
            .iter()
            .map(|s| s["entered"].as_i64().expect("entered"))
            .sum()
    };

    // The member: their own two and the other member's public one.
    let dist = json(&member, "/statistics/distribution?format=json").await;
    assert_eq!(total(&dist), 3);
    let r = json(&member, &ranking).await;
    assert_eq!(users(&r), sorted(vec![d.member, d.other]));
    assert_eq!(figures_of(&r)[&d.other], [1, 7000, 0, 1, 7000, 0, 0]);
    assert_eq!(entered(&json(&member, &funnel).await), 3 + 2 + 1);
    // A member's view switch is ignored.
    let r = json(&member, &format!("{ranking}&view=user-{}", d.other)).await;
    assert_eq!(users(&r), sorted(vec![d.member, d.other]));

    // The manager: their team (themselves and the member) and public ones.
    assert_eq!(
        total(&json(&manager, "/statistics/distribution?format=json").await),
        4
    );
    let r = json(&manager, &ranking).await;
    assert_eq!(users(&r), sorted(vec![d.manager, d.member, d.other]));
    assert_eq!(figures_of(&r)[&d.manager], [0, 0, 0, 1, 30000, 1, 30000]);

    // The admin: everything, one employee, public only, or a manager's team.
    assert_eq!(
        total(&json(&d.admin, "/statistics/distribution?format=json").await),
        5
    );
    let one = format!("view=user-{}", d.other);
    assert_eq!(
        total(
            &json(
                &d.admin,
                &format!("/statistics/distribution?format=json&{one}")
            )
            .await
        ),
        2
    );
    let r = json(&d.admin, &format!("{ranking}&{one}")).await;
    assert_eq!(users(&r), vec![d.other]);
    assert_eq!(figures_of(&r)[&d.other], [1, 7000, 0, 2, 12000, 1, 5000]);
    assert_eq!(
        entered(&json(&d.admin, &format!("{funnel}&{one}")).await),
        2 + 1
    );
    assert_eq!(
        total(&json(&d.admin, "/statistics/distribution?format=json&view=public").await),
        1
    );
    let team = format!("team={}", d.manager);
    let r = json(&d.admin, &format!("{ranking}&{team}")).await;
    assert_eq!(users(&r), sorted(vec![d.manager, d.member]));
    assert_eq!(
        entered(&json(&d.admin, &format!("{funnel}&{team}")).await),
        3 + 2 + 1
    );
    // A member cannot pick a team; another tenant's user is no team either.
    let r = json(&member, &format!("{ranking}&{team}")).await;
    assert_eq!(users(&r), sorted(vec![d.member, d.other]));
    let stranger = data(&app, "stranger").await;
    let r = json(&d.admin, &format!("{ranking}&team={}", stranger.manager)).await;
    assert_eq!(
        users(&r).len(),
        4,
        "the whole tenant, not the stranger's team"
    );
    // The pickers: the admin sees the employees and the manager's team; a member neither.
    let page = d.admin.get("/statistics/ranking").await;
    assert!(
        page.attrs("#f-view option", "value")
            .contains(&format!("user-{}", d.other))
    );
    assert_eq!(
        page.attrs("#f-team option", "value"),
        vec![String::new(), d.manager.to_string()]
    );
    let page = member.get("/statistics/ranking").await;
    assert!(page.attrs("#f-view option", "value").is_empty());
    assert!(page.attrs("#f-team option", "value").is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_ranking_downloads_as_xlsx_with_formulas_neutralised() {
    let app = TestApp::start_with(TestOptions {
        worker: false,
        ..TestOptions::default()
    })
    .await;
    let d = data(&app, "xlsx").await;
    exec(
        &app,
        &format!(
            "UPDATE users SET name = '=HYPERLINK(\"x\")' WHERE id = {}",
            d.other
        ),
    )
    .await;
    let (status, headers, bytes) = d
        .admin
        .get_bytes(&format!("/statistics/ranking?format=xlsx&{NOVEMBER}"))
        .await;
    assert_eq!(status, 200);
    let disposition = headers
        .get("content-disposition")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(disposition.contains("attachment"), "{disposition}");
    assert!(
        disposition.contains("2026-11-01-2026-11-30.xlsx"),
        "{disposition}"
    );
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes)).expect("xlsx");
    let sheet = book
        .worksheet_range_at(0)
        .expect("a sheet")
        .expect("readable");
    let rows: Vec<Vec<String>> = sheet
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect();
    assert_eq!(rows.len(), 5, "{rows:?}");
    assert_eq!(rows[0][0], zh("statistics.rank"));
    assert_eq!(rows[0][2], zh("statistics.won_amount"));
    assert_eq!(rows[1][1], "员工丙");
    assert_eq!(rows[1][2], "100");
    assert_eq!(
        rows[2][1], "'=HYPERLINK(\"x\")",
        "the formula is neutralised"
    );
    assert_eq!(rows[2][2], "70");

    // The page links the download of what it shows.
    let page = d
        .admin
        .get(&format!("/statistics/ranking?{NOVEMBER}"))
        .await;
    assert_eq!(
        page.attrs("#ranking-xlsx", "href"),
        vec![format!("/statistics/ranking?format=xlsx&{NOVEMBER}")]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_dates_say_so_and_show_this_month() {
    let app = TestApp::start_with(TestOptions {
        worker: false,
        ..TestOptions::default()
    })
    .await;
    let d = data(&app, "dates").await;
    let page = d
        .admin
        .get("/statistics/funnel?period=custom&from=2026-12-31&to=2026-11-01")
        .await;
    assert_eq!(page.status, 200);
    assert_eq!(
        page.texts("#f-period-error"),
        vec![zh("statistics.error_order")]
    );
    assert_eq!(
        page.input_value("from").as_deref(),
        Some("2026-12-31"),
        "the input is kept"
    );
    let page = d
        .admin
        .get("/statistics/ranking?period=custom&from=x&to=")
        .await;
    assert_eq!(
        page.texts("#f-period-error"),
        vec![zh("statistics.error_dates")]
    );
    let page = d.admin.get("/statistics/ranking?period=last_month").await;
    assert!(page.texts("#f-period-error").is_empty());
    assert_eq!(page.status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_rollup_is_a_cron_job_of_the_worker_registry() {
    assert!(
        kehu_worker::jobs::registry()
            .kinds()
            .contains(&"ranking_rollup"),
        "{:?}",
        kehu_worker::jobs::registry().kinds()
    );
    // A worker whose schedule fires every second rolls up yesterday's changes by itself.
    let app = TestApp::start_with(TestOptions {
        ranking_rollup_schedule: Some("* * * * * *".into()),
        ..TestOptions::default()
    })
    .await;
    let d = data(&app, "cron").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while dirty_days(&app, d.tenant, "day < '2026-12-02'").await > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the cron job did not run"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        app.scalar(&format!(
            "SELECT won_amount FROM opportunity_daily WHERE tenant_id = {} AND day = '2026-11-30' AND owner_id = {}",
            d.tenant, d.member
        ))
        .await,
        10000
    );
}
