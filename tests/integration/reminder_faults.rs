//! The reminder guarantees under faults (DESIGN.md §7), with the worker in a process of
//! its own where a fault kills it: a reminder is never lost (the worker killed mid-send,
//! Redis restarted, SMTP down for a while: it is sent once the system is back), it is sent
//! twice only when the worker died between the SMTP send and the "sent" mark, and one
//! that cannot be sent ends failed with its reason, its reminder row pointing at it.
//! The scan runs as of the task's due time (a clock the test chooses).

use std::time::Duration as Wait;

use chrono::{DateTime, Duration, Utc};
use diesel_async::SimpleAsyncConnection;
use kehu_tests::{TestApp, TestOptions, smtp::SmtpServer};

use crate::{
    import_resume::{RedisProcess, WorkerProcess, free_port},
    support::{count_on, zh},
    tasks::{SHANGHAI, create, scan},
};

const ADMIN: &str = "admin@faults.test";

/// Signs up the admin whose tasks these are.
async fn sign_up(app: &TestApp) -> kehu_tests::Client {
    app.signup("提醒故障公司", "管理员", ADMIN).await
}

/// Creates a task due in a day with a reminder at its due time, runs the scan as of
/// then, and returns the id of the reminder's email.
async fn due_reminder(app: &TestApp, admin: &kehu_tests::Client, content: &str) -> i64 {
    let due: DateTime<Utc> = Utc::now() + Duration::days(1);
    let task = create(app, admin, content, due, SHANGHAI, &[]).await;
    assert_eq!(scan(app, due + Duration::seconds(30)).await, 1);
    app.scalar(&format!(
        "SELECT email_id FROM task_reminders WHERE task_id = {task} AND status = 'queued'"
    ))
    .await
}

/// The copies of the reminder about `content` that `smtp` received.
fn copies(smtp: &SmtpServer, content: &str) -> usize {
    smtp.messages_to(ADMIN)
        .iter()
        .filter(|m| m.subject().contains(content))
        .count()
}

/// The email's status, attempts and last error.
async fn email_state(app: &TestApp, email: i64) -> (String, i64, String) {
    let row = app
        .text(&format!(
            "SELECT status || '|' || attempts || '|' || coalesce(last_error, '') \
               FROM emails WHERE id = {email}"
        ))
        .await;
    let mut parts = row.splitn(3, '|');
    let status = parts.next().unwrap_or_default().to_owned();
    let attempts = parts
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or_default();
    (
        status,
        attempts,
        parts.next().unwrap_or_default().to_owned(),
    )
}

/// Waits until the email is `status`; while waiting, restarts `worker` if it exited
/// (as a supervisor would).
async fn wait_status(
    app: &TestApp,
    email: i64,
    status: &str,
    mut worker: Option<&mut WorkerProcess>,
) {
    let deadline = tokio::time::Instant::now() + Wait::from_secs(60);
    loop {
        let now = email_state(app, email).await;
        if now.0 == status {
            return;
        }
        if let Some(w) = worker.as_deref_mut()
            && w.exited()
        {
            *w = WorkerProcess::spawn(app);
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "email {email} is still {now:?}, not {status}"
        );
        tokio::time::sleep(Wait::from_millis(100)).await;
    }
}

/// Waits a few reconciler passes (the worker's is every second) so that a copy too many
/// would have been sent.
async fn settle() {
    tokio::time::sleep(Wait::from_secs(4)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_worker_killed_between_the_send_and_the_mark_sends_the_reminder_exactly_twice() {
    let app = TestApp::start_with(TestOptions {
        worker: false,
        ..TestOptions::default()
    })
    .await;
    let mut first = WorkerProcess::spawn(&app);
    let admin = sign_up(&app).await;
    app.drain_jobs_within(Wait::from_secs(30)).await;

    // The server keeps the message but holds its "250 OK" until the test has locked the
    // row, so the worker hears the answer and then waits to record it.
    app.smtp.hold();
    let content = "被打断的提醒";
    let email = due_reminder(&app, &admin, content).await;
    let smtp = app.smtp.clone();
    tokio::task::spawn_blocking(move || smtp.wait_held(1, Wait::from_secs(30)))
        .await
        .expect("the message is held");
    assert_eq!(email_state(&app, email).await.0, "running");

    let mut lock = app.owner_conn().await;
    lock.batch_execute(&format!(
        "BEGIN; SELECT id FROM emails WHERE id = {email} FOR UPDATE"
    ))
    .await
    .expect("lock the email row");
    let holder = count_on(&mut lock, "SELECT pg_backend_pid()")
        .await
        .expect("the lock's backend");
    app.smtp.release();
    // The worker has its 250 and waits on the lock to mark the email sent.
    let deadline = tokio::time::Instant::now() + Wait::from_secs(30);
    let waiting = format!(
        "SELECT count(*) FROM pg_locks WHERE NOT granted AND {holder} = ANY(pg_blocking_pids(pid))"
    );
    while app.scalar(&waiting).await == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the worker never tried to mark the email"
        );
        tokio::time::sleep(Wait::from_millis(20)).await;
    }
    first.kill();
    lock.batch_execute("ROLLBACK").await.expect("unlock");
    assert_eq!(copies(&app.smtp, content), 1, "sent once before the kill");
    let (status, attempts, _) = email_state(&app, email).await;
    assert_eq!((status.as_str(), attempts), ("running", 1), "never marked");

    // A new worker takes the row over when the dead one's lease runs out, and sends again.
    let mut second = WorkerProcess::spawn(&app);
    wait_status(&app, email, "sent", Some(&mut second)).await;
    settle().await;
    assert_eq!(copies(&app.smtp, content), 2, "exactly one copy more");
    let (status, attempts, _) = email_state(&app, email).await;
    assert_eq!((status.as_str(), attempts), ("sent", 2));
    assert_eq!(
        scan(&app, Utc::now() + Duration::days(2)).await,
        0,
        "the reminder is not written again"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reminder_is_sent_once_when_redis_restarts_before_or_under_the_worker() {
    let mut redis = RedisProcess::start(free_port());
    redis.wait_ready().await;
    let port = redis.port;
    let app = TestApp::start_with(TestOptions {
        worker: false,
        redis_url: Some(redis.url()),
        ..TestOptions::default()
    })
    .await;
    let admin = sign_up(&app).await;

    // Its job is in Redis, and Redis loses everything before any worker takes it.
    let lost = "Redis 丢失的提醒";
    let before = due_reminder(&app, &admin, lost).await;
    redis.kill();
    tokio::time::sleep(Wait::from_millis(300)).await;
    redis = RedisProcess::start(port);
    redis.wait_ready().await;
    let mut worker = WorkerProcess::spawn(&app);
    wait_status(&app, before, "sent", Some(&mut worker)).await;

    // Redis restarts under a running worker (and the app), then a reminder comes due.
    // Sessions lived in that Redis, so the admin signs in again; the first request after
    // the restart is answered, not refused.
    redis.kill();
    tokio::time::sleep(Wait::from_millis(500)).await;
    redis = RedisProcess::start(port);
    redis.wait_ready().await;
    let admin = app.login_ok(ADMIN).await;
    let restarted = "Redis 重启后的提醒";
    let after = due_reminder(&app, &admin, restarted).await;
    wait_status(&app, after, "sent", Some(&mut worker)).await;

    settle().await;
    assert_eq!(copies(&app.smtp, lost), 1);
    assert_eq!(copies(&app.smtp, restarted), 1);
    drop(worker);
    drop(redis);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reminder_waits_while_smtp_is_down_and_is_sent_once_when_it_is_back() {
    let port = free_port();
    let app = TestApp::start_with(TestOptions {
        smtp_url: Some(format!("smtp://127.0.0.1:{port}")),
        job_max_attempts: 10,
        ..TestOptions::default()
    })
    .await;
    let admin = sign_up(&app).await;
    let content = "邮件服务器恢复后的提醒";
    let email = due_reminder(&app, &admin, content).await;

    // Two attempts fail (nothing listens), each recorded and retried after a backoff.
    let deadline = tokio::time::Instant::now() + Wait::from_secs(30);
    loop {
        let (status, attempts, error) = email_state(&app, email).await;
        assert_ne!(status, "sent");
        if attempts >= 2 && status == "queued" {
            assert!(error.contains("SMTP"), "the reason is kept: {error:?}");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "still {status} after {attempts} attempts"
        );
        tokio::time::sleep(Wait::from_millis(100)).await;
    }

    // The server comes back on the same port.
    let smtp = SmtpServer::start_on(port);
    wait_status(&app, email, "sent", None).await;
    settle().await;
    assert_eq!(copies(&smtp, content), 1);
    let (_, attempts, error) = email_state(&app, email).await;
    assert!(attempts >= 3, "sent on a later attempt ({attempts})");
    assert_eq!(error, "", "a sent email has no error left");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reminder_that_cannot_be_sent_ends_failed_with_its_reason() {
    let app = TestApp::start_with(TestOptions {
        smtp_down: true,
        job_max_attempts: 2,
        ..TestOptions::default()
    })
    .await;
    let admin = sign_up(&app).await;
    let content = "永远发不出的提醒";
    let email = due_reminder(&app, &admin, content).await;
    wait_status(&app, email, "failed", None).await;
    let (_, attempts, error) = email_state(&app, email).await;
    assert_eq!(attempts, 2, "no attempt beyond the limit");
    assert!(error.contains("SMTP"), "the reason is recorded: {error:?}");
    // The reminder row still points at its email, whose failure the jobs page shows.
    assert_eq!(
        app.scalar(&format!(
            "SELECT count(*) FROM task_reminders WHERE email_id = {email} AND status = 'queued'"
        ))
        .await,
        1
    );
    let page = admin.get("/admin/jobs").await;
    assert_eq!(page.status, 200);
    let failed = page.texts("#jobs tbody tr[data-status=failed] td");
    let reminders: Vec<_> = failed
        .chunks(6)
        .filter(|row| row[1] == zh("jobs.kind_task_reminder"))
        .collect();
    assert_eq!(
        reminders.len(),
        1,
        "the failed reminder is listed: {failed:?}"
    );
    assert_eq!(reminders[0][2], ADMIN);
    assert_eq!(reminders[0][4], "2 / 2");
    assert!(reminders[0][5].contains("SMTP"), "{:?}", reminders[0]);
    settle().await;
    assert_eq!(email_state(&app, email).await.1, 2, "and not tried again");
}
