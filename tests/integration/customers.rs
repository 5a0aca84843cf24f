//! 客户管理, first slice: creating and validating companies, duplicate names (on submit and
//! as you type), who sees and manages which company, "name contains" search, keyset
//! paging, deleting, and tenant isolation.

use std::collections::HashSet;

use kehu_tests::{Client, TestApp, client::Page};

use crate::support::{exec, snapshot, zh};

const STAR: &str = "北京星辰科技有限公司";

/// Opens the new-company form (for a fresh CSRF token) and submits `fields`.
async fn submit_new(client: &Client, fields: &[(&str, &str)]) -> Page {
    let form = client.get("/customers/new").await;
    assert_eq!(form.status, 200, "GET /customers/new: {}", form.body);
    client.post("/customers/new", fields).await
}

/// Creates a company with `fields` and returns its id (asserts the redirect to it).
async fn create_with(client: &Client, fields: &[(&str, &str)]) -> i64 {
    let page = submit_new(client, fields).await;
    assert_eq!(page.status, 303, "creating {fields:?}: {}", page.body);
    let location = page.location.expect("a Location header");
    location
        .strip_prefix("/customers/")
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("creating {fields:?} redirected to {location}"))
}

/// Creates a company with just a name and a visibility; returns its id.
async fn create(client: &Client, name: &str, visibility: &str) -> i64 {
    create_with(client, &[("name", name), ("visibility", visibility)]).await
}

/// Ids of the company rows of a list page, in order.
fn row_ids(page: &Page) -> Vec<i64> {
    page.attrs("table#companies tbody tr", "id")
        .iter()
        .map(|id| {
            id.strip_prefix("company-")
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("row id {id}"))
        })
        .collect()
}

/// The list at `path` (asserts 200) as a set of company ids.
async fn listed(client: &Client, path: &str) -> HashSet<i64> {
    let page = client.get(path).await;
    assert_eq!(page.status, 200, "GET {path}: {}", page.body);
    row_ids(&page).into_iter().collect()
}

/// The search results for `term`.
async fn search(client: &Client, term: &str) -> HashSet<i64> {
    listed(client, &format!("/customers?q={}", enc(term))).await
}

fn enc(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

async fn hint(client: &Client, name: &str, except: Option<i64>) -> Page {
    let mut path = format!("/customers/check-name?name={}", enc(name));
    if let Some(id) = except {
        path.push_str(&format!("&except={id}"));
    }
    let page = client.get(&path).await;
    assert_eq!(page.status, 200, "GET {path}: {}", page.body);
    page
}

/// What a duplicate hint says about a name.
#[derive(Debug, PartialEq, Eq)]
enum Hint {
    None,
    Visible(i64),
    Hidden,
}

fn read_hint(page: &Page) -> Hint {
    let hints = page.texts(".duplicate-hint");
    let links = page.attrs(".duplicate-hint a", "href");
    match (hints.as_slice(), links.as_slice()) {
        ([], []) => {
            assert_eq!(page.body.trim(), "", "no hint, no markup");
            Hint::None
        }
        ([text], [href]) => {
            assert!(text.contains(&zh("customers.duplicate_hint")), "{text}");
            assert!(text.contains(&zh("customers.open_existing")), "{text}");
            Hint::Visible(
                href.strip_prefix("/customers/")
                    .and_then(|id| id.parse().ok())
                    .unwrap_or_else(|| panic!("hint link {href}")),
            )
        }
        ([text], []) => {
            assert_eq!(text, &zh("customers.duplicate_hidden"));
            Hint::Hidden
        }
        _ => panic!("unexpected hint: {}", page.body),
    }
}

async fn companies_of(app: &TestApp, tenant: i64) -> i64 {
    app.scalar(&format!(
        "SELECT count(*) FROM companies WHERE tenant_id = {tenant}"
    ))
    .await
}

/// The body with the per-request CSRF token removed, to compare two pages.
fn without_token(page: &Page) -> String {
    page.attrs("input[name=_csrf]", "value")
        .iter()
        .fold(page.body.clone(), |body, token| body.replace(token, ""))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_created_company_opens_on_its_detail_page_and_is_listed() {
    let app = TestApp::start().await;
    let admin = app.signup("星辰集团", "王芳", "wang@create.test").await;
    let tenant = app.tenant_of("wang@create.test").await;
    let admin_id = app.user_id("wang@create.test").await;
    let member_id = app
        .create_user(&admin, "赵磊", "zhao@create.test", "member", None)
        .await;
    exec(
        &app,
        &format!("INSERT INTO customer_categories (tenant_id, name) VALUES ({tenant}, '重点客户')"),
    )
    .await;
    let category = app
        .scalar(&format!(
            "SELECT id FROM customer_categories WHERE tenant_id = {tenant}"
        ))
        .await
        .to_string();

    let empty = admin.get("/customers").await;
    assert_eq!(empty.status, 200);
    assert_eq!(empty.texts("h1"), vec![zh("customers.title")]);
    assert!(row_ids(&empty).is_empty());
    assert!(
        empty.texts(".empty-state")[0].contains(&zh("customers.empty")),
        "{:?}",
        empty.texts(".empty-state")
    );

    let form = admin.get("/customers/new").await;
    assert_eq!(
        form.attrs("#f-owner_id option[selected]", "value"),
        vec![admin_id.to_string()],
        "the creator is the default owner"
    );
    assert_eq!(
        form.attrs("#f-visibility option[selected]", "value"),
        vec!["private".to_owned()],
        "private by default"
    );

    let id = create_with(
        &admin,
        &[
            ("name", "  北京星辰科技有限公司 "),
            ("phone", "010-8888 6666"),
            ("email", " Info@XingChen.CN "),
            ("website", "https://xingchen.cn"),
            ("address", "北京市海淀区中关村大街1号"),
            ("introduction", "专注企业软件。\n第二行"),
            ("category_id", &category),
            ("owner_id", ""),
            ("visibility", "public"),
        ],
    )
    .await;
    assert_eq!(
        app.text(&format!(
            "SELECT concat_ws('|', tenant_id, name, email, owner_id, created_by, visibility) \
             FROM companies WHERE id = {id}"
        ))
        .await,
        format!("{tenant}|{STAR}|info@xingchen.cn|{admin_id}|{admin_id}|public"),
        "trimmed name, normalised email, the creator as owner"
    );

    let detail = admin.get(&format!("/customers/{id}")).await;
    assert_eq!(detail.status, 200);
    assert_eq!(detail.texts("h1"), vec![STAR.to_owned()]);
    let facts = detail.texts(".company-facts dd");
    for expected in [
        "010-8888 6666",
        "info@xingchen.cn",
        "https://xingchen.cn",
        "北京市海淀区中关村大街1号",
        "重点客户",
        "王芳",
        &zh("visibility.public"),
        "专注企业软件。 第二行",
    ] {
        assert!(
            facts.iter().any(|f| f == expected),
            "{expected} in {facts:?}"
        );
    }
    assert!(
        detail.texts(".alert-warning").is_empty(),
        "no duplicate notice"
    );
    assert_eq!(
        detail.attrs("#content a.btn:not(.inline-edit)", "href"),
        vec![
            format!("/customers/{id}/edit"),
            format!("/customers/{id}/delete"),
            format!("/contacts/new?company={id}"),
            // The tasks section's button (issue 12).
            format!("/tasks/new?company={id}"),
            format!("/opportunities/new?company={id}"),
        ]
    );

    let list = admin.get("/customers").await;
    assert_eq!(row_ids(&list), vec![id]);
    let row = list.texts(&format!("tr#company-{id} td"));
    assert_eq!(
        row,
        vec![
            String::new(), // the selection checkbox
            STAR.to_owned(),
            String::new(), // no main contact yet
            "010-8888 6666".to_owned(),
            "info@xingchen.cn".to_owned(),
            "重点客户".to_owned(),
            String::new(), // no tags yet
            "王芳".to_owned(),
        ]
    );
    assert_eq!(
        list.attrs(&format!("tr#company-{id} a"), "href"),
        vec![format!("/customers/{id}")]
    );

    // An admin may make someone else the owner; the default stays private.
    let other = create_with(
        &admin,
        &[
            ("name", "上海晨光贸易"),
            ("owner_id", &member_id.to_string()),
        ],
    )
    .await;
    assert_eq!(
        app.text(&format!(
            "SELECT concat_ws('|', owner_id, created_by, visibility, category_id IS NULL) \
             FROM companies WHERE id = {other}"
        ))
        .await,
        format!("{member_id}|{admin_id}|private|t")
    );
    assert_eq!(row_ids(&admin.get("/customers").await), vec![other, id]);
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_input_is_refused_with_field_errors_and_keeps_what_was_typed() {
    let app = TestApp::start().await;
    let admin = app.signup("校验公司", "管理员", "admin@valid.test").await;
    let tenant = app.tenant_of("admin@valid.test").await;
    let member = app
        .create_user(&admin, "员工", "member@valid.test", "member", None)
        .await;
    let admin_id = app.user_id("admin@valid.test").await;
    let member_client = app.login_ok("member@valid.test").await;

    for blank in ["", "   ", "\u{3000}"] {
        let page = submit_new(
            &admin,
            &[
                ("name", blank),
                ("phone", "021-1234 5678"),
                ("email", "sales@example.cn"),
                ("address", "上海市浦东新区"),
                ("introduction", "保留的简介"),
                ("visibility", "public"),
            ],
        )
        .await;
        assert_eq!(page.status, 422, "name {blank:?}");
        assert_eq!(page.field_error("name"), Some(zh("form.required")));
        assert_eq!(page.input_value("phone").as_deref(), Some("021-1234 5678"));
        assert_eq!(
            page.input_value("email").as_deref(),
            Some("sales@example.cn")
        );
        assert_eq!(
            page.input_value("address").as_deref(),
            Some("上海市浦东新区")
        );
        assert_eq!(page.texts("#f-introduction"), vec!["保留的简介".to_owned()]);
        assert_eq!(
            page.attrs("#f-visibility option[selected]", "value"),
            vec!["public".to_owned()]
        );
        assert_eq!(page.field_error("phone"), None);
    }

    let page = submit_new(&admin, &[("name", "好公司"), ("email", "not-an-email")]).await;
    assert_eq!(page.status, 422);
    assert_eq!(page.field_error("email"), Some(zh("form.invalid_email")));
    assert_eq!(page.input_value("name").as_deref(), Some("好公司"));
    assert_eq!(page.field_error("name"), None);

    let long = "长".repeat(201);
    let page = submit_new(&admin, &[("name", &long)]).await;
    assert_eq!(page.status, 422);
    assert_eq!(page.field_error("name"), Some(zh("form.too_long")));
    assert_eq!(page.input_value("name").as_deref(), Some(long.as_str()));

    let page = submit_new(&admin, &[("name", "电话太长"), ("phone", &"1".repeat(51))]).await;
    assert_eq!(page.status, 422);
    assert_eq!(page.field_error("phone"), Some(zh("form.too_long")));

    let page = submit_new(&admin, &[("name", "权限不对"), ("visibility", "everyone")]).await;
    assert_eq!(page.status, 422);
    assert_eq!(
        page.field_error("visibility"),
        Some(zh("form.invalid_choice"))
    );

    let page = submit_new(&admin, &[("name", "分类不对"), ("category_id", "999999")]).await;
    assert_eq!(page.status, 422);
    assert_eq!(
        page.field_error("category_id"),
        Some(zh("form.invalid_choice"))
    );

    // A member can only own records themselves.
    let page = submit_new(
        &member_client,
        &[("name", "给别人"), ("owner_id", &admin_id.to_string())],
    )
    .await;
    assert_eq!(page.status, 422);
    assert_eq!(
        page.field_error("owner_id"),
        Some(zh("form.invalid_choice"))
    );

    assert_eq!(companies_of(&app, tenant).await, 0, "nothing was created");

    // The limits themselves are fine: 200 characters of name.
    let max = "长".repeat(200);
    let id = create(&admin, &max, "private").await;
    assert_eq!(
        app.scalar(&format!(
            "SELECT length(name) FROM companies WHERE id = {id}"
        ))
        .await,
        200
    );
    let own = create_with(
        &member_client,
        &[("name", "自己的"), ("owner_id", &member.to_string())],
    )
    .await;
    assert_eq!(
        app.scalar(&format!("SELECT owner_id FROM companies WHERE id = {own}"))
            .await,
        member
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_duplicate_name_leads_to_the_existing_company_instead_of_a_second_one() {
    let app = TestApp::start().await;
    let admin = app.signup("查重公司", "管理员", "admin@dup.test").await;
    let tenant = app.tenant_of("admin@dup.test").await;
    app.create_user(&admin, "甲", "one@dup.test", "member", None)
        .await;
    app.create_user(&admin, "乙", "two@dup.test", "member", None)
        .await;
    let one = app.login_ok("one@dup.test").await;
    let two = app.login_ok("two@dup.test").await;

    let star = create(&admin, STAR, "public").await;
    let acme = create(&admin, "Acme Trading Co., Ltd.", "public").await;
    assert_eq!(companies_of(&app, tenant).await, 2);

    for (variant, existing) in [
        (STAR, star),
        ("北京 星辰科技", star),
        ("北京星辰科技", star),
        ("北京星辰科技股份有限公司", star),
        ("北京星辰科技（有限公司）", star),
        ("北京星辰科技\u{3000}有限公司", star),
        ("  北京星辰科技有限公司  ", star),
        ("ＡＣＭＥ\u{3000}ＴＲＡＤＩＮＧ", acme),
        ("acme trading", acme),
        ("ACME Trading Ltd", acme),
    ] {
        for client in [&admin, &one] {
            let page = submit_new(client, &[("name", variant), ("phone", "123")]).await;
            assert_eq!(page.status, 303, "{variant}: {}", page.body);
            assert_eq!(
                page.location.as_deref(),
                Some(format!("/customers/{existing}?duplicate=1").as_str()),
                "{variant}"
            );
        }
    }
    assert_eq!(companies_of(&app, tenant).await, 2, "no second row");

    let notice = one.get(&format!("/customers/{star}?duplicate=1")).await;
    assert_eq!(notice.status, 200);
    assert_eq!(
        notice.texts(".alert-warning"),
        vec![zh("customers.duplicate_redirect")]
    );
    assert_eq!(notice.texts("h1"), vec![STAR.to_owned()]);

    // A name held privately by a colleague: not shown, not created either.
    let secret = create(&one, "深圳蓝海电子有限公司", "private").await;
    let page = submit_new(
        &two,
        &[("name", "深圳 蓝海电子"), ("address", "深圳市南山区")],
    )
    .await;
    assert_eq!(page.status, 422, "{}", page.body);
    assert_eq!(
        page.field_error("name"),
        Some(zh("customers.duplicate_hidden"))
    );
    assert_eq!(page.input_value("name").as_deref(), Some("深圳 蓝海电子"));
    assert_eq!(page.input_value("address").as_deref(), Some("深圳市南山区"));
    assert!(
        !page.body.contains(&format!("/customers/{secret}")),
        "the hidden company is not linked"
    );
    assert_eq!(companies_of(&app, tenant).await, 3);
    // The admin sees it, so is taken there.
    let page = submit_new(&admin, &[("name", "深圳蓝海电子")]).await;
    assert_eq!(
        page.location.as_deref(),
        Some(format!("/customers/{secret}?duplicate=1").as_str())
    );
    assert_eq!(companies_of(&app, tenant).await, 3);

    // Distinct names are not duplicates.
    let other = create(&admin, "北京星辰软件有限公司", "public").await;
    assert_ne!(other, star);

    // Renaming a company to another company's name is refused.
    admin.get(&format!("/customers/{other}/edit")).await;
    let before = snapshot(&app, "companies", tenant).await;
    for taken in ["北京星辰科技", "北京 星辰科技有限公司", "深圳蓝海电子"] {
        let page = admin
            .post(
                &format!("/customers/{other}/edit"),
                &[("name", taken), ("phone", "999"), ("visibility", "public")],
            )
            .await;
        assert_eq!(page.status, 422, "{taken}");
        assert_eq!(
            page.field_error("name"),
            Some(zh("customers.duplicate_name"))
        );
        assert_eq!(page.input_value("phone").as_deref(), Some("999"));
    }
    assert_eq!(snapshot(&app, "companies", tenant).await, before);

    // Keeping its own name (or a variant of it) is fine.
    for own in ["北京星辰软件有限公司", "北京星辰软件"] {
        let page = admin
            .post(
                &format!("/customers/{other}/edit"),
                &[("name", own), ("phone", "999"), ("visibility", "public")],
            )
            .await;
        assert_eq!(page.status, 303, "{own}: {}", page.body);
        assert_eq!(
            page.location.as_deref(),
            Some(format!("/customers/{other}").as_str())
        );
    }
    assert_eq!(
        app.text(&format!(
            "SELECT name || '|' || phone FROM companies WHERE id = {other}"
        ))
        .await,
        "北京星辰软件|999"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_name_hint_points_to_a_visible_duplicate_and_only_mentions_a_hidden_one() {
    let app = TestApp::start().await;
    let admin = app.signup("提示公司", "管理员", "admin@hint.test").await;
    app.create_user(&admin, "甲", "one@hint.test", "member", None)
        .await;
    app.create_user(&admin, "乙", "two@hint.test", "member", None)
        .await;
    let one = app.login_ok("one@hint.test").await;
    let two = app.login_ok("two@hint.test").await;

    let star = create(&admin, STAR, "public").await;
    let secret = create(&one, "深圳蓝海电子有限公司", "private").await;

    for name in ["北京星辰科技", "北京 星辰科技股份有限公司", STAR] {
        for client in [&admin, &one, &two] {
            assert_eq!(
                read_hint(&hint(client, name, None).await),
                Hint::Visible(star)
            );
        }
    }
    let hidden = hint(&two, "深圳蓝海电子", None).await;
    assert_eq!(read_hint(&hidden), Hint::Hidden);
    assert!(
        !hidden.body.contains(&secret.to_string()),
        "{}",
        hidden.body
    );
    assert_eq!(
        read_hint(&hint(&one, "深圳蓝海电子", None).await),
        Hint::Visible(secret)
    );
    assert_eq!(
        read_hint(&hint(&admin, "深圳蓝海电子", None).await),
        Hint::Visible(secret)
    );

    for fresh in ["全新的公司", "北京星辰", " ", ""] {
        assert_eq!(
            read_hint(&hint(&admin, fresh, None).await),
            Hint::None,
            "{fresh:?}"
        );
    }

    // Editing a company: its own name is not a duplicate of itself.
    assert_eq!(read_hint(&hint(&admin, STAR, Some(star)).await), Hint::None);
    assert_eq!(
        read_hint(&hint(&admin, STAR, Some(secret)).await),
        Hint::Visible(star)
    );
    assert_eq!(
        read_hint(&hint(&one, "深圳蓝海电子", Some(secret)).await),
        Hint::None
    );

    // The edit form asks for the hint without its own company.
    let edit = admin.get(&format!("/customers/{star}/edit")).await;
    assert_eq!(
        edit.attrs("#f-name", "hx-get"),
        vec!["/customers/check-name".to_owned()]
    );
    assert_eq!(
        edit.attrs("#f-name", "hx-vals"),
        vec![format!(r#"{{"except":"{star}"}}"#)]
    );
    let new = admin.get("/customers/new").await;
    assert_eq!(
        new.attrs("#f-name", "hx-get"),
        vec!["/customers/check-name".to_owned()]
    );
    assert_eq!(new.texts("#name-hint"), vec![String::new()]);
}

/// One tenant with every role and a company of each kind:
/// admin; manager; member1 reports to manager; member2 reports to nobody.
struct Team {
    app: TestApp,
    tenant: i64,
    admin: Client,
    manager: Client,
    member1: Client,
    member2: Client,
    member2_id: i64,
    m1_private: i64,
    m1_public: i64,
    m2_private: i64,
    m2_public: i64,
    mgr_private: i64,
    admin_private: i64,
}

impl Team {
    async fn new() -> Self {
        let app = TestApp::start().await;
        let admin = app.signup("团队公司", "管理员", "admin@team.test").await;
        let tenant = app.tenant_of("admin@team.test").await;
        let manager_id = app
            .create_user(&admin, "经理", "manager@team.test", "manager", None)
            .await;
        app.create_user(
            &admin,
            "员工一",
            "member1@team.test",
            "member",
            Some(manager_id),
        )
        .await;
        let member2_id = app
            .create_user(&admin, "员工二", "member2@team.test", "member", None)
            .await;
        let manager = app.login_ok("manager@team.test").await;
        let member1 = app.login_ok("member1@team.test").await;
        let member2 = app.login_ok("member2@team.test").await;
        let m1_private = create(&member1, "员工一私有公司", "private").await;
        let m1_public = create(&member1, "员工一公开公司", "public").await;
        let m2_private = create(&member2, "员工二私有公司", "private").await;
        let m2_public = create(&member2, "员工二公开公司", "public").await;
        let mgr_private = create(&manager, "经理私有公司", "private").await;
        let admin_private = create(&admin, "管理员私有公司", "private").await;
        Self {
            app,
            tenant,
            admin,
            manager,
            member1,
            member2,
            member2_id,
            m1_private,
            m1_public,
            m2_private,
            m2_public,
            mgr_private,
            admin_private,
        }
    }

    fn all(&self) -> [i64; 6] {
        [
            self.m1_private,
            self.m1_public,
            self.m2_private,
            self.m2_public,
            self.mgr_private,
            self.admin_private,
        ]
    }

    async fn name_of(&self, id: i64) -> String {
        self.app
            .text(&format!("SELECT name FROM companies WHERE id = {id}"))
            .await
    }
}

/// What one role may do with one company.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Access {
    /// Not visible: 404 everywhere, as if it did not exist.
    Hidden,
    /// Visible, but edit and delete are 403.
    Read,
    /// Visible, editable and deletable.
    Manage,
}

#[tokio::test(flavor = "multi_thread")]
async fn each_role_sees_and_manages_exactly_its_scope_of_companies() {
    let team = Team::new().await;
    let t = &team;
    use Access::{Hidden, Manage, Read};
    // Columns: m1_private, m1_public, m2_private, m2_public, mgr_private, admin_private.
    let matrix: [(&str, &Client, [Access; 6]); 4] = [
        (
            "member1",
            &t.member1,
            [Manage, Manage, Hidden, Read, Hidden, Hidden],
        ),
        (
            "member2",
            &t.member2,
            [Hidden, Read, Manage, Manage, Hidden, Hidden],
        ),
        (
            "manager",
            &t.manager,
            [Manage, Manage, Hidden, Read, Manage, Hidden],
        ),
        ("admin", &t.admin, [Manage; 6]),
    ];
    let missing = t.all().iter().max().copied().unwrap_or_default() + 1000;

    for (who, client, access) in &matrix {
        let expected: HashSet<i64> = t
            .all()
            .iter()
            .zip(access)
            .filter(|(_, a)| **a != Hidden)
            .map(|(id, _)| *id)
            .collect();
        assert_eq!(listed(client, "/customers").await, expected, "{who}: list");
        // Searching stays within the same scope (every name here contains 公司).
        assert_eq!(search(client, "公司").await, expected, "{who}: search");

        let nothing = client.get(&format!("/customers/{missing}")).await;
        assert_eq!(nothing.status, 404);
        for (id, &access) in t.all().into_iter().zip(access) {
            let name = t.name_of(id).await;
            let detail = client.get(&format!("/customers/{id}")).await;
            let edit = client.get(&format!("/customers/{id}/edit")).await;
            let delete = client.get(&format!("/customers/{id}/delete")).await;
            let hinted = read_hint(&hint(client, &name, None).await);
            match access {
                Hidden => {
                    assert_eq!(detail.status, 404, "{who} GET {name}");
                    assert_eq!(
                        without_token(&detail),
                        without_token(&nothing),
                        "{who}: {name} looks like a missing id"
                    );
                    assert_eq!(edit.status, 404, "{who} edit {name}");
                    assert_eq!(delete.status, 404, "{who} delete {name}");
                    assert!(!detail.body.contains(&name));
                    assert_eq!(hinted, Hint::Hidden, "{who} hint {name}");
                }
                Read | Manage => {
                    assert_eq!(detail.status, 200, "{who} GET {name}");
                    assert_eq!(detail.texts("h1"), vec![name.clone()]);
                    assert_eq!(hinted, Hint::Visible(id), "{who} hint {name}");
                    let links = detail.attrs(&format!("a[href='/customers/{id}/edit']"), "href");
                    let (want, shown) = if access == Manage { (200, 1) } else { (403, 0) };
                    assert_eq!(edit.status, want, "{who} edit {name}");
                    assert_eq!(delete.status, want, "{who} delete {name}");
                    assert_eq!(links.len(), shown, "{who}: edit button on {name}");
                }
            }
        }
    }

    // Only admins get the view switch, and it narrows their list.
    let admin_list = t.admin.get("/customers").await;
    let options = admin_list.attrs("#f-view option", "value");
    assert!(options.contains(&"public".to_owned()), "{options:?}");
    assert!(
        options.contains(&format!("user-{}", t.member2_id)),
        "{options:?}"
    );
    assert_eq!(
        listed(&t.admin, "/customers?view=public").await,
        HashSet::from([t.m1_public, t.m2_public])
    );
    assert_eq!(
        listed(&t.admin, &format!("/customers?view=user-{}", t.member2_id)).await,
        HashSet::from([t.m2_private, t.m2_public])
    );
    assert_eq!(
        t.admin
            .get(&format!("/customers?view=user-{}", t.member2_id))
            .await
            .attrs("#f-view option[selected]", "value"),
        vec![format!("user-{}", t.member2_id)]
    );
    assert_eq!(
        listed(&t.admin, "/customers?view=nonsense").await,
        t.all().into_iter().collect()
    );
    // A narrowed view narrows the search too.
    assert_eq!(
        listed(
            &t.admin,
            &format!("/customers?view=public&q={}", enc("员工二"))
        )
        .await,
        HashSet::from([t.m2_public])
    );

    for (who, client, view) in [
        ("member1", &t.member1, "public".to_owned()),
        ("member1", &t.member1, format!("user-{}", t.member2_id)),
        ("manager", &t.manager, "public".to_owned()),
        ("manager", &t.manager, format!("user-{}", t.member2_id)),
    ] {
        let page = client.get(&format!("/customers?view={view}")).await;
        assert!(page.attrs("#f-view", "name").is_empty(), "{who}: no switch");
        let plain = listed(client, "/customers").await;
        assert_eq!(
            row_ids(&page).into_iter().collect::<HashSet<_>>(),
            plain,
            "{who}: view={view} is ignored"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn only_the_owner_their_managers_and_admins_change_a_public_company() {
    let team = Team::new().await;
    let t = &team;
    let app = &t.app;
    let id = t.m1_public;
    let before = snapshot(app, "companies", t.tenant).await;

    // member2 sees member1's public company but may not change it.
    t.member2.get(&format!("/customers/{id}")).await;
    for (path, fields) in [
        (
            format!("/customers/{id}/edit"),
            vec![("name", "被改了"), ("visibility", "public")],
        ),
        (format!("/customers/{id}/delete"), vec![]),
    ] {
        let page = t.member2.post(&path, &fields).await;
        assert_eq!(page.status, 403, "member2 POST {path}");
        assert!(page.body.contains(&zh("error.403_title")));
    }
    // Nor take over a private one they cannot see.
    let page = t
        .member2
        .post(
            &format!("/customers/{}/edit", t.m1_private),
            &[("name", "被改了")],
        )
        .await;
    assert_eq!(page.status, 404);
    assert_eq!(snapshot(app, "companies", t.tenant).await, before);

    // member1's manager may edit it (and a manager cannot hand it outside the team).
    let form = t.manager.get(&format!("/customers/{id}/edit")).await;
    assert_eq!(form.status, 200);
    assert_eq!(form.input_value("name").as_deref(), Some("员工一公开公司"));
    let page = t
        .manager
        .post(
            &format!("/customers/{id}/edit"),
            &[
                ("name", "员工一公开公司"),
                ("phone", "400-800-1234"),
                ("owner_id", &t.member2_id.to_string()),
                ("visibility", "public"),
            ],
        )
        .await;
    assert_eq!(page.status, 422);
    assert_eq!(
        page.field_error("owner_id"),
        Some(zh("form.invalid_choice"))
    );
    let page = t
        .manager
        .post(
            &format!("/customers/{id}/edit"),
            &[
                ("name", "员工一公开公司"),
                ("phone", "400-800-1234"),
                ("owner_id", ""),
                ("visibility", "private"),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(
        app.text(&format!(
            "SELECT concat_ws('|', phone, visibility, owner_id = (SELECT id FROM users WHERE email = 'member1@team.test')) \
             FROM companies WHERE id = {id}"
        ))
        .await,
        "400-800-1234|private|t",
        "an empty owner keeps the current owner"
    );
    // Now private: member2 no longer sees it at all.
    assert_eq!(t.member2.get(&format!("/customers/{id}")).await.status, 404);
    assert_eq!(t.member1.get(&format!("/customers/{id}")).await.status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn name_contains_search_finds_chinese_latin_and_literal_wildcards() {
    let app = TestApp::start().await;
    let admin = app.signup("搜索公司", "管理员", "admin@search.test").await;
    app.create_user(&admin, "员工", "member@search.test", "member", None)
        .await;
    let member = app.login_ok("member@search.test").await;

    let beijing = create(&admin, "北京", "public").await;
    let star = create(&admin, STAR, "public").await;
    let chaoyang = create(&admin, "北京市朝阳区星光商贸", "public").await;
    let nanjing = create(&admin, "南京长江贸易有限公司", "public").await;
    let acme = create(&admin, "ACME Trading", "public").await;
    let percent = create(&admin, "100%纯净水", "public").await;
    let underscore = create(&admin, "星辰_数据", "public").await;
    let haishang = create(&admin, "上海海上贸易有限公司", "public").await;
    // Hold every bigram of "0%纯" and "a_b" but neither term: only a literal % or _
    // keeps them out.
    let percent_apart = create(&admin, "100%水与5%纯净", "public").await;
    let underscore_apart = create(&admin, "A_1_B与A2B", "public").await;
    let secret = create(&admin, "北京秘密项目", "private").await;

    let admin_beijing = HashSet::from([beijing, star, chaoyang, secret]);
    assert_eq!(search(&admin, "北京").await, admin_beijing);
    assert_eq!(search(&admin, " 北京 ").await, admin_beijing, "trimmed");
    assert_eq!(
        search(&admin, "北 京").await,
        admin_beijing,
        "spaces ignored"
    );
    assert_eq!(
        search(&admin, "京").await,
        HashSet::from([beijing, star, chaoyang, nanjing, secret])
    );
    assert_eq!(search(&admin, "星辰科技").await, HashSet::from([star]));
    assert_eq!(search(&admin, "朝阳区").await, HashSet::from([chaoyang]));
    assert_eq!(
        search(&admin, "北京星辰科技有限公司").await,
        HashSet::from([star])
    );
    assert_eq!(
        search(&admin, "有限公司").await,
        HashSet::from([star, nanjing, haishang])
    );
    // Every bigram of 海上海 occurs in 上海海上贸易, but not the term itself.
    assert_eq!(search(&admin, "海上").await, HashSet::from([haishang]));
    assert!(search(&admin, "海上海").await.is_empty());
    assert!(search(&admin, "星辰北京").await.is_empty());
    assert!(search(&admin, "上海北京").await.is_empty());

    for term in [
        "acme",
        "ACME",
        "Acme",
        "ＡＣＭＥ",
        "ａｃｍｅ",
        "trading",
        "acme trading",
        "me tr",
    ] {
        assert_eq!(search(&admin, term).await, HashSet::from([acme]), "{term}");
    }

    assert_eq!(
        search(&admin, "%").await,
        HashSet::from([percent, percent_apart])
    );
    assert_eq!(
        search(&admin, "100%").await,
        HashSet::from([percent, percent_apart])
    );
    assert_eq!(search(&admin, "0%纯").await, HashSet::from([percent]));
    assert_eq!(
        search(&admin, "_").await,
        HashSet::from([underscore, underscore_apart])
    );
    assert_eq!(
        search(&admin, "a2b").await,
        HashSet::from([underscore_apart])
    );
    assert!(search(&admin, "a_b").await.is_empty(), "_ matches only _");
    assert_eq!(search(&admin, "星辰_").await, HashSet::from([underscore]));
    assert!(search(&admin, "%%").await.is_empty());
    assert!(
        search(&admin, "北_").await.is_empty(),
        "_ is not a wildcard"
    );
    assert!(
        search(&admin, "北%").await.is_empty(),
        "% is not a wildcard"
    );
    assert!(search(&admin, "\\").await.is_empty());

    // The search box keeps the term; no match says so.
    let page = admin
        .get(&format!("/customers?q={}", enc("不存在的")))
        .await;
    assert_eq!(page.status, 200);
    assert_eq!(page.input_value("q").as_deref(), Some("不存在的"));
    assert_eq!(page.texts(".empty-state p"), vec![zh("customers.no_match")]);

    // An empty term lists everything.
    assert_eq!(search(&admin, "").await.len(), 11);
    assert_eq!(search(&admin, "   ").await.len(), 11);

    // Search respects visibility.
    assert_eq!(
        search(&member, "北京").await,
        HashSet::from([beijing, star, chaoyang])
    );
    assert!(search(&member, "秘密").await.is_empty());
    assert!(search(&member, "项").await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_list_pages_by_keyset_without_gaps_or_repeats() {
    let app = TestApp::start().await;
    let admin = app.signup("分页公司", "管理员", "admin@pages.test").await;
    let tenant = app.tenant_of("admin@pages.test").await;
    let admin_id = app.user_id("admin@pages.test").await;
    app.create_user(&admin, "员工", "member@pages.test", "member", None)
        .await;
    let member = app.login_ok("member@pages.test").await;
    exec(
        &app,
        &format!(
            "INSERT INTO companies (tenant_id, name, owner_id, created_by, visibility) \
             SELECT {tenant}, '分页客户' || lpad(n::text, 3, '0'), {admin_id}, {admin_id}, \
                    CASE WHEN n % 11 = 0 THEN 'private' ELSE 'public' END \
             FROM generate_series(1, 55) n"
        ),
    )
    .await;
    let all: Vec<i64> = {
        let ids = app
            .text(&format!(
                "SELECT string_agg(id::text, ',' ORDER BY id DESC) FROM companies WHERE tenant_id = {tenant}"
            ))
            .await;
        ids.split(',').map(|id| id.parse().expect("id")).collect()
    };
    assert_eq!(all.len(), 55);

    for path in [
        "/customers".to_owned(),
        format!("/customers?q={}", enc("分页")),
    ] {
        let first = admin.get(&path).await;
        assert_eq!(first.status, 200);
        let first_ids = row_ids(&first);
        assert_eq!(first_ids, all[..50].to_vec(), "{path}: newest 50 first");
        let next = first.attrs("#next-page", "href");
        assert_eq!(next.len(), 1, "{path}: one next link");
        assert!(
            next[0].ends_with(&format!("before={}", all[49])),
            "{}",
            next[0]
        );
        assert_eq!(first.texts("#next-page"), vec![zh("common.next_page")]);
        let second = admin.get(&next[0]).await;
        assert_eq!(second.status, 200);
        let second_ids = row_ids(&second);
        assert_eq!(second_ids, all[50..].to_vec(), "{path}: the last 5");
        assert!(
            second.attrs("#next-page", "href").is_empty(),
            "no next link on the last page"
        );
        if path.contains("q=") {
            assert_eq!(
                second.input_value("q").as_deref(),
                Some("分页"),
                "the term is kept"
            );
        }
        let seen: HashSet<i64> = first_ids.iter().chain(&second_ids).copied().collect();
        assert_eq!(seen.len(), 55, "no duplicates, nothing missing");
    }

    // A new company while paging: the next page still continues after the cursor.
    let first = admin.get("/customers").await;
    let next = first.attrs("#next-page", "href");
    let newest = create(&admin, "翻页时新增", "public").await;
    assert_eq!(row_ids(&admin.get(&next[0]).await), all[50..].to_vec());
    assert_eq!(row_ids(&admin.get("/customers").await)[0], newest);

    // A member's pages hold only what they may see: the public ones.
    let expected_private = app
        .scalar(&format!(
            "SELECT count(*) FROM companies WHERE tenant_id = {tenant} AND visibility = 'private'"
        ))
        .await;
    assert_eq!(expected_private, 5);
    let first = member.get("/customers").await;
    let mut ids = row_ids(&first);
    assert_eq!(ids.len(), 50);
    let next = first.attrs("#next-page", "href");
    assert_eq!(next.len(), 1);
    ids.extend(row_ids(&member.get(&next[0]).await));
    assert_eq!(ids.len(), 51, "56 companies, 5 of them private");
    let private: HashSet<i64> = {
        let list = app
            .text(&format!(
                "SELECT string_agg(id::text, ',') FROM companies WHERE tenant_id = {tenant} AND visibility = 'private'"
            ))
            .await;
        list.split(',').map(|id| id.parse().expect("id")).collect()
    };
    assert!(ids.iter().all(|id| !private.contains(id)));
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 51);
}

#[tokio::test(flavor = "multi_thread")]
async fn deleting_asks_first_then_removes_the_company_for_good() {
    let team = Team::new().await;
    let t = &team;
    let app = &t.app;
    let id = t.m2_public;

    let confirm = t.member2.get(&format!("/customers/{id}/delete")).await;
    assert_eq!(confirm.status, 200);
    assert_eq!(confirm.texts("h1"), vec![zh("customers.delete_title")]);
    let alert = confirm.texts(".alert-danger").join(" ");
    assert!(alert.contains(&zh("customers.delete_warning")), "{alert}");
    assert!(alert.contains("员工二公开公司"), "{alert}");
    assert_eq!(
        confirm.attrs(&format!("form[action='/customers/{id}/delete']"), "method"),
        vec!["post".to_owned()]
    );
    // Opening the confirmation deletes nothing.
    assert_eq!(
        app.scalar(&format!("SELECT count(*) FROM companies WHERE id = {id}"))
            .await,
        1
    );

    // member1 sees it (public) but may not delete it.
    t.member1.get(&format!("/customers/{id}")).await;
    let page = t
        .member1
        .post(&format!("/customers/{id}/delete"), &[])
        .await;
    assert_eq!(page.status, 403);
    // Nor can the manager of someone else.
    t.manager.get(&format!("/customers/{id}")).await;
    let page = t
        .manager
        .post(&format!("/customers/{id}/delete"), &[])
        .await;
    assert_eq!(page.status, 403);
    assert_eq!(
        app.scalar(&format!("SELECT count(*) FROM companies WHERE id = {id}"))
            .await,
        1,
        "still there"
    );

    let page = t
        .member2
        .post(&format!("/customers/{id}/delete"), &[])
        .await;
    assert_eq!(page.status, 303);
    assert_eq!(page.location.as_deref(), Some("/customers"));
    assert_eq!(
        app.scalar(&format!("SELECT count(*) FROM companies WHERE id = {id}"))
            .await,
        0
    );
    assert_eq!(t.member2.get(&format!("/customers/{id}")).await.status, 404);
    assert!(!listed(&t.member2, "/customers").await.contains(&id));
    assert_eq!(
        t.member2
            .post(&format!("/customers/{id}/delete"), &[])
            .await
            .status,
        404,
        "a second delete finds nothing"
    );
    // The name is free again.
    let again = create(&t.member2, "员工二公开公司", "public").await;
    assert_ne!(again, id);

    // The manager deletes a report's private company; the admin anyone's.
    t.manager.get("/customers").await;
    let page = t
        .manager
        .post(&format!("/customers/{}/delete", t.m1_private), &[])
        .await;
    assert_eq!(page.status, 303);
    t.admin.get("/customers").await;
    let page = t
        .admin
        .post(&format!("/customers/{}/delete", t.m2_private), &[])
        .await;
    assert_eq!(page.status, 303);
    assert_eq!(
        app.scalar(&format!(
            "SELECT count(*) FROM companies WHERE id IN ({}, {})",
            t.m1_private, t.m2_private
        ))
        .await,
        0
    );
    assert_eq!(
        companies_of(app, t.tenant).await,
        4,
        "six, one deleted, one re-created, two deleted"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn another_tenants_companies_do_not_exist_for_anyone_here() {
    let team = Team::new().await;
    let t = &team;
    let app = &t.app;
    let other = app
        .signup("乙方集团", "乙方管理员", "admin@other.test")
        .await;
    let other_tenant = app.tenant_of("admin@other.test").await;
    let theirs_public = create(&other, "乙方公开客户有限公司", "public").await;
    let theirs_private = create(&other, "乙方私有客户有限公司", "private").await;
    let before = snapshot(app, "companies", other_tenant).await;

    let missing = theirs_private + 1000;
    for (who, client) in [
        ("admin", &t.admin),
        ("manager", &t.manager),
        ("member1", &t.member1),
        ("member2", &t.member2),
    ] {
        let nothing = client.get(&format!("/customers/{missing}")).await;
        for id in [theirs_public, theirs_private] {
            for suffix in ["", "/edit", "/delete"] {
                let path = format!("/customers/{id}{suffix}");
                let page = client.get(&path).await;
                assert_eq!(page.status, 404, "{who} GET {path}");
                if suffix.is_empty() {
                    assert_eq!(
                        without_token(&page),
                        without_token(&nothing),
                        "{who} GET {path}"
                    );
                }
            }
            client.get("/customers").await;
            let page = client
                .post(
                    &format!("/customers/{id}/edit"),
                    &[("name", "接管"), ("visibility", "public")],
                )
                .await;
            assert_eq!(page.status, 404, "{who} POST edit {id}");
            let page = client.post(&format!("/customers/{id}/delete"), &[]).await;
            assert_eq!(page.status, 404, "{who} POST delete {id}");
        }
        let mine = listed(client, "/customers").await;
        assert!(
            !mine.contains(&theirs_public) && !mine.contains(&theirs_private),
            "{who}: list"
        );
        assert!(search(client, "乙方").await.is_empty(), "{who}: search");
        assert!(search(client, "客户有限").await.is_empty(), "{who}: search");
        for view in ["public".to_owned(), "user-1".to_owned()] {
            let page = client.get(&format!("/customers?view={view}")).await;
            assert!(
                !row_ids(&page).contains(&theirs_public),
                "{who}: view={view}"
            );
        }
        // Their names are no duplicates here, not even a hidden one.
        assert_eq!(
            read_hint(&hint(client, "乙方公开客户有限公司", None).await),
            Hint::None,
            "{who}: hint"
        );
        assert_eq!(
            read_hint(&hint(client, "乙方私有客户", None).await),
            Hint::None,
            "{who}: hint"
        );
    }
    let other_owner = app.user_id("admin@other.test").await;
    let page = t
        .admin
        .get(&format!("/customers?view=user-{other_owner}"))
        .await;
    assert!(
        row_ids(&page).is_empty(),
        "another tenant's employee owns nothing here"
    );
    assert_eq!(snapshot(app, "companies", other_tenant).await, before);

    // The same name may exist in both tenants.
    let ours = create(&t.member1, "乙方公开客户有限公司", "private").await;
    assert_ne!(ours, theirs_public);
    assert_eq!(
        app.scalar(&format!(
            "SELECT tenant_id FROM companies WHERE id = {ours}"
        ))
        .await,
        t.tenant
    );
    assert_eq!(
        listed(&other, "/customers").await,
        HashSet::from([theirs_public, theirs_private])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn simultaneous_creates_of_one_name_make_one_company() {
    let app = TestApp::start().await;
    app.signup("并发公司", "管理员", "admin@race.test").await;
    let tenant = app.tenant_of("admin@race.test").await;
    let mut tabs = Vec::new();
    for _ in 0..4 {
        tabs.push(app.login_ok("admin@race.test").await);
    }
    for round in 0..5 {
        let name = format!("并发客户{round}有限公司");
        for tab in &tabs {
            tab.get("/customers/new").await;
        }
        let fields = [("name", name.as_str())];
        let submit = |i: usize| tabs[i].post("/customers/new", &fields);
        let (a, b, c, d) = tokio::join!(submit(0), submit(1), submit(2), submit(3));
        let rows = app
            .scalar(&format!(
                "SELECT count(*) FROM companies WHERE tenant_id = {tenant} AND name = '{name}'"
            ))
            .await;
        let outcomes: Vec<_> = [&a, &b, &c, &d]
            .iter()
            .map(|p| (p.status, p.location.clone(), p.field_error("name")))
            .collect();
        assert_eq!(rows, 1, "round {round}: {outcomes:?}");
        // Everyone lands on that one company; nobody (an admin!) is told it is hidden.
        assert!(
            outcomes.iter().all(|(s, _, _)| *s == 303),
            "round {round}: {outcomes:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_nul_character_is_refused_with_a_bad_request_page_not_a_server_error() {
    let app = TestApp::start().await;
    let admin = app.signup("空字符公司", "管理员", "admin@nul.test").await;
    let page = submit_new(&admin, &[("name", "北京\u{0}星辰")]).await;
    assert_eq!(page.status, 400, "name with NUL");
    assert!(
        page.body.contains(&zh("error.400_title")),
        "the 400 page in the layout"
    );
    let page = submit_new(&admin, &[("name", "北京星辰"), ("phone", "010\u{0}1")]).await;
    assert_eq!(page.status, 400, "phone with NUL");
    assert_eq!(
        app.scalar("SELECT count(*) FROM companies").await,
        0,
        "nothing was created"
    );
    assert_eq!(
        admin.get("/customers?q=%E5%8C%97%00").await.status,
        400,
        "search"
    );
    assert_eq!(
        admin
            .get("/customers/check-name?name=%E5%8C%97%00")
            .await
            .status,
        400,
        "hint"
    );
    assert_eq!(
        admin.get("/customers?q=%E5%8C%97").await.status,
        200,
        "the same search without NUL"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_duplicate_key_drops_legal_forms_but_not_letters_that_look_like_them() {
    let app = TestApp::start().await;
    let key = |name: &'static str| {
        let app = &app;
        async move {
            app.text(&format!("SELECT kehu_company_key('{name}')"))
                .await
        }
    };
    // Same company, written differently.
    for (a, b) in [
        ("北京星辰科技有限公司", "北京 星辰科技"),
        ("北京星辰科技股份有限公司", "北京星辰科技"),
        ("ＢＥＩＪＩＮＧ Star Tech Co., Ltd.", "Beijing Star Tech"),
        ("ACME Trading Co", "acme trading"),
        ("北京星辰科技（集团）有限公司", "北京星辰科技集团"),
    ] {
        assert_eq!(key(a).await, key(b).await, "{a} = {b}");
    }
    // Different companies whose letters merely end like a legal form.
    for (a, b) in [
        ("Cisco", "CIS"),
        ("Tesco", "Tes"),
        ("Monaco", "Mona"),
        ("北京星辰科技集团", "北京星辰科技"),
    ] {
        assert_ne!(key(a).await, key(b).await, "{a} ≠ {b}");
    }
    // Nothing but a legal form or punctuation still has a key of its own.
    assert_ne!(key("公司").await, key("!!!").await);
    assert!(!key("!!!").await.is_empty());
}
