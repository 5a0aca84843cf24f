//! `kehu-seed`: fills an empty, migrated Kehu database with realistic Chinese CRM data for
//! the list and search benchmark (issue 3): tenants, users, categories, tags, companies with
//! custom fields, contacts and company tags. Run it through `infra/seed`.
//!
//! The data is reproducible (a fixed RNG seed) and loaded with `COPY`. The secondary
//! indexes and foreign keys of `companies`, `contacts` and `company_tags` are dropped
//! before the bulk load and recreated afterwards from the definitions PostgreSQL reported
//! before dropping them, so the benchmarked schema is exactly the migrated one.
//!
//! Companies arrive the way they do in a live system: ids (and `created_at`) grow over
//! three years, tenants interleave, and a tenant's rows come in runs — mostly a handful
//! typed in by hand, sometimes an import of hundreds or thousands.

use std::{
    fmt::Write as _,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use bytes::Bytes;
use chrono::{DateTime, TimeZone, Utc};
use futures::SinkExt;
use rand::{Rng, SeedableRng, rngs::StdRng, seq::IndexedRandom};
use tokio_postgres::{Client, NoTls};

/// The big tenant's admin, printed at the end; the benchmark logs in with it.
const BIG_ADMIN_EMAIL: &str = "admin@big.bench.kehu.cn";
/// Password of every seeded user.
const PASSWORD: &str = "Kehu-Bench-2026";
/// Companies per COPY batch.
const BATCH: usize = 20_000;

/// Command-line options.
struct Options {
    tenants: usize,
    companies: u64,
    big: u64,
    database_url: String,
    jobs: usize,
    seed: u64,
    contacts_per_company: f64,
}

fn usage() -> &'static str {
    "kehu-seed [--tenants 1000] [--companies 10000000] [--big 100000] \
     [--database-url postgres://owner@host/db (default $DATABASE_OWNER_URL)] \
     [--jobs 2] [--seed 42] [--contacts-per-company 1]"
}

impl Options {
    fn parse() -> anyhow::Result<Self> {
        let mut o = Options {
            tenants: 1000,
            companies: 10_000_000,
            big: 100_000,
            database_url: std::env::var("DATABASE_OWNER_URL").unwrap_or_default(),
            jobs: 2,
            seed: 42,
            contacts_per_company: 1.0,
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
                "--tenants" => o.tenants = value.parse().with_context(bad)?,
                "--companies" => o.companies = value.parse().with_context(bad)?,
                "--big" => o.big = value.parse().with_context(bad)?,
                "--database-url" => o.database_url = value,
                "--jobs" => o.jobs = value.parse().with_context(bad)?,
                "--seed" => o.seed = value.parse().with_context(bad)?,
                "--contacts-per-company" => {
                    o.contacts_per_company = value.parse().with_context(bad)?;
                }
                _ => bail!("unknown option {flag}; {}", usage()),
            }
        }
        if o.database_url.is_empty() {
            bail!(
                "--database-url (or DATABASE_OWNER_URL) is required; {}",
                usage()
            );
        }
        if o.tenants < 2 || o.big > o.companies || o.jobs == 0 {
            bail!("need --tenants >= 2, --big <= --companies and --jobs >= 1");
        }
        Ok(o)
    }
}

// ---------------------------------------------------------------------------------------
// Vocabulary
// ---------------------------------------------------------------------------------------

/// City, telephone area code and weight.
type City = (&'static str, &'static str, u32);

/// The cities company names start with. 北京 is about 1 in 15 of all names (7.5% of the
/// 90% of names that start with a city).
const CITIES: &[City] = &[
    ("北京", "010", 74),
    ("上海", "021", 74),
    ("深圳", "0755", 60),
    ("广州", "020", 60),
    ("杭州", "0571", 45),
    ("成都", "028", 45),
    ("南京", "025", 35),
    ("武汉", "027", 35),
    ("西安", "029", 30),
    ("苏州", "0512", 30),
    ("天津", "022", 30),
    ("重庆", "023", 35),
    ("长沙", "0731", 18),
    ("郑州", "0371", 18),
    ("青岛", "0532", 18),
    ("东莞", "0769", 18),
    ("宁波", "0574", 18),
    ("合肥", "0551", 18),
    ("佛山", "0757", 18),
    ("沈阳", "024", 18),
    ("昆明", "0871", 18),
    ("济南", "0531", 18),
    ("厦门", "0592", 18),
    ("福州", "0591", 18),
    ("大连", "0411", 18),
    ("无锡", "0510", 18),
    ("哈尔滨", "0451", 18),
    ("长春", "0431", 18),
    ("石家庄", "0311", 18),
    ("南昌", "0791", 18),
    ("贵阳", "0851", 18),
    ("南宁", "0771", 18),
    ("太原", "0351", 18),
    ("温州", "0577", 18),
    ("常州", "0519", 18),
    ("珠海", "0756", 18),
];

/// Brand words and their pinyin (for web and email domains).
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
    ("瑞丰", "ruifeng"),
    ("中科", "zhongke"),
    ("海纳", "haina"),
    ("蓝海", "lanhai"),
    ("卓越", "zhuoyue"),
    ("汇通", "huitong"),
    ("长城", "changcheng"),
    ("凯达", "kaida"),
    ("新锐", "xinrui"),
    ("永信", "yongxin"),
    ("华泰", "huatai"),
    ("嘉禾", "jiahe"),
    ("盛世", "shengshi"),
    ("光明", "guangming"),
    ("远航", "yuanhang"),
    ("明德", "mingde"),
    ("正大", "zhengda"),
    ("同创", "tongchuang"),
    ("创新", "chuangxin"),
    ("启明", "qiming"),
    ("云帆", "yunfan"),
    ("锦程", "jincheng"),
    ("中天", "zhongtian"),
    ("华宇", "huayu"),
    ("金鼎", "jinding"),
    ("宏图", "hongtu"),
    ("恒丰", "hengfeng"),
    ("安泰", "antai"),
    ("万通", "wantong"),
    ("联创", "lianchuang"),
    ("智联", "zhilian"),
    ("信达", "xinda"),
    ("德胜", "desheng"),
    ("广信", "guangxin"),
    ("新华", "xinhua"),
    ("天成", "tiancheng"),
    ("众诚", "zhongcheng"),
    ("国泰", "guotai"),
    ("星海", "xinghai"),
    ("星河", "xinghe"),
    ("北辰", "beichen"),
    ("京华", "jinghua"),
    ("鑫源", "xinyuan"),
    ("隆基", "longji"),
    ("科达", "keda"),
    ("佳华", "jiahua"),
    ("世纪", "shiji"),
    ("百川", "baichuan"),
    ("润泽", "runze"),
    ("和信", "hexin"),
];

const INDUSTRIES: &[&str] = &[
    "科技",
    "信息技术",
    "网络科技",
    "电子",
    "贸易",
    "商贸",
    "餐饮管理",
    "物流",
    "建筑工程",
    "房地产开发",
    "文化传媒",
    "广告",
    "教育咨询",
    "医疗器械",
    "生物科技",
    "新能源",
    "机械设备",
    "服装",
    "食品",
    "化工",
    "环保科技",
    "装饰工程",
    "汽车销售",
    "酒店管理",
    "投资管理",
    "人力资源",
    "软件",
    "电子商务",
    "企业管理咨询",
    "印刷",
    "家具",
    "农业发展",
];

/// Legal forms and weights.
const SUFFIXES: &[(&str, u32)] = &[
    ("有限公司", 65),
    ("股份有限公司", 10),
    ("有限责任公司", 10),
    ("集团有限公司", 5),
    ("公司", 5),
    ("工作室", 2),
    ("经营部", 3),
];

const ROADS: &[&str] = &[
    "人民", "解放", "中山", "建设", "和平", "长江", "黄河", "北京", "上海", "南京", "延安", "文化",
];
const DISTRICTS: &[&str] = &[
    "东城", "西城", "朝阳", "海淀", "高新", "经开", "滨海", "南山", "天河", "鼓楼", "江北", "新城",
];

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾",
    "肖", "田", "董", "袁", "潘", "于", "蒋", "蔡", "余", "杜", "叶", "程", "苏", "魏", "吕", "丁",
    "任", "沈", "姚", "卢", "姜", "崔", "钟", "谭", "陆", "汪", "范", "金", "石", "廖", "贾", "夏",
    "韦", "方", "白", "邹", "孟", "熊", "秦", "邱", "江", "欧阳", "司马",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "兰", "霞", "平", "刚", "英", "华", "红", "玉", "飞", "鹏", "辉", "婷", "欣", "雪", "琳",
    "斌", "宇", "浩", "凯", "秀", "建", "国", "志", "文", "晨", "子", "梓", "轩", "涵", "睿", "博",
    "佳", "怡", "俊", "思", "雨", "嘉", "海", "波", "峰", "丹", "萍", "健",
];
const TITLES: &[&str] = &[
    "总经理",
    "副总经理",
    "董事长",
    "销售经理",
    "采购经理",
    "采购专员",
    "财务总监",
    "技术总监",
    "行政主管",
    "市场专员",
    "项目经理",
    "总监助理",
];
const TAGS: &[&str] = &[
    "重点客户",
    "VIP",
    "老客户",
    "潜在客户",
    "已签约",
    "待跟进",
    "展会获客",
    "转介绍",
    "官网注册",
    "电话营销",
    "渠道客户",
    "大客户",
    "政府客户",
    "外贸",
];
const CATEGORIES: &[&str] = &["普通客户", "重要客户", "合作伙伴", "代理商", "供应商"];
const SOURCES: &[&str] = &["展会", "官网", "转介绍", "电话营销", "广告", "其他"];
const LEVELS: &[&str] = &["A", "B", "C"];

fn weighted<'a, T>(rng: &mut StdRng, items: &'a [T], weight: impl Fn(&T) -> u32) -> &'a T {
    let total: u32 = items.iter().map(&weight).sum();
    let mut pick = rng.random_range(0..total);
    for item in items {
        let w = weight(item);
        if pick < w {
            return item;
        }
        pick -= w;
    }
    &items[items.len() - 1]
}

fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    items.choose(rng).unwrap_or(&items[0])
}

fn person_name(rng: &mut StdRng) -> String {
    let mut name = pick(rng, SURNAMES).to_string();
    name.push_str(pick::<&str>(rng, GIVEN));
    if rng.random_bool(0.6) {
        name.push_str(pick::<&str>(rng, GIVEN));
    }
    name
}

fn mobile(rng: &mut StdRng) -> String {
    format!(
        "1{}{:09}",
        rng.random_range(3..=9),
        rng.random_range(0..1_000_000_000u32)
    )
}

/// A company name and its domain: mostly city + brand + industry + legal form, sometimes
/// brand + industry + (city) + legal form, sometimes a street name (南京北京路餐饮有限公司).
fn company_name(rng: &mut StdRng) -> (String, &'static str, &'static str, &'static City) {
    let city = weighted(rng, CITIES, |c| c.2);
    let (word, pinyin) = *pick(rng, WORDS);
    let industry = *pick(rng, INDUSTRIES);
    let suffix = weighted(rng, SUFFIXES, |s| s.1).0;
    let roll: f64 = rng.random();
    let name = if roll < 0.03 {
        format!("{word}{industry}（{}）{suffix}", city.0)
    } else if roll < 0.035 {
        format!("{}{}路{industry}{suffix}", city.0, pick(rng, ROADS))
    } else if roll < 0.10 {
        format!("{word}{industry}{suffix}")
    } else if roll < 0.25 {
        let (second, _) = *pick(rng, WORDS);
        format!("{}{word}{second}{industry}{suffix}", city.0)
    } else {
        format!("{}{word}{industry}{suffix}", city.0)
    };
    (name, pinyin, industry, city)
}

/// COPY text format: backslash, tab, newline and CR escaped.
fn copy_text(out: &mut String, field: &str) {
    for ch in field.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
}

/// Appends one COPY row of already-safe fields (None is NULL).
fn copy_row(out: &mut String, fields: &[Option<&str>]) {
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push('\t');
        }
        match f {
            Some(v) => copy_text(out, v),
            None => out.push_str("\\N"),
        }
    }
    out.push('\n');
}

fn ts(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S+00").to_string()
}

// ---------------------------------------------------------------------------------------
// Tenants and users
// ---------------------------------------------------------------------------------------

/// What the company generator needs to know about one tenant.
struct Tenant {
    id: i64,
    users: Vec<i64>,
    first_category: i64,
    first_tag: i64,
}

/// Companies per tenant: the big tenant (index 0) gets `big`, the others share the rest
/// with weights between 0.2 and 1.8.
fn tenant_sizes(rng: &mut StdRng, o: &Options) -> Vec<u64> {
    let rest = o.companies - o.big;
    let weights: Vec<f64> = (1..o.tenants).map(|_| rng.random_range(0.2..1.8)).collect();
    let sum: f64 = weights.iter().sum();
    let mut sizes = vec![o.big];
    sizes.extend(weights.iter().map(|w| (rest as f64 * w / sum) as u64));
    let mut short = o.companies - sizes.iter().sum::<u64>();
    let n = sizes.len();
    let mut i = 1;
    while short > 0 {
        sizes[i] += 1;
        short -= 1;
        i = if i + 1 == n { 1 } else { i + 1 };
    }
    sizes
}

async fn copy(client: &Client, sql: &str, data: String) -> anyhow::Result<u64> {
    let sink = client
        .copy_in::<_, Bytes>(sql)
        .await
        .with_context(|| sql.to_owned())?;
    futures::pin_mut!(sink);
    sink.send(Bytes::from(data)).await?;
    Ok(sink.as_mut().finish().await?)
}

async fn seed_tenants(
    client: &Client,
    rng: &mut StdRng,
    o: &Options,
    password_hash: &str,
) -> anyhow::Result<Vec<Tenant>> {
    let start = Utc
        .with_ymd_and_hms(2023, 11, 1, 0, 0, 0)
        .single()
        .context("start date")?;
    let (mut tenants_copy, mut users_copy, mut cats_copy, mut tags_copy) =
        (String::new(), String::new(), String::new(), String::new());
    let mut tenants = Vec::with_capacity(o.tenants);
    let mut next_user = 1i64;
    for t in 0..o.tenants {
        let id = t as i64 + 1;
        let created = ts(start + chrono::Duration::hours(t as i64));
        let name = if t == 0 {
            "北京星辰科技有限公司".to_owned()
        } else {
            company_name(rng).0
        };
        copy_row(
            &mut tenants_copy,
            &[
                Some(&id.to_string()),
                Some(&name),
                Some("Asia/Shanghai"),
                Some(&created),
            ],
        );
        // The big tenant: an admin, 4 managers and 20 members; others an admin, a manager
        // and 2–5 members.
        let (managers, members) = if t == 0 {
            (4, 20)
        } else {
            (1, rng.random_range(2..=5))
        };
        let mut users = Vec::new();
        let admin = next_user;
        for k in 0..(1 + managers + members) {
            let uid = next_user;
            next_user += 1;
            let (role, reports_to) = if k == 0 {
                ("admin", None)
            } else if k <= managers {
                ("manager", Some(admin))
            } else {
                ("member", Some(admin + 1 + (k as i64 % managers as i64)))
            };
            let email = if t == 0 && k == 0 {
                BIG_ADMIN_EMAIL.to_owned()
            } else {
                format!("u{k}@t{id}.bench.kehu.cn")
            };
            let reports = reports_to.map(|r| r.to_string());
            copy_row(
                &mut users_copy,
                &[
                    Some(&id.to_string()),
                    Some(&uid.to_string()),
                    Some(&email),
                    Some(&person_name(rng)),
                    Some(password_hash),
                    Some(role),
                    reports.as_deref(),
                    Some(&created),
                ],
            );
            users.push(uid);
        }
        let first_category = t as i64 * CATEGORIES.len() as i64 + 1;
        for (k, c) in CATEGORIES.iter().enumerate() {
            let cid = (first_category + k as i64).to_string();
            copy_row(
                &mut cats_copy,
                &[
                    Some(&id.to_string()),
                    Some(&cid),
                    Some(c),
                    Some(&k.to_string()),
                ],
            );
        }
        let first_tag = t as i64 * TAGS.len() as i64 + 1;
        for (k, tag) in TAGS.iter().enumerate() {
            let tid = (first_tag + k as i64).to_string();
            copy_row(
                &mut tags_copy,
                &[Some(&id.to_string()), Some(&tid), Some(tag)],
            );
        }
        tenants.push(Tenant {
            id,
            users,
            first_category,
            first_tag,
        });
    }
    copy(
        client,
        "COPY tenants (id, name, time_zone, created_at) FROM STDIN",
        tenants_copy,
    )
    .await?;
    copy(
        client,
        "COPY users (tenant_id, id, email, name, password_hash, role, reports_to, created_at) FROM STDIN",
        users_copy,
    )
    .await?;
    copy(
        client,
        "COPY customer_categories (tenant_id, id, name, position) FROM STDIN",
        cats_copy,
    )
    .await?;
    copy(
        client,
        "COPY tags (tenant_id, id, name) FROM STDIN",
        tags_copy,
    )
    .await?;
    Ok(tenants)
}

// ---------------------------------------------------------------------------------------
// Companies
// ---------------------------------------------------------------------------------------

/// Picks tenants in proportion to the companies each still has to receive (a Fenwick
/// tree over the remaining counts), so every tenant ends with exactly its size.
struct Remaining {
    tree: Vec<u64>,
    total: u64,
}

impl Remaining {
    fn new(sizes: &[u64]) -> Self {
        let mut r = Remaining {
            tree: vec![0; sizes.len() + 1],
            total: 0,
        };
        for (i, &s) in sizes.iter().enumerate() {
            r.add(i, s as i64);
        }
        r
    }

    fn add(&mut self, index: usize, delta: i64) {
        self.total = (self.total as i64 + delta) as u64;
        let mut i = index + 1;
        while i < self.tree.len() {
            self.tree[i] = (self.tree[i] as i64 + delta) as u64;
            i += i & i.wrapping_neg();
        }
    }

    fn get(&self, index: usize) -> u64 {
        let (mut sum, mut i) = (0, index + 1);
        while i > 0 {
            sum += self.tree[i];
            i -= i & i.wrapping_neg();
        }
        let (mut before, mut j) = (0, index);
        while j > 0 {
            before += self.tree[j];
            j -= j & j.wrapping_neg();
        }
        sum - before
    }

    /// The index whose cumulative range holds `target` (0 ≤ target < total).
    fn find(&self, mut target: u64) -> usize {
        let mut pos = 0;
        let mut step = self.tree.len().next_power_of_two();
        while step > 0 {
            let next = pos + step;
            if next < self.tree.len() && self.tree[next] <= target {
                target -= self.tree[next];
                pos = next;
            }
            step /= 2;
        }
        pos
    }
}

/// One COPY batch: companies plus their contacts and tags.
struct Batch {
    companies: String,
    contacts: String,
    tags: String,
    rows: u64,
}

/// Writes the companies `first_id..` up to `BATCH` of them, continuing the current run.
struct Generator {
    rng: StdRng,
    remaining: Remaining,
    next_id: i64,
    next_contact: i64,
    run_tenant: usize,
    run_left: u64,
    start: DateTime<Utc>,
    seconds_per_company: f64,
    contacts_max: u32,
}

impl Generator {
    fn next_tenant(&mut self) -> usize {
        if self.run_left == 0 {
            let target = self.rng.random_range(0..self.remaining.total);
            self.run_tenant = self.remaining.find(target);
            // Mostly a few typed in by hand; now and then an import.
            let len = if self.rng.random_bool(0.02) {
                self.rng.random_range(200..3000)
            } else {
                self.rng.random_range(1..=12)
            };
            self.run_left = len.min(self.remaining.get(self.run_tenant));
        }
        self.run_left -= 1;
        self.remaining.add(self.run_tenant, -1);
        self.run_tenant
    }

    fn batch(&mut self, tenants: &[Tenant]) -> Option<Batch> {
        if self.remaining.total == 0 {
            return None;
        }
        let mut b = Batch {
            companies: String::with_capacity(BATCH * 400),
            contacts: String::with_capacity(BATCH * 200),
            tags: String::with_capacity(BATCH * 20),
            rows: 0,
        };
        let mut line = String::new();
        while b.rows < BATCH as u64 && self.remaining.total > 0 {
            let tenant = &tenants[self.next_tenant()];
            let id = self.next_id;
            self.next_id += 1;
            b.rows += 1;
            self.company(tenant, id, &mut b, &mut line);
        }
        Some(b)
    }

    fn company(&mut self, tenant: &Tenant, id: i64, b: &mut Batch, line: &mut String) {
        let rng = &mut self.rng;
        let at = self.start
            + chrono::Duration::milliseconds((id as f64 * self.seconds_per_company * 1e3) as i64);
        let created = ts(at);
        let (name, pinyin, industry, city) = company_name(rng);
        let (city_name, area, _) = *city;
        let phone = if rng.random_bool(0.6) {
            format!("{area}-{}", rng.random_range(60_000_000..89_999_999))
        } else {
            mobile(rng)
        };
        let domain = format!("{pinyin}{}.com", id % 997);
        let email = if rng.random_bool(0.7) {
            format!("info@{domain}")
        } else {
            String::new()
        };
        let website = if rng.random_bool(0.5) {
            format!("https://www.{domain}")
        } else {
            String::new()
        };
        let address = format!(
            "{city_name}市{}区{}路{}号",
            pick(rng, DISTRICTS),
            pick(rng, ROADS),
            rng.random_range(1..=999)
        );
        let introduction = if rng.random_bool(0.2) {
            format!("主营{industry}业务，服务{city_name}及周边地区客户。")
        } else {
            String::new()
        };
        let category = rng
            .random_bool(0.8)
            .then(|| tenant.first_category + rng.random_range(0..CATEGORIES.len() as i64));
        let owner = *pick(rng, &tenant.users);
        let visibility = if rng.random_bool(0.3) {
            "public"
        } else {
            "private"
        };
        let custom = format!(
            r#"{{"industry": "{industry}", "employees": {}, "source": "{}", "level": "{}"}}"#,
            rng.random_range(3..5000),
            pick(rng, SOURCES),
            pick(rng, LEVELS)
        );
        let (tid, cid) = (tenant.id.to_string(), id.to_string());
        let (category, owner) = (category.map(|c| c.to_string()), owner.to_string());
        copy_row(
            &mut b.companies,
            &[
                Some(&tid),
                Some(&cid),
                Some(&name),
                Some(&phone),
                Some(&email),
                Some(&website),
                Some(&address),
                Some(&introduction),
                category.as_deref(),
                Some(&owner),
                Some(visibility),
                Some(&custom),
                Some(&owner),
                Some(&created),
                Some(&created),
            ],
        );
        for _ in 0..rng.random_range(0..=self.contacts_max) {
            let contact = self.next_contact;
            self.next_contact += 1;
            line.clear();
            let _ = write!(line, "{contact}");
            let cell = mobile(rng);
            let mail = if rng.random_bool(0.5) {
                format!("c{contact}@{domain}")
            } else {
                String::new()
            };
            let wechat = if rng.random_bool(0.4) {
                format!("wx_{}", rng.random_range(100_000..999_999))
            } else {
                String::new()
            };
            copy_row(
                &mut b.contacts,
                &[
                    Some(&tid),
                    Some(line),
                    Some(&cid),
                    Some(&person_name(rng)),
                    Some(*pick(rng, TITLES)),
                    Some(&cell),
                    Some(&mail),
                    Some(&wechat),
                    Some(&owner),
                    Some(&created),
                    Some(&created),
                ],
            );
        }
        // 0–2 distinct tags, 0.8 on average.
        let first = rng.random_range(0..TAGS.len() as i64);
        let n = *pick(rng, &[0, 0, 1, 1, 1, 2]);
        for k in 0..n {
            let tag = tenant.first_tag + (first + k * 5) % TAGS.len() as i64;
            let _ = writeln!(b.tags, "{tid}\t{cid}\t{tag}");
        }
    }
}

const COPY_COMPANIES: &str = "COPY companies (tenant_id, id, name, phone, email, website, \
    address, introduction, category_id, owner_id, visibility, custom, created_by, created_at, \
    updated_at) FROM STDIN";
const COPY_CONTACTS: &str = "COPY contacts (tenant_id, id, company_id, name, title, mobile, \
    email, wechat, created_by, created_at, updated_at) FROM STDIN";
const COPY_TAGS: &str = "COPY company_tags (tenant_id, company_id, tag_id) FROM STDIN";

/// A loader connection: each batch is one transaction of three COPYs.
async fn load(
    url: String,
    rx: Arc<tokio::sync::Mutex<tokio::sync::mpsc::Receiver<Batch>>>,
    done: Arc<AtomicU64>,
) -> anyhow::Result<()> {
    let client = connect(&url).await?;
    client.batch_execute("SET synchronous_commit = off").await?;
    loop {
        let batch = { rx.lock().await.recv().await };
        let Some(batch) = batch else { return Ok(()) };
        client.batch_execute("BEGIN").await?;
        copy(&client, COPY_COMPANIES, batch.companies).await?;
        copy(&client, COPY_CONTACTS, batch.contacts).await?;
        copy(&client, COPY_TAGS, batch.tags).await?;
        client.batch_execute("COMMIT").await?;
        done.fetch_add(batch.rows, Ordering::Relaxed);
    }
}

async fn connect(url: &str) -> anyhow::Result<Client> {
    let (client, conn) = tokio_postgres::connect(url, NoTls)
        .await
        .context("connecting with --database-url")?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            eprintln!("connection error: {e}");
        }
    });
    Ok(client)
}

// ---------------------------------------------------------------------------------------
// Indexes and constraints around the bulk load
// ---------------------------------------------------------------------------------------

const BULK_TABLES: &str = "'companies', 'contacts', 'company_tags'";

/// Drops the secondary indexes and foreign keys of the bulk tables; returns the statements
/// that recreate them (indexes first, largest table first), as PostgreSQL defines them.
async fn drop_for_load(client: &Client) -> anyhow::Result<(Vec<String>, Vec<String>)> {
    let indexes = client
        .query(
            &format!(
                "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
                   FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
                  WHERE t.relname IN ({BULK_TABLES}) AND NOT i.indisprimary
                  ORDER BY array_position(ARRAY[{BULK_TABLES}]::text[], t.relname::text),
                           i.indexrelid::regclass::text"
            ),
            &[],
        )
        .await?;
    let fks = client
        .query(
            &format!(
                "SELECT c.conrelid::regclass::text, c.conname::text, pg_get_constraintdef(c.oid)
                   FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
                  WHERE t.relname IN ({BULK_TABLES}) AND c.contype = 'f'
                  ORDER BY 1, 2"
            ),
            &[],
        )
        .await?;
    let mut create = Vec::new();
    let mut constraints = Vec::new();
    for row in &fks {
        let (table, name, def): (String, String, String) = (row.get(0), row.get(1), row.get(2));
        client
            .batch_execute(&format!("ALTER TABLE {table} DROP CONSTRAINT \"{name}\""))
            .await?;
        constraints.push(format!(
            "ALTER TABLE {table} ADD CONSTRAINT \"{name}\" {def}"
        ));
    }
    for row in &indexes {
        let (name, def): (String, String) = (row.get(0), row.get(1));
        client.batch_execute(&format!("DROP INDEX {name}")).await?;
        create.push(def);
    }
    println!(
        "dropped {} indexes and {} foreign keys for the load",
        create.len(),
        constraints.len()
    );
    Ok((create, constraints))
}

/// Runs `statements` on `jobs` connections in parallel (each takes the next one).
async fn run_parallel(url: &str, jobs: usize, statements: Vec<String>) -> anyhow::Result<()> {
    let queue = Arc::new(std::sync::Mutex::new(statements.into_iter()));
    let mut handles = Vec::new();
    for _ in 0..jobs {
        let (queue, url) = (queue.clone(), url.to_owned());
        handles.push(tokio::spawn(async move {
            let client = connect(&url).await?;
            client
                .batch_execute("SET maintenance_work_mem = '1GB'")
                .await?;
            loop {
                let next = queue.lock().ok().and_then(|mut q| q.next());
                let Some(sql) = next else { break };
                let started = Instant::now();
                client
                    .batch_execute(&sql)
                    .await
                    .with_context(|| sql.clone())?;
                println!("  {:.1} s  {sql}", started.elapsed().as_secs_f64());
            }
            anyhow::Ok(())
        }));
    }
    for h in handles {
        h.await??;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let o = Options::parse()?;
    let started = Instant::now();
    let client = connect(&o.database_url).await?;
    let existing: i64 = client
        .query_one(
            "SELECT count(*) FROM (SELECT 1 FROM tenants WHERE id > 0 LIMIT 1) t",
            &[],
        )
        .await?
        .get(0);
    if existing > 0 {
        bail!(
            "the database already has tenants; kehu-seed only fills an empty, migrated database (infra/seed recreates it)"
        );
    }
    println!(
        "seeding {} tenants, {} companies (biggest tenant {}), {} contacts per company on average, {} loader connections",
        o.tenants, o.companies, o.big, o.contacts_per_company, o.jobs
    );

    let mut rng = StdRng::seed_from_u64(o.seed);
    // One real argon2id hash, computed by the app's own hasher, shared by every user.
    let password_hash = kehu::auth::password::hash(PASSWORD.to_owned()).await?;
    let tenants = seed_tenants(&client, &mut rng, &o, &password_hash).await?;
    let users: usize = tenants.iter().map(|t| t.users.len()).sum();
    println!(
        "tenants, {users} users, categories and tags: {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let (indexes, constraints) = drop_for_load(&client).await?;

    let sizes = tenant_sizes(&mut rng, &o);
    let start = Utc
        .with_ymd_and_hms(2023, 11, 23, 0, 0, 0)
        .single()
        .context("start date")?;
    let mut generator = Generator {
        rng,
        remaining: Remaining::new(&sizes),
        next_id: 1,
        next_contact: 1,
        run_tenant: 0,
        run_left: 0,
        start,
        seconds_per_company: 3.0 * 365.0 * 86_400.0 / o.companies.max(1) as f64,
        contacts_max: (o.contacts_per_company * 2.0).round() as u32,
    };
    let load_started = Instant::now();
    let done = Arc::new(AtomicU64::new(0));
    let (tx, rx) = tokio::sync::mpsc::channel::<Batch>(o.jobs * 2);
    let rx = Arc::new(tokio::sync::Mutex::new(rx));
    let mut loaders = Vec::new();
    for _ in 0..o.jobs {
        loaders.push(tokio::spawn(load(
            o.database_url.clone(),
            rx.clone(),
            done.clone(),
        )));
    }
    let progress = {
        let (done, total) = (done.clone(), o.companies);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(15)).await;
                let n = done.load(Ordering::Relaxed);
                let secs = load_started.elapsed().as_secs_f64();
                println!(
                    "  companies {n:>10} / {total}  {:5.1}%  {:>7.0} rows/s  {:.0} s",
                    n as f64 * 100.0 / total as f64,
                    n as f64 / secs,
                    secs
                );
            }
        })
    };
    while let Some(batch) = generator.batch(&tenants) {
        if tx.send(batch).await.is_err() {
            break; // a loader failed; its error is reported below
        }
    }
    drop(tx);
    for l in loaders {
        l.await??;
    }
    progress.abort();
    let load_secs = load_started.elapsed().as_secs_f64();
    println!(
        "companies loaded: {} rows, {} contacts in {load_secs:.0} s ({:.0} companies/s)",
        done.load(Ordering::Relaxed),
        generator.next_contact - 1,
        done.load(Ordering::Relaxed) as f64 / load_secs
    );

    let index_started = Instant::now();
    println!("recreating indexes:");
    run_parallel(&o.database_url, o.jobs, indexes).await?;
    println!("recreating foreign keys:");
    run_parallel(&o.database_url, 1, constraints).await?;
    let index_secs = index_started.elapsed().as_secs_f64();

    client
        .batch_execute(
            "SELECT setval(pg_get_serial_sequence('tenants', 'id'), (SELECT max(id) FROM tenants));
             SELECT setval(pg_get_serial_sequence('users', 'id'), (SELECT max(id) FROM users));
             SELECT setval(pg_get_serial_sequence('customer_categories', 'id'), (SELECT max(id) FROM customer_categories));
             SELECT setval(pg_get_serial_sequence('tags', 'id'), (SELECT max(id) FROM tags));
             SELECT setval(pg_get_serial_sequence('companies', 'id'), (SELECT max(id) FROM companies));
             SELECT setval(pg_get_serial_sequence('contacts', 'id'), greatest(1, (SELECT max(id) FROM contacts)));",
        )
        .await?;
    let vacuum_started = Instant::now();
    println!("VACUUM ANALYZE:");
    run_parallel(
        &o.database_url,
        o.jobs,
        [
            "companies",
            "contacts",
            "company_tags",
            "users",
            "tenants",
            "customer_categories",
            "tags",
            "user_directory",
        ]
        .iter()
        .map(|t| format!("VACUUM ANALYZE {t}"))
        .collect(),
    )
    .await?;
    let vacuum_secs = vacuum_started.elapsed().as_secs_f64();

    let size: String = client
        .query_one(
            "SELECT pg_size_pretty(pg_database_size(current_database()))",
            &[],
        )
        .await?
        .get(0);
    let rows = client
        .query(
            "SELECT c.relname::text, pg_size_pretty(pg_table_size(c.oid)),
                    pg_size_pretty(pg_indexes_size(c.oid))
               FROM pg_class c
              WHERE c.relname IN ('companies', 'contacts', 'company_tags') ORDER BY 1",
            &[],
        )
        .await?;
    let big_beijing: i64 = client
        .query_one(
            "SELECT count(*) FROM companies WHERE tenant_id = 1 AND name LIKE '%北京%'",
            &[],
        )
        .await?
        .get(0);
    println!();
    println!(
        "done in {:.0} s: load {load_secs:.0} s, indexes and foreign keys {index_secs:.0} s, vacuum analyze {vacuum_secs:.0} s",
        started.elapsed().as_secs_f64()
    );
    println!("database size {size}");
    for r in &rows {
        let (t, heap, idx): (String, String, String) = (r.get(0), r.get(1), r.get(2));
        println!("  {t}: table {heap}, indexes {idx}");
    }
    println!(
        "big tenant (id 1, {} companies, {big_beijing} with 北京 in the name): log in as {BIG_ADMIN_EMAIL} / {PASSWORD}",
        sizes[0]
    );
    Ok(())
}
