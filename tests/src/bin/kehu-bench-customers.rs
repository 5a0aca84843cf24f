//! `kehu-bench-customers`: the customer list and search benchmark of issue 3. Run it
//! through `infra/bench-customers`, which seeds nothing: it expects `infra/seed`'s database
//! and starts the app against it.
//!
//! For each case (first page, a deep keyset page, "name contains" searches) and each
//! number of concurrent clients it measures the latency of
//! - `GET /customers?…` over HTTP, signed in as the big tenant's admin (keep-alive
//!   connections, the whole page rendered), and
//! - the same `kehu::customers::model::list` call the handler makes, in a `TenantTx` on a
//!   pool as large as the app's, so the SQL is the app's own and cannot drift,
//!
//! and prints a markdown table with p50/p95/p99, the HTTP/SQL p99 ratio and the goals.

use std::sync::Arc;

use anyhow::{Context, bail};
use diesel::{
    QueryableByName,
    sql_types::{BigInt, Text},
};
use diesel_async::RunQueryDsl;
use kehu::{
    customers::{
        model::{self, ListQuery},
        visibility::{Scope, View},
    },
    db::{DbPool, TenantTx},
    ids::{CompanyId, TenantId},
};
use kehu_tests::bench::{Stats, login, measure};

/// Connections in the app's pool (`State::new`); the direct runs use the same number.
const APP_POOL: usize = 16;
/// Rows the handler asks for: a page of 50 plus one to know whether a next page exists.
const LIMIT: i64 = 51;

struct Options {
    base_url: String,
    database_url: String,
    email: String,
    password: String,
    requests: usize,
    warmup: usize,
    clients: Vec<usize>,
}

fn usage() -> &'static str {
    "kehu-bench-customers --base-url http://127.0.0.1:PORT --database-url postgres://kehu_app@…/kehu_bench \
     [--email admin@big.bench.kehu.cn] [--password Kehu-Bench-2026] [--requests 2000] \
     [--warmup 200] [--clients 1,10,50]"
}

impl Options {
    fn parse() -> anyhow::Result<Self> {
        let mut o = Options {
            base_url: String::new(),
            database_url: std::env::var("DATABASE_URL").unwrap_or_default(),
            email: "admin@big.bench.kehu.cn".into(),
            password: "Kehu-Bench-2026".into(),
            requests: 2000,
            warmup: 200,
            clients: vec![1, 10, 50],
        };
        let mut args = std::env::args().skip(1);
        while let Some(flag) = args.next() {
            let value = args
                .next()
                .with_context(|| format!("{flag} needs a value; {}", usage()))?;
            let bad = || format!("bad value {value:?} for {flag}");
            match flag.as_str() {
                "--base-url" => o.base_url = value.trim_end_matches('/').to_owned(),
                "--database-url" => o.database_url = value,
                "--email" => o.email = value,
                "--password" => o.password = value,
                "--requests" => o.requests = value.parse().with_context(bad)?,
                "--warmup" => o.warmup = value.parse().with_context(bad)?,
                "--clients" => {
                    o.clients = value
                        .split(',')
                        .map(|c| c.trim().parse())
                        .collect::<Result<_, _>>()
                        .with_context(bad)?;
                }
                _ => bail!("unknown option {flag}; {}", usage()),
            }
        }
        if o.base_url.is_empty() || o.database_url.is_empty() {
            bail!("--base-url and --database-url are required; {}", usage());
        }
        Ok(o)
    }
}

/// What is measured, and the goal it has.
struct Case {
    label: String,
    q: String,
    before: Option<CompanyId>,
    goal: Goal,
}

#[derive(Clone, Copy)]
enum Goal {
    /// HTTP p99 at most this many times the direct SQL p99.
    RatioAtMost(f64),
    /// HTTP p99 under this many milliseconds.
    HttpP99Under(f64),
}

impl Goal {
    fn describe(self) -> String {
        match self {
            Goal::RatioAtMost(r) => format!("HTTP p99 ≤ {r}× SQL p99"),
            Goal::HttpP99Under(ms) => format!("HTTP p99 < {ms} ms"),
        }
    }

    fn met(self, http: &Stats, sql: &Stats) -> bool {
        match self {
            Goal::RatioAtMost(r) => http.p99 <= r * sql.p99,
            Goal::HttpP99Under(ms) => http.p99 < ms,
        }
    }
}

/// The one call the benchmark shares with `GET /customers` (list.rs): adapt it here when
/// `model::list` changes.
async fn direct_page(pool: &DbPool, tenant: TenantId, case: &Case) -> anyhow::Result<usize> {
    let mut tx = TenantTx::begin(pool, tenant).await?;
    // The page's query: the term's conditions, newest first, after the cursor.
    let mut query = ListQuery::search(&mut tx, &case.q, LIMIT).await?;
    query.after = case.before.map(model::Cursor::Id);
    let rows = model::list(&mut tx, &Scope::Admin(View::All), query).await?;
    tx.commit().await?;
    Ok(rows.len())
}

fn case_url(base: &str, case: &Case) -> String {
    let mut url = url::Url::parse(&format!("{base}/customers")).expect("base URL");
    {
        let mut query = url.query_pairs_mut();
        if !case.q.is_empty() {
            query.append_pair("q", &case.q);
        }
        if let Some(before) = case.before {
            query.append_pair("before", &before.to_string());
        }
    }
    url.to_string()
}

#[derive(QueryableByName)]
struct Num {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// The tenant of the benchmark user, through the same lookup the login uses.
async fn tenant_of(pool: &DbPool, email: &str) -> anyhow::Result<TenantId> {
    let mut conn = pool.get().await?;
    let row: Num = diesel::sql_query("SELECT tenant_id AS n FROM kehu_find_account($1)")
        .bind::<Text, _>(email)
        .get_result(&mut conn)
        .await
        .with_context(|| format!("no account {email}; run infra/seed first"))?;
    Ok(TenantId(row.n))
}

/// Companies in the tenant, and how many match each search term.
async fn facts(pool: &DbPool, tenant: TenantId, sql: &str, term: &str) -> anyhow::Result<i64> {
    let mut tx = TenantTx::begin(pool, tenant).await?;
    let row: Num = diesel::sql_query(sql)
        .bind::<BigInt, _>(tenant.0)
        .bind::<Text, _>(term)
        .get_result(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(row.n)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let o = Options::parse()?;
    let pool = kehu::db::pool(&o.database_url, APP_POOL)?;
    let tenant = tenant_of(&pool, &o.email).await?;
    let size = facts(
        &pool,
        tenant,
        "SELECT count(*) AS n FROM companies WHERE tenant_id = $1 AND $2 = ''",
        "",
    )
    .await?;
    let deep = facts(
        &pool,
        tenant,
        "SELECT id AS n FROM companies WHERE tenant_id = $1 AND $2 = '' ORDER BY id DESC OFFSET 5000 LIMIT 1",
        "",
    )
    .await?;
    let matches = |term: &'static str| {
        let pool = pool.clone();
        async move {
            facts(
                &pool,
                tenant,
                "SELECT count(*) AS n FROM companies WHERE tenant_id = $1 \
                 AND kehu_search_text(name) LIKE '%' || $2 || '%'",
                term,
            )
            .await
        }
    };
    let mut cases = vec![
        Case {
            label: "list, first page".into(),
            q: String::new(),
            before: None,
            goal: Goal::RatioAtMost(2.0),
        },
        Case {
            label: "list, page 101 (`before=`)".into(),
            q: String::new(),
            before: Some(CompanyId(deep)),
            goal: Goal::RatioAtMost(2.0),
        },
    ];
    for (term, goal) in [
        ("北京", 20.0),
        ("北京星", 5.0),
        ("北京星辰", 5.0),
        ("星辰科技", 5.0),
    ] {
        let n = matches(term).await?;
        cases.push(Case {
            label: format!("search “{term}” ({n} matches)"),
            q: term.into(),
            before: None,
            goal: Goal::HttpP99Under(goal),
        });
    }

    let http = login(&o.base_url, &o.email, &o.password).await?;
    println!(
        "tenant {} ({size} companies), {} requests per run after {} warm-up, clients {:?}, \
         direct pool {APP_POOL} connections like the app",
        tenant.0, o.requests, o.warmup, o.clients
    );

    let mut table = Vec::new();
    for case in cases {
        let case = Arc::new(case);
        let url = case_url(&o.base_url, &case);
        // The page must really be the list, not the login page or an error.
        let first = http.get(&url).send().await?;
        let status = first.status();
        let body = first.text().await?;
        let rows = direct_page(&pool, tenant, &case).await?;
        if !status.is_success() || !body.contains("customer-search") {
            bail!("{url} answered {status} without the customer list");
        }
        for &clients in &o.clients {
            let run_http = {
                let (http, url) = (http.clone(), url.clone());
                move || {
                    let (http, url) = (http.clone(), url.clone());
                    async move {
                        let resp = http.get(&url).send().await?;
                        let status = resp.status();
                        resp.bytes().await?;
                        if !status.is_success() {
                            bail!("{url}: {status}");
                        }
                        Ok(())
                    }
                }
            };
            let run_sql = {
                let (pool, case) = (pool.clone(), case.clone());
                move || {
                    let (pool, case) = (pool.clone(), case.clone());
                    async move { direct_page(&pool, tenant, &case).await.map(|_| ()) }
                }
            };
            measure(clients, o.warmup, run_http.clone()).await?;
            let (h, wall) = measure(clients, o.requests, run_http).await?;
            let http_stats = Stats::of(&h, wall);
            measure(clients, o.warmup, run_sql.clone()).await?;
            let (h, wall) = measure(clients, o.requests, run_sql).await?;
            let sql_stats = Stats::of(&h, wall);
            eprintln!(
                "{} @ {clients}: HTTP p99 {:.2} ms, SQL p99 {:.2} ms",
                case.label, http_stats.p99, sql_stats.p99
            );
            table.push((case.clone(), clients, rows, http_stats, sql_stats));
        }
    }

    println!();
    println!(
        "| Case | Clients | Rows | HTTP p50 | HTTP p95 | HTTP p99 | HTTP max | HTTP req/s | SQL p50 | SQL p95 | SQL p99 | SQL req/s | HTTP/SQL p99 | Goal | Met |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|");
    let mut missed = 0;
    for (case, clients, rows, h, s) in &table {
        let met = case.goal.met(h, s);
        if !met {
            missed += 1;
        }
        println!(
            "| {} | {clients} | {rows} | {:.2} | {:.2} | {:.2} | {:.1} | {:.0} | {:.2} | {:.2} | {:.2} | {:.0} | {:.2} | {} | {} |",
            case.label,
            h.p50,
            h.p95,
            h.p99,
            h.max,
            h.per_second,
            s.p50,
            s.p95,
            s.p99,
            s.per_second,
            h.p99 / s.p99,
            case.goal.describe(),
            if met { "yes" } else { "**no**" }
        );
    }
    println!();
    println!("Times in ms. {missed} goal(s) missed.");
    Ok(())
}
