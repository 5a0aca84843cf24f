//! 标签: tagging one company or many, the tag list with counts, filtering by tag, and
//! visibility of all of it.

use std::collections::HashSet;

use kehu_tests::{Client, TestApp};

use crate::support::exec;

async fn company(app: &TestApp, tenant: i64, owner: i64, name: &str, visibility: &str) -> i64 {
    exec(
        app,
        &format!(
            "INSERT INTO companies (tenant_id, name, owner_id, created_by, visibility) \
             VALUES ({tenant}, '{name}', {owner}, {owner}, '{visibility}')"
        ),
    )
    .await;
    app.scalar(&format!("SELECT id FROM companies WHERE name = '{name}'"))
        .await
}

async fn listed(client: &Client, path: &str) -> HashSet<String> {
    client
        .get(path)
        .await
        .texts("#companies td a[href^='/customers/']")
        .into_iter()
        .collect()
}

fn set(names: &[&str]) -> HashSet<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tag_added_on_a_company_shows_counts_filters_and_comes_off_again() {
    let app = TestApp::start().await;
    let admin = app.signup("标签公司", "管理员", "admin@tags.test").await;
    let tenant = app.tenant_of("admin@tags.test").await;
    let me = app.user_id("admin@tags.test").await;
    let a = company(&app, tenant, me, "北京甲公司", "public").await;
    company(&app, tenant, me, "上海乙公司", "public").await;

    admin.get(&format!("/customers/{a}")).await;
    let page = admin
        .post(&format!("/customers/{a}/tags"), &[("name", " 重点 ")])
        .await;
    assert_eq!(page.status, 303);
    let detail = admin.get(&format!("/customers/{a}")).await;
    assert_eq!(detail.texts("#company-tags .badge a"), ["重点"]);
    // Adding it twice keeps one.
    admin
        .post(&format!("/customers/{a}/tags"), &[("name", "重点")])
        .await;
    assert_eq!(app.scalar("SELECT count(*) FROM company_tags").await, 1);

    let tags = admin.get("/tags").await;
    assert_eq!(tags.texts("#tags td.tag-count"), ["1"]);
    let tag = app.scalar("SELECT id FROM tags WHERE name = '重点'").await;
    assert_eq!(
        listed(&admin, &format!("/customers?tag={tag}")).await,
        set(&["北京甲公司"])
    );
    assert_eq!(
        listed(&admin, "/customers").await,
        set(&["北京甲公司", "上海乙公司"])
    );
    let list = admin.get("/customers").await;
    assert!(
        list.texts(&format!("#company-{a} .company-tags"))
            .iter()
            .any(|t| t.contains("重点"))
    );

    let page = admin
        .post(
            &format!("/customers/{a}/untag"),
            &[("tag_id", &tag.to_string())],
        )
        .await;
    assert_eq!(page.status, 303);
    assert_eq!(app.scalar("SELECT count(*) FROM company_tags").await, 0);
    assert!(
        listed(&admin, &format!("/customers?tag={tag}"))
            .await
            .is_empty()
    );
    // An empty or over-long tag name adds nothing.
    admin
        .post(&format!("/customers/{a}/tags"), &[("name", "  ")])
        .await;
    admin
        .post(
            &format!("/customers/{a}/tags"),
            &[("name", &"长".repeat(31))],
        )
        .await;
    assert_eq!(app.scalar("SELECT count(*) FROM company_tags").await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn bulk_tagging_changes_only_selected_companies_the_user_may_change() {
    let app = TestApp::start().await;
    let admin = app
        .signup("批量标签公司", "管理员", "admin@bulk.test")
        .await;
    let tenant = app.tenant_of("admin@bulk.test").await;
    let member = app
        .create_user(&admin, "员工", "member@bulk.test", "member", None)
        .await;
    let other = app
        .create_user(&admin, "同事", "other@bulk.test", "member", None)
        .await;
    let mine1 = company(&app, tenant, member, "我的一号", "private").await;
    let mine2 = company(&app, tenant, member, "我的二号", "private").await;
    let mine3 = company(&app, tenant, member, "我的三号", "private").await;
    let theirs = company(&app, tenant, other, "同事公开", "public").await;
    let hidden = company(&app, tenant, other, "同事私有", "private").await;
    let client = app.login_ok("member@bulk.test").await;
    client.get("/customers").await;
    let ids: Vec<String> = [mine1, mine2, theirs, hidden]
        .iter()
        .map(i64::to_string)
        .collect();
    let mut form: Vec<(&str, &str)> = ids.iter().map(|id| ("company_id", id.as_str())).collect();
    form.extend([("tag", "待跟进"), ("op", "add")]);
    assert_eq!(client.post("/customers/bulk-tag", &form).await.status, 303);
    let tagged: HashSet<i64> = app
        .text("SELECT coalesce(string_agg(company_id::text, ','), '') FROM company_tags")
        .await
        .split(',')
        .filter_map(|s| s.parse().ok())
        .collect();
    assert_eq!(
        tagged,
        HashSet::from([mine1, mine2]),
        "not the colleague's companies, not the unselected one"
    );
    let _ = mine3;

    let mut form: Vec<(&str, &str)> = vec![("company_id", ids[0].as_str())];
    form.extend([("tag", "待跟进"), ("op", "remove")]);
    assert_eq!(client.post("/customers/bulk-tag", &form).await.status, 303);
    assert_eq!(app.scalar("SELECT count(*) FROM company_tags").await, 1);
    // Removing a tag that does not exist creates nothing.
    let form = [
        ("company_id", ids[1].as_str()),
        ("tag", "不存在"),
        ("op", "remove"),
    ];
    client.post("/customers/bulk-tag", &form).await;
    assert_eq!(
        app.scalar("SELECT count(*) FROM tags WHERE name = '不存在'")
            .await,
        0
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn tag_counts_and_filters_only_include_companies_the_user_can_see() {
    let app = TestApp::start().await;
    let admin = app
        .signup("标签可见公司", "管理员", "admin@tagvis.test")
        .await;
    let tenant = app.tenant_of("admin@tagvis.test").await;
    let a = app
        .create_user(&admin, "甲", "a@tagvis.test", "member", None)
        .await;
    let b = app
        .create_user(&admin, "乙", "b@tagvis.test", "member", None)
        .await;
    let public = company(&app, tenant, a, "公开客户", "public").await;
    let private = company(&app, tenant, b, "乙的私有客户", "private").await;
    for id in [public, private] {
        admin.get(&format!("/customers/{id}")).await;
        admin
            .post(&format!("/customers/{id}/tags"), &[("name", "VIP")])
            .await;
    }
    admin.get(&format!("/customers/{private}")).await;
    admin
        .post(
            &format!("/customers/{private}/tags"),
            &[("name", "乙的秘密标签")],
        )
        .await;
    let tag = app.scalar("SELECT id FROM tags WHERE name = 'VIP'").await;
    assert_eq!(
        admin.get("/tags").await.texts("#tags td.tag-count"),
        ["2", "1"]
    );
    let member_a = app.login_ok("a@tagvis.test").await;
    let page = member_a.get("/tags").await;
    assert_eq!(
        page.texts("#tags td.tag-count"),
        ["1"],
        "b's private one is not counted"
    );
    assert!(
        !page.body.contains("乙的秘密标签"),
        "a tag only on records a cannot see is not shown"
    );
    // Nor does the list's tag filter name it, and a condition on its name answers as
    // one on a name that does not exist: no rows, no error.
    let secret = app
        .scalar("SELECT id FROM tags WHERE name = '乙的秘密标签'")
        .await;
    let page = member_a.get(&format!("/customers?tag={secret}")).await;
    assert_eq!(page.status, 200);
    assert!(
        !page.body.contains("乙的秘密标签"),
        "the filter notice names it"
    );
    assert!(page.texts("#companies tbody td:nth-child(2)").is_empty());
    let hidden = member_a
        .get(
            "/customers?f1=tag&o1=equals&v1=%E4%B9%99%E7%9A%84%E7%A7%98%E5%AF%86%E6%A0%87%E7%AD%BE",
        )
        .await;
    let unknown = member_a
        .get("/customers?f1=tag&o1=equals&v1=%E6%B2%A1%E6%9C%89%E7%9A%84%E6%A0%87%E7%AD%BE")
        .await;
    assert_eq!((hidden.status, unknown.status), (200, 200));
    assert!(hidden.texts("#companies tbody td:nth-child(2)").is_empty());
    assert_eq!(
        hidden.texts(".alert"),
        unknown.texts(".alert"),
        "a hidden tag answers like an unknown one"
    );
    // The admin, who sees the record, gets the name and the company.
    let page = admin.get(&format!("/customers?tag={secret}")).await;
    assert!(page.body.contains("乙的秘密标签"));
    assert_eq!(
        listed(&member_a, &format!("/customers?tag={tag}")).await,
        set(&["公开客户"])
    );
    // A member cannot tag a colleague's public company.
    member_a.get(&format!("/customers/{public}")).await;
    let member_b = app.login_ok("b@tagvis.test").await;
    member_b.get("/customers").await;
    assert_eq!(
        member_b
            .post(&format!("/customers/{public}/tags"), &[("name", "乱贴")])
            .await
            .status,
        403
    );
    assert_eq!(
        member_b
            .post(
                &format!("/customers/{public}/untag"),
                &[("tag_id", &tag.to_string())]
            )
            .await
            .status,
        403
    );
    assert_eq!(app.scalar("SELECT count(*) FROM company_tags").await, 3);

    // Another tenant's tag id filters nothing in here and names nothing.
    let other = app
        .signup("别家", "别家管理员", "admin@elsewhere-tag.test")
        .await;
    let page = other.get(&format!("/customers?tag={tag}")).await;
    assert_eq!(page.status, 200);
    assert!(
        !page.body.contains("VIP"),
        "the other tenant's tag name must not show"
    );
    assert!(page.texts("#companies td").is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_or_malformed_tag_parameter_lists_everything_instead_of_failing() {
    let app = TestApp::start().await;
    let admin = app.signup("参数公司", "管理员", "admin@param.test").await;
    let tenant = app.tenant_of("admin@param.test").await;
    let me = app.user_id("admin@param.test").await;
    company(&app, tenant, me, "参数客户", "public").await;
    for path in ["/customers?tag=", "/customers?tag=abc&q=&view=&before="] {
        let page = admin.get(path).await;
        assert_eq!(page.status, 200, "{path}");
        assert_eq!(listed(&admin, path).await, set(&["参数客户"]), "{path}");
    }
}
