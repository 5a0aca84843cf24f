//! The search grams (migration 000037): the PL/pgSQL `kehu_search_grams` gives the same
//! set of grams as the SQL function it replaced, and the customer list finds exactly the
//! names that contain a term, for random Chinese and Latin names and terms.

use std::collections::BTreeSet;

use diesel::{QueryableByName, sql_types::Text};
use diesel_async::{RunQueryDsl, SimpleAsyncConnection};
use kehu::listing::text::search_text;
use kehu_tests::TestApp;

use crate::support::exec;
use rand::{Rng, SeedableRng, rngs::StdRng, seq::IndexedRandom};

/// Common and repeated Chinese characters, Latin letters in both cases, full-width forms
/// (NFKC makes them ASCII), digits, spaces and brackets: what real names mix.
const ALPHABET: &[&str] = &[
    "北", "京", "上", "海", "星", "辰", "科", "技", "有", "限", "公", "司", "南", "路", "a", "b",
    "C", "D", "x", "Ａ", "ｂ", "１", "2", " ", "（", "）", "-", "&",
];

fn random_text(rng: &mut StdRng, len: std::ops::RangeInclusive<usize>) -> String {
    let n = rng.random_range(len);
    (0..n)
        .map(|_| *ALPHABET.choose(rng).expect("a letter"))
        .collect()
}

/// A name that is not only white space (names are trimmed and must not be empty).
fn random_name(rng: &mut StdRng) -> String {
    loop {
        let name = random_text(rng, 1..=12);
        if !name.trim().is_empty() {
            return name;
        }
    }
}

/// Every character and every bigram of the search text: what the grams must be, as a set.
fn model_grams(name: &str) -> BTreeSet<String> {
    let chars: Vec<char> = search_text(name).chars().collect();
    let mut grams: BTreeSet<String> = chars.iter().map(|c| c.to_string()).collect();
    grams.extend(chars.windows(2).map(|w| w.iter().collect::<String>()));
    grams
}

#[derive(QueryableByName)]
struct Grams {
    #[diesel(sql_type = Text)]
    new: String,
    #[diesel(sql_type = Text)]
    old: String,
}

/// The grams as a set, from PostgreSQL's text form of a `text[]` (`{a,"b c"}`), parsed
/// there: one element per line.
fn lines(text: &str) -> BTreeSet<String> {
    text.split('\n')
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_new_grams_are_the_old_ones_as_a_set_for_random_names() {
    let app = TestApp::start().await;
    let mut conn = app.owner_conn().await;
    // The function migration 000008 created, as it was, for this session only.
    conn.batch_execute(
        "CREATE FUNCTION pg_temp.old_grams(p text) RETURNS text[] LANGUAGE sql IMMUTABLE AS $$
             SELECT coalesce(array_agg(DISTINCT g), '{}')
             FROM (SELECT kehu_search_text(p) AS t) s,
                  LATERAL (
                      SELECT substr(t, i, 1) AS g FROM generate_series(1, length(t)) i
                      UNION ALL
                      SELECT substr(t, i, 2) FROM generate_series(1, length(t) - 1) i
                  ) grams
         $$",
    )
    .await
    .expect("the old function");
    let seed: u64 = rand::rng().random();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut names: Vec<String> = (0..500).map(|_| random_text(&mut rng, 0..=20)).collect();
    names.extend(["", " ", "北北北京京", "ａＡaA", "北京（海淀）有限公司"].map(str::to_owned));
    for name in &names {
        let row: Grams = diesel::sql_query(
            "SELECT array_to_string(ARRAY(SELECT DISTINCT g FROM unnest(kehu_search_grams($1)) g ORDER BY 1), E'\\n') AS new,
                    array_to_string(ARRAY(SELECT g FROM unnest(pg_temp.old_grams($1)) g ORDER BY 1), E'\\n') AS old",
        )
        .bind::<Text, _>(name)
        .get_result(&mut conn)
        .await
        .expect("the grams");
        let (new, old) = (lines(&row.new), lines(&row.old));
        assert_eq!(new, old, "seed {seed}: grams of {name:?}");
        // White space is removed before the grams, so no gram is (or contains) a space.
        let model: BTreeSet<String> = model_grams(name);
        assert_eq!(
            new, model,
            "seed {seed}: grams of {name:?} against the model"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_customer_list_finds_exactly_the_names_that_contain_a_random_term() {
    let app = TestApp::start().await;
    let admin = app
        .signup("搜索性质公司", "管理员", "admin@grams.test")
        .await;
    let tenant = app.tenant_of("admin@grams.test").await;
    let user = app.user_id("admin@grams.test").await;
    let seed: u64 = rand::rng().random();
    let mut rng = StdRng::seed_from_u64(seed);
    let names: Vec<String> = (0..400).map(|_| random_name(&mut rng)).collect();
    let values: Vec<String> = names
        .iter()
        .map(|n| {
            format!(
                "({tenant}, '{}', {user}, {user}, 'public')",
                n.trim().replace('\'', "''")
            )
        })
        .collect();
    exec(
        &app,
        &format!(
            "INSERT INTO companies (tenant_id, name, owner_id, created_by, visibility) VALUES {}",
            values.join(",")
        ),
    )
    .await;
    // As the page shows them: runs of white space as one space.
    let stored: Vec<String> = names
        .iter()
        .map(|n| n.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();

    let mut checked = 0;
    for round in 0..120 {
        // Half the terms are pieces of a stored name (so they match), half are random.
        let term = if round % 2 == 0 {
            let name: Vec<char> = stored.choose(&mut rng).expect("a name").chars().collect();
            let start = rng.random_range(0..name.len());
            let len = rng.random_range(1..=(name.len() - start).min(5));
            name[start..start + len].iter().collect::<String>()
        } else {
            random_text(&mut rng, 1..=4)
        };
        let needle = search_text(&term);
        if needle.is_empty() {
            continue;
        }
        let mut expected: Vec<&str> = stored
            .iter()
            .filter(|n| search_text(n).contains(&needle))
            .map(String::as_str)
            .collect();
        // One page holds 50; terms with more matches are checked on their first page only.
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("q", &term)
            .finish();
        let page = admin.get(&format!("/customers?{query}")).await;
        assert_eq!(page.status, 200, "seed {seed}: {term:?}");
        let mut found = page.texts("#companies tbody td:nth-child(2)");
        found.retain(|n| !n.is_empty());
        if expected.len() <= 50 {
            found.sort();
            expected.sort();
            assert_eq!(found, expected, "seed {seed}: search {term:?}");
            checked += 1;
        } else {
            assert_eq!(found.len(), 50, "seed {seed}: search {term:?}");
            for name in &found {
                assert!(
                    search_text(name).contains(&needle),
                    "seed {seed}: {name:?} does not contain {term:?}"
                );
            }
        }
    }
    assert!(
        checked > 40,
        "seed {seed}: only {checked} terms fully checked"
    );
}
