//! `kehu-bench-reminders`: the reminder benchmark of issue 12. Run it through
//! `infra/bench-reminders`, which expects `infra/seed-reminders`' database (10M tasks
//! over 1,000 tenants, 100k of them listed in `bench_due_tasks`).
//!
//! One run:
//! 1. moves the listed tasks and their reminders to the next minute (`T`) but one, and
//!    forgets the reminder emails of earlier runs;
//! 2. times the scan's claim statement (`kehu::tasks::reminders::CLAIM`, as of `T`) for
//!    every tenant with due rows, in the app role's tenant transaction, rolled back, sent
//!    unprepared as diesel's `sql_query` sends it (so planning is included);
//! 3. starts the worker binary (`--worker-bin`) against the benchmark SMTP sink
//!    ([`kehu_tests::sink`]) with the scan every minute, and times `T` → the last
//!    reminder accepted by the sink, with the worker's peak memory (VmHWM) and the CPU
//!    time of the worker and of PostgreSQL's processes;
//! 4. checks every reminder went out once: each email `sent` after one attempt, each
//!    reminder `queued` with its own email, as many messages accepted as reminders (and,
//!    with `--verify yes`, every message parsed and its task link counted);
//! 5. sends the same messages with lettre alone (the same transport settings and as
//!    many sends at once as the worker's email jobs) to the same sink;
//!
//! and prints markdown tables for BENCHMARKS.md. It exits non-zero if a check fails.

use std::{
    collections::HashMap,
    path::PathBuf,
    process::{Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant, SystemTime},
};

use anyhow::{Context, bail};
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use hdrhistogram::Histogram;
use kehu_tests::{
    bench::{Stats, connect, load_average},
    sink::Sink,
};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

struct Options {
    database_url: String,
    owner_url: String,
    worker_bin: PathBuf,
    concurrency: usize,
    passes: usize,
    timeout: Duration,
    verify: Option<bool>,
    log: PathBuf,
    lead: Duration,
    every_second: bool,
}

fn usage() -> &'static str {
    "kehu-bench-reminders --database-url postgres://kehu_app@…/kehu_bench_reminders \
     --owner-url postgres://kehu_owner@…/kehu_bench_reminders --worker-bin target/release/kehu-worker \
     [--concurrency 8] [--passes 3] [--timeout-secs 1800] [--verify yes|no] \
     [--log var/log/bench-worker.log] [--lead-secs 75] [--every minute|second]"
}

impl Options {
    fn parse() -> anyhow::Result<Self> {
        let mut o = Options {
            database_url: std::env::var("DATABASE_URL").unwrap_or_default(),
            owner_url: std::env::var("DATABASE_OWNER_URL").unwrap_or_default(),
            worker_bin: PathBuf::from("target/release/kehu-worker"),
            concurrency: 8,
            passes: 3,
            timeout: Duration::from_secs(1800),
            verify: None,
            log: PathBuf::from("var/log/bench-worker.log"),
            lead: Duration::from_secs(75),
            every_second: false,
        };
        let mut args = std::env::args().skip(1);
        while let Some(flag) = args.next() {
            let value = args
                .next()
                .with_context(|| format!("{flag} needs a value; {}", usage()))?;
            let bad = || format!("bad value {value:?} for {flag}");
            match flag.as_str() {
                "--database-url" => o.database_url = value,
                "--owner-url" => o.owner_url = value,
                "--worker-bin" => o.worker_bin = value.into(),
                "--concurrency" => o.concurrency = value.parse().with_context(bad)?,
                "--passes" => o.passes = value.parse().with_context(bad)?,
                "--timeout-secs" => {
                    o.timeout = Duration::from_secs(value.parse().with_context(bad)?);
                }
                "--verify" => o.verify = Some(value == "yes"),
                "--log" => o.log = value.into(),
                "--lead-secs" => o.lead = Duration::from_secs(value.parse().with_context(bad)?),
                "--every" => o.every_second = value == "second",
                _ => bail!("unknown option {flag}; {}", usage()),
            }
        }
        if o.database_url.is_empty() || o.owner_url.is_empty() || o.concurrency == 0 {
            bail!(
                "--database-url, --owner-url and a positive --concurrency are required; {}",
                usage()
            );
        }
        Ok(o)
    }
}

/// Gives the listed tasks a reminder due at `$1` and nothing else pending of theirs;
/// drops the reminder emails of earlier runs.
const RESET: &str = "
DELETE FROM task_reminders r USING bench_due_tasks b
 WHERE r.tenant_id = b.tenant_id AND r.task_id = b.task_id;
DELETE FROM emails WHERE kind = 'task_reminder';
UPDATE tasks t SET due_at = $T, starts_at = $T - interval '1 hour', done_at = NULL, done_by = NULL
  FROM bench_due_tasks b WHERE t.tenant_id = b.tenant_id AND t.id = b.task_id;
INSERT INTO task_reminders (tenant_id, task_id, remind_at)
SELECT tenant_id, task_id, $T FROM bench_due_tasks;";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let o = Options::parse()?;
    let owner = connect(&o.owner_url).await?;
    let tasks: i64 = owner
        .query_one("SELECT count(*) FROM tasks", &[])
        .await?
        .get(0);
    let due: i64 = owner
        .query_one("SELECT count(*) FROM bench_due_tasks", &[])
        .await
        .context("no bench_due_tasks: run infra/seed-reminders first")?
        .get(0);
    let tenants: i64 = owner
        .query_one("SELECT count(*) FROM tenants WHERE id > 0", &[])
        .await?
        .get(0);
    let verify = o.verify.unwrap_or(due <= 10_000);
    eprintln!("{tasks} tasks in {tenants} tenants, {due} reminders due in one minute");

    // 1. The minute: far enough ahead for the reset, the claim timings and the start.
    // (The smoke test scans every second instead, to be done in seconds.)
    let unit = if o.every_second {
        TimeDelta::seconds(1)
    } else {
        TimeDelta::minutes(1)
    };
    let at = (Utc::now() + TimeDelta::from_std(o.lead)?).duration_trunc(unit)? + unit;
    let at_sql = format!("timestamptz '{}'", at.to_rfc3339());
    let started = Instant::now();
    owner.batch_execute(&RESET.replace("$T", &at_sql)).await?;
    for table in ["task_reminders", "emails", "tasks"] {
        owner
            .batch_execute(&format!("VACUUM ANALYZE {table}"))
            .await?;
    }
    eprintln!(
        "reset: {due} reminders due at {at} ({:.1} s)",
        started.elapsed().as_secs_f64()
    );

    // 2. The claim statement, per tenant and batch, as of the minute.
    let claims = claim_latencies(&o, at).await?;

    // 3. The worker, from the minute to the last message.
    let sink = Sink::start(verify).await?;
    let mut worker = Worker::start(&o, &sink)?;
    let to_due = (at - Utc::now()).to_std().unwrap_or_default();
    if to_due < Duration::from_millis(500) {
        bail!("the preparation overran the minute {at}; run again");
    }
    let due_instant = Instant::now() + to_due;
    let database = o
        .database_url
        .rsplit('/')
        .next()
        .and_then(|d| d.split('?').next())
        .unwrap_or_default()
        .to_owned();
    let pg_before = postgres_cpu(&database);
    let worker_before = worker.cpu();
    eprintln!("worker {} started; waiting {to_due:?} for {at}", worker.pid);
    let all_in = sink.wait_for(due as u64, to_due + o.timeout).await;
    let last = sink.last_accepted();
    let accepted = sink.accepted();
    let pg_cpu = postgres_cpu(&database) - pg_before;
    let worker_cpu = worker.cpu() - worker_before;
    // A duplicate would arrive after the last expected message: give it a moment.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let peak_kb = worker.peak_kb();
    let rss_kb = worker.rss_kb();
    let accepted_after = sink.accepted();
    worker.stop();
    let kept = sink.messages();
    if !all_in {
        bail!(
            "only {accepted} of {due} reminders arrived within {:?}",
            o.timeout
        );
    }
    let delivery = last
        .map(|l| l.saturating_duration_since(due_instant))
        .unwrap_or_default();
    eprintln!("worker: {accepted} messages {delivery:?} after the minute");

    // 4. Each reminder went out once.
    let checks = check_once(&owner, due, accepted_after, verify.then_some(&kept)).await?;

    // 5. The same messages through lettre alone.
    sink.reset();
    let raw = raw_lettre(&owner, &o, &sink).await?;
    let ratio = delivery.as_secs_f64() / raw.as_secs_f64();

    print_report(&Report {
        o: &o,
        tasks,
        tenants,
        due,
        at,
        claims,
        delivery,
        raw,
        ratio,
        peak_kb,
        rss_kb,
        pg_cpu,
        worker_cpu,
        checks,
    });
    Ok(())
}

/// The claim statement's latencies (microseconds): the first pass over the tenants with
/// due rows, the later passes, and one more pass prepared (execution without planning).
struct Claims {
    tenants: usize,
    rows: usize,
    first: Histogram<u64>,
    warm: Histogram<u64>,
    prepared: Histogram<u64>,
}

async fn claim_latencies(o: &Options, at: DateTime<Utc>) -> anyhow::Result<Claims> {
    let app = connect(&o.database_url).await?;
    let at: SystemTime = at.into();
    let tenants: Vec<i64> = app
        .query(
            "SELECT tenant_id FROM kehu_reminder_tenants_due($1)",
            &[&at],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    // Sent as the worker sends it: unprepared, so each batch pays its parse and plan.
    let claim = kehu::tasks::reminders::CLAIM;
    let mut first = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let mut warm = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let mut prepared = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let statement = app.prepare(claim).await?;
    let mut rows = 0;
    for pass in 0..o.passes.max(1) {
        for tenant in &tenants {
            app.batch_execute(&format!(
                "BEGIN; SELECT set_config('app.tenant_id', '{tenant}', true)"
            ))
            .await?;
            let t = Instant::now();
            let claimed = app
                .query(claim, &[tenant, &at, &kehu::tasks::reminders::BATCH])
                .await?;
            let us = t.elapsed().as_micros().max(1) as u64;
            app.batch_execute("ROLLBACK").await?;
            if pass == 0 {
                first.record(us)?;
                rows += claimed.len();
            } else {
                warm.record(us)?;
            }
        }
    }
    for tenant in &tenants {
        app.batch_execute(&format!(
            "BEGIN; SELECT set_config('app.tenant_id', '{tenant}', true)"
        ))
        .await?;
        let t = Instant::now();
        app.query(&statement, &[tenant, &at, &kehu::tasks::reminders::BATCH])
            .await?;
        prepared.record(t.elapsed().as_micros().max(1) as u64)?;
        app.batch_execute("ROLLBACK").await?;
    }
    eprintln!(
        "claim: {} tenants, {rows} rows; p99 {:.2} ms warm",
        tenants.len(),
        warm.value_at_quantile(0.99) as f64 / 1000.0
    );
    Ok(Claims {
        tenants: tenants.len(),
        rows,
        first,
        warm,
        prepared,
    })
}

/// The worker process under measurement.
struct Worker {
    child: std::process::Child,
    pid: u32,
}

impl Worker {
    fn start(o: &Options, sink: &Sink) -> anyhow::Result<Self> {
        if let Some(dir) = o.log.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let log = std::fs::File::create(&o.log)
            .with_context(|| format!("creating {}", o.log.display()))?;
        let child = Command::new(&o.worker_bin)
            .env("DATABASE_URL", &o.database_url)
            .env("SMTP_URL", sink.url())
            .env(
                "REDIS_PREFIX",
                format!("kehu-bench-reminders-{}:", std::process::id()),
            )
            .env("WORKER_CONCURRENCY_EMAIL", o.concurrency.to_string())
            .env(
                "TASK_REMINDER_SCHEDULE",
                if o.every_second {
                    "* * * * * *"
                } else {
                    "0 * * * * *"
                },
            )
            .env("TASK_DIGEST_SCHEDULE", "off")
            .env("RANKING_ROLLUP_SCHEDULE", "off")
            .env("RUST_LOG", "info")
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .spawn()
            .with_context(|| format!("starting {}", o.worker_bin.display()))?;
        let pid = child.id();
        Ok(Self { child, pid })
    }

    fn status(&self, field: &str) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.pid))
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }

    /// Peak resident memory so far, in kB.
    fn peak_kb(&self) -> u64 {
        self.status("VmHWM:")
    }

    /// Resident memory now, in kB.
    fn rss_kb(&self) -> u64 {
        self.status("VmRSS:")
    }

    /// CPU seconds used so far.
    fn cpu(&self) -> f64 {
        process_cpu(self.pid)
    }

    fn stop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.pid.to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A run that stops early (an error, the minute overrun) must not leave its worker
/// behind: it would scan the next run's minute too, against a sink that is gone.
impl Drop for Worker {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// User plus system CPU seconds of a process (0 if it is gone).
fn process_cpu(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command (which may hold spaces), from field 3 on.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15: 11 and 12 after the state (field 3).
    (ticks(11) + ticks(12)) / 100.0
}

/// CPU seconds of the PostgreSQL backends now connected to `database` (the server is
/// local; other databases' backends and the server's own processes are left out).
fn postgres_cpu(database: &str) -> f64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    let tag = format!(" {database} ");
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim() == "postgres")
                && std::fs::read(format!("/proc/{pid}/cmdline"))
                    .is_ok_and(|c| String::from_utf8_lossy(&c).contains(&tag))
        })
        .map(process_cpu)
        .sum()
}

/// What the checks found.
struct Checks {
    emails: i64,
    sent_once: i64,
    queued: i64,
    accepted: u64,
    verified: Option<usize>,
}

/// Every reminder became its own email, sent after one attempt, and the sink got as many
/// messages; with `kept`, each message names a distinct due task.
async fn check_once(
    owner: &tokio_postgres::Client,
    due: i64,
    accepted: u64,
    kept: Option<&Vec<Vec<u8>>>,
) -> anyhow::Result<Checks> {
    let row = owner
        .query_one(
            "SELECT (SELECT count(*) FROM emails WHERE kind = 'task_reminder'),
                    (SELECT count(*) FROM emails WHERE kind = 'task_reminder'
                        AND status = 'sent' AND attempts = 1),
                    (SELECT count(DISTINCT r.email_id) FROM task_reminders r
                       JOIN bench_due_tasks b ON b.tenant_id = r.tenant_id AND b.task_id = r.task_id
                      WHERE r.status = 'queued')",
            &[],
        )
        .await?;
    let checks = Checks {
        emails: row.get(0),
        sent_once: row.get(1),
        queued: row.get(2),
        accepted,
        verified: None,
    };
    if checks.emails != due
        || checks.sent_once != due
        || checks.queued != due
        || accepted != due as u64
    {
        bail!(
            "not once each: {due} due, {} emails, {} sent after one attempt, {} reminders queued, {accepted} messages accepted",
            checks.emails,
            checks.sent_once,
            checks.queued
        );
    }
    let Some(kept) = kept else {
        return Ok(checks);
    };
    let due_ids: std::collections::HashSet<i64> = owner
        .query("SELECT task_id FROM bench_due_tasks", &[])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut seen: HashMap<i64, usize> = HashMap::new();
    for raw in kept {
        let message = mail_parser::MessageParser::default()
            .parse(raw)
            .context("a message the sink accepted does not parse")?;
        let body = message.body_text(0).context("a message without a body")?;
        let id = body
            .split("/tasks/")
            .nth(1)
            .and_then(|r| {
                r.split(|c: char| !c.is_ascii_digit())
                    .next()
                    .and_then(|d| d.parse::<i64>().ok())
            })
            .context("a message without its task's link")?;
        *seen.entry(id).or_default() += 1;
    }
    let twice = seen.values().filter(|&&n| n > 1).count();
    let missing = due_ids.iter().filter(|id| !seen.contains_key(id)).count();
    if twice > 0 || missing > 0 || seen.len() != due_ids.len() {
        bail!("by task link: {twice} sent more than once, {missing} missing");
    }
    Ok(Checks {
        verified: Some(seen.len()),
        ..checks
    })
}

/// Sends the reminder emails' messages with lettre alone, as many at once as the worker's
/// email jobs, over the transport the worker builds; the time to the last accepted one.
async fn raw_lettre(
    owner: &tokio_postgres::Client,
    o: &Options,
    sink: &Sink,
) -> anyhow::Result<Duration> {
    let rows = owner
        .query(
            "SELECT to_addr, subject, body_text FROM emails WHERE kind = 'task_reminder' ORDER BY id",
            &[],
        )
        .await?;
    let messages: Arc<Vec<(String, String, String)>> = Arc::new(
        rows.iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect(),
    );
    let from =
        std::env::var("MAIL_FROM").unwrap_or_else(|_| "Kehu CRM <no-reply@kehu.local>".into());
    let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&sink.url())?
        .timeout(Some(Duration::from_secs(20)))
        .pool_config(kehu::mail::pool_config(o.concurrency))
        .build();
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..o.concurrency {
        let (messages, next, transport, from) = (
            messages.clone(),
            next.clone(),
            transport.clone(),
            from.clone(),
        );
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((to, subject, body)) = messages.get(i) else {
                    return anyhow::Ok(());
                };
                let message = kehu::mail::message(&from, to, subject, body)?;
                transport.send(message).await?;
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    let last = sink.last_accepted().unwrap_or_else(Instant::now);
    if sink.accepted() != messages.len() as u64 {
        bail!(
            "raw lettre: {} of {} accepted",
            sink.accepted(),
            messages.len()
        );
    }
    let raw = last.saturating_duration_since(started);
    eprintln!("raw lettre: {} messages in {raw:?}", messages.len());
    Ok(raw)
}

struct Report<'a> {
    o: &'a Options,
    tasks: i64,
    tenants: i64,
    due: i64,
    at: DateTime<Utc>,
    claims: Claims,
    delivery: Duration,
    raw: Duration,
    ratio: f64,
    peak_kb: u64,
    rss_kb: u64,
    pg_cpu: f64,
    worker_cpu: f64,
    checks: Checks,
}

fn print_report(r: &Report) {
    let met = |ok: bool| if ok { "met" } else { "**missed**" };
    let due = r.due as f64;
    println!(
        "\n{} tasks in {} tenants, {} reminders due at {} (UTC); {} email jobs at once \
         ({} SMTP connections); load average {}\n",
        r.tasks,
        r.tenants,
        r.due,
        r.at.format("%Y-%m-%d %H:%M"),
        r.o.concurrency,
        r.o.concurrency * 2,
        load_average()
    );
    println!(
        "| Claim statement (per tenant batch, ≤ {} rows) | batches | p50 | p95 | p99 | max |",
        kehu::tasks::reminders::BATCH
    );
    println!("|---|---|---|---|---|---|");
    for (name, h) in [
        (
            "first pass, unprepared (as the worker sends it)",
            &r.claims.first,
        ),
        ("later passes, unprepared", &r.claims.warm),
        (
            "one more pass, prepared (execution only)",
            &r.claims.prepared,
        ),
    ] {
        if h.is_empty() {
            continue;
        }
        let s = Stats::of(h, Duration::from_secs(1));
        println!(
            "| {name} | {} | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} ms |",
            h.len(),
            s.p50,
            s.p95,
            s.p99,
            s.max
        );
    }
    let p99 = r
        .claims
        .warm
        .value_at_quantile(0.99)
        .max(r.claims.first.value_at_quantile(0.99)) as f64
        / 1000.0;
    println!(
        "\n{} tenants with due rows, {} rows claimed in the first pass; goal p99 < 5 ms: {}\n",
        r.claims.tenants,
        r.claims.rows,
        met(p99 < 5.0)
    );
    println!(
        "| Delivery of {} reminders | time | per second | ratio |",
        r.due
    );
    println!("|---|---|---|---|");
    println!(
        "| raw lettre (same messages, same sink, {} at once) | {:.2} s | {:.0} | 1.00 |",
        r.o.concurrency,
        r.raw.as_secs_f64(),
        due / r.raw.as_secs_f64()
    );
    println!(
        "| worker: due minute → last accepted | {:.2} s | {:.0} | {:.2}× |",
        r.delivery.as_secs_f64(),
        due / r.delivery.as_secs_f64(),
        r.ratio
    );
    println!("\nGoal ≤ 1.25×: {}\n", met(r.ratio <= 1.25));
    println!(
        "Worker peak memory (VmHWM): {:.1} MB (RSS at the end {:.1} MB); goal < 100 MB: {}",
        r.peak_kb as f64 / 1024.0,
        r.rss_kb as f64 / 1024.0,
        met(r.peak_kb < 100 * 1024)
    );
    println!(
        "CPU during the delivery: PostgreSQL backends of the database {:.1} s ({:.0} µs a reminder), worker {:.1} s ({:.0} µs a reminder)",
        r.pg_cpu,
        r.pg_cpu * 1e6 / due,
        r.worker_cpu,
        r.worker_cpu * 1e6 / due
    );
    println!(
        "Once each: {} emails, {} sent after one attempt, {} reminders queued, {} messages accepted{}",
        r.checks.emails,
        r.checks.sent_once,
        r.checks.queued,
        r.checks.accepted,
        r.checks
            .verified
            .map(|n| format!(", {n} distinct task links in the messages"))
            .unwrap_or_default()
    );
}
