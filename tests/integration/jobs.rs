//! The email outbox: retries ending in a visible failure, the reconciler re-pushing rows
//! Redis lost or a dead worker left running, and duplicate deliveries sending once.

use std::{sync::Arc, time::Duration};

use kehu::{
    ids::{EmailId, TenantId},
    jobs::SendEmail,
};
use kehu_tests::{TestApp, TestOptions};
use kehu_worker::jobs::send_email;

use crate::support::{exec, queues, worker_state, zh};

/// Signs up a company, waits for its welcome email, and returns the tenant id.
async fn tenant(app: &TestApp, email: &str) -> i64 {
    app.signup("任务公司", "任务管理员", email).await;
    app.drain_jobs().await;
    app.tenant_of(email).await
}

/// Writes an outbox row directly, as if a request had committed it.
async fn insert_email(
    app: &TestApp,
    tenant: i64,
    to: &str,
    extra_cols: &str,
    extra_vals: &str,
) -> i64 {
    exec(
        app,
        &format!(
            "INSERT INTO emails (tenant_id, kind, to_addr, subject, body_text, max_attempts{extra_cols}) \
             VALUES ({tenant}, 'welcome', '{to}', 'Subject for {to}', 'Body for {to}', 3{extra_vals})"
        ),
    )
    .await;
    app.scalar(&format!("SELECT id FROM emails WHERE to_addr = '{to}'"))
        .await
}

async fn wait_until_sent(app: &TestApp, id: i64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let status = app
            .text(&format!("SELECT status FROM emails WHERE id = {id}"))
            .await;
        if status == "sent" {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "email {id} is still {status}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_email_that_cannot_be_sent_ends_failed_with_its_reason_on_the_jobs_page() {
    let app = TestApp::start_with(TestOptions {
        smtp_down: true,
        job_max_attempts: 2,
        ..TestOptions::default()
    })
    .await;
    let admin = app.signup("失败公司", "管理员", "admin@fail.test").await;
    app.drain_jobs_within(Duration::from_secs(30)).await;
    let row = app
        .text(
            "SELECT status || '|' || attempts || '|' || max_attempts FROM emails \
             WHERE to_addr = 'admin@fail.test' AND kind = 'welcome'",
        )
        .await;
    assert_eq!(row, "failed|2|2");
    let error = app
        .text(
            "SELECT coalesce(last_error, '') FROM emails \
             WHERE to_addr = 'admin@fail.test' AND kind = 'welcome'",
        )
        .await;
    assert!(error.contains("SMTP"), "the reason is recorded: {error:?}");
    assert!(app.smtp.messages().is_empty());

    let page = admin.get("/admin/jobs").await;
    assert_eq!(page.status, 200);
    let cells = page.texts("#jobs tbody tr[data-status=failed] td");
    assert_eq!(cells.len(), 6, "{}", page.body);
    assert_eq!(cells[1], zh("jobs.kind_welcome"));
    assert_eq!(cells[2], "admin@fail.test");
    assert_eq!(cells[3], zh("jobs.status_failed"));
    assert_eq!(cells[4], "2 / 2");
    let shown = cells[5].split_whitespace().collect::<Vec<_>>().join(" ");
    let stored = error.split_whitespace().collect::<Vec<_>>().join(" ");
    assert_eq!(shown, stored, "the page shows the reason");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_reconciler_pushes_a_queued_row_that_redis_never_saw() {
    let app = TestApp::start().await;
    let t = tenant(&app, "admin@lost.test").await;
    let id = insert_email(
        &app,
        t,
        "lost@lost.test",
        ", enqueued_at",
        ", now() - interval '1 hour'",
    )
    .await;
    wait_until_sent(&app, id).await;
    let mail = app.smtp.messages_to("lost@lost.test");
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].subject(), "Subject for lost@lost.test");
    assert_eq!(
        app.scalar(&format!("SELECT attempts FROM emails WHERE id = {id}"))
            .await,
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_reconciler_hands_a_running_row_with_an_expired_lease_to_a_worker() {
    let app = TestApp::start().await;
    let t = tenant(&app, "admin@lease.test").await;
    let id = insert_email(
        &app,
        t,
        "orphan@lease.test",
        ", status, attempts, enqueued_at, lease_until",
        ", 'running', 1, now() - interval '1 hour', now() - interval '1 minute'",
    )
    .await;
    wait_until_sent(&app, id).await;
    assert_eq!(app.smtp.messages_to("orphan@lease.test").len(), 1);
    assert_eq!(
        app.scalar(&format!("SELECT attempts FROM emails WHERE id = {id}"))
            .await,
        2,
        "the dead worker's attempt counts"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_running_row_with_a_live_lease_is_left_alone() {
    let app = TestApp::start().await;
    let t = tenant(&app, "admin@busy.test").await;
    let id = insert_email(
        &app,
        t,
        "busy@busy.test",
        ", status, attempts, enqueued_at, lease_until",
        ", 'running', 1, now() - interval '1 hour', now() + interval '1 hour'",
    )
    .await;
    queues(&app)
        .await
        .push_email(SendEmail {
            tenant_id: TenantId(t),
            email_id: EmailId(id),
        })
        .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(app.smtp.messages_to("busy@busy.test").is_empty());
    assert_eq!(
        app.text(&format!(
            "SELECT status || '|' || attempts FROM emails WHERE id = {id}"
        ))
        .await,
        "running|1"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_job_delivered_twice_sends_one_email() {
    let app = TestApp::start().await;
    let t = tenant(&app, "admin@twice.test").await;
    let id = insert_email(&app, t, "twice@twice.test", ", enqueued_at", ", now()").await;
    let queues = queues(&app).await;
    let job = SendEmail {
        tenant_id: TenantId(t),
        email_id: EmailId(id),
    };
    queues.push_email(job.clone()).await;
    queues.push_email(job.clone()).await;
    wait_until_sent(&app, id).await;
    // Give the second delivery time to run.
    tokio::time::sleep(Duration::from_secs(2)).await;
    app.drain_jobs().await;
    assert_eq!(app.smtp.messages_to("twice@twice.test").len(), 1);
    assert_eq!(
        app.scalar(&format!("SELECT attempts FROM emails WHERE id = {id}"))
            .await,
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn running_the_send_job_twice_at_once_sends_one_email() {
    let app = TestApp::start_with(TestOptions {
        worker: false,
        ..TestOptions::default()
    })
    .await;
    app.signup("并发公司", "管理员", "admin@race.test").await;
    let t = app.tenant_of("admin@race.test").await;
    let id = insert_email(&app, t, "race@race.test", ", enqueued_at", ", now()").await;
    let state = Arc::new(worker_state(&app).await);
    let job = SendEmail {
        tenant_id: TenantId(t),
        email_id: EmailId(id),
    };
    let (a, b) = tokio::join!(
        send_email::send(&state, &job),
        send_email::send(&state, &job)
    );
    a.expect("first run");
    b.expect("second run");
    send_email::send(&state, &job)
        .await
        .expect("a third, late run");
    assert_eq!(app.smtp.messages_to("race@race.test").len(), 1);
    assert_eq!(
        app.text(&format!(
            "SELECT status || '|' || attempts FROM emails WHERE id = {id}"
        ))
        .await,
        "sent|1"
    );
    // A job for another tenant's row id finds nothing (RLS and the explicit filter).
    let other = SendEmail {
        tenant_id: TenantId(t + 1000),
        email_id: EmailId(id),
    };
    send_email::send(&state, &other).await.expect("no-op");
    assert_eq!(app.smtp.messages().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_jobs_page_lists_sent_emails_of_this_tenant_only() {
    let app = TestApp::start().await;
    let admin = app.signup("列表公司", "管理员", "admin@list.test").await;
    app.signup("别的公司", "别人", "someone@else.test").await;
    app.drain_jobs().await;
    let page = admin.get("/admin/jobs").await;
    let rows = page.attrs("#jobs tbody tr", "data-status");
    assert_eq!(rows, vec!["sent".to_owned()]);
    assert!(page.body.contains("admin@list.test"));
    assert!(!page.body.contains("someone@else.test"));
    assert_eq!(
        page.texts("#jobs tbody tr td .badge"),
        vec![zh("jobs.status_sent")]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_worker_that_dies_during_the_last_attempt_leaves_the_email_failed_not_retried_forever() {
    let app = TestApp::start().await;
    let t = tenant(&app, "admin@last-try.test").await;
    let id = insert_email(
        &app,
        t,
        "dead@last-try.test",
        ", status, attempts, enqueued_at, lease_until",
        ", 'running', 3, now() - interval '1 hour', now() - interval '1 minute'",
    )
    .await;
    app.drain_jobs().await;
    assert_eq!(
        app.text(&format!("SELECT status FROM emails WHERE id = {id}"))
            .await,
        "failed"
    );
    assert_eq!(
        app.scalar(&format!("SELECT attempts FROM emails WHERE id = {id}"))
            .await,
        3,
        "no fourth attempt"
    );
    assert!(
        app.text(&format!("SELECT last_error FROM emails WHERE id = {id}"))
            .await
            .contains("worker stopped")
    );
    assert!(app.smtp.messages_to("dead@last-try.test").is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_stops_sending_at_half_its_lease_and_queues_the_rest_again() {
    let app = TestApp::start_with(TestOptions {
        worker: false,
        ..TestOptions::default()
    })
    .await;
    app.signup("慢服务器公司", "管理员", "admin@slow.test")
        .await;
    let t = app.tenant_of("admin@slow.test").await;
    let mut ids = Vec::new();
    for n in 0..3 {
        let to = format!("slow{n}@slow.test");
        ids.push(insert_email(&app, t, &to, ", enqueued_at", ", now()").await);
    }
    let mut state = worker_state(&app).await;
    state.config.job_lease = Duration::from_secs(2);
    let job = kehu::jobs::SendEmails {
        tenant_id: TenantId(t),
        email_ids: ids.iter().map(|id| EmailId(*id)).collect(),
    };
    // The server answers the first message only after the batch's half lease (1 s).
    app.smtp.hold();
    let smtp = app.smtp.clone();
    let slow = std::thread::spawn(move || {
        smtp.wait_held(1, Duration::from_secs(20));
        std::thread::sleep(Duration::from_millis(1500));
        smtp.release();
    });
    kehu_worker::jobs::send_emails::send(&state, &job)
        .await
        .expect("the batch runs");
    slow.join().expect("the slow server");
    assert_eq!(app.smtp.messages().len(), 1, "only the first was sent");
    let states: Vec<String> = {
        let mut all = Vec::new();
        for id in &ids {
            all.push(
                app.text(&format!(
                    "SELECT status || '|' || attempts || '|' || (enqueued_at IS NULL) FROM emails WHERE id = {id}"
                ))
                .await,
            );
        }
        all
    };
    assert_eq!(
        states,
        ["sent|1|false", "queued|0|true", "queued|0|true"],
        "the untried ones are queued again, their attempt not counted"
    );
}
