//! 客户一览 beyond the basics: multi-condition search, quick and saved filters, sorting
//! with keyset pages, the column chooser and the main contact column.

use kehu_tests::{Client, TestApp, client::Page};

use crate::support::{add_field, exec, zh};

fn names(page: &Page) -> Vec<String> {
    page.texts("#companies tbody td:nth-child(2)")
}

async fn add(client: &Client, fields: &[(&str, &str)]) {
    let page = client.post("/customers/new", fields).await;
    assert_eq!(page.status, 303, "{fields:?}: {}", page.body);
}

fn url(params: &[(&str, &str)]) -> String {
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    format!("/customers?{query}")
}

async fn search(client: &Client, params: &[(&str, &str)]) -> Vec<String> {
    names(&client.get(&url(params)).await)
}

#[tokio::test(flavor = "multi_thread")]
async fn conditions_combine_builtin_and_custom_fields_with_every_operator() {
    let app = TestApp::start().await;
    let admin = app.signup("条件公司", "管理员", "admin@cond.test").await;
    let staff = add_field(&app, &admin, "company", "员工数", "number", "").await;
    let signed = add_field(&app, &admin, "company", "签约日", "date", "").await;
    let level = add_field(&app, &admin, "company", "级别", "select", "A\nB\nC").await;
    let channel = add_field(
        &app,
        &admin,
        "company",
        "渠道",
        "multiselect",
        "线上\n线下\n展会",
    )
    .await;
    assert_eq!(
        admin
            .post("/admin/categories", &[("name", "重点客户")])
            .await
            .status,
        303
    );
    let key = app
        .scalar("SELECT id FROM customer_categories WHERE name = '重点客户'")
        .await
        .to_string();
    add(
        &admin,
        &[
            ("name", "北京星辰科技有限公司"),
            ("phone", "010-8888"),
            ("category_id", &key),
            (&staff, "120"),
            (&signed, "2026-03-01"),
            (&level, "A"),
            (&channel, "线上"),
            (&channel, "展会"),
        ],
    )
    .await;
    add(
        &admin,
        &[
            ("name", "南京北京路餐饮有限公司"),
            ("email", "food@nj.cn"),
            (&staff, "15"),
            (&signed, "2025-12-31"),
            (&level, "B"),
        ],
    )
    .await;
    add(&admin, &[("name", "上海北辰贸易"), (&channel, "线下")]).await;
    add(&admin, &[("name", "京")]).await;

    // 2-character contains finds every match, in the middle too; 1 character as well.
    let mut found = search(
        &admin,
        &[("f1", "name"), ("o1", "contains"), ("v1", "北京")],
    )
    .await;
    found.sort();
    assert_eq!(found, ["北京星辰科技有限公司", "南京北京路餐饮有限公司"]);
    assert_eq!(
        search(&admin, &[("f1", "name"), ("o1", "contains"), ("v1", "京")])
            .await
            .len(),
        3
    );
    assert_eq!(
        search(
            &admin,
            &[("f1", "name"), ("o1", "starts_with"), ("v1", "北京")]
        )
        .await,
        ["北京星辰科技有限公司"]
    );
    assert_eq!(
        search(&admin, &[("f1", "name"), ("o1", "equals"), ("v1", "京")]).await,
        ["京"]
    );
    assert_eq!(
        search(&admin, &[("f1", "email"), ("o1", "not_empty")]).await,
        ["南京北京路餐饮有限公司"]
    );
    assert_eq!(
        search(
            &admin,
            &[("f1", "category"), ("o1", "equals"), ("v1", "重点客户")]
        )
        .await,
        ["北京星辰科技有限公司"]
    );
    assert_eq!(
        search(&admin, &[("f1", "category"), ("o1", "empty")])
            .await
            .len(),
        3
    );
    // Custom fields: number comparisons, dates, selects and multi-selects.
    assert_eq!(
        search(&admin, &[("f1", &staff), ("o1", "after"), ("v1", "100")]).await,
        ["北京星辰科技有限公司"]
    );
    assert_eq!(
        search(&admin, &[("f1", &staff), ("o1", "before"), ("v1", "100")]).await,
        ["南京北京路餐饮有限公司"]
    );
    assert_eq!(
        search(
            &admin,
            &[("f1", &signed), ("o1", "before"), ("v1", "2026-01-01")]
        )
        .await,
        ["南京北京路餐饮有限公司"]
    );
    let mut any = search(&admin, &[("f1", &level), ("o1", "any_of"), ("v1", "A，B")]).await;
    any.sort();
    assert_eq!(any, ["北京星辰科技有限公司", "南京北京路餐饮有限公司"]);
    let mut any = search(
        &admin,
        &[("f1", &channel), ("o1", "any_of"), ("v1", "展会、线下")],
    )
    .await;
    any.sort();
    assert_eq!(any, ["上海北辰贸易", "北京星辰科技有限公司"]);
    assert_eq!(
        search(&admin, &[("f1", &channel), ("o1", "empty")])
            .await
            .len(),
        2
    );
    // Conditions combine with AND, and with the name search box.
    assert_eq!(
        search(
            &admin,
            &[
                ("f1", "name"),
                ("o1", "contains"),
                ("v1", "北京"),
                ("f2", &level),
                ("o2", "equals"),
                ("v2", "B"),
            ]
        )
        .await,
        ["南京北京路餐饮有限公司"]
    );
    assert_eq!(
        search(
            &admin,
            &[
                ("q", "星辰"),
                ("f1", "phone"),
                ("o1", "contains"),
                ("v1", "8888")
            ]
        )
        .await,
        ["北京星辰科技有限公司"]
    );
    // Creation dates are days in the tenant's time zone.
    assert_eq!(
        search(
            &admin,
            &[("f1", "created"), ("o1", "after"), ("v1", "2000-01-01")]
        )
        .await
        .len(),
        4
    );
    assert!(
        search(
            &admin,
            &[("f1", "created"), ("o1", "before"), ("v1", "2000-01-01")]
        )
        .await
        .is_empty()
    );
    // A faulty condition is explained and left out, never a 500.
    let page = admin
        .get(&url(&[
            ("f1", &staff),
            ("o1", "after"),
            ("v1", "很多"),
            ("f2", "nope"),
            ("o2", "equals"),
            ("v2", "x"),
            ("f3", "category"),
            ("o3", "equals"),
            ("v3", "没有的分类"),
        ]))
        .await;
    assert_eq!(page.status, 200);
    assert_eq!(page.texts("#filter-problems div").len(), 3);
    assert_eq!(
        names(&page).len(),
        4,
        "nothing filtered by faulty conditions"
    );

    // The condition row fragment offers the operators of the chosen field's type.
    let row = admin
        .get(&format!("/customers/condition?n=2&f2={staff}&o2=contains"))
        .await;
    assert_eq!(row.status, 200);
    assert_eq!(
        row.attrs("#f-o2 option", "value"),
        ["equals", "before", "after", "empty", "not_empty"]
    );
    assert_eq!(
        row.attrs("#f-o2 option[selected]", "value"),
        ["equals"],
        "an operator that does not fit falls back to the first that does"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn conditions_and_quick_filters_never_reach_past_visibility() {
    let app = TestApp::start().await;
    let admin = app.signup("快滤公司", "管理员", "admin@quick.test").await;
    app.create_user(&admin, "小王", "wang@quick.test", "member", None)
        .await;
    let wang = app.login_ok("wang@quick.test").await;
    add(
        &admin,
        &[("name", "北京私有客户"), ("visibility", "private")],
    )
    .await;
    add(
        &admin,
        &[("name", "北京公开客户"), ("visibility", "public")],
    )
    .await;
    add(&wang, &[("name", "北京小王客户")]).await;

    let by_cond = url(&[("f1", "name"), ("o1", "contains"), ("v1", "北京")]);
    let mut seen = names(&wang.get(&by_cond).await);
    seen.sort();
    assert_eq!(seen, ["北京公开客户", "北京小王客户"]);
    assert_eq!(
        names(&wang.get("/customers?quick=mine").await),
        ["北京小王客户"]
    );
    assert_eq!(
        names(&wang.get("/customers?quick=public").await),
        ["北京公开客户"]
    );
    assert_eq!(names(&admin.get("/customers?quick=recent").await).len(), 3);
    // Nothing happened to one of them for 40 days.
    exec(
        &app,
        "UPDATE companies SET last_activity_at = now() - interval '40 days' WHERE name = '北京公开客户'",
    )
    .await;
    assert_eq!(
        names(&admin.get("/customers?quick=idle").await),
        ["北京公开客户"]
    );
    // The admin's employee view narrows conditions too.
    let wang_id = app.user_id("wang@quick.test").await;
    assert_eq!(
        names(&admin.get(&format!("{by_cond}&view=user-{wang_id}")).await),
        ["北京小王客户"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn saved_filters_are_personal_or_shared_and_deleted_only_by_their_owner_or_an_admin() {
    let app = TestApp::start().await;
    let admin = app.signup("保存公司", "管理员", "admin@saved.test").await;
    app.create_user(&admin, "小赵", "zhao@saved.test", "member", None)
        .await;
    app.create_user(&admin, "小钱", "qian@saved.test", "member", None)
        .await;
    let zhao = app.login_ok("zhao@saved.test").await;
    let qian = app.login_ok("qian@saved.test").await;
    add(&zhao, &[("name", "北京一号"), ("visibility", "public")]).await;
    add(&zhao, &[("name", "上海二号"), ("visibility", "public")]).await;

    // From a filtered list, "save this filter" opens the form with the view's query.
    let list = zhao
        .get(&url(&[("f1", "name"), ("o1", "contains"), ("v1", "北京")]))
        .await;
    let save = list.attrs("#save-filter", "href");
    assert_eq!(save.len(), 1);
    let form = zhao.get(&save[0]).await;
    let query = form
        .attrs("input[name=query]", "value")
        .pop()
        .expect("the query travels in the form");
    assert_eq!(query, "f1=name&o1=contains&v1=%E5%8C%97%E4%BA%AC");
    let page = zhao
        .post(
            "/customers/filters",
            &[("name", "北京客户"), ("query", &query)],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let page = zhao
        .post(
            "/customers/filters",
            &[("name", "北京客户"), ("query", &query)],
        )
        .await;
    assert_eq!(page.status, 422, "the same name twice");
    assert_eq!(
        page.field_error("name").as_deref(),
        Some(zh("filters.taken").as_str())
    );
    let page = zhao
        .post(
            "/customers/filters",
            &[("name", "上海共享"), ("query", "q=上海"), ("shared", "on")],
        )
        .await;
    assert_eq!(page.status, 303);

    // The panel offers them; running one gives its rows.
    let list = zhao.get("/customers").await;
    assert_eq!(list.texts("#quick-filters [data-saved]").len(), 2);
    let personal = app
        .scalar("SELECT id FROM saved_filters WHERE name = '北京客户'")
        .await;
    let shared = app
        .scalar("SELECT id FROM saved_filters WHERE name = '上海共享'")
        .await;
    let href = list.attrs(&format!("[data-saved='{personal}']"), "href");
    assert_eq!(names(&zhao.get(&href[0]).await), ["北京一号"]);

    // Colleagues see only the shared one, and cannot delete it; admins can.
    let other = qian.get("/customers").await;
    assert_eq!(
        other.attrs("#quick-filters [data-saved]", "data-saved"),
        [shared.to_string()]
    );
    assert_eq!(
        qian.post(&format!("/customers/filters/{personal}/delete"), &[])
            .await
            .status,
        404
    );
    assert_eq!(
        qian.post(&format!("/customers/filters/{shared}/delete"), &[])
            .await
            .status,
        403
    );
    assert_eq!(
        admin
            .post(&format!("/customers/filters/{shared}/delete"), &[])
            .await
            .status,
        303
    );
    assert_eq!(
        zhao.post(&format!("/customers/filters/{personal}/delete"), &[])
            .await
            .status,
        303
    );
    assert_eq!(app.scalar("SELECT count(*) FROM saved_filters").await, 0);
    assert!(
        zhao.get("/customers/filters")
            .await
            .body
            .contains(&zh("filters.empty"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sorting_pages_by_keyset_in_every_order_without_gaps_or_repeats() {
    let app = TestApp::start().await;
    let admin = app.signup("排序公司", "管理员", "admin@sort.test").await;
    let tenant = app.tenant_of("admin@sort.test").await;
    let owner = app.user_id("admin@sort.test").await;
    // 120 companies with names out of creation order and some equal update times.
    exec(
        &app,
        &format!(
            "INSERT INTO companies (tenant_id, name, owner_id, created_by, updated_at) \
             SELECT {tenant}, '公司' || lpad(((i * 37) % 120)::text, 3, '0'), {owner}, {owner}, \
                    now() - ((i % 7) || ' hours')::interval \
             FROM generate_series(1, 120) i"
        ),
    )
    .await;
    for (sort, dir, sql_order) in [
        ("name", "asc", "name ASC, id ASC"),
        ("name", "desc", "name DESC, id DESC"),
        ("updated", "desc", "updated_at DESC, id DESC"),
        ("created", "asc", "id ASC"),
    ] {
        let mut seen = vec![];
        let mut next = format!("/customers?sort={sort}&dir={dir}");
        loop {
            let page = admin.get(&next).await;
            assert_eq!(page.status, 200, "{next}");
            seen.extend(names(&page));
            match page.attrs("#next-page", "href").pop() {
                Some(href) => next = href,
                None => break,
            }
        }
        let expected = app
            .text(&format!(
                "SELECT string_agg(name, ',' ORDER BY {sql_order}) FROM companies WHERE tenant_id = {tenant}"
            ))
            .await;
        assert_eq!(seen.join(","), expected, "{sort} {dir}");
    }
    // The active header says so and flips the direction.
    let page = admin.get("/customers?sort=name").await;
    assert_eq!(
        page.attrs("th[data-col=name] a", "aria-sort"),
        ["ascending"]
    );
    assert!(page.attrs("th[data-col=name] a", "href")[0].contains("dir=desc"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_column_chooser_is_remembered_per_user_and_shows_custom_fields_and_the_main_contact() {
    let app = TestApp::start().await;
    let admin = app.signup("列公司", "管理员", "admin@cols.test").await;
    let industry = add_field(&app, &admin, "company", "行业", "text", "").await;
    add(&admin, &[("name", "星辰科技"), (&industry, "制造业")]).await;
    for (name, mobile) in [("张三", "13800000001"), ("李四", "13800000002")] {
        let page = admin
            .post(
                "/contacts/new",
                &[("company", "星辰科技"), ("name", name), ("mobile", mobile)],
            )
            .await;
        assert_eq!(page.status, 303);
    }
    let list = admin.get("/customers").await;
    assert_eq!(
        list.attrs("#companies thead th[data-col]", "data-col"),
        [
            "name", "contact", "phone", "email", "category", "tags", "owner"
        ]
    );
    assert_eq!(
        list.texts("#companies tbody td[data-col=contact]"),
        ["张三 13800000001"],
        "the first contact is the main contact"
    );
    let page = admin
        .post(
            "/customers/columns",
            &[
                ("col", &industry),
                ("col", "created"),
                ("col", "bogus"),
                ("back", "sort=name"),
            ],
        )
        .await;
    assert_eq!(page.status, 303);
    assert_eq!(page.location.as_deref(), Some("/customers?sort=name"));
    let list = admin.get("/customers").await;
    assert_eq!(
        list.attrs("#companies thead th[data-col]", "data-col"),
        ["name", industry.as_str(), "created"]
    );
    assert_eq!(
        list.texts(&format!("#companies tbody td[data-col={industry}]")),
        ["制造业"]
    );
    // Another user still has the default.
    app.create_user(&admin, "小孙", "sun@cols.test", "member", None)
        .await;
    let sun = app.login_ok("sun@cols.test").await;
    assert_eq!(
        sun.get("/customers")
            .await
            .attrs("#companies thead th[data-col]", "data-col")
            .len(),
        0,
        "an empty list has no table"
    );
    let page = admin
        .post("/customers/columns", &[("reset", "1"), ("back", "")])
        .await;
    assert_eq!(page.status, 303);
    assert_eq!(
        admin
            .get("/customers")
            .await
            .attrs("#companies thead th[data-col]", "data-col")
            .len(),
        7
    );
}

/// A search's page does not wait for its count: a full page says "50+" and fetches the
/// exact count from `/customers/count` (htmx) with the same view, within visibility; a
/// search that fits on one page counts its rows; the list without a search counts at once.
#[tokio::test(flavor = "multi_thread")]
async fn a_full_page_of_search_results_fetches_its_exact_count_after_loading() {
    let app = TestApp::start().await;
    let admin = app.signup("计数公司", "管理员", "admin@count.test").await;
    let tenant = app.tenant_of("admin@count.test").await;
    let admin_id = app.user_id("admin@count.test").await;
    app.create_user(&admin, "员工", "member@count.test", "member", None)
        .await;
    let member = app.login_ok("member@count.test").await;
    // 70 星辰 companies, 10 of them private to the admin, and 5 others.
    exec(
        &app,
        &format!(
            "INSERT INTO companies (tenant_id, name, owner_id, created_by, visibility) \
             SELECT {tenant}, '星辰客户' || lpad(n::text, 3, '0'), {admin_id}, {admin_id}, \
                    CASE WHEN n % 7 = 0 THEN 'private' ELSE 'public' END \
             FROM generate_series(1, 70) n \
             UNION ALL SELECT {tenant}, '远航物流' || n, {admin_id}, {admin_id}, 'public' \
             FROM generate_series(1, 5) n"
        ),
    )
    .await;

    let page = admin.get(&url(&[("q", "星辰")])).await;
    assert_eq!(page.status, 200);
    assert_eq!(names(&page).len(), 50);
    assert_eq!(page.attrs("#row-count", "data-count"), ["at-least"]);
    assert_eq!(
        page.texts("#row-count"),
        [zh("list.count").replace("%{n}", "50+")]
    );
    let fetch = page.attrs("#row-count", "hx-get");
    assert_eq!(fetch.len(), 1, "{}", page.body);
    assert!(fetch[0].starts_with("/customers/count?"), "{fetch:?}");
    let exact = admin.get_htmx(&fetch[0]).await;
    assert_eq!(exact.status, 200);
    assert_eq!(exact.attrs("#row-count", "data-count"), ["70"]);
    assert!(exact.attrs("#row-count", "hx-get").is_empty());

    // The member's count is of what they may see: the 60 public ones.
    let page = member.get(&url(&[("q", "星辰")])).await;
    let fetch = page.attrs("#row-count", "hx-get");
    let exact = member.get_htmx(&fetch[0]).await;
    assert_eq!(exact.attrs("#row-count", "data-count"), ["60"]);

    // One page of results is its own count; no search counts at once.
    let page = admin.get(&url(&[("q", "远航")])).await;
    assert_eq!(page.attrs("#row-count", "data-count"), ["5"]);
    assert!(page.attrs("#row-count", "hx-get").is_empty());
    let page = admin.get("/customers").await;
    assert_eq!(page.attrs("#row-count", "data-count"), ["75"]);
    // The second page of a search still fetches the total.
    let next = page_link(&admin.get(&url(&[("q", "星辰")])).await);
    let page = admin.get(&next).await;
    assert_eq!(names(&page).len(), 20);
    assert_eq!(page.attrs("#row-count", "data-count"), ["at-least"]);
}

/// The link to the next page.
fn page_link(page: &Page) -> String {
    page.attrs("#next-page", "href")
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no next page: {}", page.body))
}
