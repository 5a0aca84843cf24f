//! Helpers shared by the benchmark binaries (`tests/src/bin/kehu-bench-*.rs`).

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use hdrhistogram::Histogram;
use tokio_postgres::{Client, NoTls};

/// Connects with tokio-postgres; the connection runs on its own task.
pub async fn connect(url: &str) -> anyhow::Result<Client> {
    let (client, conn) = tokio_postgres::connect(url, NoTls)
        .await
        .with_context(|| format!("connecting to {}", url.split('@').next_back().unwrap_or("")))?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            eprintln!("connection error: {e}");
        }
    });
    Ok(client)
}

/// Appends one row in COPY text format: backslash, tab, newline and CR escaped; `None`
/// is NULL.
pub fn copy_row(out: &mut String, fields: &[Option<&str>]) {
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push('\t');
        }
        match f {
            Some(v) => {
                for ch in v.chars() {
                    match ch {
                        '\\' => out.push_str("\\\\"),
                        '\t' => out.push_str("\\t"),
                        '\n' => out.push_str("\\n"),
                        '\r' => out.push_str("\\r"),
                        c => out.push(c),
                    }
                }
            }
            None => out.push_str("\\N"),
        }
    }
    out.push('\n');
}

/// The median (NaN for none).
pub fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The machine's 1, 5 and 15 minute load averages.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Latency figures in milliseconds.
pub struct Stats {
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Slowest.
    pub max: f64,
    /// Throughput over the wall time.
    pub per_second: f64,
}

impl Stats {
    /// The figures of a histogram of microseconds.
    pub fn of(h: &Histogram<u64>, wall: Duration) -> Self {
        let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
        Stats {
            p50: ms(0.50),
            p95: ms(0.95),
            p99: ms(0.99),
            max: h.max() as f64 / 1000.0,
            per_second: h.len() as f64 / wall.as_secs_f64(),
        }
    }
}

/// Runs `requests` calls of `one` on `clients` concurrent tasks; returns the latencies
/// (microseconds) and the wall time.
pub async fn measure<F, Fut>(
    clients: usize,
    requests: usize,
    one: F,
) -> anyhow::Result<(Histogram<u64>, Duration)>
where
    F: Fn() -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (next, one) = (next.clone(), one.clone());
        tasks.push(tokio::spawn(async move {
            let mut h = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
            while next.fetch_add(1, Ordering::Relaxed) < requests {
                let t = Instant::now();
                one().await?;
                h.record(t.elapsed().as_micros().max(1) as u64)?;
            }
            anyhow::Ok(h)
        }));
    }
    let mut all = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    for t in tasks {
        all.add(t.await??)?;
    }
    Ok((all, started.elapsed()))
}

/// Signs in like a browser (the login form with its CSRF token) and returns a client
/// that keeps the session cookie; redirects are not followed.
pub async fn login(base_url: &str, email: &str, password: &str) -> anyhow::Result<reqwest::Client> {
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(256)
        .build()?;
    let page = http
        .get(format!("{}/login", base_url))
        .send()
        .await?
        .text()
        .await?;
    let doc = scraper::Html::parse_document(&page);
    let sel = scraper::Selector::parse("input[name=_csrf]").expect("valid selector");
    let token = doc
        .select(&sel)
        .find_map(|e| e.value().attr("value"))
        .context("no CSRF token on /login")?
        .to_owned();
    let resp = http
        .post(format!("{}/login", base_url))
        .form(&[
            ("email", email),
            ("password", password),
            ("_csrf", token.as_str()),
        ])
        .send()
        .await?;
    if !resp.status().is_redirection() {
        bail!("login as {} failed with status {}", email, resp.status());
    }
    Ok(http)
}

/// The rows of `opportunity_daily` (tenant, day, owner, visibility, created, won and lost
/// counts and amounts) by one plain `GROUP BY` over every opportunity, days in each
/// tenant's time zone: what a full rollup must write, computed the straightforward way.
pub const PLAIN_DAILY: &str = "
SELECT f.tenant_id, f.day, f.owner_id, f.visibility,
       sum(f.created)::int AS created_count, sum(f.created_amount)::bigint AS created_amount,
       sum(f.won)::int AS won_count, sum(f.won_amount)::bigint AS won_amount,
       sum(f.lost)::int AS lost_count, sum(f.lost_amount)::bigint AS lost_amount
  FROM (SELECT o.tenant_id, (o.created_at AT TIME ZONE t.time_zone)::date AS day,
               o.owner_id, o.visibility, 1 AS created, o.amount AS created_amount,
               0 AS won, 0::bigint AS won_amount, 0 AS lost, 0::bigint AS lost_amount
          FROM opportunities o JOIN tenants t ON t.id = o.tenant_id
        UNION ALL
        SELECT o.tenant_id, (o.closed_at AT TIME ZONE t.time_zone)::date, o.owner_id,
               o.visibility, 0, 0,
               (o.status = 'won')::int, CASE WHEN o.status = 'won' THEN o.amount ELSE 0 END,
               (o.status = 'lost')::int, CASE WHEN o.status = 'lost' THEN o.amount ELSE 0 END
          FROM opportunities o JOIN tenants t ON t.id = o.tenant_id
         WHERE o.closed_at IS NOT NULL) f
 GROUP BY f.tenant_id, f.day, f.owner_id, f.visibility";

/// The rows of `opportunity_stage_daily` (tenant, day, owner, visibility, stage, entered,
/// entered amount) by one plain `GROUP BY` over every stage entry (an opportunity counted
/// once per stage and day).
pub const PLAIN_STAGES: &str = "
SELECT s.tenant_id, s.day, s.owner_id, s.visibility, s.stage_id,
       count(*)::int AS entered, sum(s.amount)::bigint AS entered_amount
  FROM (SELECT DISTINCT e.tenant_id, (e.created_at AT TIME ZONE t.time_zone)::date AS day,
               e.opportunity_id, e.to_stage_id AS stage_id, o.owner_id, o.visibility, o.amount
          FROM opportunity_events e
          JOIN tenants t ON t.id = e.tenant_id
          JOIN opportunities o ON o.tenant_id = e.tenant_id AND o.id = e.opportunity_id
         WHERE e.to_stage_id IS NOT NULL AND e.action IN ('created', 'stage')) s
 GROUP BY s.tenant_id, s.day, s.owner_id, s.visibility, s.stage_id";
