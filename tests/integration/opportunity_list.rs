//! 销售机会一览 on the shared list machinery: the tabs, quick filters, search, advanced
//! conditions, sorting in pinyin and pipeline order, visibility, saved filters and
//! columns per list, the bulk actions (shared with the customer list, whose bulk actions
//! are checked here too) and the export of the current view.

use std::io::Cursor;

use calamine::{Reader, Xlsx};
use kehu_tests::{Client, TestApp, client::Page, fixtures::opportunities::Pipeline};

use crate::{
    exports::{download, export},
    support::{exec, zh},
};

fn names(page: &Page) -> Vec<String> {
    page.texts("#opportunities tbody td:nth-child(2)")
}

async fn list(client: &Client, query: &str) -> Vec<String> {
    let page = client.get(&format!("/opportunities?{query}")).await;
    assert_eq!(page.status, 200, "/opportunities?{query}: {}", page.body);
    names(&page)
}

/// A tenant with an admin and a member; opportunities of both over two stages.
struct Shop {
    app: TestApp,
    admin: Client,
    member: Client,
    member_id: i64,
    pipeline: Pipeline,
    /// 北京年度采购 (admin, private, ¥5,000, tracking, first stage).
    beijing: i64,
    /// 上海设备升级 (member, public, ¥1,200, tracking, second stage).
    shanghai: i64,
    /// 广州服务续约 (admin, private, ¥800, won).
    guangzhou: i64,
    /// 深圳试点项目 (admin, private, lost).
    shenzhen: i64,
    /// 成都私有机会 (member, private, ¥0.10, tracking, first stage).
    chengdu: i64,
}

async fn shop(tag: &str) -> Shop {
    let app = TestApp::start().await;
    let admin_email = format!("admin@{tag}.test");
    let admin = app
        .signup(&format!("{tag}机会"), "管理员", &admin_email)
        .await;
    let tenant = app.tenant_of(&admin_email).await;
    let admin_id = app.user_id(&admin_email).await;
    let member_id = app
        .create_user(
            &admin,
            "销售甲",
            &format!("member@{tag}.test"),
            "member",
            None,
        )
        .await;
    let member = app.login_ok(&format!("member@{tag}.test")).await;
    let pipeline = Pipeline::create(
        &app,
        tenant,
        admin_id,
        &[("初步接洽", 10), ("商务谈判", 60)],
    )
    .await;
    let p = &pipeline;
    let beijing = p
        .opportunity("北京年度采购", admin_id)
        .amount(500_000)
        .insert(&app)
        .await;
    let shanghai = p
        .opportunity("上海设备升级", member_id)
        .amount(120_000)
        .public()
        .moved(1, "now()")
        .insert(&app)
        .await;
    let guangzhou = p
        .opportunity("广州服务续约", admin_id)
        .amount(80_000)
        .won("now()")
        .insert(&app)
        .await;
    let shenzhen = p
        .opportunity("深圳试点项目", admin_id)
        .lost("now()")
        .insert(&app)
        .await;
    let chengdu = p
        .opportunity("成都私有机会", member_id)
        .amount(10)
        .insert(&app)
        .await;
    Shop {
        app,
        admin,
        member,
        member_id,
        pipeline,
        beijing,
        shanghai,
        guangzhou,
        shenzhen,
        chengdu,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn tabs_quick_filters_search_and_sorts_show_the_right_opportunities() {
    let s = shop("oplist").await;
    let admin = &s.admin;

    // 跟踪中 by default, newest first, with the tab marked and the count shown.
    let page = admin.get("/opportunities").await;
    assert_eq!(page.status, 200);
    assert_eq!(
        names(&page),
        ["成都私有机会", "上海设备升级", "北京年度采购"]
    );
    assert_eq!(page.attrs("#list-tabs a.active", "data-tab"), ["tracking"]);
    assert_eq!(page.attrs("#row-count", "data-count"), ["3"]);
    // The default columns, with the amount in yuan and the company linked.
    let headers = page.texts("#opportunities thead th");
    for key in [
        "opportunities.company",
        "opportunities.status",
        "opportunities.stage",
        "opportunities.amount",
        "opportunities.expected_close",
        "opportunities.owner",
    ] {
        assert!(
            headers.iter().any(|h| h.starts_with(&zh(key))),
            "{key} in {headers:?}"
        );
    }
    let row = page
        .texts(&format!("#opportunity-{} td", s.beijing))
        .join("|");
    assert!(row.contains("¥5,000.00"), "{row}");
    assert!(
        row.contains("商务谈判") || row.contains("初步接洽"),
        "{row}"
    );
    assert_eq!(
        page.attrs(
            &format!("#opportunity-{} td[data-col=company] a", s.beijing),
            "href"
        ),
        [format!("/customers/{}", s.pipeline.company)]
    );

    // The other tabs.
    assert_eq!(list(admin, "status=won").await, ["广州服务续约"]);
    assert_eq!(list(admin, "status=lost").await, ["深圳试点项目"]);
    assert_eq!(list(admin, "status=all").await.len(), 5);

    // Quick filters: mine, over an amount (typed in yuan), closing this month, idle.
    assert_eq!(list(admin, "quick=mine").await, ["北京年度采购"]);
    assert_eq!(
        list(admin, "quick=over&min=1%2C000").await,
        ["上海设备升级", "北京年度采购"]
    );
    assert_eq!(
        list(admin, "status=all&quick=over&min=800").await,
        ["广州服务续约", "上海设备升级", "北京年度采购"]
    );
    exec(
        &s.app,
        &format!(
            "UPDATE opportunities SET expected_close = (now() AT TIME ZONE 'Asia/Shanghai')::date \
             + CASE WHEN id = {} THEN 0 ELSE 62 END WHERE id IN ({}, {})",
            s.beijing, s.beijing, s.shanghai
        ),
    )
    .await;
    assert_eq!(list(admin, "quick=closing").await, ["北京年度采购"]);
    exec(
        &s.app,
        &format!(
            "UPDATE opportunities SET last_activity_at = now() - interval '40 days' WHERE id = {}",
            s.chengdu
        ),
    )
    .await;
    assert_eq!(list(admin, "quick=idle").await, ["成都私有机会"]);

    // The search box (2 characters through the grams, longer with the recheck) and an
    // advanced condition on the stage, by its name.
    assert_eq!(list(admin, "q=北京").await, ["北京年度采购"]);
    assert_eq!(list(admin, "q=设备升级").await, ["上海设备升级"]);
    assert!(list(admin, "q=设备采购").await.is_empty());
    assert_eq!(
        list(admin, "f1=stage&o1=equals&v1=商务谈判").await,
        ["上海设备升级"]
    );
    assert_eq!(
        list(admin, "status=all&f1=amount&o1=after&v1=1000").await,
        ["上海设备升级", "北京年度采购"]
    );

    // Sorts: amount (largest first), stage in pipeline order, name in pinyin order.
    assert_eq!(
        list(admin, "sort=amount").await,
        ["北京年度采购", "上海设备升级", "成都私有机会"]
    );
    assert_eq!(
        list(admin, "sort=amount&dir=asc").await,
        ["成都私有机会", "上海设备升级", "北京年度采购"]
    );
    assert_eq!(
        list(admin, "sort=stage").await,
        ["北京年度采购", "成都私有机会", "上海设备升级"],
        "by stage, then by creation"
    );
    assert_eq!(
        list(admin, "sort=name").await,
        ["北京年度采购", "成都私有机会", "上海设备升级"],
        "pinyin order: bei, cheng, shang"
    );
    assert_eq!(
        list(admin, "sort=expected_close").await,
        ["北京年度采购", "上海设备升级", "成都私有机会"],
        "no date comes last"
    );

    // The member sees their own and the public ones, not the admin's private ones.
    assert_eq!(
        list(&s.member, "status=all").await,
        ["成都私有机会", "上海设备升级"]
    );
    let _ = (s.guangzhou, s.shenzhen, s.member_id);
}

#[tokio::test(flavor = "multi_thread")]
async fn saved_filters_and_columns_belong_to_their_list() {
    let s = shop("opprefs").await;
    let admin = &s.admin;
    admin.get("/opportunities/filters").await;
    let saved = admin
        .post(
            "/opportunities/filters",
            &[
                ("name", "我的大单"),
                ("query", "status=all&quick=over&min=1000"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let page = admin.get("/opportunities").await;
    let link = page.attrs("#quick-filters a[data-saved]", "href");
    assert_eq!(link.len(), 1, "{link:?}");
    assert!(
        link[0].starts_with("/opportunities?") && link[0].contains("status=all"),
        "{link:?}"
    );
    assert_eq!(
        list(admin, link[0].trim_start_matches("/opportunities?"))
            .await
            .len(),
        2
    );
    // Not on the customer list.
    assert!(
        admin
            .get("/customers")
            .await
            .attrs("#quick-filters a[data-saved]", "href")
            .is_empty()
    );

    let chosen = admin
        .post(
            "/opportunities/columns",
            &[("col", "amount"), ("col", "activity")],
        )
        .await;
    assert_eq!(chosen.status, 303);
    let page = admin.get("/opportunities").await;
    assert_eq!(
        page.attrs("#opportunities thead th[data-col]", "data-col"),
        ["name", "amount", "activity"]
    );
    // The customer list keeps its default columns.
    let customers = admin.get("/customers").await;
    assert!(
        customers
            .attrs("#companies thead th[data-col]", "data-col")
            .contains(&"owner".to_owned())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bulk_actions_confirm_change_record_and_delete_opportunities() {
    let s = shop("opbulk").await;
    let admin = &s.admin;
    admin.get("/opportunities").await;
    let (beijing, guangzhou) = (s.beijing.to_string(), s.guangzhou.to_string());
    let member = s.member_id.to_string();
    let owner_form = [
        ("action", "owner"),
        ("owner_id", member.as_str()),
        ("opportunity_id", beijing.as_str()),
        ("opportunity_id", guangzhou.as_str()),
        ("back", "status=all&sort=amount"),
    ];

    // First a confirmation that says how many; nothing changes yet.
    let ask = admin.post("/opportunities/bulk", &owner_form).await;
    assert_eq!(ask.status, 200, "{}", ask.body);
    let question = ask.texts("#bulk-confirm").join(" ");
    assert!(
        question.contains("2 个销售机会") && question.contains("销售甲"),
        "{question}"
    );
    let owned = format!(
        "SELECT count(*) FROM opportunities WHERE owner_id = {member} AND id IN ({beijing}, {guangzhou})"
    );
    assert_eq!(s.app.scalar(&owned).await, 0);

    let mut confirmed = owner_form.to_vec();
    confirmed.push(("confirm", "1"));
    let done = admin.post("/opportunities/bulk", &confirmed).await;
    assert_eq!(done.status, 303);
    assert_eq!(
        done.location.as_deref(),
        Some("/opportunities?status=all&sort=amount"),
        "back to the same view"
    );
    assert_eq!(s.app.scalar(&owned).await, 2);
    let flash = admin.get("/opportunities?status=all&sort=amount").await;
    let text = flash.texts("#flash").join(" ");
    assert!(
        text.contains("已将 2 个销售机会的负责人改为 销售甲"),
        "{text}"
    );
    // Each change is in the opportunity's history, by name.
    let recorded = s
        .app
        .text(&format!(
            "SELECT changes::text FROM opportunity_events WHERE opportunity_id = {beijing} \
             AND action = 'updated' ORDER BY id DESC LIMIT 1"
        ))
        .await;
    assert!(
        recorded.contains("管理员") && recorded.contains("销售甲"),
        "{recorded}"
    );

    // Nothing selected says so.
    let none = admin
        .post(
            "/opportunities/bulk",
            &[("action", "visibility"), ("visibility", "public")],
        )
        .await;
    assert_eq!(none.status, 303);
    let text = admin.get("/opportunities").await.texts("#flash").join(" ");
    assert!(text.contains("没有选中任何销售机会"), "{text}");

    // The member cannot touch what they cannot see: the admin's private lost one.
    let shenzhen = s.shenzhen.to_string();
    s.member.get("/opportunities").await;
    let refused = s
        .member
        .post(
            "/opportunities/bulk",
            &[
                ("action", "delete"),
                ("opportunity_id", shenzhen.as_str()),
                ("confirm", "1"),
            ],
        )
        .await;
    assert_eq!(refused.status, 303);
    assert_eq!(
        s.app
            .scalar(&format!(
                "SELECT count(*) FROM opportunities WHERE id = {shenzhen}"
            ))
            .await,
        1
    );

    // Delete everything that matches a view (the 失败 tab): its notes go with it and
    // the company's history says so.
    exec(
        &s.app,
        &format!(
            "INSERT INTO notes (tenant_id, company_id, opportunity_id, author_id, body) \
             SELECT tenant_id, company_id, id, owner_id, '失败复盘' FROM opportunities WHERE id = {shenzhen}"
        ),
    )
    .await;
    let delete = [
        ("action", "delete"),
        ("selection", "all"),
        ("query", "status=lost"),
        ("back", "status=lost"),
    ];
    let ask = admin.post("/opportunities/bulk", &delete).await;
    assert_eq!(ask.status, 200);
    let question = ask.texts("#bulk-confirm").join(" ");
    assert!(question.contains("1 个销售机会"), "{question}");
    assert!(question.contains(&zh("opportunities.bulk_delete_warning")));
    let mut confirmed = delete.to_vec();
    confirmed.push(("confirm", "1"));
    assert_eq!(
        admin.post("/opportunities/bulk", &confirmed).await.status,
        303
    );
    assert!(list(admin, "status=lost").await.is_empty());
    assert_eq!(
        s.app
            .scalar(&format!(
                "SELECT count(*) FROM notes WHERE opportunity_id = {shenzhen}"
            ))
            .await,
        0
    );
    assert_eq!(
        s.app
            .scalar(&format!(
                "SELECT count(*) FROM company_events WHERE company_id = {} \
                 AND action = 'opportunity_deleted' AND subject = '深圳试点项目'",
                s.pipeline.company
            ))
            .await,
        1
    );
    assert_eq!(list(admin, "status=all").await.len(), 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn customer_bulk_actions_run_on_the_same_machinery() {
    let app = TestApp::start().await;
    let admin = app.signup("批量客户", "管理员", "admin@cbulk.test").await;
    let member = app
        .create_user(&admin, "销售乙", "member@cbulk.test", "member", None)
        .await;
    admin.get("/customers/new").await;
    for name in ["甲公司", "乙公司"] {
        let page = admin.post("/customers/new", &[("name", name)]).await;
        assert_eq!(page.status, 303, "{}", page.body);
    }
    let ids: Vec<String> = ["甲公司", "乙公司"]
        .iter()
        .map(|n| format!("(SELECT id FROM companies WHERE name = '{n}')"))
        .collect();
    let first = app.scalar(&format!("SELECT {}", ids[0])).await.to_string();
    let member = member.to_string();
    let form = [
        ("action", "owner"),
        ("owner_id", member.as_str()),
        ("selection", "page"),
        ("page_id", first.as_str()),
        ("confirm", "1"),
    ];
    admin.get("/customers").await;
    assert_eq!(admin.post("/customers/bulk", &form).await.status, 303);
    let text = admin.get("/customers").await.texts("#flash").join(" ");
    assert!(text.contains("已将 1 家客户的负责人改为 销售乙"), "{text}");
    assert_eq!(
        app.scalar(&format!(
            "SELECT count(*) FROM companies WHERE id = {first} AND owner_id = {member}"
        ))
        .await,
        1
    );
    let history = app
        .text(&format!(
            "SELECT changes::text FROM company_events WHERE company_id = {first} \
             AND action = 'updated' ORDER BY id DESC LIMIT 1"
        ))
        .await;
    assert!(
        history.contains("company.owner") && history.contains("销售乙"),
        "{history}"
    );

    // Visibility, by its code; then deleting both.
    let both = [
        ("action", "visibility"),
        ("visibility", "public"),
        ("selection", "all"),
        ("query", ""),
        ("confirm", "1"),
    ];
    assert_eq!(admin.post("/customers/bulk", &both).await.status, 303);
    assert_eq!(
        app.scalar("SELECT count(*) FROM companies WHERE visibility = 'public'")
            .await,
        2
    );
    let delete = [
        ("action", "delete"),
        ("selection", "all"),
        ("query", ""),
        ("confirm", "1"),
    ];
    assert_eq!(admin.post("/customers/bulk", &delete).await.status, 303);
    assert_eq!(app.scalar("SELECT count(*) FROM companies").await, 0);
    // An action the list does not offer is a bad request.
    let bogus = admin
        .post(
            "/customers/bulk",
            &[
                ("action", "explode"),
                ("page_id", "1"),
                ("selection", "page"),
            ],
        )
        .await;
    assert!(
        bogus.status == 400 || bogus.status == 303,
        "{}",
        bogus.status
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_current_view_exports_to_csv_and_xlsx() {
    let s = shop("opexport").await;
    let path = export(
        &s.app,
        &s.admin,
        "opportunity",
        "csv",
        "status=all&quick=over&min=800",
        "",
    )
    .await;
    let (bytes, disposition, _) = download(&s.admin, &path).await;
    let text = String::from_utf8(bytes).expect("utf-8");
    let text = text.trim_start_matches('\u{feff}');
    let mut lines = text.lines();
    let header = lines.next().expect("a header");
    assert!(
        header.starts_with(&format!(
            "{},{}",
            zh("opportunities.name"),
            zh("opportunities.company")
        )),
        "{header}"
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert!(
        rows[0].starts_with("广州服务续约,"),
        "newest first: {rows:?}"
    );
    assert!(rows[0].contains("已经成功"), "{rows:?}");
    assert!(
        rows.iter()
            .any(|r| r.contains("¥5,000.00") || r.contains("\"¥5,000.00\"")),
        "{rows:?}"
    );
    assert!(disposition.contains(".csv"), "{disposition}");

    // The member's export has only what the member sees.
    let path = export(&s.app, &s.member, "opportunity", "xlsx", "status=all", "").await;
    let (bytes, _, _) = download(&s.member, &path).await;
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).expect("an xlsx file");
    let sheet = book
        .worksheet_range(&zh("exports.sheet_opportunity"))
        .expect("the sheet");
    let names: Vec<String> = sheet.rows().skip(1).map(|r| r[0].to_string()).collect();
    assert_eq!(names, ["成都私有机会", "上海设备升级"]);
}
