//! 日历 in the browser, in Chinese: the home page's 本周日程 card empty and then with
//! this week's entries; in the week view an entry is dragged with a real pointer drag
//! (SortableJS under the strict CSP) to another day, saved through its own move form
//! (htmx, no page load) and shown on its new day; the month view; and each entry's
//! no-JavaScript move form.

use chrono::{Datelike, Duration, NaiveDate, Utc};
use kehu_tests::{Client, PASSWORD, TestApp, browser::Browser};
use serde_json::json;

use crate::steps::{HEADING, scroll_to, sign_in};

const TEST: &str = "calendar";
const ADMIN_EMAIL: &str = "wang.fang@calendar.example.com";
const VISIT: &str = "拜访深圳华信电子王总";
const MEMO: &str = "备忘：带上年度合同";

/// Adds an entry through the task form, on `day` from `from` to `to` (local times).
async fn add(
    app: &TestApp,
    http: &Client,
    kind: &str,
    content: &str,
    day: NaiveDate,
    from: &str,
    to: &str,
) -> i64 {
    let at = |time: &str| format!("{}T{time}", day.format("%Y-%m-%d"));
    http.get("/tasks/new").await;
    let page = http
        .post(
            "/tasks/new",
            &[
                ("kind", kind),
                ("content", content),
                ("starts_at", &at(from)),
                ("due_at", &at(to)),
                ("remind", "0"),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "adding {content}: {}", page.body);
    app.scalar(&format!(
        "SELECT max(id) FROM tasks WHERE content = '{content}'"
    ))
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn an_entry_is_dragged_to_another_day_in_the_week_view() {
    let app = TestApp::start().await;
    let admin = app.signup("华信集团", "王芳", ADMIN_EMAIL).await;
    // This week, Monday to Sunday, in the tenant's zone (Asia/Shanghai).
    let today = Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive();
    let monday = today - Duration::days(i64::from(today.weekday().num_days_from_monday()));
    let wednesday = monday + Duration::days(2);
    let iso = |d: NaiveDate| d.format("%Y-%m-%d").to_string();

    let b = Browser::start(&app, TEST).await;
    sign_in(&b, ADMIN_EMAIL, PASSWORD).await;
    // Nothing planned yet: the week card says so.
    scroll_to(&b, "#home-week").await;
    b.wait_for_text_in("#home-week .empty-state", "本周没有安排任务或备忘录")
        .await;
    b.screenshot("home-week-empty").await;

    let visit = add(&app, &admin, "task", VISIT, monday, "10:00", "11:30").await;
    add(
        &app,
        &admin,
        "memo",
        MEMO,
        monday + Duration::days(1),
        "09:00",
        "09:15",
    )
    .await;

    // The week view: SortableJS took over each day's list.
    b.goto("/calendar?view=week").await;
    assert_eq!(b.text_of(HEADING).await, "日历");
    b.wait_js(
        "SortableJS on the seven days",
        "return document.querySelectorAll('.cal-entries[data-sortable=on]').length === 7",
        vec![],
    )
    .await;
    let day = |d: NaiveDate| format!(".cal-entries[data-day='{}']", iso(d));
    let entry = format!(".cal-item[data-task='{visit}']");
    b.wait_for(&format!("{} {entry}", day(monday))).await;
    assert_eq!(
        b.texts(&format!("{} .cal-entry", day(monday))).await,
        [format!("10:00 {VISIT}")]
    );
    // Each entry's own move form, for moving without JavaScript, opens from its ⋯.
    b.click(&format!("{entry} .cal-move > summary")).await;
    b.wait_for(&format!("{entry} form.cal-move-form input[name=date]"))
        .await;
    let value = b
        .js(
            "return document.querySelector(arguments[0]).value",
            vec![json!(format!("{entry} input[name=date]"))],
        )
        .await;
    assert_eq!(value.as_str(), Some(iso(monday).as_str()));
    scroll_to(&b, &day(monday)).await;
    b.screenshot("week-move-form").await;
    b.click(&format!("{entry} .cal-move > summary")).await;

    // Drag the visit from Monday to Wednesday (an empty day).
    b.js(
        "document.querySelector(arguments[0]).scrollIntoView({block: 'start', behavior: 'instant'}); return null",
        vec![json!(format!("section.cal-day[data-date='{}']", iso(monday)))],
    )
    .await;
    b.screenshot("week-before-drag").await;
    b.mark_document().await;
    let source = b.wait_for(&format!("{entry} .cal-entry")).await;
    let target = b.wait_for(&day(wednesday)).await;
    b.drag(source, target, 2.0).await;
    // Saved, and the calendar swapped in with the entry on Wednesday (no page load).
    b.wait_for_text_in("#calendar-body .alert", "已改期").await;
    b.wait_for(&format!("{} {entry}", day(wednesday))).await;
    assert!(
        b.document_is_marked().await,
        "htmx swapped the calendar in place"
    );
    assert_eq!(b.path().await, "/calendar", "still on the calendar");
    assert_eq!(
        b.texts(&format!("{} .cal-entry", day(wednesday))).await,
        [format!("10:00 {VISIT}")]
    );
    assert!(
        b.texts(&format!("{} .cal-entry", day(monday)))
            .await
            .is_empty()
    );
    assert_eq!(
        app.text(&format!(
            "SELECT to_char(starts_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI') || ' ' || \
                    to_char(due_at AT TIME ZONE 'Asia/Shanghai', 'HH24:MI') FROM tasks WHERE id = {visit}"
        ))
        .await,
        format!("{} 10:00 11:30", iso(wednesday))
    );
    // The new calendar is draggable again.
    b.wait_js(
        "SortableJS on the new days",
        "return document.querySelectorAll('.cal-entries[data-sortable=on]').length === 7",
        vec![],
    )
    .await;
    b.screenshot("week-after-drag").await;

    // The month view: the same entries, draggable too.
    b.click_and_load("#calendar-toolbar a[href^='/calendar?view=month']")
        .await;
    b.wait_js(
        "SortableJS on the month's days",
        "return document.querySelectorAll('.cal-entries[data-sortable=on]').length >= 28",
        vec![],
    )
    .await;
    assert_eq!(
        b.texts(&format!("td.cal-day {} .cal-entry", day(wednesday)))
            .await,
        [format!("10:00 {VISIT}")]
    );
    b.screenshot("month-view").await;
    // Its move form opens within the day.
    b.click(&format!("td.cal-day {entry} .cal-move > summary"))
        .await;
    b.wait_for(&format!(
        "td.cal-day {entry} form.cal-move-form button[type=submit]"
    ))
    .await;
    b.screenshot("month-move-form").await;

    // 业务看板: this week's entries by day, today marked, linking to their tasks.
    b.click_and_load("ul.app-tabs a[href='/']").await;
    scroll_to(&b, "#home-week").await;
    assert_eq!(
        b.texts(&format!(
            "#home-week [data-date='{}'] .cal-entry",
            iso(wednesday)
        ))
        .await,
        [format!("10:00 {VISIT}")]
    );
    assert_eq!(
        b.attr("#home-week .home-week-today", "data-date").await,
        Some(iso(today))
    );
    b.screenshot("home-week-card").await;
    b.click_and_load(&format!("#home-week a.cal-entry[data-task='{visit}']"))
        .await;
    b.wait_for_path(&format!("/tasks/{visit}")).await;
    b.finish().await;
}
