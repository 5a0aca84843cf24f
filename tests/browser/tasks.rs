//! 任务 in the browser, in Chinese: on a company page an admin sees the empty tasks
//! section, adds a task with the quick add (htmx, the default due time), marks it done
//! in the section (htmx), finds it under 已完成 in 任务一览 with its company, restores it
//! on its detail page, and creates a standalone task with 创立任务: an empty content is
//! refused (422) with everything typed kept, and the corrected form saves it. Then a
//! task made from a company's page is counted by the bell, sits on the week's calendar,
//! is emailed when due (the scan run as of then), and the email's link opens it to be
//! marked done and restored; the reminder settings turn the calendar feed on.

use chrono::{Duration, NaiveDateTime, Timelike, Utc};
use kehu_tests::{PASSWORD, TestApp, browser::Browser, worker::run_cron};
use serde_json::json;

use crate::steps::{HEADING, add_company, scroll_to, sign_in};

const TEST: &str = "tasks";
const TENANT: &str = "华信集团";
const ADMIN_NAME: &str = "张伟";
const ADMIN_EMAIL: &str = "zhang.wei@tasks.example.com";
const COMPANY: &str = "深圳华信电子有限公司";
const QUICK: &str = "给王总发报价单";
const STANDALONE: &str = "整理第三季度回款计划";
const SECTION: &str = "#company-tasks";
const QUICK_CONTENT: &str = "#f-quick-content-company";
const QUICK_DUE: &str = "#f-quick-due-company";
const QUICK_SUBMIT: &str = "#company-tasks form.task-quick button[type=submit]";
const FORM_SUBMIT: &str = "form.task-form button[type=submit]";
const STARTS: &str = "2031-03-14T09:30";
const DUE: &str = "2031-03-14T11:00";

/// A `datetime-local` value as the Chinese pages show the time.
fn shown(local: &str) -> String {
    NaiveDateTime::parse_from_str(local, "%Y-%m-%dT%H:%M")
        .unwrap_or_else(|e| panic!("not a datetime-local value {local:?}: {e}"))
        .format("%Y年%m月%d日 %H:%M")
        .to_string()
}

/// The value (property) of the input matching `css`.
async fn value(b: &Browser, css: &str) -> String {
    b.wait_for(css).await;
    b.js(
        "return document.querySelector(arguments[0]).value",
        vec![json!(css)],
    )
    .await
    .as_str()
    .unwrap_or_default()
    .to_owned()
}

/// Sets a `datetime-local` input (typing into one depends on the browser's locale).
async fn set_time(b: &Browser, css: &str, local: &str) {
    b.wait_for(css).await;
    b.js(
        "const e = document.querySelector(arguments[0]); e.value = arguments[1]; \
         e.dispatchEvent(new Event('input', {bubbles: true})); \
         e.dispatchEvent(new Event('change', {bubbles: true})); return null",
        vec![json!(css), json!(local)],
    )
    .await;
    assert_eq!(value(b, css).await, local, "{css} holds the time");
}

/// The HTTP status of the document the browser shows.
async fn page_status(b: &Browser) -> i64 {
    b.js(
        "return performance.getEntriesByType('navigation')[0].responseStatus",
        vec![],
    )
    .await
    .as_i64()
    .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_task_is_quick_added_on_a_company_done_restored_and_created_standalone() {
    let app = TestApp::start().await;
    let admin = app.signup(TENANT, ADMIN_NAME, ADMIN_EMAIL).await;
    let company = add_company(&admin, &[("name", COMPANY)]).await;
    let user = app.user_id(ADMIN_EMAIL).await;

    let b = Browser::start(&app, TEST).await;
    sign_in(&b, ADMIN_EMAIL, PASSWORD).await;

    // The company page: no tasks yet, a quick add with a default due time.
    b.goto(&format!("/customers/{company}")).await;
    assert_eq!(b.text_of(HEADING).await, COMPANY);
    scroll_to(&b, SECTION).await;
    assert_eq!(b.text_of("#company-tasks .card-header span").await, "任务");
    b.wait_for_text_in("#company-tasks .empty-state", "还没有相关任务。")
        .await;
    assert!(!b.exists("#company-tasks .task-items").await, "no rows yet");
    assert_eq!(
        b.attr("#company-tasks .card-header a", "href").await,
        Some(format!("/tasks/new?company={company}")),
        "创立任务 links the company"
    );
    assert_eq!(b.text_of("#company-tasks .card-header a").await, "创立任务");
    assert_eq!(
        b.attr(QUICK_CONTENT, "placeholder").await.as_deref(),
        Some("要做什么？")
    );
    assert_eq!(b.text_of(QUICK_SUBMIT).await, "添加任务");
    let default_due = value(&b, QUICK_DUE).await;
    let due_text = shown(&default_due);
    b.screenshot("company-without-tasks").await;

    // Quick add with the default due time: the section is swapped in place.
    b.wait_js("htmx", "return typeof htmx !== 'undefined'", vec![])
        .await;
    b.mark_document().await;
    b.fill(QUICK_CONTENT, QUICK).await;
    b.click(QUICK_SUBMIT).await;
    b.wait_for("#company-tasks .task-items li[id^='task-']")
        .await;
    assert!(b.document_is_marked().await, "htmx, not a page load");
    let id = app
        .scalar(&format!(
            "SELECT id FROM tasks WHERE company_id = {company}"
        ))
        .await;
    let row = format!("#company-tasks #task-{id}");
    assert_eq!(b.texts("#company-tasks .task-items li").await.len(), 1);
    assert!(!b.exists("#company-tasks .empty-state").await);
    assert_eq!(b.text_of(&format!("{row} a")).await, QUICK);
    assert_eq!(
        b.attr(&format!("{row} a"), "href").await,
        Some(format!("/tasks/{id}"))
    );
    assert_eq!(b.text_of(&format!("{row} small")).await, due_text);
    assert_eq!(
        b.text_of(&format!("{row} button[data-action=done]")).await,
        "标记为完成"
    );
    assert_eq!(
        value(&b, QUICK_CONTENT).await,
        "",
        "the quick add is empty again"
    );
    assert_eq!(
        app.text(&format!(
            "SELECT concat_ws('|', kind, content, owner_id, visibility, done_at IS NULL, \
               to_char(due_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD\"T\"HH24:MI')) \
             FROM tasks WHERE id = {id}"
        ))
        .await,
        format!("task|{QUICK}|{user}|private|t|{default_due}")
    );
    scroll_to(&b, SECTION).await;
    b.screenshot("quick-task-added").await;

    // 标记为完成 in the section (htmx again).
    b.click(&format!("{row} button[data-action=done]")).await;
    b.wait_for(&format!("{row} button[data-action=restore]"))
        .await;
    assert!(b.document_is_marked().await, "htmx, not a page load");
    assert_eq!(
        b.text_of(&format!("{row} button[data-action=restore]"))
            .await,
        "复原为未完成"
    );
    assert!(b.exists(&format!("{row}.task-done")).await);
    assert!(
        b.exists(&format!("{row} a.text-decoration-line-through"))
            .await
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT count(*) FROM tasks WHERE id = {id} AND done_at IS NOT NULL AND done_by = {user}"
        ))
        .await,
        1,
        "tasks.done_at and done_by are set"
    );
    scroll_to(&b, SECTION).await;
    b.screenshot("task-done-in-section").await;

    // 任务一览, 已完成: the task with its company.
    b.goto("/tasks?state=done").await;
    assert_eq!(b.text_of(HEADING).await, "任务一览");
    assert_eq!(b.text_of("#list-tabs .nav-link.active").await, "已完成");
    let list_row = format!("#tasks tbody tr#task-{id}");
    assert_eq!(b.texts("#tasks tbody tr").await.len(), 1);
    assert_eq!(
        b.text_of(&format!("{list_row} td.list-name a")).await,
        QUICK
    );
    assert_eq!(
        b.attr(&format!("{list_row} td[data-col=link] a"), "href")
            .await,
        Some(format!("/customers/{company}"))
    );
    assert_eq!(
        b.text_of(&format!("{list_row} td[data-col=link] a")).await,
        COMPANY
    );
    assert_eq!(
        b.text_of(&format!("{list_row} td[data-col=state]")).await,
        "已完成"
    );
    assert_eq!(
        b.text_of(&format!("{list_row} td[data-col=owner]")).await,
        ADMIN_NAME
    );
    b.screenshot("done-tab").await;

    // Its detail page: 复原为未完成.
    b.click_and_load(&format!("{list_row} td.list-name a[href='/tasks/{id}']"))
        .await;
    b.wait_for_path(&format!("/tasks/{id}")).await;
    assert_eq!(b.text_of(HEADING).await, "任务详细");
    assert_eq!(b.text_of("#task-state").await, "已完成");
    assert_eq!(b.text_of("#task-content").await, QUICK);
    assert_eq!(b.text_of("#task-due").await, due_text);
    assert_eq!(b.text_of("#task-link").await, COMPANY);
    b.screenshot("task-detail-done").await;
    b.click_and_load("#task-head button[data-action=restore]")
        .await;
    b.wait_for_path(&format!("/tasks/{id}")).await;
    assert_eq!(b.text_of("#task-state").await, "未完成");
    assert_eq!(b.text_of("#flash").await, "已复原为未完成。");
    assert_eq!(
        b.text_of("#task-head button[data-action=done]").await,
        "标记为完成"
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT count(*) FROM tasks WHERE id = {id} AND done_at IS NULL AND done_by IS NULL"
        ))
        .await,
        1
    );
    b.screenshot("task-restored").await;

    // 创立任务 on its own: an empty content is refused, everything typed is kept.
    b.goto("/tasks/new").await;
    assert_eq!(b.text_of(HEADING).await, "创立任务");
    assert!(!b.exists("#f-link-fixed").await, "no company fixed");
    assert_eq!(value(&b, "#f-content").await, "");
    b.fill("#f-company", COMPANY).await;
    set_time(&b, "#f-starts_at", STARTS).await;
    set_time(&b, "#f-due_at", DUE).await;
    b.select("#f-visibility", "public").await;
    b.click("#f-remind-60").await;
    b.screenshot("new-task-without-content").await;
    b.click_and_load(FORM_SUBMIT).await;
    b.wait_for_path("/tasks/new").await;
    assert_eq!(page_status(&b).await, 422);
    assert!(b.exists("#f-content.is-invalid").await);
    assert_eq!(b.text_of("#f-content-error").await, "此项为必填项。");
    assert_eq!(
        b.texts(".invalid-feedback").await,
        ["此项为必填项。"],
        "only the content is wrong"
    );
    assert_eq!(value(&b, "#f-company").await, COMPANY);
    assert_eq!(value(&b, "#f-starts_at").await, STARTS);
    assert_eq!(value(&b, "#f-due_at").await, DUE);
    assert_eq!(value(&b, "#f-visibility").await, "public");
    let checked = b
        .js(
            "return Array.from(document.querySelectorAll('input[name=remind]:checked'), e => e.value)",
            vec![],
        )
        .await;
    assert_eq!(checked, json!(["0", "60"]), "the reminders are kept");
    assert_eq!(app.scalar("SELECT count(*) FROM tasks").await, 1);
    b.screenshot("new-task-content-required").await;

    b.fill("#f-content", STANDALONE).await;
    b.click_and_load(FORM_SUBMIT).await;
    let new = app
        .scalar(&format!(
            "SELECT id FROM tasks WHERE content = '{STANDALONE}'"
        ))
        .await;
    b.wait_for_path(&format!("/tasks/{new}")).await;
    assert_eq!(b.text_of("#flash").await, "任务已创建。");
    assert_eq!(b.text_of("#task-content").await, STANDALONE);
    assert_eq!(b.text_of("#task-state").await, "未完成");
    assert_eq!(b.text_of("#task-due").await, shown(DUE));
    assert_eq!(
        b.attr("#task-link a", "href").await,
        Some(format!("/customers/{company}"))
    );
    let facts = b.text_of("#task-facts").await;
    assert!(facts.contains("公开"), "{facts:?}");
    assert_eq!(b.texts("#task-reminders .badge").await.len(), 2);
    assert_eq!(
        app.text(&format!(
            "SELECT concat_ws('|', company_id, visibility, remind_before::text, \
               to_char(starts_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD\"T\"HH24:MI')) \
             FROM tasks WHERE id = {new}"
        ))
        .await,
        format!("{company}|public|{{0,60}}|{STARTS}")
    );
    b.screenshot("standalone-task-created").await;

    // The calendar's month and week of that task: the entry on its day, linking to it.
    let day = &STARTS[..10];
    b.goto(&format!("/calendar?view=month&date={day}")).await;
    b.wait_for(&format!("[data-date='{day}'] .cal-entry")).await;
    b.screenshot("calendar-month").await;
    b.goto(&format!("/calendar?view=week&date={day}")).await;
    b.wait_for(&format!("[data-date='{day}'] .cal-entry")).await;
    b.screenshot("calendar-week").await;
    b.click_and_load(&format!("[data-date='{day}'] .cal-entry"))
        .await;
    assert!(b.path().await.starts_with("/tasks/"));
    b.finish().await;
}

const REMINDED: &str = "周五前回访华信采购部";

#[tokio::test(flavor = "multi_thread")]
async fn a_task_from_a_company_is_on_the_calendar_and_bell_and_its_reminder_email_opens_it() {
    let app = TestApp::start().await;
    let admin = app.signup(TENANT, ADMIN_NAME, ADMIN_EMAIL).await;
    let company = add_company(&admin, &[("name", COMPANY)]).await;
    let b = Browser::start(&app, "task-reminder").await;
    sign_in(&b, ADMIN_EMAIL, PASSWORD).await;
    assert!(!b.exists("#task-bell-count").await, "nothing due yet");

    // 创立任务 from the company's page: the company is fixed on the form.
    let shanghai = chrono_tz::Asia::Shanghai;
    let now = Utc::now().with_timezone(&shanghai);
    let due = (now + Duration::minutes(5))
        .with_second(0)
        .and_then(|t| t.with_nanosecond(0))
        .expect("a whole minute");
    let starts = due - Duration::minutes(30);
    let (due_local, starts_local) = (
        due.format("%Y-%m-%dT%H:%M").to_string(),
        starts.format("%Y-%m-%dT%H:%M").to_string(),
    );
    b.goto(&format!("/customers/{company}")).await;
    scroll_to(&b, SECTION).await;
    b.click_and_load("#company-tasks .card-header a").await;
    b.wait_for_path("/tasks/new").await;
    assert_eq!(b.text_of("#f-link-fixed").await, COMPANY);
    b.fill("#f-content", REMINDED).await;
    set_time(&b, "#f-starts_at", &starts_local).await;
    set_time(&b, "#f-due_at", &due_local).await;
    assert!(
        b.exists("#f-remind-0:checked").await,
        "reminded at the due time by default"
    );
    scroll_to(&b, "#task-repeat").await;
    assert_eq!(b.text_of("#task-repeat legend").await, "重复");
    b.screenshot("new-task-repeat-section").await;
    b.click_and_load(FORM_SUBMIT).await;
    // Back on the company's page, which lists it.
    b.wait_for_path(&format!("/customers/{company}")).await;
    assert_eq!(b.text_of("#flash").await, "任务已创建。");
    let id = app
        .scalar(&format!(
            "SELECT id FROM tasks WHERE content = '{REMINDED}'"
        ))
        .await;
    assert_eq!(
        b.text_of(&format!("#company-tasks #task-{id} a")).await,
        REMINDED
    );

    // The bell counts it while it is due today (in Shanghai), and opens the list.
    let due_today = due.date_naive() == now.date_naive();
    if due_today {
        assert_eq!(b.text_of("#task-bell-count").await, "1");
    } else {
        assert!(!b.exists("#task-bell-count").await, "due tomorrow");
    }
    b.click_and_load("#task-bell").await;
    b.wait_for_path("/tasks").await;
    assert_eq!(
        b.text_of(&format!("#tasks tr#task-{id} td.list-name a"))
            .await,
        REMINDED
    );

    // On the week's calendar, on its day.
    let day = starts.format("%Y-%m-%d").to_string();
    b.goto(&format!("/calendar?view=week&date={day}")).await;
    let entry = format!("[data-date='{day}'] .cal-entry[href='/tasks/{id}']");
    b.wait_for(&entry).await;
    assert!(b.text_of(&entry).await.contains(REMINDED));

    // Its due time comes: one email, in Chinese, whose link opens the task.
    let report = run_cron(
        &app,
        "task_reminders",
        due.with_timezone(&Utc) + Duration::seconds(30),
    )
    .await;
    assert!(report.contains("queued: 1"), "{report}");
    app.drain_jobs().await;
    let mails: Vec<_> = app
        .smtp
        .messages_to(ADMIN_EMAIL)
        .into_iter()
        .filter(|m| m.subject().contains(REMINDED))
        .collect();
    assert_eq!(mails.len(), 1, "one reminder");
    assert!(mails[0].body().contains(COMPANY), "{}", mails[0].body());
    let link = mails[0]
        .link(&format!("{}/tasks/", app.base_url))
        .expect("a link to the task");
    assert_eq!(link, format!("{}/tasks/{id}", app.base_url));
    b.goto(&link).await;
    assert_eq!(b.text_of(HEADING).await, "任务详细");
    assert_eq!(b.text_of("#task-content").await, REMINDED);
    assert_eq!(b.text_of("#task-link").await, COMPANY);

    // Done there, then restored.
    b.click_and_load("#task-head button[data-action=done]")
        .await;
    b.wait_for_path(&format!("/tasks/{id}")).await;
    assert_eq!(b.text_of("#task-state").await, "已完成");
    assert!(!b.exists("#task-bell-count").await, "the bell is clear");
    b.click_and_load("#task-head button[data-action=restore]")
        .await;
    b.wait_for_path(&format!("/tasks/{id}")).await;
    assert_eq!(b.text_of("#task-state").await, "未完成");
    b.screenshot("reminded-task-restored").await;

    // The calendar feed card on the reminder settings: off, then a link shown once.
    b.goto("/account/reminders").await;
    scroll_to(&b, "#calendar-feed").await;
    assert_eq!(b.text_of("#feed-state").await, "未开启");
    b.screenshot("calendar-feed-off").await;
    b.click_and_load("#feed-make").await;
    scroll_to(&b, "#calendar-feed").await;
    assert_eq!(b.text_of("#feed-state").await, "已开启");
    let url = value(&b, "#f-feed-url").await;
    assert!(
        url.starts_with(&format!("{}/calendar/feed/", app.base_url)) && url.ends_with(".ics"),
        "{url}"
    );
    b.screenshot("calendar-feed-on").await;
    b.finish().await;
}
