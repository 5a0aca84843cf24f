//! 销售指标设定 (issue 11, point 8): own targets, targets assigned by a manager or an
//! admin, who may not set whose, the actual (won amount per month in the tenant's time
//! zone), the year and year-on-year queries, the forecast and the home page's progress.

use chrono::{Datelike, Utc};
use kehu_tests::{
    Client,
    client::Page,
    opportunities::{OpportunityBuilder, yuan},
};

use crate::support::{Team, zh};

/// The twelve month fields with `values` in the first months and the rest empty.
fn months(year: i32, values: &[&str]) -> Vec<(String, String)> {
    let mut form = vec![("year".to_owned(), year.to_string())];
    for m in 1..=12 {
        let value = values.get(m - 1).copied().unwrap_or("");
        form.push((format!("m{m}"), value.to_owned()));
    }
    form
}

/// Posts the target form of `user` for `year`, loading the page first as a browser does.
async fn save(client: &Client, user: i64, form: &[(String, String)]) -> Page {
    client.get(&format!("/targets?who={user}")).await;
    let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    client.post(&format!("/targets/{user}"), &fields).await
}

/// The stored targets of `user` in `year` as `month:amount:assigned_by` (0 for none).
async fn stored(t: &Team, user: i64, year: i32) -> String {
    t.app
        .text(&format!(
            "SELECT coalesce(string_agg(month || ':' || amount || ':' || coalesce(assigned_by, 0), ',' \
             ORDER BY month), '') FROM sales_targets WHERE user_id = {user} AND year = {year}"
        ))
        .await
}

/// The cells of the query table's row for `period` (`2026-01`): target, actual,
/// completion, change.
fn report_row(page: &Page, period: &str) -> Vec<String> {
    ["target", "actual", "completion", "change"]
        .iter()
        .map(|col| {
            page.texts(&format!(
                "#targets-table tr[data-period='{period}'] td[data-col={col}]"
            ))
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("no {col} for {period}: {}", page.body))
        })
        .collect()
}

/// The current month in Asia/Shanghai.
fn this_month() -> (i32, u32) {
    let now = Utc::now().with_timezone(&chrono_tz::Asia::Shanghai);
    (now.year(), now.month())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_user_sets_their_own_targets_and_reads_them_back() {
    let t = Team::new("tself").await;
    let page = save(
        &t.member,
        t.member_id,
        &months(2026, &["12,345.67", "", "¥800"]),
    )
    .await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(
        page.location.as_deref(),
        Some(format!("/targets?who={}&year=2026&saved=1", t.member_id).as_str())
    );
    assert_eq!(stored(&t, t.member_id, 2026).await, "1:1234567:0,3:80000:0");

    let page = t
        .member
        .get(page.location.as_deref().unwrap_or_default())
        .await;
    assert_eq!(page.status, 200);
    assert_eq!(page.alert().as_deref(), Some(zh("targets.saved").as_str()));
    assert_eq!(page.input_value("m1").as_deref(), Some("12,345.67"));
    assert_eq!(page.input_value("m2").as_deref(), Some(""));
    assert_eq!(page.input_value("m3").as_deref(), Some("800.00"));
    assert!(page.texts(".target-assigned").is_empty(), "self-set");
    // A tab of 工作桌面.
    assert_eq!(
        page.texts(".app-tabs .nav-link.active"),
        vec![zh("targets.tab")]
    );

    // Changing one month leaves the others; emptying one removes it.
    let page = save(
        &t.member,
        t.member_id,
        &months(2026, &["12,345.67", "1,000", ""]),
    )
    .await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(
        stored(&t, t.member_id, 2026).await,
        "1:1234567:0,2:100000:0"
    );

    // Bad amounts: each month says why, what was typed stays, nothing is saved.
    let page = save(
        &t.member,
        t.member_id,
        &months(2026, &["abc", "1.234", "-5", "9"]),
    )
    .await;
    assert_eq!(page.status, 422, "{}", page.body);
    assert_eq!(page.field_error("m1"), Some(zh("money.invalid")));
    assert_eq!(page.field_error("m2"), Some(zh("money.too_precise")));
    assert_eq!(page.field_error("m3"), Some(zh("money.negative")));
    assert_eq!(page.field_error("m4"), None);
    assert_eq!(page.input_value("m1").as_deref(), Some("abc"));
    assert_eq!(page.input_value("m4").as_deref(), Some("9"));
    assert_eq!(
        stored(&t, t.member_id, 2026).await,
        "1:1234567:0,2:100000:0"
    );

    // A year outside the range is refused outright.
    let page = save(&t.member, t.member_id, &months(1999, &["1"])).await;
    assert_eq!(page.status, 400);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_manager_assigns_targets_to_the_team_and_the_person_sees_who() {
    let t = Team::new("tassign").await;
    // Someone who reports to the member is in the manager's team too.
    let junior_id = t
        .app
        .create_user(
            &t.admin,
            "下级员工",
            "junior@tassign.test",
            "member",
            Some(t.member_id),
        )
        .await;
    // The member's own target for February stays theirs when the manager leaves it alone.
    save(&t.member, t.member_id, &months(2026, &["", "500"])).await;
    let page = save(
        &t.manager,
        t.member_id,
        &months(2026, &["20,000", "500", "30,000"]),
    )
    .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let m = t.manager_id;
    assert_eq!(
        stored(&t, t.member_id, 2026).await,
        format!("1:2000000:{m},2:50000:0,3:3000000:{m}")
    );
    let page = save(&t.manager, junior_id, &months(2026, &["1"])).await;
    assert_eq!(page.status, 303, "reports of reports are in the team");

    // The member sees who assigned which month and cannot change those.
    let page = t.member.get("/targets?year=2026").await;
    assert_eq!(page.status, 200);
    let assigned = zh("targets.assigned_by").replace("%{name}", "经理");
    assert_eq!(page.texts("#f-m1-note"), vec![assigned.clone()]);
    assert_eq!(page.texts("#f-m3-note"), vec![assigned]);
    assert!(page.texts("#f-m2-note").is_empty());
    assert_eq!(page.attrs("#f-m1[readonly]", "name"), vec!["m1".to_owned()]);
    assert!(page.attrs("#f-m2[readonly]", "name").is_empty());
    let page = save(
        &t.member,
        t.member_id,
        &months(2026, &["1", "600", "30,000"]),
    )
    .await;
    assert_eq!(page.status, 422);
    assert_eq!(
        page.field_error("m1"),
        Some(zh("targets.locked").replace("%{name}", "经理"))
    );
    assert_eq!(page.field_error("m3"), None, "unchanged");
    assert_eq!(
        stored(&t, t.member_id, 2026).await,
        format!("1:2000000:{m},2:50000:0,3:3000000:{m}"),
        "nothing saved"
    );
    // Their own months they may still change.
    let page = save(
        &t.member,
        t.member_id,
        &months(2026, &["20,000", "600", "30,000"]),
    )
    .await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(
        stored(&t, t.member_id, 2026).await,
        format!("1:2000000:{m},2:60000:0,3:3000000:{m}")
    );

    // The manager looks at the member's page: the same assigned-by notes.
    let page = t
        .manager
        .get(&format!("/targets?who={}&year=2026", t.member_id))
        .await;
    assert_eq!(page.status, 200);
    assert_eq!(page.texts("#f-m1-note").len(), 1);
    assert!(
        page.attrs("#f-m1[readonly]", "name").is_empty(),
        "the assigner may change it"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn nobody_sets_targets_outside_their_reach_but_an_admin_sets_anyones() {
    let t = Team::new("trefuse").await;
    let form = months(2026, &["1,000"]);
    // A member for someone else, a manager outside the team: 403, nothing written.
    for (client, user) in [
        (&t.member, t.outsider_id),
        (&t.member, t.manager_id),
        (&t.outsider, t.member_id),
        (&t.manager, t.outsider_id),
        (&t.manager, t.admin_id),
    ] {
        let page = save(client, user, &form).await;
        assert_eq!(page.status, 403, "POST for {user}");
        assert!(page.body.contains(&zh("error.403_title")));
        let page = client.get(&format!("/targets?who={user}")).await;
        assert_eq!(page.status, 403, "GET for {user}");
    }
    assert_eq!(t.app.scalar("SELECT count(*) FROM sales_targets").await, 0);
    // Someone who does not exist: 404.
    assert_eq!(save(&t.manager, 987_654_321, &form).await.status, 404);
    assert_eq!(t.manager.get("/targets?who=987654321").await.status, 404);
    // Members see only themselves: no person chooser.
    assert!(
        t.member
            .get("/targets")
            .await
            .texts("#q-who option")
            .is_empty()
    );
    // The manager chooses among themselves, the member and the team.
    assert_eq!(
        t.manager.get("/targets").await.texts("#q-who option").len(),
        3
    );

    // An admin sets anyone's, the outsider's and the manager's alike.
    for user in [t.outsider_id, t.manager_id] {
        let page = save(&t.admin, user, &form).await;
        assert_eq!(page.status, 303, "{}", page.body);
        assert_eq!(
            stored(&t, user, 2026).await,
            format!("1:100000:{}", t.admin_id)
        );
    }
    let page = t.outsider.get("/targets?year=2026").await;
    assert_eq!(
        page.texts("#f-m1-note"),
        vec![zh("targets.assigned_by").replace("%{name}", "管理员")]
    );
    // The admin's own target is self-set.
    save(&t.admin, t.admin_id, &form).await;
    assert_eq!(stored(&t, t.admin_id, 2026).await, "1:100000:0");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_actual_is_the_won_amount_closed_in_the_month_in_shanghai_time() {
    let t = Team::new("tactual").await;
    let app = &t.app;
    let won = |at: &'static str, fen: i64| {
        OpportunityBuilder::new(t.tenant, t.member_id)
            .amount(fen)
            .won_at(at)
    };
    // 2026-01-31 23:30 in Shanghai is still January (15:30 UTC).
    won("2026-01-31 23:30:00+08", yuan(100)).insert(app).await;
    // 2026-02-01 00:10 in Shanghai is February, although it is 31 January in UTC.
    won("2026-01-31 16:10:00+00", yuan(250)).insert(app).await;
    won("2026-02-28 23:59:59+08", yuan(50)).insert(app).await;
    // 2026-03-01 00:00 Shanghai: March.
    won("2026-02-28 16:00:00+00", yuan(7)).insert(app).await;
    // Not counted: lost, still open, another currency, another person's.
    OpportunityBuilder::new(t.tenant, t.member_id)
        .amount(yuan(999))
        .lost_at("2026-02-10 10:00:00+08")
        .insert(app)
        .await;
    OpportunityBuilder::new(t.tenant, t.member_id)
        .amount(yuan(999))
        .expected("2026-02-15")
        .insert(app)
        .await;
    won("2026-02-10 10:00:00+08", yuan(999))
        .currency("USD")
        .insert(app)
        .await;
    OpportunityBuilder::new(t.tenant, t.outsider_id)
        .amount(yuan(999))
        .won_at("2026-02-10 10:00:00+08")
        .insert(app)
        .await;
    // The month before the year, for January's change.
    won("2025-12-15 12:00:00+08", yuan(80)).insert(app).await;

    save(&t.member, t.member_id, &months(2026, &["200", "200", "0"])).await;
    let page = t.member.get("/targets?year=2026").await;
    assert_eq!(page.status, 200);
    assert_eq!(
        page.texts("#targets-report h2"),
        vec![zh("targets.report_year").replace("%{year}", "2026")]
    );
    assert_eq!(page.texts("#targets-table tbody tr").len(), 12);
    assert_eq!(
        report_row(&page, "2026-01"),
        ["¥200.00", "¥100.00", "50.0%", "+25.0%"]
    );
    assert_eq!(
        report_row(&page, "2026-02"),
        ["¥200.00", "¥300.00", "150.0%", "+200.0%"]
    );
    // A zero target has no completion.
    assert_eq!(
        report_row(&page, "2026-03"),
        ["¥0.00", "¥7.00", "—", "-97.7%"]
    );
    assert_eq!(
        report_row(&page, "2026-04"),
        [zh("targets.no_target").as_str(), "¥0.00", "—", "-100.0%"]
    );
    assert_eq!(report_row(&page, "2026-05")[3], "—");
    // The chart hook carries the same numbers (in fen).
    let json = page.texts("#targets-chart script[type='application/json']");
    let chart: serde_json::Value = serde_json::from_str(&json[0]).expect("chart JSON");
    assert_eq!(chart["series"][0]["data"][0], 20000);
    assert_eq!(chart["series"][1]["data"][1], 30000);
    assert_eq!(chart["series"][2]["data"][1], 150.0);
    assert_eq!(chart["categories"][0], zh("targets.m1"));

    // The manager's team view sums the team (the outsider is not in it).
    let page = t.manager.get("/targets?year=2026&who=team").await;
    assert_eq!(page.status, 200);
    assert!(
        page.texts("#targets-sheet").is_empty(),
        "no form for the team"
    );
    assert_eq!(report_row(&page, "2026-02")[1], "¥300.00");
    // An admin's team is everyone.
    let page = t.admin.get("/targets?year=2026&who=team").await;
    assert_eq!(report_row(&page, "2026-02")[1], "¥1,299.00");
}

#[tokio::test(flavor = "multi_thread")]
async fn only_a_month_compares_that_month_across_the_years() {
    let t = Team::new("tyoy").await;
    let app = &t.app;
    let (now, _) = this_month();
    let (y0, y1, y2) = (now - 2, now - 1, now);
    for (year, fen) in [(y0, yuan(400)), (y1, yuan(1_000)), (y2, yuan(1_500))] {
        OpportunityBuilder::new(t.tenant, t.member_id)
            .amount(fen)
            .won_at(&format!("{year}-03-10 12:00:00+08"))
            .insert(app)
            .await;
    }
    // Other months do not count.
    OpportunityBuilder::new(t.tenant, t.member_id)
        .amount(yuan(77))
        .won_at(&format!("{y1}-04-01 00:00:00+08"))
        .insert(app)
        .await;
    save(&t.member, t.member_id, &months(y1, &["", "", "2,000"])).await;
    save(&t.member, t.member_id, &months(y2, &["", "", "1,000"])).await;

    let page = t.member.get("/targets?month=3").await;
    assert_eq!(page.status, 200);
    assert_eq!(
        page.texts("#targets-report h2"),
        vec![zh("targets.report_month").replace("%{month}", &zh("targets.m3"))]
    );
    assert_eq!(
        page.texts("#targets-table tbody th"),
        [y0, y1, y2]
            .iter()
            .map(|y| format!("{y}年3月"))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        report_row(&page, &format!("{y0}-03")),
        [zh("targets.no_target").as_str(), "¥400.00", "—", "—"]
    );
    assert_eq!(
        report_row(&page, &format!("{y1}-03")),
        ["¥2,000.00", "¥1,000.00", "50.0%", "+150.0%"]
    );
    assert_eq!(
        report_row(&page, &format!("{y2}-03")),
        ["¥1,000.00", "¥1,500.00", "150.0%", "+50.0%"]
    );
    // The change column is year on year.
    assert!(
        page.texts("#targets-table thead th")
            .contains(&zh("targets.change_year"))
    );
    // The form edits the current year meanwhile.
    assert_eq!(page.input_value("m3").as_deref(), Some("1,000.00"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_forecast_weighs_open_opportunities_by_stage_probability() {
    let t = Team::new("tforecast").await;
    let app = &t.app;
    let (year, month) = this_month();
    let ym = |n: u32| {
        let index = year * 12 + month as i32 - 1 + n as i32;
        (index.div_euclid(12), index.rem_euclid(12) + 1)
    };
    let date = |n: u32, day: u32| {
        let (y, m) = ym(n);
        format!("{y}-{m:02}-{day:02}")
    };
    let open = |owner: i64, fen: i64, p: i16, on: String| {
        OpportunityBuilder::new(t.tenant, owner)
            .amount(fen)
            .probability(p)
            .expected(&on)
    };
    // The member, this month: 1,000 at 50 % and 300 at 20 % = 560 weighted.
    open(t.member_id, yuan(1_000), 50, date(0, 28))
        .insert(app)
        .await;
    open(t.member_id, yuan(300), 20, date(0, 1))
        .insert(app)
        .await;
    // Next month: 2,000 at 50 %; the month after: 333.33 at 10 % (33.333 rounds to 33.33).
    open(t.member_id, yuan(2_000), 50, date(1, 15))
        .insert(app)
        .await;
    open(t.member_id, 33_333, 10, date(2, 3)).insert(app).await;
    // Not in the forecast: past its expected close, beyond the three months, no date, won.
    let (py, pm) = {
        let index = year * 12 + month as i32 - 2;
        (index.div_euclid(12), index.rem_euclid(12) + 1)
    };
    open(t.member_id, yuan(5_000), 90, format!("{py}-{pm:02}-28"))
        .insert(app)
        .await;
    open(t.member_id, yuan(5_000), 90, date(3, 1))
        .insert(app)
        .await;
    OpportunityBuilder::new(t.tenant, t.member_id)
        .amount(yuan(5_000))
        .probability(90)
        .insert(app)
        .await;
    // Won this month: the actual.
    OpportunityBuilder::new(t.tenant, t.member_id)
        .amount(yuan(100))
        .probability(90)
        .won_at(&Utc::now().to_rfc3339())
        .insert(app)
        .await;
    // The manager: this month 400 at 50 %.
    open(t.manager_id, yuan(400), 50, date(0, 10))
        .insert(app)
        .await;
    // The outsider's are not in the manager's team.
    open(t.outsider_id, yuan(9_000), 50, date(0, 10))
        .insert(app)
        .await;

    let mut targets = vec![String::new(); 12];
    targets[month as usize - 1] = "2,000".into();
    let targets: Vec<&str> = targets.iter().map(String::as_str).collect();
    save(&t.manager, t.member_id, &months(year, &targets)).await;

    let page = t.manager.get("/targets").await;
    assert_eq!(page.status, 200);
    let cells = |n: u32, person: &str| -> Vec<String> {
        let (y, m) = ym(n);
        [
            "target",
            "actual",
            "open_count",
            "open_amount",
            "weighted",
            "projected",
        ]
        .iter()
        .map(|col| {
            page.texts(&format!(
                "#forecast-table tbody[data-period='{y}-{m:02}'] tr[data-person='{person}'] td[data-col={col}]"
            ))
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("no {col} of {person} in month +{n}"))
        })
        .collect()
    };
    let member = t.member_id.to_string();
    let manager = t.manager_id.to_string();
    let none = zh("targets.no_target");
    assert_eq!(
        cells(0, &member),
        ["¥2,000.00", "¥100.00", "2", "¥1,300.00", "¥560.00", "33.0%"]
    );
    assert_eq!(
        cells(0, &manager),
        [none.as_str(), "¥0.00", "1", "¥400.00", "¥200.00", "—"]
    );
    assert_eq!(
        cells(0, "team"),
        ["¥2,000.00", "¥100.00", "3", "¥1,700.00", "¥760.00", "43.0%"]
    );
    assert_eq!(
        cells(1, &member),
        [none.as_str(), "¥0.00", "1", "¥2,000.00", "¥1,000.00", "—"]
    );
    assert_eq!(
        cells(2, &member),
        [none.as_str(), "¥0.00", "1", "¥333.33", "¥33.33", "—"]
    );
    assert!(
        page.texts(&format!(
            "#forecast-table tr[data-person='{}']",
            t.outsider_id
        ))
        .is_empty(),
        "the outsider is not in the manager's forecast"
    );
    assert_eq!(page.texts("#forecast-table tbody").len(), 3);

    // The member's forecast is their own line only.
    let page = t.member.get("/targets").await;
    assert!(
        page.texts("#forecast-table tr[data-person='team']")
            .is_empty()
    );
    assert_eq!(
        page.texts(&format!(
            "#forecast-table tr[data-person='{}'] td[data-col=weighted]",
            t.member_id
        ))[0],
        "¥560.00"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_home_page_shows_this_months_target_and_progress() {
    let t = Team::new("thome").await;
    let page = t.member.get("/").await;
    assert_eq!(page.status, 200);
    assert_eq!(
        page.texts("#target-progress .empty-state p"),
        vec![zh("targets.home_empty")]
    );
    assert!(page.attrs("#target-progress progress", "value").is_empty());

    let (year, month) = this_month();
    let mut values = vec![""; 12];
    values[month as usize - 1] = "1,000";
    save(&t.member, t.member_id, &months(year, &values)).await;
    OpportunityBuilder::new(t.tenant, t.member_id)
        .amount(yuan(250))
        .won_at(&Utc::now().to_rfc3339())
        .insert(&t.app)
        .await;
    let page = t.member.get("/").await;
    assert_eq!(
        page.texts("#target-progress [data-col]"),
        ["¥1,000.00", "¥250.00", "25.0%"]
    );
    assert_eq!(
        page.attrs("#target-progress progress", "value"),
        vec!["25.0".to_owned()]
    );
    // Above 100 % the bar is full and marked done.
    OpportunityBuilder::new(t.tenant, t.member_id)
        .amount(yuan(1_000))
        .won_at(&Utc::now().to_rfc3339())
        .insert(&t.app)
        .await;
    let page = t.member.get("/").await;
    assert_eq!(
        page.attrs("#target-progress progress.is-done", "value"),
        vec!["100.0".to_owned()]
    );
    assert_eq!(
        page.texts("#target-progress [data-col=completion]"),
        ["125.0%"]
    );
    // Someone else's target is not on the member's home page.
    let page = t.manager.get("/").await;
    assert_eq!(page.texts("#target-progress .empty-state p").len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_query_bar_answers_htmx_with_the_tab_content_only() {
    let t = Team::new("thtmx").await;
    let client = &t.member;
    client.get("/targets").await;
    let page = client.get_htmx("/targets?year=2025").await;
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("<html"), "a fragment");
    assert!(
        page.body.starts_with("<div id=\"targets\""),
        "{}",
        page.body
    );
    assert_eq!(
        page.texts("#targets-report h2"),
        vec![zh("targets.report_year").replace("%{year}", "2025")]
    );
}
