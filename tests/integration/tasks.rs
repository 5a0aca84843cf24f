//! 任务 / 备忘录: creation from each page and the link it gets, the list's tabs, done and
//! restore, bulk actions and "delete all done", visibility, cascades, bad input, and the
//! reminder guarantees with a clock the tests choose (the scan runs as of a given time;
//! nothing sleeps for real minutes).

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use kehu::{i18n::Locale, tasks::reminders};
use kehu_tests::{Client, TestApp, client::Page, worker::run_cron};

use crate::support::{People, Team, exec, zh};

/// `at` as the task form's `datetime-local` value in `tz`.
pub(crate) fn local(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz).format("%Y-%m-%dT%H:%M").to_string()
}

/// A public company owned by the member.
async fn company(app: &TestApp, p: &People, name: &str) -> i64 {
    exec(
        app,
        &format!(
            "INSERT INTO companies (tenant_id, name, owner_id, created_by, visibility) \
             VALUES ({}, '{name}', {m}, {m}, 'public')",
            p.tenant,
            m = p.member_id
        ),
    )
    .await;
    app.scalar(&format!(
        "SELECT id FROM companies WHERE tenant_id = {} AND name = '{name}'",
        p.tenant
    ))
    .await
}

/// A public opportunity of the member on `company`.
async fn opportunity(app: &TestApp, p: &People, company: i64, name: &str) -> i64 {
    let stage = app
        .scalar(&format!(
            "SELECT id FROM opportunity_stages WHERE tenant_id = {} ORDER BY position LIMIT 1",
            p.tenant
        ))
        .await;
    exec(
        app,
        &format!(
            "INSERT INTO opportunities (tenant_id, company_id, name, stage_id, owner_id, created_by, visibility) \
             VALUES ({}, {company}, '{name}', {stage}, {m}, {m}, 'public')",
            p.tenant,
            m = p.member_id
        ),
    )
    .await;
    app.scalar(&format!(
        "SELECT id FROM opportunities WHERE tenant_id = {} AND name = '{name}'",
        p.tenant
    ))
    .await
}

/// Creates a task through the form (times in `tz`, the user's zone); returns its id.
pub(crate) async fn create(
    app: &TestApp,
    client: &Client,
    content: &str,
    due: DateTime<Utc>,
    tz: Tz,
    extra: &[(&str, &str)],
) -> i64 {
    let (starts, due) = (local(due - Duration::hours(1), tz), local(due, tz));
    let mut form = vec![
        ("kind", "task"),
        ("content", content),
        ("starts_at", starts.as_str()),
        ("due_at", due.as_str()),
        ("visibility", "private"),
        ("remind", "0"),
    ];
    // What `extra` sets replaces the defaults.
    form.retain(|(k, _)| !extra.iter().any(|(e, _)| e == k));
    form.extend_from_slice(extra);
    let page = client.post("/tasks/new", &form).await;
    assert_eq!(page.status, 303, "creating {content}: {}", page.body);
    app.scalar(&format!(
        "SELECT max(id) FROM tasks WHERE content = '{content}'"
    ))
    .await
}

/// Runs the worker's reminder scan as of `now`, as its cron tick would (the scan, then
/// the pushes); returns how many reminders became emails.
pub(crate) async fn scan(app: &TestApp, now: DateTime<Utc>) -> usize {
    let report = run_cron(app, "task_reminders", now).await;
    report
        .split("queued: ")
        .nth(1)
        .and_then(|r| r.split(',').next())
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("a report with queued: {report}"))
}

pub(crate) const SHANGHAI: Tz = chrono_tz::Asia::Shanghai;

#[tokio::test(flavor = "multi_thread")]
async fn a_task_from_a_company_page_is_linked_listed_done_and_restored() {
    let t = Team::new("task-link").await;
    let customer = company(&t.app, &t, "星河科技有限公司").await;
    let page = t
        .member
        .get(&format!("/tasks/new?company={customer}"))
        .await;
    assert_eq!(page.status, 200);
    assert_eq!(page.texts("#f-link-fixed"), ["星河科技有限公司"]);
    assert_eq!(
        page.attrs("input[name=company_id]", "value"),
        [customer.to_string()]
    );
    let due = Utc::now() + Duration::days(1);
    let id = create(
        &t.app,
        &t.member,
        "回访星河科技",
        due,
        SHANGHAI,
        &[("company_id", &customer.to_string())],
    )
    .await;
    assert_eq!(
        t.app
            .scalar(&format!("SELECT company_id FROM tasks WHERE id = {id}"))
            .await,
        customer
    );
    // On the company's page, in the default list (my open tasks) with its link, and on
    // its own page.
    let page = t.member.get(&format!("/customers/{customer}")).await;
    assert_eq!(page.texts("#company-tasks .task-items a"), ["回访星河科技"]);
    let list = t.member.get("/tasks").await;
    assert!(list.texts("#tasks a").contains(&"回访星河科技".to_owned()));
    assert!(
        list.attrs("#tasks a", "href")
            .contains(&format!("/customers/{customer}"))
    );
    let detail = t.member.get(&format!("/tasks/{id}")).await;
    assert_eq!(detail.texts("#task-link a"), ["星河科技有限公司"]);
    assert_eq!(detail.texts("#task-state"), [zh("tasks.state_open")]);

    // Done: out of "my open tasks", in 已完成, and its reminder gone.
    assert_eq!(pending(&t.app, id).await, 1);
    let page = t.member.post(&format!("/tasks/{id}/done"), &[]).await;
    assert_eq!(page.status, 303);
    assert_eq!(pending(&t.app, id).await, 0);
    assert!(!t.member.get("/tasks").await.body.contains("回访星河科技"));
    assert!(
        t.member
            .get("/tasks?state=done")
            .await
            .body
            .contains("回访星河科技")
    );
    let detail = t.member.get(&format!("/tasks/{id}")).await;
    assert_eq!(detail.texts("#task-state"), [zh("tasks.state_done")]);
    // Restored: open again, with its reminder back.
    let page = t.member.post(&format!("/tasks/{id}/restore"), &[]).await;
    assert_eq!(page.status, 303);
    assert_eq!(pending(&t.app, id).await, 1);
    assert!(t.member.get("/tasks").await.body.contains("回访星河科技"));

    // The quick add of an opportunity's page links the opportunity and its company, and
    // answers htmx with the section.
    let deal = opportunity(&t.app, &t, customer, "星河年度合同").await;
    let due_local = local(due, SHANGHAI);
    let section = t
        .member
        .post_htmx(
            &format!("/opportunities/{deal}/tasks"),
            &[("content", "准备合同草稿"), ("due_at", &due_local)],
        )
        .await;
    assert_eq!(section.status, 200, "{}", section.body);
    assert_eq!(
        section.texts("#opportunity-tasks .task-items a"),
        ["准备合同草稿"]
    );
    assert_eq!(
        t.app
            .text("SELECT opportunity_id || '/' || company_id FROM tasks WHERE content = '准备合同草稿'")
            .await,
        format!("{deal}/{customer}")
    );
    // The company's section lists its opportunities' tasks too; an empty quick add keeps
    // the section with the error.
    let page = t.member.get(&format!("/customers/{customer}")).await;
    assert_eq!(page.texts("#company-tasks .task-items a").len(), 2);
    let section = t
        .member
        .post_htmx(
            &format!("/customers/{customer}/tasks"),
            &[("content", " "), ("due_at", &due_local)],
        )
        .await;
    assert_eq!(section.status, 200);
    assert_eq!(
        section.texts("#company-tasks .invalid-feedback"),
        [zh("form.required")]
    );
}

/// Pending reminder rows of a task.
async fn pending(app: &TestApp, task: i64) -> i64 {
    app.scalar(&format!(
        "SELECT count(*) FROM task_reminders WHERE task_id = {task} AND status = 'pending'"
    ))
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_refused_with_what_was_typed_kept() {
    let t = Team::new("task-bad").await;
    let page = t
        .member
        .post(
            "/tasks/new",
            &[
                ("kind", "task"),
                ("content", ""),
                ("starts_at", "2030-05-02T10:00"),
                ("due_at", "2030-05-02T09:00"),
                ("owner_id", &t.admin_id.to_string()),
                ("remind", "7"),
            ],
        )
        .await;
    assert_eq!(page.status, 422);
    assert_eq!(page.field_error("content"), Some(zh("form.required")));
    assert_eq!(
        page.field_error("due_at"),
        Some(zh("tasks.due_before_start"))
    );
    // A member cannot give a task to the admin.
    assert_eq!(
        page.field_error("owner_id"),
        Some(zh("form.invalid_choice"))
    );
    assert_eq!(
        page.input_value("starts_at").as_deref(),
        Some("2030-05-02T10:00")
    );
    let page = t
        .member
        .post(
            "/tasks/new",
            &[
                ("content", "时间不对"),
                ("starts_at", "明天"),
                ("due_at", ""),
            ],
        )
        .await;
    assert_eq!(page.status, 422);
    assert_eq!(
        page.field_error("starts_at"),
        Some(zh("tasks.invalid_time"))
    );
    assert_eq!(page.field_error("due_at"), Some(zh("form.required")));
    assert!(page.body.contains("时间不对"));
    assert_eq!(
        t.app
            .scalar(&format!(
                "SELECT count(*) FROM tasks WHERE tenant_id = {}",
                t.tenant
            ))
            .await,
        0
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_private_task_is_seen_and_changed_by_its_owner_their_manager_and_admins_only() {
    let t = Team::new("task-vis").await;
    let due = Utc::now() + Duration::days(2);
    let id = create(&t.app, &t.member, "员工的私人任务", due, SHANGHAI, &[]).await;
    assert_eq!(t.outsider.get(&format!("/tasks/{id}")).await.status, 404);
    assert!(
        !t.outsider
            .get("/tasks?state=all")
            .await
            .body
            .contains("员工的私人任务")
    );
    assert_eq!(
        t.outsider
            .post(&format!("/tasks/{id}/done"), &[])
            .await
            .status,
        404
    );
    for (who, client) in [("manager", &t.manager), ("admin", &t.admin)] {
        assert_eq!(
            client.get(&format!("/tasks/{id}")).await.status,
            200,
            "{who}"
        );
        assert!(
            client
                .get("/tasks?state=open")
                .await
                .body
                .contains("员工的私人任务"),
            "{who}"
        );
    }
    assert_eq!(
        t.manager
            .post(&format!("/tasks/{id}/done"), &[])
            .await
            .status,
        303
    );
    // A public task of the admin: the member sees it but may not change it.
    let admins = create(
        &t.app,
        &t.admin,
        "管理员的公开任务",
        due,
        SHANGHAI,
        &[("visibility", "public")],
    )
    .await;
    assert_eq!(t.member.get(&format!("/tasks/{admins}")).await.status, 200);
    assert_eq!(
        t.member.get(&format!("/tasks/{admins}/edit")).await.status,
        403
    );
    assert_eq!(
        t.member
            .post(&format!("/tasks/{admins}/done"), &[])
            .await
            .status,
        403
    );
    // A manager gives tasks to their team, not to others.
    let form = |owner: i64| {
        vec![
            ("content".to_owned(), "经理分派的任务".to_owned()),
            ("starts_at".to_owned(), "2030-01-01T09:00".to_owned()),
            ("due_at".to_owned(), "2030-01-01T10:00".to_owned()),
            ("owner_id".to_owned(), owner.to_string()),
        ]
    };
    let post = |owner: i64| {
        let form = form(owner);
        let manager = &t.manager;
        async move {
            let fields: Vec<(&str, &str)> =
                form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            manager.post("/tasks/new", &fields).await
        }
    };
    assert_eq!(post(t.outsider_id).await.status, 422);
    assert_eq!(post(t.member_id).await.status, 303);
}

#[tokio::test(flavor = "multi_thread")]
async fn bulk_done_restore_and_delete_all_done_ask_first_and_say_how_many() {
    let t = Team::new("task-bulk").await;
    let due = Utc::now() + Duration::days(3);
    let a = create(&t.app, &t.member, "批量甲", due, SHANGHAI, &[]).await;
    let b = create(&t.app, &t.member, "批量乙", due, SHANGHAI, &[]).await;
    let c = create(&t.app, &t.member, "批量丙", due, SHANGHAI, &[]).await;
    let (a_, b_) = (a.to_string(), b.to_string());
    let selected = [
        ("op", "done"),
        ("selection", "checked"),
        ("task_id", a_.as_str()),
        ("task_id", b_.as_str()),
        ("back", ""),
    ];
    let ask = t.member.post("/tasks/bulk-done", &selected).await;
    assert_eq!(ask.status, 200);
    assert!(
        ask.texts("#bulk-confirm")[0].contains("2 个任务"),
        "{:?}",
        ask.texts("#bulk-confirm")
    );
    assert_eq!(
        done_count(&t.app, t.tenant).await,
        0,
        "nothing before the confirmation"
    );
    let mut confirmed = selected.to_vec();
    confirmed.push(("confirm", "1"));
    let page = t.member.post("/tasks/bulk-done", &confirmed).await;
    assert_eq!(page.status, 303);
    assert_eq!(done_count(&t.app, t.tenant).await, 2);
    assert!(
        t.member
            .get("/tasks")
            .await
            .body
            .contains("已将2 个任务标记为完成。")
    );
    // Nothing selected says so.
    let page = t
        .member
        .post(
            "/tasks/bulk-done",
            &[("op", "restore"), ("selection", "checked")],
        )
        .await;
    assert_eq!(page.status, 303);
    assert!(
        t.member
            .get("/tasks")
            .await
            .body
            .contains("没有选中任何任务")
    );
    // Delete all done tasks of the view: the two done ones, not the open one.
    let done_view = t.member.get("/tasks?state=done").await;
    assert_eq!(done_view.texts("#tasks-purge").len(), 1);
    let purge = [
        ("op", "purge"),
        ("selection", "all"),
        ("query", "state=done"),
        ("view", ""),
        ("back", "state=done"),
    ];
    let ask = t.member.post("/tasks/bulk-done", &purge).await;
    assert_eq!(ask.status, 200);
    assert!(ask.texts("#bulk-confirm")[0].contains("2 个任务"));
    let mut confirmed = purge.to_vec();
    confirmed.push(("confirm", "1"));
    let page = t.member.post("/tasks/bulk-done", &confirmed).await;
    assert_eq!(page.status, 303);
    assert_eq!(page.location.as_deref(), Some("/tasks?state=done"));
    let left = t
        .app
        .text(&format!(
            "SELECT string_agg(id::text, ',' ORDER BY id) FROM tasks WHERE tenant_id = {}",
            t.tenant
        ))
        .await;
    assert_eq!(left, c.to_string());
    // The generic bulk bar reassigns (to the manager) after its confirmation.
    let c_ = c.to_string();
    let manager = t.manager_id.to_string();
    let page = t
        .manager
        .post(
            "/tasks/bulk",
            &[
                ("action", "owner"),
                ("selection", "checked"),
                ("task_id", &c_),
                ("owner_id", &manager),
                ("confirm", "1"),
            ],
        )
        .await;
    assert_eq!(page.status, 303);
    assert_eq!(
        t.app
            .scalar(&format!("SELECT owner_id FROM tasks WHERE id = {c}"))
            .await,
        t.manager_id
    );
}

async fn done_count(app: &TestApp, tenant: i64) -> i64 {
    app.scalar(&format!(
        "SELECT count(*) FROM tasks WHERE tenant_id = {tenant} AND done_at IS NOT NULL"
    ))
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn deleting_a_company_or_an_opportunity_deletes_its_tasks() {
    let t = Team::new("task-cascade").await;
    let customer = company(&t.app, &t, "将删除的公司").await;
    let other = company(&t.app, &t, "留下的公司").await;
    let deal = opportunity(&t.app, &t, other, "将删除的机会").await;
    let due = Utc::now() + Duration::days(1);
    let on_company = create(
        &t.app,
        &t.member,
        "公司的任务",
        due,
        SHANGHAI,
        &[("company_id", &customer.to_string())],
    )
    .await;
    let on_deal = create(
        &t.app,
        &t.member,
        "机会的任务",
        due,
        SHANGHAI,
        &[("opportunity_id", &deal.to_string())],
    )
    .await;
    let on_other = create(
        &t.app,
        &t.member,
        "另一公司的任务",
        due,
        SHANGHAI,
        &[("company_id", &other.to_string())],
    )
    .await;
    assert_eq!(
        t.admin
            .post(&format!("/opportunities/{deal}/delete"), &[])
            .await
            .status,
        303
    );
    assert_eq!(
        t.admin
            .post(&format!("/customers/{customer}/delete"), &[])
            .await
            .status,
        303
    );
    let left = t
        .app
        .text(&format!(
            "SELECT string_agg(id::text, ',' ORDER BY id) FROM tasks WHERE id IN ({on_company}, {on_deal}, {on_other})"
        ))
        .await;
    assert_eq!(left, on_other.to_string());
    assert_eq!(
        t.app
            .scalar(&format!(
                "SELECT count(*) FROM task_reminders WHERE task_id IN ({on_company}, {on_deal})"
            ))
            .await,
        0
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_due_reminder_is_emailed_once_in_the_owners_language_and_time_zone() {
    let t = Team::new("task-remind").await;
    let new_york: Tz = chrono_tz::America::New_York;
    exec(
        &t.app,
        &format!(
            "UPDATE users SET locale = 'en', time_zone = 'America/New_York' WHERE id = {}",
            t.member_id
        ),
    )
    .await;
    let customer = company(&t.app, &t, "Acme 贸易").await;
    let now = Utc::now();
    // Typed in the member's own zone (New York), minute precision.
    let due = new_york
        .from_local_datetime(
            &chrono::NaiveDateTime::parse_from_str(
                &local(now + Duration::minutes(10), new_york),
                "%Y-%m-%dT%H:%M",
            )
            .expect("a local time"),
        )
        .earliest()
        .expect("a New York time")
        .with_timezone(&Utc);
    let id = create(
        &t.app,
        &t.member,
        "Call Acme about the renewal",
        due,
        new_york,
        &[("company_id", &customer.to_string())],
    )
    .await;
    assert_eq!(
        t.app
            .scalar(&format!(
                "SELECT extract(epoch FROM due_at)::bigint FROM tasks WHERE id = {id}"
            ))
            .await,
        due.timestamp()
    );
    assert_eq!(
        scan(&t.app, now + Duration::minutes(5)).await,
        0,
        "not before its time"
    );
    assert_eq!(scan(&t.app, due + Duration::seconds(30)).await, 1);
    assert_eq!(
        scan(&t.app, due + Duration::minutes(2)).await,
        0,
        "a second scan sends nothing"
    );
    t.app.drain_jobs().await;
    let mails = t.app.smtp.messages_to("member@task-remind.test");
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert_eq!(mail.subject(), "Task reminder: Call Acme about the renewal");
    let body = mail.body();
    assert!(body.contains(&Locale::En.datetime(due, new_york)), "{body}");
    assert!(body.contains("America/New_York"), "{body}");
    assert!(body.contains("Company: Acme 贸易"), "{body}");
    assert!(
        body.contains(&format!("{}/tasks/{id}", t.app.base_url)),
        "{body}"
    );
    assert_eq!(
        t.app
            .text(&format!(
                "SELECT status FROM task_reminders WHERE task_id = {id}"
            ))
            .await,
        "queued"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_task_done_moved_or_deleted_before_its_time_is_not_reminded_then() {
    let t = Team::new("task-cancel").await;
    let now = Utc::now();
    let due = now + Duration::minutes(10);
    let done = create(&t.app, &t.member, "做完了", due, SHANGHAI, &[]).await;
    let moved = create(&t.app, &t.member, "改期了", due, SHANGHAI, &[]).await;
    let deleted = create(&t.app, &t.member, "删掉了", due, SHANGHAI, &[]).await;
    assert_eq!(
        t.member
            .post(&format!("/tasks/{done}/done"), &[])
            .await
            .status,
        303
    );
    let later = now + Duration::hours(2);
    let page = t
        .member
        .post(
            &format!("/tasks/{moved}/edit"),
            &[
                ("kind", "task"),
                ("content", "改期了"),
                ("starts_at", &local(later - Duration::hours(1), SHANGHAI)),
                ("due_at", &local(later, SHANGHAI)),
                ("visibility", "private"),
                ("remind", "0"),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(
        t.member
            .post(&format!("/tasks/{deleted}/delete"), &[])
            .await
            .status,
        303
    );
    assert_eq!(scan(&t.app, due + Duration::minutes(1)).await, 0);
    t.app.drain_jobs().await;
    assert!(t.app.smtp.messages_to("member@task-cancel.test").is_empty());
    // The moved one at its new time.
    assert_eq!(scan(&t.app, later + Duration::minutes(1)).await, 1);
    t.app.drain_jobs().await;
    let mails = t.app.smtp.messages_to("member@task-cancel.test");
    assert_eq!(mails.len(), 1);
    assert!(mails[0].subject().contains("改期了"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_disabled_or_opted_out_owner_gets_no_reminder_and_a_locked_one_still_does() {
    let t = Team::new("task-quiet").await;
    let now = Utc::now();
    let due = now + Duration::minutes(10);
    for (client, content) in [
        (&t.member, "停用者的任务"),
        (&t.outsider, "锁定者的任务"),
        (&t.manager, "关闭提醒者的任务"),
    ] {
        create(&t.app, client, content, due, SHANGHAI, &[]).await;
    }
    exec(
        &t.app,
        &format!(
            "UPDATE users SET status = 'disabled' WHERE id = {}",
            t.member_id
        ),
    )
    .await;
    exec(
        &t.app,
        &format!(
            "UPDATE users SET locked_at = now() WHERE id = {}",
            t.outsider_id
        ),
    )
    .await;
    exec(
        &t.app,
        &format!(
            "UPDATE users SET reminders_on = false WHERE id = {}",
            t.manager_id
        ),
    )
    .await;
    // A lock may be a stranger's wrong passwords: it stops password logins, not mail.
    assert_eq!(scan(&t.app, due + Duration::minutes(1)).await, 1);
    assert_eq!(
        t.app
            .text(&format!(
                "SELECT string_agg(reason, ' | ' ORDER BY reason) FROM task_reminders WHERE tenant_id = {}",
                t.tenant
            ))
            .await,
        "the owner is disabled | the owner turned reminders off"
    );
    t.app.drain_jobs().await;
    assert_eq!(
        t.app
            .scalar(&format!(
                "SELECT count(*) FROM emails WHERE tenant_id = {} AND kind = 'task_reminder'",
                t.tenant
            ))
            .await,
        1
    );
    assert_eq!(t.app.smtp.messages_to("outsider@task-quiet.test").len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reminder_is_not_lost_when_its_job_never_reaches_redis_or_a_scan_dies_holding_it() {
    let t = Team::new("task-safe").await;
    let now = Utc::now();
    let due = now + Duration::minutes(10);
    let held = create(&t.app, &t.member, "被另一扫描持有", due, SHANGHAI, &[]).await;
    let lost = create(&t.app, &t.member, "队列丢失", due, SHANGHAI, &[]).await;
    // A scan that holds `held`'s row and then dies (its transaction rolls back).
    let mut other = t.app.app_conn().await;
    for sql in [
        "BEGIN".to_owned(),
        format!("SELECT set_config('app.tenant_id', '{}', true)", t.tenant),
        format!("SELECT id FROM task_reminders WHERE task_id = {held} FOR UPDATE"),
    ] {
        diesel_async::RunQueryDsl::execute(diesel::sql_query(sql), &mut other)
            .await
            .expect("the other scan");
    }
    // This scan writes the email of `lost` but its push never happens (Redis lost it):
    // the outbox row is there, and the reconciler pushes it.
    let db = kehu::db::pool(&t.app.config.database_url, 2).expect("pool");
    let scanned = reminders::scan(&db, due + Duration::minutes(1), &t.app.base_url, 3)
        .await
        .expect("scan");
    assert_eq!(
        scanned.queued.len(),
        1,
        "the held row is skipped, not waited for"
    );
    t.app.drain_jobs().await;
    let mails = t.app.smtp.messages_to("member@task-safe.test");
    assert_eq!(mails.len(), 1);
    assert!(mails[0].subject().contains("队列丢失"));
    assert_eq!(pending(&t.app, held).await, 1, "still pending while held");
    assert_eq!(pending(&t.app, lost).await, 0);
    // The holder dies; the next scan sends the held reminder, once.
    diesel_async::RunQueryDsl::execute(diesel::sql_query("ROLLBACK"), &mut other)
        .await
        .expect("rollback");
    drop(other);
    assert_eq!(scan(&t.app, due + Duration::minutes(2)).await, 1);
    assert_eq!(scan(&t.app, due + Duration::minutes(3)).await, 0);
    t.app.drain_jobs().await;
    assert_eq!(t.app.smtp.messages_to("member@task-safe.test").len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn times_are_right_across_the_daylight_saving_change() {
    let t = Team::new("task-dst").await;
    exec(
        &t.app,
        &format!(
            "UPDATE users SET time_zone = 'America/New_York' WHERE id = {}",
            t.member_id
        ),
    )
    .await;
    // New York moves to daylight time on 2027-03-14 at 02:00; Shanghai has none.
    assert_eq!(
        post(&t.member, "夏令时前", "2027-03-13T09:00").await.status,
        303
    );
    assert_eq!(
        post(&t.member, "夏令时后", "2027-03-14T09:00").await.status,
        303
    );
    assert_eq!(
        post(&t.manager, "上海时间", "2027-03-14T09:00")
            .await
            .status,
        303
    );
    let skipped = post(&t.member, "不存在的时间", "2027-03-14T02:30").await;
    assert_eq!(skipped.status, 422);
    assert_eq!(
        skipped.field_error("due_at"),
        Some(zh("tasks.time_skipped"))
    );
    let utc = |content: &str| {
        let sql = format!(
            "SELECT to_char(due_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') FROM tasks WHERE content = '{content}'"
        );
        let app = &t.app;
        async move { app.text(&sql).await }
    };
    assert_eq!(utc("夏令时前").await, "2027-03-13 14:00");
    assert_eq!(utc("夏令时后").await, "2027-03-14 13:00");
    assert_eq!(utc("上海时间").await, "2027-03-14 01:00");
    // One hour before, and at, the due time: two reminder rows each.
    assert_eq!(
        t.app
            .text(&format!(
                "SELECT string_agg(to_char(r.remind_at AT TIME ZONE 'UTC', 'MM-DD HH24:MI'), ',' ORDER BY r.remind_at) \
                 FROM task_reminders r JOIN tasks k ON k.id = r.task_id WHERE k.tenant_id = {}",
                t.tenant
            ))
            .await,
        "03-13 13:00,03-13 14:00,03-14 00:00,03-14 01:00,03-14 12:00,03-14 13:00"
    );
    // The emails show 09:00 in each owner's zone, on both sides of the change.
    let at = Utc
        .with_ymd_and_hms(2027, 3, 14, 13, 0, 30)
        .single()
        .expect("a time");
    assert_eq!(scan(&t.app, at).await, 6);
    t.app.drain_jobs().await;
    for mail in t.app.smtp.messages_to("member@task-dst.test") {
        assert!(
            mail.body().contains("09:00 (America/New_York)"),
            "{}",
            mail.body()
        );
    }
    for mail in t.app.smtp.messages_to("manager@task-dst.test") {
        assert!(
            mail.body().contains("09:00 (Asia/Shanghai)"),
            "{}",
            mail.body()
        );
    }
    assert_eq!(t.app.smtp.messages_to("member@task-dst.test").len(), 4);
}

/// A task due (and starting) at a typed local time, reminded at and an hour before.
async fn post(client: &Client, content: &str, due: &str) -> Page {
    client
        .post(
            "/tasks/new",
            &[
                ("content", content),
                ("starts_at", due),
                ("due_at", due),
                ("remind", "0"),
                ("remind", "60"),
            ],
        )
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_users_reminder_settings_are_what_their_new_tasks_start_with() {
    let t = Team::new("task-settings").await;
    let page = t.member.get("/account/reminders").await;
    assert_eq!(page.status, 200);
    assert_eq!(page.attrs("input[name=remind][checked]", "value"), ["0"]);
    let bad = t
        .member
        .post(
            "/account/reminders",
            &[("time_zone", "Mars/Olympus"), ("remind", "15")],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert_eq!(
        bad.field_error("time_zone"),
        Some(zh("form.invalid_choice"))
    );
    assert_eq!(
        bad.attrs("input[name=remind][checked]", "value"),
        ["15"],
        "what was ticked is kept"
    );
    let page = t
        .member
        .post(
            "/account/reminders",
            &[
                ("time_zone", "America/New_York"),
                ("remind", "15"),
                ("remind", "1440"),
                ("reminders_on", "1"),
            ],
        )
        .await;
    assert_eq!(page.status, 303);
    assert_eq!(
        t.app
            .text(&format!(
                "SELECT reminders_on::text || ' ' || digest_on::text FROM users WHERE id = {}",
                t.member_id
            ))
            .await,
        "true false",
        "the digest is off when its box is not ticked"
    );
    let form = t.member.get("/tasks/new").await;
    assert_eq!(
        form.attrs("input[name=remind][checked]", "value"),
        ["15", "1440"]
    );
    assert!(form.body.contains("America/New_York"));
    // The quick add uses them too.
    let customer = company(&t.app, &t, "设置测试公司").await;
    let due = Utc::now() + Duration::days(3);
    t.member
        .post(
            &format!("/customers/{customer}/tasks"),
            &[
                ("content", "按设置提醒"),
                ("due_at", &local(due, chrono_tz::America::New_York)),
            ],
        )
        .await;
    assert_eq!(
        t.app
            .text("SELECT remind_before::text FROM tasks WHERE content = '按设置提醒'")
            .await,
        "{15,1440}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_bell_counts_my_open_tasks_due_today_or_overdue() {
    let t = Team::new("task-bell").await;
    let insert = |owner: i64, content: &str, due: &str| {
        format!(
            "INSERT INTO tasks (tenant_id, content, starts_at, due_at, owner_id, created_by) \
             VALUES ({}, '{content}', now() + interval '{due}' - interval '1 hour', now() + interval '{due}', {owner}, {owner})",
            t.tenant
        )
    };
    exec(&t.app, &insert(t.member_id, "逾期一", "-2 days")).await;
    exec(&t.app, &insert(t.member_id, "逾期二", "-1 minute")).await;
    exec(&t.app, &insert(t.member_id, "下周的", "7 days")).await;
    exec(&t.app, &insert(t.manager_id, "经理的逾期", "-1 day")).await;
    let page = t.member.get("/customers").await;
    assert_eq!(page.texts("#task-bell-count"), ["2"]);
    assert_eq!(page.attrs("#task-bell", "href"), ["/tasks"]);
    let overdue = t
        .app
        .scalar("SELECT id FROM tasks WHERE content = '逾期一'")
        .await;
    assert_eq!(
        t.member
            .post(&format!("/tasks/{overdue}/done"), &[])
            .await
            .status,
        303
    );
    assert_eq!(
        t.member.get("/customers").await.texts("#task-bell-count"),
        ["1"]
    );
    assert_eq!(
        t.manager.get("/customers").await.texts("#task-bell-count"),
        ["1"]
    );
    assert!(
        t.outsider
            .get("/customers")
            .await
            .texts("#task-bell-count")
            .is_empty()
    );
    // The list it opens shows them, overdue ones marked.
    let list = t.member.get("/tasks?quick=overdue").await;
    assert!(list.body.contains("逾期二"));
    assert!(!list.body.contains("下周的"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_calendar_shows_the_entries_in_scope_by_day_and_moves_them() {
    let t = Team::new("task-cal").await;
    let at = |s: &str| format!("2030-01-15T{s}");
    for (content, kind) in [("月中拜访", "task"), ("备忘：准备材料", "memo")] {
        let page = t
            .member
            .post(
                "/tasks/new",
                &[
                    ("kind", kind),
                    ("content", content),
                    ("starts_at", &at("10:00")),
                    ("due_at", &at("11:00")),
                    ("remind", "0"),
                ],
            )
            .await;
        assert_eq!(page.status, 303, "{}", page.body);
    }
    let id = t
        .app
        .scalar("SELECT id FROM tasks WHERE content = '月中拜访'")
        .await;
    for view in ["month", "week", "day"] {
        let page = t
            .member
            .get(&format!("/calendar?view={view}&date=2030-01-15"))
            .await;
        assert_eq!(page.status, 200);
        assert_eq!(
            page.texts("[data-date='2030-01-15'] .cal-entry"),
            ["10:00 月中拜访", "10:00 备忘：准备材料"],
            "{view}"
        );
        assert!(page.texts("[data-date='2030-01-16'] .cal-entry").is_empty());
    }
    // A month is whole weeks from Monday: 2029-12-31 to 2030-02-03.
    let month = t.member.get("/calendar?view=month&date=2030-01-15").await;
    let days = month.attrs("td.cal-day", "data-date");
    assert_eq!(days.len(), 35);
    assert_eq!(
        (days[0].as_str(), days[34].as_str()),
        ("2029-12-31", "2030-02-03")
    );
    assert_eq!(
        month.attrs("[data-date='2030-01-20'] .cal-add", "href"),
        ["/tasks/new?date=2030-01-20"]
    );
    // The manager may show the member's calendar; the outsider only ever sees their own.
    let member = t.member_id.to_string();
    let path = format!("/calendar?view=day&date=2030-01-15&user={member}");
    assert_eq!(t.manager.get(&path).await.texts(".cal-entry").len(), 2);
    assert!(t.outsider.get(&path).await.texts(".cal-entry").is_empty());
    assert!(
        t.manager
            .get("/calendar?view=day&date=2030-01-15")
            .await
            .texts(".cal-entry")
            .is_empty()
    );
    // Moving keeps the time of day and the length; the reminder moves with it.
    let page = t
        .member
        .post(&format!("/tasks/{id}/move"), &[("date", "2030-01-20")])
        .await;
    assert_eq!(page.status, 303);
    assert_eq!(
        t.app
            .text(&format!(
                "SELECT to_char(starts_at AT TIME ZONE 'Asia/Shanghai', 'MM-DD HH24:MI') || ' ' || \
                        to_char(due_at AT TIME ZONE 'Asia/Shanghai', 'MM-DD HH24:MI') FROM tasks WHERE id = {id}"
            ))
            .await,
        "01-20 10:00 01-20 11:00"
    );
    assert_eq!(
        t.app
            .text(&format!(
                "SELECT to_char(remind_at AT TIME ZONE 'Asia/Shanghai', 'MM-DD HH24:MI') FROM task_reminders \
                  WHERE task_id = {id} AND status = 'pending'"
            ))
            .await,
        "01-20 11:00"
    );
    let week = t.member.get("/calendar?view=week&date=2030-01-20").await;
    assert_eq!(
        week.texts("[data-date='2030-01-20'] .cal-entry"),
        ["10:00 月中拜访"]
    );
    assert_eq!(
        t.outsider
            .post(&format!("/tasks/{id}/move"), &[("date", "2030-01-21")])
            .await
            .status,
        404
    );
    // The home page lists today's and overdue tasks.
    exec(
        &t.app,
        &format!(
            "INSERT INTO tasks (tenant_id, content, starts_at, due_at, owner_id, created_by) \
             VALUES ({}, '昨天就该做', now() - interval '1 day', now() - interval '23 hours', {m}, {m})",
            t.tenant,
            m = t.member_id
        ),
    )
    .await;
    let home = t.member.get("/").await;
    assert_eq!(home.texts("#home-tasks li a"), ["昨天就该做"]);
}

/// Adds an entry (`task` or `memo`) through the form, from `starts` to `due` (local
/// `datetime-local` values); returns its id.
async fn add_entry(
    t: &Team,
    client: &Client,
    kind: &str,
    content: &str,
    starts: &str,
    due: &str,
) -> i64 {
    let page = client
        .post(
            "/tasks/new",
            &[
                ("kind", kind),
                ("content", content),
                ("starts_at", starts),
                ("due_at", due),
                ("remind", "0"),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "adding {content}: {}", page.body);
    t.app
        .scalar(&format!(
            "SELECT max(id) FROM tasks WHERE content = '{content}'"
        ))
        .await
}

/// Where a task starts and ends, in Shanghai (`MM-DD HH:MI MM-DD HH:MI`).
async fn local_span(app: &TestApp, id: i64) -> String {
    app.text(&format!(
        "SELECT to_char(starts_at AT TIME ZONE 'Asia/Shanghai', 'MM-DD HH24:MI') || ' ' || \
                to_char(due_at AT TIME ZONE 'Asia/Shanghai', 'MM-DD HH24:MI') FROM tasks WHERE id = {id}"
    ))
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn calendar_entries_carry_a_move_form_for_those_who_may_change_them() {
    let t = Team::new("task-cal-move").await;
    let visit = add_entry(
        &t,
        &t.member,
        "task",
        "月中拜访",
        "2030-01-15T10:00",
        "2030-01-15T11:00",
    )
    .await;
    let memo = add_entry(
        &t,
        &t.member,
        "memo",
        "备忘：准备材料",
        "2030-01-15T10:00",
        "2030-01-15T11:00",
    )
    .await;
    let trip = add_entry(
        &t,
        &t.member,
        "task",
        "出差深圳",
        "2030-01-16T09:00",
        "2030-01-17T18:00",
    )
    .await;
    let form = |id: i64| format!("form.cal-move-form[action='/tasks/{id}/move']");
    for view in ["month", "week"] {
        let page = t
            .member
            .get(&format!("/calendar?view={view}&date=2030-01-15"))
            .await;
        assert_eq!(page.status, 200);
        // Each of the member's own entries carries its form: the start day filled in,
        // the view to come back to.
        assert_eq!(
            page.attrs(
                "[data-day='2030-01-15'] .cal-item form.cal-move-form",
                "action"
            ),
            [
                format!("/tasks/{visit}/move"),
                format!("/tasks/{memo}/move")
            ],
            "{view}"
        );
        assert_eq!(
            page.attrs(&format!("{} input[name=date]", form(visit)), "value"),
            ["2030-01-15"]
        );
        assert_eq!(
            page.attrs(&format!("{} input[name=view]", form(visit)), "value"),
            [view]
        );
        assert_eq!(
            page.attrs(&format!("{} input[name=from]", form(visit)), "value"),
            [""]
        );
        assert!(page.texts(".cal-locked").is_empty(), "{view}");
        // An entry of two days is on both, with a form each, both starting it on its day.
        assert_eq!(
            page.attrs(&format!("{} input[name=date]", form(trip)), "id"),
            [
                format!("f-move-{trip}-2030-01-16"),
                format!("f-move-{trip}-2030-01-17")
            ]
        );
        assert_eq!(
            page.attrs(&format!("{} input[name=date]", form(trip)), "value"),
            ["2030-01-16", "2030-01-16"]
        );
        assert!(
            page.attrs("script", "src")
                .contains(&"/static/calendar.js".to_owned()),
            "the calendar loads its drag and drop"
        );
    }
    assert!(
        !t.member
            .get("/tasks")
            .await
            .attrs("script", "src")
            .contains(&"/static/calendar.js".to_owned()),
        "only the calendar loads it"
    );
    // The manager may change the member's entries: the forms are on the member's calendar.
    let path = format!("/calendar?view=week&date=2030-01-15&user={}", t.member_id);
    let managed = t.manager.get(&path).await;
    assert_eq!(managed.texts(".cal-item").len(), 4);
    assert_eq!(managed.attrs("form.cal-move-form", "action").len(), 4);
    // The outsider may not: asked for the member's calendar they get their own, and none
    // of the member's entries or forms.
    let other = t.outsider.get(&path).await;
    assert!(other.texts(".cal-item").is_empty());
    assert!(other.attrs("form.cal-move-form", "action").is_empty());
    assert!(!other.body.contains(&format!("/tasks/{visit}/move")));

    // A drop with htmx: the calendar the form was on comes back, the entry on its new day.
    let week = t
        .member
        .post_htmx(
            &format!("/tasks/{visit}/move"),
            &[
                ("date", "2030-01-17"),
                ("from", "2030-01-15"),
                ("view", "week"),
                ("shown", "2030-01-15"),
            ],
        )
        .await;
    assert_eq!(week.status, 200, "{}", week.body);
    assert!(!week.body.contains("app-menu"), "the fragment alone");
    assert_eq!(week.attrs("#calendar-body", "id").len(), 1);
    assert_eq!(
        week.texts("[data-day='2030-01-17'] .cal-entry"),
        ["09:00 出差深圳", "10:00 月中拜访"]
    );
    assert_eq!(
        week.texts("[data-day='2030-01-15'] .cal-entry"),
        ["10:00 备忘：准备材料"]
    );
    assert_eq!(week.texts("#calendar-body .alert"), [zh("calendar.moved")]);
    assert_eq!(local_span(&t.app, visit).await, "01-17 10:00 01-17 11:00");
    // The two-day entry picked up on its second day and dropped two days later moves by
    // two days; from the month view, the month comes back.
    let month = t
        .member
        .post_htmx(
            &format!("/tasks/{trip}/move"),
            &[
                ("date", "2030-01-19"),
                ("from", "2030-01-17"),
                ("view", "month"),
                ("shown", "2030-01-15"),
            ],
        )
        .await;
    assert_eq!(month.status, 200, "{}", month.body);
    assert_eq!(month.texts("td.cal-day").len(), 35);
    assert_eq!(local_span(&t.app, trip).await, "01-18 09:00 01-19 18:00");
    for day in ["2030-01-18", "2030-01-19"] {
        assert_eq!(
            month.texts(&format!("[data-day='{day}'] .cal-entry")),
            ["09:00 出差深圳"]
        );
    }
    // Without JavaScript the form goes back to its view at the new day: the manager's
    // to the member's calendar.
    t.manager.get(&path).await;
    let page = t
        .manager
        .post(
            &format!("/tasks/{memo}/move"),
            &[
                ("date", "2030-01-21"),
                ("view", "month"),
                ("shown", "2030-01-15"),
            ],
        )
        .await;
    assert_eq!(page.status, 303);
    assert_eq!(
        page.location.as_deref(),
        Some(format!("/calendar?view=month&date=2030-01-21&user={}", t.member_id).as_str())
    );
    assert_eq!(local_span(&t.app, memo).await, "01-21 10:00 01-21 11:00");
    // A drop with a day that is not one changes nothing.
    let bad = t
        .member
        .post_htmx(
            &format!("/tasks/{visit}/move"),
            &[
                ("date", "2030-01-20"),
                ("from", "someday"),
                ("view", "week"),
            ],
        )
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(local_span(&t.app, visit).await, "01-17 10:00 01-17 11:00");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_home_page_shows_this_weeks_entries_by_day() {
    let t = Team::new("home-week").await;
    let home = t.member.get("/").await;
    assert_eq!(
        home.texts("#home-week .empty-state"),
        [zh("home.week_empty")]
    );
    assert_eq!(
        home.attrs("#home-week a[href='/calendar?view=week']", "href")
            .len(),
        1
    );

    // This week is Monday to Sunday in the user's zone; `other` is a day of it not today.
    let today = Utc::now().with_timezone(&SHANGHAI).date_naive();
    let from_monday = i64::from(today.weekday().num_days_from_monday());
    let monday = today - Duration::days(from_monday);
    let other = monday + Duration::days((from_monday + 1) % 7);
    let at = |d: NaiveDate, time: &str| format!("{}T{time}", d.format("%Y-%m-%d"));
    let iso = |d: NaiveDate| d.format("%Y-%m-%d").to_string();
    let visit = add_entry(
        &t,
        &t.member,
        "task",
        "本周拜访",
        &at(other, "14:00"),
        &at(other, "15:00"),
    )
    .await;
    add_entry(
        &t,
        &t.member,
        "memo",
        "今天的备忘",
        &at(today, "09:00"),
        &at(today, "09:30"),
    )
    .await;
    let next = monday + Duration::days(9);
    add_entry(
        &t,
        &t.member,
        "task",
        "下周拜访",
        &at(next, "10:00"),
        &at(next, "11:00"),
    )
    .await;
    add_entry(
        &t,
        &t.manager,
        "task",
        "经理的拜访",
        &at(other, "10:00"),
        &at(other, "11:00"),
    )
    .await;

    let home = t.member.get("/").await;
    assert!(home.texts("#home-week .empty-state").is_empty());
    let days = home.attrs("#home-week .home-week-day", "data-date");
    assert_eq!(
        days,
        (0..7)
            .map(|i| iso(monday + Duration::days(i)))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        home.texts(&format!(
            "#home-week [data-date='{}'] .cal-entry",
            iso(other)
        )),
        ["14:00 本周拜访"]
    );
    assert_eq!(
        home.attrs(
            &format!("#home-week [data-date='{}'] a.cal-entry", iso(other)),
            "href"
        ),
        [format!("/tasks/{visit}")]
    );
    assert_eq!(
        home.texts(&format!(
            "#home-week [data-date='{}'] .cal-entry",
            iso(today)
        )),
        ["09:00 今天的备忘"]
    );
    assert_eq!(
        home.attrs("#home-week .home-week-today", "data-date"),
        [iso(today)]
    );
    assert_eq!(
        home.attrs("#home-week [aria-current='date']", "data-date"),
        [iso(today)]
    );
    // Next week's and someone else's are not on it.
    let all = home.texts("#home-week .cal-entry");
    assert_eq!(all.len(), 2, "{all:?}");
    // The manager sees only their own week.
    assert_eq!(
        t.manager.get("/").await.texts("#home-week .cal-entry"),
        ["10:00 经理的拜访"]
    );
    // A busy day shows its first entries and a link to the rest on the day view.
    for n in 1..=4 {
        add_entry(
            &t,
            &t.member,
            "memo",
            &format!("备忘{n}"),
            &at(other, "16:00"),
            &at(other, "16:30"),
        )
        .await;
    }
    let home = t.member.get("/").await;
    let busy = format!("#home-week [data-date='{}']", iso(other));
    assert_eq!(home.texts(&format!("{busy} .cal-entry")).len(), 4);
    assert_eq!(
        home.texts(&format!("{busy} .home-week-more")),
        [Locale::ZhCn.tf("home.week_more", &[("count", "1")])]
    );
    assert_eq!(
        home.attrs(&format!("{busy} .home-week-more"), "href"),
        [format!("/calendar?view=day&date={}", iso(other))]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_daily_digest_comes_once_a_day_at_eight_in_each_users_time_zone() {
    let t = Team::new("task-digest").await;
    let new_york: Tz = chrono_tz::America::New_York;
    exec(
        &t.app,
        &format!(
            "UPDATE users SET time_zone = 'America/New_York', locale = 'en' WHERE id = {}",
            t.manager_id
        ),
    )
    .await;
    exec(
        &t.app,
        &format!(
            "UPDATE users SET digest_on = false WHERE id = {}",
            t.outsider_id
        ),
    )
    .await;
    // Tomorrow 08:30 in Shanghai.
    let tomorrow = Utc::now().with_timezone(&SHANGHAI).date_naive() + Duration::days(1);
    let at = SHANGHAI
        .from_local_datetime(&tomorrow.and_hms_opt(8, 30, 0).expect("a time"))
        .single()
        .expect("Shanghai has no DST")
        .with_timezone(&Utc);
    let task = |owner: i64, content: &str, due: DateTime<Utc>| {
        format!(
            "INSERT INTO tasks (tenant_id, content, starts_at, due_at, owner_id, created_by) \
             VALUES ({}, '{content}', '{s}', '{d}', {owner}, {owner})",
            t.tenant,
            s = (due - Duration::hours(1)).to_rfc3339(),
            d = due.to_rfc3339()
        )
    };
    exec(
        &t.app,
        &task(t.member_id, "昨天逾期的", at - Duration::days(1)),
    )
    .await;
    exec(
        &t.app,
        &task(t.member_id, "今天下午的", at + Duration::hours(5)),
    )
    .await;
    exec(&t.app, &task(t.member_id, "后天的", at + Duration::days(2))).await;
    exec(
        &t.app,
        &task(t.manager_id, "Manager call", at + Duration::days(1)),
    )
    .await;
    exec(&t.app, &task(t.outsider_id, "不要摘要", at)).await;
    let digest = |now: DateTime<Utc>| run_cron(&t.app, "task_digest", now);
    assert_eq!(
        digest(at - Duration::minutes(31)).await,
        "0",
        "not before 08:00"
    );
    // Twice at once, then again later that morning: one email.
    let (a, b) = tokio::join!(digest(at), digest(at));
    assert_eq!(
        [a, b].iter().filter(|r| *r == "1").count(),
        1,
        "one of the two runs wrote it"
    );
    assert_eq!(digest(at + Duration::minutes(40)).await, "0");
    t.app.drain_jobs().await;
    let mails = t.app.smtp.messages_to("member@task-digest.test");
    assert_eq!(mails.len(), 1);
    assert!(
        mails[0].subject().contains("2 项"),
        "{}",
        mails[0].subject()
    );
    let body = mails[0].body();
    assert!(
        body.contains("[已逾期]") && body.contains("昨天逾期的"),
        "{body}"
    );
    assert!(body.contains("今天下午的"), "{body}");
    assert!(!body.contains("后天的"), "{body}");
    assert!(
        t.app
            .smtp
            .messages_to("outsider@task-digest.test")
            .is_empty()
    );
    // New York's 08:00 comes later: the manager's digest then, in English, in their zone.
    assert!(
        t.app
            .smtp
            .messages_to("manager@task-digest.test")
            .is_empty()
    );
    let ny_morning = new_york
        .from_local_datetime(
            &(at + Duration::days(1))
                .with_timezone(&new_york)
                .date_naive()
                .and_hms_opt(8, 5, 0)
                .expect("a time"),
        )
        .earliest()
        .expect("a New York time")
        .with_timezone(&Utc);
    assert_eq!(digest(ny_morning).await, "1");
    t.app.drain_jobs().await;
    let mails = t.app.smtp.messages_to("manager@task-digest.test");
    assert_eq!(mails.len(), 1);
    assert!(
        mails[0].subject().starts_with("Today's tasks"),
        "{}",
        mails[0].subject()
    );
    assert!(mails[0].body().contains("Manager call"));
    // A morning with nothing due records the day and sends nothing.
    assert_eq!(
        t.app
            .scalar(&format!(
                "SELECT count(*) FROM task_digests WHERE tenant_id = {} AND email_id IS NULL",
                t.tenant
            ))
            .await,
        1,
        "the admin had nothing due"
    );
}
