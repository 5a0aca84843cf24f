//! 系统设置 → 客户分类: the tenant's customer categories.

use kehu_tests::TestApp;

use crate::support::zh;

#[tokio::test(flavor = "multi_thread")]
async fn admins_add_rename_reorder_and_delete_categories_and_companies_use_them() {
    let app = TestApp::start().await;
    let admin = app.signup("分类公司", "管理员", "admin@cat.test").await;
    let empty = admin.get("/admin/categories").await;
    assert!(empty.body.contains(&zh("categories.empty")));

    for name in ["重点客户", "普通客户"] {
        let page = admin.post("/admin/categories", &[("name", name)]).await;
        assert_eq!(page.status, 303, "{}", page.body);
    }
    // A duplicate name is refused and what was typed stays.
    let page = admin
        .post("/admin/categories", &[("name", "重点客户")])
        .await;
    assert_eq!(page.status, 422);
    assert_eq!(
        page.field_error("name").as_deref(),
        Some(zh("categories.taken").as_str())
    );
    assert_eq!(page.input_value("name").as_deref(), Some("重点客户"));
    let page = admin.post("/admin/categories", &[("name", "  ")]).await;
    assert_eq!(page.status, 422);

    let key = app
        .scalar("SELECT id FROM customer_categories WHERE name = '重点客户'")
        .await;
    let normal = app
        .scalar("SELECT id FROM customer_categories WHERE name = '普通客户'")
        .await;
    assert_eq!(
        admin
            .post(&format!("/admin/categories/{normal}/up"), &[])
            .await
            .status,
        303
    );
    let list = admin.get("/admin/categories").await;
    let order: Vec<String> = list.attrs("#categories input[name=name]", "value");
    assert_eq!(order, ["普通客户", "重点客户"], "moved up");
    assert_eq!(
        admin
            .post(&format!("/admin/categories/{key}"), &[("name", "VIP 客户")])
            .await
            .status,
        303
    );

    // The company form offers them; a company keeps its category until it is deleted.
    let form = admin.get("/customers/new").await;
    let options = form.texts("#f-category_id option");
    assert!(options.contains(&"VIP 客户".to_owned()), "{options:?}");
    let page = admin
        .post(
            "/customers/new",
            &[("name", "分类测试公司"), ("category_id", &key.to_string())],
        )
        .await;
    assert_eq!(page.status, 303);
    let list = admin.get("/customers").await;
    assert!(list.texts("#companies td").contains(&"VIP 客户".to_owned()));
    assert_eq!(
        admin
            .post(&format!("/admin/categories/{key}/delete"), &[])
            .await
            .status,
        303
    );
    assert_eq!(
        app.scalar(
            "SELECT count(*) FROM companies WHERE name = '分类测试公司' AND category_id IS NULL"
        )
        .await,
        1,
        "the company stays, uncategorised"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn members_and_managers_cannot_manage_categories_and_companies_cannot_use_another_tenants() {
    let app = TestApp::start().await;
    let admin = app
        .signup("分类权限公司", "管理员", "admin@catperm.test")
        .await;
    app.create_user(&admin, "员工", "member@catperm.test", "member", None)
        .await;
    let member = app.login_ok("member@catperm.test").await;
    assert_eq!(member.get("/admin/categories").await.status, 403);
    assert_eq!(
        member
            .post("/admin/categories", &[("name", "偷偷加")])
            .await
            .status,
        403
    );
    assert_eq!(
        app.scalar("SELECT count(*) FROM customer_categories").await,
        0
    );

    let other = app
        .signup("别家公司", "别家管理员", "admin@elsewhere.test")
        .await;
    assert_eq!(
        other
            .post("/admin/categories", &[("name", "别家分类")])
            .await
            .status,
        303
    );
    let theirs = app
        .scalar("SELECT id FROM customer_categories WHERE name = '别家分类'")
        .await;
    let page = member
        .post(
            "/customers/new",
            &[("name", "借分类公司"), ("category_id", &theirs.to_string())],
        )
        .await;
    assert_eq!(
        page.status, 422,
        "another tenant's category is not a choice"
    );
    assert_eq!(app.scalar("SELECT count(*) FROM companies").await, 0);
}
