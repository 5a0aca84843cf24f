//! Nothing lost, nothing doubled: an import survives its worker being killed (SIGKILL)
//! mid-run and Redis being restarted mid-run, and ends with the same counts as an
//! uninterrupted run of the same file.

use std::{
    process::{Child, Command, Stdio},
    time::Duration,
};

use kehu_tests::{Client, TestApp, TestOptions};

use crate::imports::{counts, id_of, start, upload, wait_for};

/// A worker in its own process, killed (SIGKILL) when dropped.
pub(crate) struct WorkerProcess(Child);

impl WorkerProcess {
    pub(crate) fn spawn(app: &TestApp) -> Self {
        let child = Command::new(env!("CARGO_BIN_EXE_kehu-test-worker"))
            .envs(app.worker_env())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the worker process");
        Self(child)
    }

    /// SIGKILL: no shutdown, no chance to finish the chunk in flight.
    pub(crate) fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }

    pub(crate) fn exited(&mut self) -> bool {
        matches!(self.0.try_wait(), Ok(Some(_)))
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A private Redis server (nothing on disk), so a test can restart it.
pub(crate) struct RedisProcess {
    child: Child,
    pub(crate) port: u16,
}

impl RedisProcess {
    pub(crate) fn start(port: u16) -> Self {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .args(["--bind", "127.0.0.1"])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server");
        Self { child, port }
    }

    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    pub(crate) async fn wait_ready(&self) {
        for _ in 0..100 {
            if let Ok(client) = redis::Client::open(self.url())
                && let Ok(mut conn) = client.get_multiplexed_async_connection().await
                && redis::cmd("PING")
                    .query_async::<String>(&mut conn)
                    .await
                    .is_ok()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("redis-server on port {} did not start", self.port);
    }

    pub(crate) fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RedisProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// 60,000 rows (12 chunks): every tenth name repeats an earlier one and every 997th
/// row has a bad email, so the counts exercise duplicates and errors too.
fn big_csv() -> Vec<u8> {
    let mut csv = String::from("公司名称,电话,邮箱\n");
    for i in 0..60_000u32 {
        let name = if i % 10 == 9 { i - 5 } else { i };
        let email = if i % 997 == 0 { "bad-email" } else { "" };
        csv.push_str(&format!("续传测试公司{name},010-{i},{email}\n"));
    }
    csv.into_bytes()
}

async fn upload_and_start(client: &Client, bytes: Vec<u8>) -> (String, i64) {
    let page = upload(client, "company", "续传.csv", "text/csv", bytes, &[]).await;
    assert_eq!(page.status, 303, "{}", page.body);
    let path = page.location.expect("mapping");
    let id = id_of(&path);
    let page = start(client, &path, &["name", "phone", "email"], &[]).await;
    assert_eq!(page.status, 303, "{}", page.body);
    (path, id)
}

async fn rows_done(app: &TestApp, id: i64) -> i64 {
    app.scalar(&format!("SELECT rows_done FROM imports WHERE id = {id}"))
        .await
}

/// Waits until the import has merged at least `rows` rows.
async fn wait_rows(app: &TestApp, id: i64, rows: i64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while rows_done(app, id).await < rows {
        assert!(
            tokio::time::Instant::now() < deadline,
            "import {id} did not reach {rows} rows"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// What an import left in its tenant: its counts, its companies, and how many company
/// names occur more than once (must be none beyond the file's own repeats: 0).
async fn outcome(app: &TestApp, id: i64) -> ([i64; 5], i64, i64, i64) {
    let tenant = format!("(SELECT tenant_id FROM imports WHERE id = {id})");
    let companies = app
        .scalar(&format!(
            "SELECT count(*) FROM companies WHERE tenant_id = {tenant}"
        ))
        .await;
    let doubled = app
        .scalar(&format!(
            "SELECT count(*) - count(DISTINCT name_key) FROM companies WHERE tenant_id = {tenant}"
        ))
        .await;
    let chunks = app
        .scalar(&format!(
            "SELECT count(*) FROM import_chunks WHERE import_id = {id}"
        ))
        .await;
    (counts(app, id).await, companies, doubled, chunks)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_import_whose_worker_is_killed_resumes_and_ends_like_an_uninterrupted_one() {
    let app = TestApp::start_with(TestOptions {
        worker: false,
        ..TestOptions::default()
    })
    .await;
    let killed = app
        .signup("被打断公司", "管理员", "admin@killed.test")
        .await;
    let calm = app.signup("未打断公司", "管理员", "admin@calm.test").await;

    let mut first = WorkerProcess::spawn(&app);
    let (_, interrupted) = upload_and_start(&killed, big_csv()).await;
    wait_rows(&app, interrupted, 15_000).await;
    first.kill();
    let at_kill = rows_done(&app, interrupted).await;
    assert!(at_kill < 60_000, "killed before the end ({at_kill})");

    // A new worker takes the import over once the dead one's lease runs out.
    let _second = WorkerProcess::spawn(&app);
    assert_eq!(
        wait_for(&app, interrupted, &["done", "failed"]).await,
        "done"
    );
    let attempts = app
        .scalar(&format!(
            "SELECT attempts FROM imports WHERE id = {interrupted}"
        ))
        .await;
    assert!(
        attempts >= 2,
        "the import was resumed, not restarted by luck"
    );

    let (_, uninterrupted) = upload_and_start(&calm, big_csv()).await;
    assert_eq!(
        wait_for(&app, uninterrupted, &["done", "failed"]).await,
        "done"
    );

    let resumed = outcome(&app, interrupted).await;
    let reference = outcome(&app, uninterrupted).await;
    assert_eq!(resumed, reference);
    assert_eq!(reference.0, [60_000, 53_951, 0, 5_988, 61]);
    assert_eq!(reference.1, 53_951);
    assert_eq!(reference.2, 0);
    assert_eq!(reference.3, 12);
}

#[tokio::test(flavor = "multi_thread")]
async fn restarting_redis_mid_import_loses_nothing() {
    let mut redis = RedisProcess::start(free_port());
    redis.wait_ready().await;
    let app = TestApp::start_with(TestOptions {
        worker: false,
        redis_url: Some(redis.url()),
        ..TestOptions::default()
    })
    .await;
    let admin = app.signup("重启公司", "管理员", "admin@redis.test").await;
    let mut worker = WorkerProcess::spawn(&app);
    let (_, id) = upload_and_start(&admin, big_csv()).await;
    wait_rows(&app, id, 5_000).await;

    // Redis goes away with everything in it (no persistence) and comes back empty.
    let port = redis.port;
    redis.kill();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let _redis = RedisProcess::start(port);
    _redis.wait_ready().await;

    // A supervisor restarts a worker whose pool stopped; the reconciler re-enqueues.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        let status = app
            .text(&format!("SELECT status FROM imports WHERE id = {id}"))
            .await;
        if status == "done" || status == "failed" {
            break;
        }
        if worker.exited() {
            worker = WorkerProcess::spawn(&app);
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "import still {status}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (counts, companies, doubled, chunks) = outcome(&app, id).await;
    assert_eq!(counts, [60_000, 53_951, 0, 5_988, 61]);
    assert_eq!((companies, doubled, chunks), (53_951, 0, 12));
    drop(worker);
}
