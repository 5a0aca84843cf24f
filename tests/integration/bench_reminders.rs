//! `infra/bench-reminders` at a tiny scale, end to end: `kehu-seed` and the task seed
//! (`infra/sql/seed-tasks-*.sql`) fill a database with 400 tasks over 4 tenants, 100 of
//! them due at once; `kehu-bench-reminders` times the claim statement, runs a worker
//! process (the scan every second instead of every minute) against its SMTP sink, checks
//! that every reminder arrived exactly once (the outbox rows and each message's task
//! link), then sends the same messages with lettre alone. The benchmark itself is not
//! run by `./infra/test`; this keeps its code path working.

use std::process::Command;

use kehu_tests::{bench::connect, db};

const TENANTS: usize = 4;
const TASKS: i64 = 400;
const DUE: i64 = 100;

fn run(what: &str, command: &mut Command) -> String {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("{what} does not start: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{what} failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[tokio::test(flavor = "multi_thread")]
async fn bench_reminders_delivers_each_reminder_once() {
    let name = db::create_test_database().await.expect("test database");
    let owner_url = db::with_db(&db::owner_url(), &name);
    let app_url = db::with_db(&db::app_url(), &name);
    run(
        "kehu-seed",
        Command::new(env!("CARGO_BIN_EXE_kehu-seed")).args([
            "--database-url",
            &owner_url,
            "--tenants",
            &TENANTS.to_string(),
            "--companies",
            "40",
            "--big",
            "10",
            "--jobs",
            "1",
        ]),
    );
    let sql = concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/sql");
    run(
        "seed-tasks-prepare.sql",
        Command::new("psql")
            .args(["-X", "-w", "-q", &owner_url])
            .args(["-f", &format!("{sql}/seed-tasks-prepare.sql")]),
    );
    for part in 0..2 {
        run(
            "seed-tasks-load.sql",
            Command::new("psql")
                .args(["-X", "-w", "-q", &owner_url])
                .args(["-v", &format!("total={TASKS}"), "-v", &format!("due={DUE}")])
                .args(["-v", &format!("part={part}"), "-v", "parts=2"])
                .args(["-f", &format!("{sql}/seed-tasks-load.sql")]),
        );
    }
    run(
        "seed-tasks-finish.sql",
        Command::new("psql")
            .args(["-X", "-w", "-q", &owner_url])
            .args(["-f", &format!("{sql}/seed-tasks-finish.sql")]),
    );

    let owner = connect(&owner_url).await.expect("owner connection");
    let row = owner
        .query_one(
            "SELECT (SELECT count(*) FROM tasks), (SELECT count(*) FROM bench_due_tasks),
                    (SELECT count(DISTINCT tenant_id) FROM bench_due_tasks)",
            &[],
        )
        .await
        .expect("counts");
    assert_eq!(
        (
            row.get::<_, i64>(0),
            row.get::<_, i64>(1),
            row.get::<_, i64>(2)
        ),
        (TASKS, DUE, TENANTS as i64)
    );

    let artifacts = std::env::var("KEHU_TEST_ARTIFACTS").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../target/test-artifacts").to_owned()
    });
    let report = run(
        "kehu-bench-reminders",
        Command::new(env!("CARGO_BIN_EXE_kehu-bench-reminders")).args([
            "--database-url",
            &app_url,
            "--owner-url",
            &owner_url,
            "--worker-bin",
            env!("CARGO_BIN_EXE_kehu-test-worker"),
            "--concurrency",
            "2",
            "--passes",
            "2",
            "--verify",
            "yes",
            "--lead-secs",
            "3",
            "--every",
            "second",
            "--timeout-secs",
            "60",
            "--log",
            &format!("{artifacts}/bench_reminders/worker.log"),
        ]),
    );
    assert!(
        report.contains(&format!(
            "Once each: {DUE} emails, {DUE} sent after one attempt, {DUE} reminders queued, \
             {DUE} messages accepted, {DUE} distinct task links"
        )),
        "{report}"
    );
    assert!(report.contains("| raw lettre"), "{report}");
    // Run twice: the second run starts from the first one's state.
    let again = run(
        "kehu-bench-reminders again",
        Command::new(env!("CARGO_BIN_EXE_kehu-bench-reminders")).args([
            "--database-url",
            &app_url,
            "--owner-url",
            &owner_url,
            "--worker-bin",
            env!("CARGO_BIN_EXE_kehu-test-worker"),
            "--concurrency",
            "2",
            "--passes",
            "1",
            "--lead-secs",
            "2",
            "--every",
            "second",
            "--timeout-secs",
            "60",
            "--log",
            &format!("{artifacts}/bench_reminders/worker-2.log"),
        ]),
    );
    assert!(
        again.contains(&format!("{DUE} distinct task links")),
        "{again}"
    );
    drop(owner);
    let _ = db::drop_test_database(&name).await;
}
