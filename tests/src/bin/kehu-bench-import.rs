//! `kehu-bench-import`: the import benchmark of issue 4. Run it through
//! `infra/bench-import`.
//!
//! Goals: import a 1M-row × 10-column xlsx end to end (upload to done) in at most
//! 1.25 × max(raw streaming calamine parse of the file, raw `COPY` of the same rows into
//! the same table with its production indexes), the worker's peak memory under 250 MB;
//! import the same rows as CSV in at most 1.25 × the raw `COPY`.
//!
//! The files are generated once into `--work` (`companies-<rows>.xlsx` with
//! rust_xlsxwriter and `.csv`, the same cells; every company name distinct, so every row
//! is created). Each repetition measures, one after another:
//!
//! - `raw-parse`: calamine's streaming cell reader over the xlsx, every cell looked at.
//! - `reader` (only with `--phases …,reader`): the app's own reader
//!   (`kehu::imports::read::read`) over the xlsx, for comparison with `raw-parse`.
//! - `raw-copy`: one `COPY companies (…) FROM STDIN` of the same rows with the values the
//!   import stores (category by id, custom fields as JSON), into a fresh database with
//!   every production index and trigger, in one transaction. The COPY text is made before
//!   the clock starts. It runs as the owner role: PostgreSQL refuses `COPY FROM` into a
//!   table whose row-level security applies to the role (the import's app role; the
//!   reason it stages rows in a temporary table and merges them with SQL).
//! - `import-xlsx` / `import-csv`: the real thing. A fresh database and app (the harness of
//!   the integration tests, in this process), the worker in its own process
//!   (`kehu-test-worker`, release build, production lease and reconciler settings). The
//!   clock starts before the multipart upload to `POST /imports` and stops when the
//!   `imports` row says `done`; in between the mapping screen's suggestions are posted
//!   as they are (skip duplicates) and the row is polled every 100 ms. The worker's peak
//!   resident memory is its `VmHWM` at the end. Afterwards: every row created and stored,
//!   none refused, every company with its category and custom fields.
//! - `raw-copy-parallel`: the raw `COPY` split into as many parts as the worker merges
//!   chunks at once (`--connections`, the worker's `IMPORT_CONNECTIONS`, default 2), each
//!   on its own connection and transaction, at once: the baseline with the same
//!   parallelism as the import.
//!
//! - `copy-trgm`: the same one-connection `COPY` into `companies_trgm`, a copy of the
//!   table (its columns, defaults, checks, identity, foreign keys and the generated
//!   `name_key`) without `name_grams` and with no index but the primary key and one
//!   pg_trgm GIN on the name: the baseline of issue 13's point 8, what a plain pg_trgm
//!   search index would cost to fill.
//!
//! Every phase starts from an empty companies table (a fresh database for each), so the
//! index sizes are the same for all.

use std::{
    io::Write as _,
    path::PathBuf,
    process::{Child, Command},
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use bytes::Bytes;
use futures::SinkExt;
use kehu_tests::{
    TestApp, TestOptions,
    bench::{connect, copy_row, load_average, median},
};
use rand::{Rng, SeedableRng, rngs::StdRng, seq::IndexedRandom};

const HEADERS: [&str; 10] = [
    "公司名称",
    "电话",
    "邮箱",
    "网址",
    "地址",
    "简介",
    "客户类别",
    "行业",
    "员工人数",
    "客户来源",
];
const CATEGORIES: &[&str] = &["普通客户", "重要客户", "合作伙伴", "代理商", "供应商"];
const SOURCES: &[&str] = &["展会", "官网", "转介绍", "电话营销", "广告", "其他"];
const CITIES: &[(&str, &str)] = &[
    ("北京", "010"),
    ("上海", "021"),
    ("深圳", "0755"),
    ("广州", "020"),
    ("杭州", "0571"),
    ("成都", "028"),
    ("南京", "025"),
    ("武汉", "027"),
    ("西安", "029"),
    ("苏州", "0512"),
];
const WORDS: &[(&str, &str)] = &[
    ("星辰", "xingchen"),
    ("华信", "huaxin"),
    ("腾达", "tengda"),
    ("恒通", "hengtong"),
    ("金桥", "jinqiao"),
    ("宏远", "hongyuan"),
    ("东方", "dongfang"),
    ("天宇", "tianyu"),
    ("鼎盛", "dingsheng"),
    ("博雅", "boya"),
];
const INDUSTRIES: &[&str] = &[
    "科技",
    "信息技术",
    "贸易",
    "物流",
    "建筑工程",
    "文化传媒",
    "医疗器械",
    "新能源",
    "食品",
];
const ROADS: &[&str] = &["人民", "解放", "中山", "建设", "和平", "长江"];

struct Options {
    rows: u64,
    repeat: usize,
    work: PathBuf,
    /// `IMPORT_CONNECTIONS` of the worker.
    connections: usize,
    phases: Vec<String>,
}

fn usage() -> &'static str {
    "kehu-bench-import [--rows 1000000] [--repeat 1] [--work /tmp/kehu-bench-import] \
     [--connections 2 (the worker's IMPORT_CONNECTIONS)] \
     [--phases raw-parse,reader,raw-copy,copy-trgm,raw-copy-parallel,import-xlsx,import-csv]   (DATABASE_URL, \
     DATABASE_OWNER_URL and REDIS_URL as for the tests)"
}

impl Options {
    fn parse() -> anyhow::Result<Self> {
        let mut o = Options {
            rows: 1_000_000,
            repeat: 1,
            work: std::env::temp_dir().join("kehu-bench-import"),
            connections: std::env::var("IMPORT_CONNECTIONS")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(2),
            phases: [
                "raw-parse",
                "raw-copy",
                "copy-trgm",
                "raw-copy-parallel",
                "import-xlsx",
                "import-csv",
            ]
            .map(String::from)
            .to_vec(),
        };
        let mut args = std::env::args().skip(1);
        while let Some(flag) = args.next() {
            if flag == "--help" || flag == "-h" {
                println!("{}", usage());
                std::process::exit(0);
            }
            let value = args
                .next()
                .with_context(|| format!("{flag} needs a value; {}", usage()))?;
            let bad = || format!("bad value {value:?} for {flag}");
            match flag.as_str() {
                "--rows" => o.rows = value.parse().with_context(bad)?,
                "--repeat" => o.repeat = value.parse().with_context(bad)?,
                "--work" => o.work = PathBuf::from(value),
                "--phases" => o.phases = value.split(',').map(str::to_owned).collect(),
                "--connections" => o.connections = value.parse().with_context(bad)?,
                _ => bail!("unknown option {flag}; {}", usage()),
            }
        }
        Ok(o)
    }
}

// ---------------------------------------------------------------------------------------
// The files
// ---------------------------------------------------------------------------------------

fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    items.choose(rng).unwrap_or(&items[0])
}

/// Row `i` of the file (0-based): ten cells; the employee count is a number.
fn row(rng: &mut StdRng, i: u64) -> ([String; 10], Option<u32>) {
    let (city, area) = *pick(rng, CITIES);
    let (word, pinyin) = *pick(rng, WORDS);
    let industry = *pick(rng, INDUSTRIES);
    let name = format!("{city}{word}{industry}第{}分公司", i + 1);
    let phone = format!("{area}-{}", rng.random_range(60_000_000..89_999_999));
    let domain = format!("{pinyin}{}.com", i % 9973);
    let email = if rng.random_bool(0.7) {
        format!("info{}@{domain}", i % 100)
    } else {
        String::new()
    };
    let website = if rng.random_bool(0.5) {
        format!("https://www.{domain}")
    } else {
        String::new()
    };
    let address = format!(
        "{city}市{}路{}号",
        pick(rng, ROADS),
        rng.random_range(1..=999)
    );
    let introduction = if rng.random_bool(0.2) {
        format!("主营{industry}业务，服务{city}及周边地区客户。")
    } else {
        String::new()
    };
    let category = (*pick(rng, CATEGORIES)).to_owned();
    let employees = rng.random_bool(0.8).then(|| rng.random_range(3..5000));
    let source = if rng.random_bool(0.6) {
        (*pick(rng, SOURCES)).to_owned()
    } else {
        String::new()
    };
    (
        [
            name,
            phone,
            email,
            website,
            address,
            introduction,
            category,
            industry.to_owned(),
            employees.map(|n| n.to_string()).unwrap_or_default(),
            source,
        ],
        employees,
    )
}

fn file_path(o: &Options, ext: &str) -> PathBuf {
    o.work.join(format!("companies-{}.{ext}", o.rows))
}

/// Writes the xlsx and the CSV (same cells) unless both exist.
fn ensure_files(o: &Options) -> anyhow::Result<()> {
    let (xlsx, csv) = (file_path(o, "xlsx"), file_path(o, "csv"));
    if xlsx.exists() && csv.exists() {
        println!("reusing {} and {}", xlsx.display(), csv.display());
        return Ok(());
    }
    std::fs::create_dir_all(&o.work)?;
    let started = Instant::now();
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet_with_constant_memory()?;
    let mut writer = csv::Writer::from_path(&csv)?;
    for (c, h) in HEADERS.iter().enumerate() {
        sheet.write_string(0, c as u16, *h)?;
    }
    writer.write_record(HEADERS)?;
    let mut rng = StdRng::seed_from_u64(2026);
    for i in 0..o.rows {
        let (cells, employees) = row(&mut rng, i);
        let r = (i + 1) as u32;
        for (c, cell) in cells.iter().enumerate() {
            if c == 8 {
                if let Some(n) = employees {
                    sheet.write_number(r, c as u16, f64::from(n))?;
                }
            } else if !cell.is_empty() {
                sheet.write_string(r, c as u16, cell)?;
            }
        }
        writer.write_record(&cells)?;
    }
    writer.flush()?;
    workbook.save(&xlsx)?;
    println!(
        "wrote {} ({} MB) and {} ({} MB) in {:.1} s",
        xlsx.display(),
        std::fs::metadata(&xlsx)?.len() >> 20,
        csv.display(),
        std::fs::metadata(&csv)?.len() >> 20,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Phases
// ---------------------------------------------------------------------------------------

/// Peak resident memory (`VmHWM`) of process `pid`, in kB.
fn peak_kb(pid: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The app's reader (`kehu::imports::read::read`: checks, pre-scan, a `String` per cell) over
/// the xlsx, as the worker runs it but without the checks of the fields and the database.
fn reader(o: &Options) -> anyhow::Result<(f64, u64)> {
    use kehu::imports::read::{self, Format, Limits};
    let started = Instant::now();
    let mut cells = 0u64;
    read::read(
        &file_path(o, "xlsx"),
        Format::Xlsx,
        &Limits::default(),
        &mut |_| std::ops::ControlFlow::Continue(()),
        &mut |row| {
            cells += row.cells.iter().filter(|c| !c.is_empty()).count() as u64;
            std::ops::ControlFlow::Continue(())
        },
    )
    .map_err(|e| anyhow::anyhow!(e.message("en")))?;
    Ok((started.elapsed().as_secs_f64(), cells))
}

fn raw_parse(o: &Options) -> anyhow::Result<(f64, u64)> {
    use calamine::{Reader, Xlsx};
    let started = Instant::now();
    let mut workbook: Xlsx<_> = calamine::open_workbook(file_path(o, "xlsx"))?;
    let name = workbook
        .sheet_names()
        .first()
        .cloned()
        .context("no sheet")?;
    let mut cells = workbook.worksheet_cells_reader(&name)?;
    let (mut count, mut bytes) = (0u64, 0usize);
    while let Some(cell) = cells.next_cell()? {
        count += 1;
        bytes += match cell.get_value() {
            calamine::DataRef::SharedString(s) => s.len(),
            calamine::DataRef::String(s) => s.len(),
            other => usize::from(!matches!(other, calamine::DataRef::Empty)),
        };
    }
    let seconds = started.elapsed().as_secs_f64();
    std::hint::black_box(bytes);
    Ok((seconds, count))
}

/// A fresh app and tenant: the admin, the categories and the custom fields the file's
/// columns map to. Returns the app, the signed-in admin, the tenant and the admin's id.
async fn fresh_app() -> anyhow::Result<(TestApp, kehu_tests::Client, i64, i64)> {
    let app = TestApp::start_with(TestOptions {
        worker: false,
        import_max_bytes: 1 << 30,
        ..TestOptions::default()
    })
    .await;
    let admin = app
        .signup(
            "导入基准测试有限公司",
            "管理员",
            "admin@import.bench.kehu.cn",
        )
        .await;
    let tenant = app
        .scalar("SELECT tenant_id FROM users WHERE email = 'admin@import.bench.kehu.cn'")
        .await;
    let user = app
        .scalar("SELECT id FROM users WHERE email = 'admin@import.bench.kehu.cn'")
        .await;
    let owner = owner_client(&app).await?;
    let options = |items: &[&str]| {
        items
            .iter()
            .map(|s| format!("\"{s}\""))
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut sql = String::new();
    for (i, c) in CATEGORIES.iter().enumerate() {
        sql.push_str(&format!(
            "INSERT INTO customer_categories (tenant_id, name, position) VALUES ({tenant}, '{c}', {i})
             ON CONFLICT DO NOTHING;"
        ));
    }
    sql.push_str(&format!(
        "INSERT INTO custom_fields (tenant_id, entity, label, kind, options, position) VALUES
           ({tenant}, 'company', '行业', 'text', '{{}}', 1),
           ({tenant}, 'company', '员工人数', 'number', '{{}}', 2),
           ({tenant}, 'company', '客户来源', 'select', '{{{}}}', 3);",
        options(SOURCES)
    ));
    owner.batch_execute(&sql).await?;
    Ok((app, admin, tenant, user))
}

async fn owner_client(app: &TestApp) -> anyhow::Result<tokio_postgres::Client> {
    let url = app
        .config
        .database_owner_url
        .clone()
        .context("no owner URL")?;
    connect(&url).await
}

/// The table `copy-trgm` fills: `companies` without its search grams and secondary
/// indexes, with one pg_trgm GIN on the name instead.
const TRGM_TABLE: &str = "
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
    CREATE TABLE companies_trgm (LIKE companies
        INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING GENERATED INCLUDING IDENTITY);
    ALTER TABLE companies_trgm DROP COLUMN name_grams;
    ALTER TABLE companies_trgm ADD PRIMARY KEY (tenant_id, id);
    DO $$
    DECLARE r record;
    BEGIN
        FOR r IN SELECT conname, pg_get_constraintdef(oid) AS def FROM pg_constraint
                  WHERE conrelid = 'companies'::regclass AND contype = 'f' LOOP
            EXECUTE format('ALTER TABLE companies_trgm ADD CONSTRAINT %I %s',
                           r.conname || '_trgm', r.def);
        END LOOP;
    END $$;
    CREATE INDEX companies_trgm_name_idx ON companies_trgm USING gin (name gin_trgm_ops);";

/// `COPY` of the file's rows into `table` (`companies`, or `companies_trgm` made by
/// [`TRGM_TABLE`]) on `connections` connections at once.
fn raw_copy(o: &Options, connections: usize, table: &str) -> anyhow::Result<f64> {
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async {
        let (app, _admin, tenant, user) = fresh_app().await?;
        let owner = owner_client(&app).await?;
        if table == "companies_trgm" {
            owner.batch_execute(TRGM_TABLE).await?;
        }
        let category_ids: std::collections::HashMap<String, i64> = owner
            .query(
                "SELECT name, id FROM customer_categories WHERE tenant_id = $1",
                &[&tenant],
            )
            .await?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        let field_ids: Vec<i64> = owner
            .query(
                "SELECT id FROM custom_fields WHERE tenant_id = $1 ORDER BY position",
                &[&tenant],
            )
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        // The rows as the import stores them, made before the clock starts.
        let mut data = String::new();
        let mut reader = csv::Reader::from_path(file_path(o, "csv"))?;
        let (tenant_s, user_s) = (tenant.to_string(), user.to_string());
        for record in reader.records() {
            let r = record?;
            let mut custom = serde_json::Map::new();
            custom.insert(field_ids[0].to_string(), r[7].into());
            if let Ok(n) = r[8].parse::<i64>() {
                custom.insert(field_ids[1].to_string(), n.into());
            }
            if !r[9].is_empty() {
                custom.insert(field_ids[2].to_string(), r[9].into());
            }
            let custom = serde_json::Value::Object(custom).to_string();
            let category = category_ids.get(&r[6]).map(|id| id.to_string());
            let fields: [Option<&str>; 12] = [
                Some(&tenant_s),
                Some(&r[0]),
                Some(&r[1]),
                Some(&r[2]),
                Some(&r[3]),
                Some(&r[4]),
                Some(&r[5]),
                category.as_deref(),
                Some(&user_s),
                Some("private"),
                Some(&custom),
                Some(&user_s),
            ];
            copy_row(&mut data, &fields);
        }
        let data = Bytes::from(data);
        // `connections` parts of about equal size, each ending at a line end.
        let mut parts = vec![];
        let mut at = 0;
        for k in 1..=connections {
            let mut end = (data.len() * k / connections).max(at);
            while end < data.len() && data[end - 1] != b'\n' {
                end += 1;
            }
            parts.push(data.slice(at..end));
            at = end;
        }
        // As the owner role: COPY FROM refuses tables with row-level security for roles
        // it applies to (the reason the import stages into a temporary table).
        let mut clients = vec![];
        for _ in 0..connections {
            clients.push(owner_client(&app).await?);
        }

        let started = Instant::now();
        let copies = clients
            .into_iter()
            .zip(parts)
            .map(|(mut client, part)| async move {
                let tx = client.transaction().await?;
                let sink = tx
                    .copy_in::<_, Bytes>(&format!(
                        "COPY {table} (tenant_id, name, phone, email, website, address, \
                         introduction, category_id, owner_id, visibility, custom, created_by) \
                         FROM STDIN"
                    ))
                    .await?;
                futures::pin_mut!(sink);
                let mut at = 0;
                while at < part.len() {
                    let mut end = (at + (1 << 20)).min(part.len());
                    while end < part.len() && part[end - 1] != b'\n' {
                        end += 1;
                    }
                    sink.send(part.slice(at..end)).await?;
                    at = end;
                }
                let copied = sink.as_mut().finish().await?;
                tx.commit().await?;
                anyhow::Ok(copied)
            });
        let mut copied = 0;
        for result in futures::future::join_all(copies).await {
            copied += result?;
        }
        let seconds = started.elapsed().as_secs_f64();
        if copied != o.rows {
            bail!("raw COPY wrote {copied} rows, not {}", o.rows);
        }
        Ok(seconds)
    })
}

/// The worker in its own process, killed when dropped.
struct Worker(Child);

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Imported {
    seconds: f64,
    worker_peak_kb: u64,
    upload_seconds: f64,
}

fn import(o: &Options, ext: &str) -> anyhow::Result<Imported> {
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async {
        let (app, admin, tenant, user) = fresh_app().await?;
        let exe = std::env::current_exe()?;
        let worker_exe = exe.parent().context("no exe dir")?.join("kehu-test-worker");
        let log = std::fs::File::create(o.work.join(format!("worker-{ext}.log")))?;
        let worker = Worker(
            Command::new(&worker_exe)
                .envs(app.worker_env())
                .envs([
                    ("JOB_LEASE_SECONDS", "300"),
                    ("JOB_REQUEUE_SECONDS", "60"),
                    ("RECONCILE_SECONDS", "5"),
                    ("IMPORT_CONNECTIONS", &o.connections.to_string()),
                    (
                        "RUST_LOG",
                        &std::env::var("BENCH_WORKER_LOG").unwrap_or_else(|_| "warn".into()),
                    ),
                ])
                .stdout(log.try_clone()?)
                .stderr(log)
                .spawn()
                .with_context(|| format!("starting {}", worker_exe.display()))?,
        );
        let pid = worker.0.id().to_string();
        let bytes = std::fs::read(file_path(o, ext))?;
        let name = format!("企业名录.{ext}");
        let kind = if ext == "csv" {
            "text/csv"
        } else {
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        };
        admin.get("/imports").await;
        // Let the worker come up before the clock starts.
        tokio::time::sleep(Duration::from_secs(2)).await;

        let started = Instant::now();
        let page = admin
            .upload(
                "/imports",
                &[("entity", "company")],
                "file",
                (&name, kind, bytes),
            )
            .await;
        let upload_seconds = started.elapsed().as_secs_f64();
        let path = page
            .location
            .clone()
            .with_context(|| format!("upload refused: {} {}", page.status, page.body))?;
        let id: i64 = path.trim_start_matches("/imports/").parse()?;
        // The suggested mapping, as the screen shows it.
        let mapping: Vec<String> = app
            .text(&format!(
                "SELECT string_agg(m, ',' ORDER BY n) FROM imports, \
                 jsonb_array_elements_text(mapping) WITH ORDINALITY AS a(m, n) WHERE id = {id}"
            ))
            .await
            .split(',')
            .map(str::to_owned)
            .collect();
        println!("  mapping: {mapping:?}");
        let names: Vec<String> = (0..mapping.len()).map(|c| format!("map_{c}")).collect();
        let mut fields: Vec<(&str, &str)> = names
            .iter()
            .map(String::as_str)
            .zip(mapping.iter().map(String::as_str))
            .collect();
        let owner = user.to_string();
        fields.extend([
            ("on_duplicate", "skip"),
            ("visibility", "private"),
            ("owner_id", owner.as_str()),
        ]);
        admin.get(&path).await;
        let page = admin.post(&format!("{path}/start"), &fields).await;
        if page.status != 303 {
            bail!("start refused: {} {}", page.status, page.body);
        }
        let mut last_report = Instant::now();
        loop {
            let status = app
                .text(&format!(
                    "SELECT status || ' ' || rows_done || ' ' || coalesce(last_error, '') \
                     FROM imports WHERE id = {id}"
                ))
                .await;
            if status.starts_with("done ") {
                break;
            }
            if status.starts_with("failed") || status.starts_with("cancelled") {
                bail!("import {id}: {status}");
            }
            if last_report.elapsed() > Duration::from_secs(30) {
                println!(
                    "  {ext}: {status} after {:.0} s",
                    started.elapsed().as_secs_f64()
                );
                last_report = Instant::now();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let seconds = started.elapsed().as_secs_f64();
        let worker_peak_kb = peak_kb(&pid);
        drop(worker);
        let created = app
            .scalar(&format!(
                "SELECT created_count FROM imports WHERE id = {id}"
            ))
            .await;
        let stored = app
            .scalar(&format!(
                "SELECT count(*) FROM companies WHERE tenant_id = {tenant}"
            ))
            .await;
        let errors = app
            .scalar(&format!("SELECT error_count FROM imports WHERE id = {id}"))
            .await;
        if created != o.rows as i64 || stored != o.rows as i64 || errors != 0 {
            bail!(
                "import {id} created {created}, stored {stored}, refused {errors} of {} rows",
                o.rows
            );
        }
        // Spot check: the last row's custom fields and category arrived.
        let last = app
            .scalar(&format!(
                "SELECT count(*) FROM companies WHERE tenant_id = {tenant} \
                 AND custom <> '{{}}' AND category_id IS NOT NULL"
            ))
            .await;
        if last != o.rows as i64 {
            bail!(
                "{last} of {} companies have their category and 行业",
                o.rows
            );
        }
        Ok(Imported {
            seconds,
            worker_peak_kb,
            upload_seconds,
        })
    })
}

fn main() -> anyhow::Result<()> {
    let o = Options::parse()?;
    ensure_files(&o)?;
    let wants = |p: &str| o.phases.iter().any(|x| x == p);
    let (mut parse, mut copy, mut xlsx, mut csv) = (vec![], vec![], vec![], vec![]);
    let (mut xlsx_mem, mut csv_mem) = (0u64, 0u64);
    let (mut copy_parallel, mut trgm) = (vec![], vec![]);
    for rep in 1..=o.repeat {
        println!("repetition {rep} of {} (load {})", o.repeat, load_average());
        if wants("raw-parse") {
            let (s, cells) = raw_parse(&o)?;
            println!("  raw-parse    {s:8.2} s  ({cells} cells)");
            parse.push(s);
        }
        if wants("reader") {
            let (s, cells) = reader(&o)?;
            println!("  reader       {s:8.2} s  ({cells} non-empty cells below the header)");
        }
        if wants("raw-copy") {
            let s = raw_copy(&o, 1, "companies")?;
            println!("  raw-copy     {s:8.2} s  (load {})", load_average());
            copy.push(s);
        }
        if wants("copy-trgm") {
            let s = raw_copy(&o, 1, "companies_trgm")?;
            println!("  copy-trgm    {s:8.2} s  (load {})", load_average());
            trgm.push(s);
        }
        if wants("raw-copy-parallel") && o.connections > 1 {
            let s = raw_copy(&o, o.connections, "companies")?;
            println!(
                "  raw-copy ×{}  {s:8.2} s  (load {})",
                o.connections,
                load_average()
            );
            copy_parallel.push(s);
        }
        for (ext, times, mem) in [
            ("xlsx", &mut xlsx, &mut xlsx_mem),
            ("csv", &mut csv, &mut csv_mem),
        ] {
            if !wants(&format!("import-{ext}")) {
                continue;
            }
            let r = import(&o, ext)?;
            println!(
                "  import-{ext:<4}  {:8.2} s  (upload {:.2} s, worker peak {} MB, load {})",
                r.seconds,
                r.upload_seconds,
                r.worker_peak_kb / 1024,
                load_average()
            );
            times.push(r.seconds);
            *mem = (*mem).max(r.worker_peak_kb);
        }
    }
    let (parse, copy, xlsx, csv) = (median(parse), median(copy), median(xlsx), median(csv));
    let (copy_parallel, trgm) = (median(copy_parallel), median(trgm));
    let bound = parse.max(copy);
    let mut out = std::io::stdout().lock();
    writeln!(out)?;
    writeln!(
        out,
        "| {} rows × 10 columns, median of {} | seconds | ratio | goal | worker peak |",
        o.rows, o.repeat
    )?;
    writeln!(out, "|---|---:|---:|---:|---:|")?;
    writeln!(
        out,
        "| raw calamine streaming parse (xlsx) | {parse:.2} | | | |"
    )?;
    writeln!(
        out,
        "| raw COPY into companies (production indexes) | {copy:.2} | | | |"
    )?;
    writeln!(
        out,
        "| import xlsx, upload to done | {xlsx:.2} | {:.2} × max(parse, COPY) | ≤ 1.25 | {} MB (< 250) |",
        xlsx / bound,
        xlsx_mem / 1024
    )?;
    writeln!(
        out,
        "| import CSV, upload to done | {csv:.2} | {:.2} × COPY | ≤ 1.25 | {} MB (< 250) |",
        csv / copy,
        csv_mem / 1024
    )?;
    if trgm.is_finite() {
        writeln!(
            out,
            "| COPY into a copy of companies with only the primary key and a pg_trgm GIN on the name | {trgm:.2} | | | |\n\
             | raw COPY (production indexes) vs the pg_trgm copy | | {:.2} | ≤ 2 | |",
            copy / trgm
        )?;
    }
    if copy_parallel.is_finite() {
        writeln!(
            out,
            "| raw COPY on {n} connections at once | {copy_parallel:.2} | | | |\n\
             | import xlsx vs the raw COPY on {n} connections | | {:.2} | ≤ 1.25 | |\n\
             | import CSV vs the raw COPY on {n} connections | | {:.2} | ≤ 1.25 | |",
            xlsx / parse.max(copy_parallel),
            csv / copy_parallel,
            n = o.connections
        )?;
    }
    Ok(())
}
