//! 联系人: creating a contact by typing its company's name (exact name, then the
//! duplicate key), validation, the prefilled form, the company autocomplete, who sees and
//! changes which contact (exactly as for its company), moving, deleting (also with the
//! company), keyset paging, and tenant isolation.

use std::collections::HashSet;

use kehu_tests::{Client, TestApp, client::Page};

use crate::support::{exec, snapshot, zh};

const STAR: &str = "北京星辰科技有限公司";

/// Every field of the contact form, in order, with a value for each.
const FULL: [(&str, &str); 10] = [
    ("company", STAR),
    ("name", "李雷"),
    ("title", "销售经理"),
    ("phone", "010-8888 6666"),
    ("mobile", "138 0013 8000"),
    ("email", "li.lei@xingchen.cn"),
    ("qq", "10001"),
    ("wechat", "lilei_wx"),
    ("other_im", "Skype: lilei"),
    ("weibo", "@李雷"),
];

fn enc(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// Creates a company with a name and a visibility; returns its id.
async fn create_company(client: &Client, name: &str, visibility: &str) -> i64 {
    let form = client.get("/customers/new").await;
    assert_eq!(form.status, 200, "GET /customers/new: {}", form.body);
    let page = client
        .post(
            "/customers/new",
            &[("name", name), ("visibility", visibility)],
        )
        .await;
    assert_eq!(page.status, 303, "creating {name}: {}", page.body);
    let location = page.location.expect("a Location header");
    location
        .strip_prefix("/customers/")
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("creating {name} redirected to {location}"))
}

/// Opens the new-contact form (for a fresh CSRF token) and submits `fields`.
async fn submit_new(client: &Client, fields: &[(&str, &str)]) -> Page {
    let form = client.get("/contacts/new").await;
    assert_eq!(form.status, 200, "GET /contacts/new: {}", form.body);
    client.post("/contacts/new", fields).await
}

/// The contact id in a `/contacts/<id>` redirect.
fn redirected_contact(page: &Page, what: &str) -> i64 {
    assert_eq!(page.status, 303, "{what}: {}", page.body);
    let location = page.location.clone().unwrap_or_default();
    location
        .strip_prefix("/contacts/")
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("{what} redirected to {location:?}"))
}

/// Creates a contact at the company typed as `company`; returns its id.
async fn create_contact(client: &Client, company: &str, name: &str) -> i64 {
    let page = submit_new(client, &[("company", company), ("name", name)]).await;
    redirected_contact(&page, &format!("creating {name} at {company}"))
}

/// Ids of the contact rows of a list page, in order.
fn row_ids(page: &Page) -> Vec<i64> {
    page.attrs("table#contacts tbody tr", "id")
        .iter()
        .map(|id| {
            id.strip_prefix("contact-")
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("row id {id}"))
        })
        .collect()
}

/// The contact list at `path` (asserts 200) as a set of ids.
async fn listed(client: &Client, path: &str) -> HashSet<i64> {
    let page = client.get(path).await;
    assert_eq!(page.status, 200, "GET {path}: {}", page.body);
    row_ids(&page).into_iter().collect()
}

async fn search(client: &Client, term: &str) -> HashSet<i64> {
    listed(client, &format!("/contacts?q={}", enc(term))).await
}

/// The contact links in `#company-contacts` of a company page (asserts 200).
async fn company_contacts(client: &Client, company: i64) -> Vec<String> {
    let page = client.get(&format!("/customers/{company}")).await;
    assert_eq!(page.status, 200, "GET /customers/{company}: {}", page.body);
    page.attrs("#company-contacts li a", "href")
}

/// The option values the company autocomplete offers for `text`.
async fn autocomplete(client: &Client, text: &str) -> Vec<String> {
    let path = format!("/customers/autocomplete?company={}", enc(text));
    let page = client.get(&path).await;
    assert_eq!(page.status, 200, "GET {path}: {}", page.body);
    page.attrs("option", "value")
}

async fn contacts_of(app: &TestApp, tenant: i64) -> i64 {
    app.scalar(&format!(
        "SELECT count(*) FROM contacts WHERE tenant_id = {tenant}"
    ))
    .await
}

async fn company_of(app: &TestApp, contact: i64) -> i64 {
    app.scalar(&format!(
        "SELECT company_id FROM contacts WHERE id = {contact}"
    ))
    .await
}

/// The body with the per-request CSRF token removed, to compare two pages.
fn without_token(page: &Page) -> String {
    page.attrs("input[name=_csrf]", "value")
        .iter()
        .fold(page.body.clone(), |body, token| body.replace(token, ""))
}

/// Asserts that a 422 form kept every typed field.
fn assert_kept(page: &Page, fields: &[(&str, &str)]) {
    for (name, value) in fields {
        assert_eq!(
            page.input_value(name).as_deref(),
            Some(*value),
            "{name} is kept"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_contact_created_by_typing_its_company_shows_on_its_page_the_company_and_the_list() {
    let app = TestApp::start().await;
    let admin = app.signup("星辰集团", "王芳", "wang@contact.test").await;
    let tenant = app.tenant_of("wang@contact.test").await;
    let admin_id = app.user_id("wang@contact.test").await;
    let star = create_company(&admin, STAR, "public").await;

    let empty = admin.get("/contacts").await;
    assert_eq!(empty.status, 200);
    assert_eq!(empty.texts("h1"), vec![zh("contacts.title")]);
    assert!(row_ids(&empty).is_empty());
    assert_eq!(empty.texts(".empty-state p"), vec![zh("contacts.empty")]);
    assert_eq!(
        company_contacts(&admin, star).await,
        Vec::<String>::new(),
        "no contacts yet"
    );

    let form = admin.get("/contacts/new").await;
    assert_eq!(form.texts("h1"), vec![zh("contacts.new")]);
    assert_eq!(form.input_value("company").as_deref(), Some(""));
    assert_eq!(
        form.attrs("#f-company", "hx-get"),
        vec!["/customers/autocomplete".to_owned()]
    );
    assert_eq!(
        form.attrs("#f-company", "list"),
        vec!["company-options".to_owned()]
    );
    assert_eq!(form.attrs("datalist#company-options", "id").len(), 1);

    let mut fields = FULL.to_vec();
    fields[0] = ("company", "  北京星辰科技有限公司 ");
    fields[1] = ("name", " 李雷 ");
    fields[5] = ("email", " Li.Lei@XingChen.CN ");
    let page = admin.post("/contacts/new", &fields).await;
    let id = redirected_contact(&page, "creating 李雷");
    assert_eq!(
        app.text(&format!(
            "SELECT concat_ws('|', tenant_id, company_id, name, title, phone, mobile, email, qq, \
             wechat, other_im, weibo, created_by) FROM contacts WHERE id = {id}"
        ))
        .await,
        format!(
            "{tenant}|{star}|李雷|销售经理|010-8888 6666|138 0013 8000|li.lei@xingchen.cn|10001|\
             lilei_wx|Skype: lilei|@李雷|{admin_id}"
        ),
        "trimmed, normalised email, at the typed company"
    );

    // The detail page.
    let detail = admin.get(&format!("/contacts/{id}")).await;
    assert_eq!(detail.status, 200);
    assert_eq!(detail.texts("h1"), vec!["李雷".to_owned()]);
    assert_eq!(
        detail.attrs(".contact-facts a", "href"),
        vec![format!("/customers/{star}")]
    );
    assert_eq!(
        detail.texts(".contact-facts dd"),
        vec![
            STAR.to_owned(),
            "销售经理".to_owned(),
            "010-8888 6666".to_owned(),
            "138 0013 8000".to_owned(),
            "li.lei@xingchen.cn".to_owned(),
            "10001".to_owned(),
            "lilei_wx".to_owned(),
            "Skype: lilei".to_owned(),
            "@李雷".to_owned(),
        ]
    );
    assert_eq!(
        detail.attrs("#content a.btn", "href"),
        vec![
            format!("/contacts/{id}/edit"),
            format!("/contacts/{id}/delete")
        ]
    );

    // The company page lists it, and offers a prefilled new contact.
    let company = admin.get(&format!("/customers/{star}")).await;
    assert_eq!(
        company.attrs("#company-contacts li a", "href"),
        vec![format!("/contacts/{id}")]
    );
    let item = company.texts("#company-contacts li").join(" ");
    for expected in ["李雷", "销售经理", "138 0013 8000"] {
        assert!(item.contains(expected), "{expected} in {item}");
    }
    assert_eq!(
        company.attrs("#company-contacts a.btn", "href"),
        vec![format!("/contacts/new?company={star}")]
    );

    // The list.
    let list = admin.get("/contacts").await;
    assert_eq!(row_ids(&list), vec![id]);
    assert_eq!(
        list.texts(&format!("tr#contact-{id} td")),
        vec![
            "李雷".to_owned(),
            STAR.to_owned(),
            "销售经理".to_owned(),
            "138 0013 8000".to_owned(),
            "010-8888 6666".to_owned(),
            "li.lei@xingchen.cn".to_owned(),
        ]
    );
    assert_eq!(
        list.attrs(&format!("tr#contact-{id} a"), "href"),
        vec![format!("/contacts/{id}"), format!("/customers/{star}")]
    );

    // Only a name is needed; the other fields may stay empty.
    let bare = create_contact(&admin, STAR, "韩梅梅").await;
    let detail = admin.get(&format!("/contacts/{bare}")).await;
    assert_eq!(detail.texts(".contact-facts dd").len(), 9);
    assert!(
        detail
            .texts(".contact-facts dd")
            .iter()
            .skip(1)
            .all(|v| v == "—")
    );
    assert_eq!(row_ids(&admin.get("/contacts").await), vec![bare, id]);
    // The company page lists them by name.
    assert_eq!(company_contacts(&admin, star).await.len(), 2);
    assert_eq!(contacts_of(&app, tenant).await, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_typed_company_resolves_by_exact_name_first_then_by_duplicate_key() {
    let app = TestApp::start().await;
    let admin = app.signup("查重公司", "管理员", "admin@resolve.test").await;
    let tenant = app.tenant_of("admin@resolve.test").await;
    let admin_id = app.user_id("admin@resolve.test").await;
    let star = create_company(&admin, STAR, "private").await;
    let acme = create_company(&admin, "Acme Trading Co., Ltd.", "private").await;

    for (typed, expected) in [
        ("北京星辰科技", star),
        ("北京 星辰科技股份有限公司", star),
        ("北京星辰科技（有限公司）", star),
        ("北京星辰科技\u{3000}有限公司", star),
        ("acme trading", acme),
        ("ＡＣＭＥ\u{3000}ＴＲＡＤＩＮＧ", acme),
    ] {
        let id = create_contact(&admin, typed, "张三").await;
        assert_eq!(company_of(&app, id).await, expected, "{typed}");
    }

    // A newer company whose exact name is typed wins over an older one with the same key
    // (the app never creates such a pair; an import might).
    exec(
        &app,
        &format!(
            "INSERT INTO companies (tenant_id, name, owner_id, created_by, visibility) \
             VALUES ({tenant}, '北京星辰科技', {admin_id}, {admin_id}, 'private')"
        ),
    )
    .await;
    let short = app
        .scalar(&format!(
            "SELECT id FROM companies WHERE tenant_id = {tenant} AND name = '北京星辰科技'"
        ))
        .await;
    assert!(short > star);
    let id = create_contact(&admin, "北京星辰科技", "李四").await;
    assert_eq!(company_of(&app, id).await, short, "the exact name");
    let id = create_contact(&admin, STAR, "王五").await;
    assert_eq!(company_of(&app, id).await, star, "the exact name");
    let id = create_contact(&admin, "北京星辰科技股份有限公司", "赵六").await;
    assert_eq!(company_of(&app, id).await, star, "the oldest with the key");
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_contacts_are_refused_with_field_errors_and_keep_what_was_typed() {
    let app = TestApp::start().await;
    let admin = app.signup("校验公司", "管理员", "admin@cvalid.test").await;
    let tenant = app.tenant_of("admin@cvalid.test").await;
    create_company(&admin, STAR, "public").await;

    // An unknown company.
    let mut fields = FULL.to_vec();
    fields[0] = ("company", "不存在的公司");
    let page = submit_new(&admin, &fields).await;
    assert_eq!(page.status, 422, "{}", page.body);
    assert_eq!(
        page.field_error("company"),
        Some(zh("contacts.company_unknown"))
    );
    assert_kept(&page, &fields);
    assert_eq!(page.field_error("name"), None);
    assert_eq!(page.field_error("email"), None);
    assert!(!page.body.contains(STAR), "no other company is suggested");

    // No company at all.
    for blank in ["", "   "] {
        let page = submit_new(&admin, &[("company", blank), ("name", "李雷")]).await;
        assert_eq!(page.status, 422, "company {blank:?}");
        assert_eq!(page.field_error("company"), Some(zh("form.required")));
        assert_eq!(page.input_value("name").as_deref(), Some("李雷"));
    }

    // An empty name.
    for blank in ["", "   ", "\u{3000}"] {
        let mut fields = FULL.to_vec();
        fields[1] = ("name", blank);
        let page = submit_new(&admin, &fields).await;
        assert_eq!(page.status, 422, "name {blank:?}");
        assert_eq!(page.field_error("name"), Some(zh("form.required")));
        assert_eq!(page.field_error("company"), None);
        let mut kept = fields.clone();
        kept.remove(1);
        assert_kept(&page, &kept);
    }

    // A bad email.
    for bad in ["not-an-email", "a@", "李雷@"] {
        let mut fields = FULL.to_vec();
        fields[5] = ("email", bad);
        let page = submit_new(&admin, &fields).await;
        assert_eq!(page.status, 422, "email {bad:?}");
        assert_eq!(page.field_error("email"), Some(zh("form.invalid_email")));
        assert_kept(&page, &fields);
    }

    // Too long.
    let long = "长".repeat(101);
    let page = submit_new(&admin, &[("company", STAR), ("name", &long)]).await;
    assert_eq!(page.status, 422);
    assert_eq!(page.field_error("name"), Some(zh("form.too_long")));
    let page = submit_new(
        &admin,
        &[
            ("company", STAR),
            ("name", "李雷"),
            ("mobile", &"1".repeat(51)),
        ],
    )
    .await;
    assert_eq!(page.status, 422);
    assert_eq!(page.field_error("mobile"), Some(zh("form.too_long")));

    // Several errors at once are all shown.
    let page = submit_new(
        &admin,
        &[("company", "不存在的公司"), ("name", ""), ("email", "x")],
    )
    .await;
    assert_eq!(page.status, 422);
    assert_eq!(
        page.field_error("company"),
        Some(zh("contacts.company_unknown"))
    );
    assert_eq!(page.field_error("name"), Some(zh("form.required")));
    assert_eq!(page.field_error("email"), Some(zh("form.invalid_email")));

    assert_eq!(contacts_of(&app, tenant).await, 0, "nothing was created");

    // The limits themselves are fine.
    let max = "长".repeat(100);
    let id = create_contact(&admin, STAR, &max).await;
    assert_eq!(
        app.scalar(&format!(
            "SELECT length(name) FROM contacts WHERE id = {id}"
        ))
        .await,
        100
    );
}

/// One tenant with every role, a company of each kind and one contact at each:
/// admin; manager; member1 reports to manager; member2 reports to nobody.
struct Team {
    app: TestApp,
    tenant: i64,
    admin: Client,
    manager: Client,
    member1: Client,
    member2: Client,
    m1_private: i64,
    m1_public: i64,
    m2_private: i64,
    m2_public: i64,
    mgr_private: i64,
    admin_private: i64,
    /// The contact at each company, in the order of [`Team::companies`].
    contacts: [i64; 6],
}

impl Team {
    async fn new() -> Self {
        let app = TestApp::start().await;
        let admin = app.signup("团队公司", "管理员", "admin@cteam.test").await;
        let tenant = app.tenant_of("admin@cteam.test").await;
        let manager_id = app
            .create_user(&admin, "经理", "manager@cteam.test", "manager", None)
            .await;
        app.create_user(
            &admin,
            "员工一",
            "member1@cteam.test",
            "member",
            Some(manager_id),
        )
        .await;
        app.create_user(&admin, "员工二", "member2@cteam.test", "member", None)
            .await;
        let manager = app.login_ok("manager@cteam.test").await;
        let member1 = app.login_ok("member1@cteam.test").await;
        let member2 = app.login_ok("member2@cteam.test").await;
        let m1_private = create_company(&member1, "员工一私有公司", "private").await;
        let m1_public = create_company(&member1, "员工一公开公司", "public").await;
        let m2_private = create_company(&member2, "员工二私有公司", "private").await;
        let m2_public = create_company(&member2, "员工二公开公司", "public").await;
        let mgr_private = create_company(&manager, "经理私有公司", "private").await;
        let admin_private = create_company(&admin, "管理员私有公司", "private").await;
        // Each owner adds the contact of their own company.
        let contacts = [
            create_contact(&member1, "员工一私有公司", "甲联系人").await,
            create_contact(&member1, "员工一公开公司", "乙联系人").await,
            create_contact(&member2, "员工二私有公司", "丙联系人").await,
            create_contact(&member2, "员工二公开公司", "丁联系人").await,
            create_contact(&manager, "经理私有公司", "戊联系人").await,
            create_contact(&admin, "管理员私有公司", "己联系人").await,
        ];
        Self {
            app,
            tenant,
            admin,
            manager,
            member1,
            member2,
            m1_private,
            m1_public,
            m2_private,
            m2_public,
            mgr_private,
            admin_private,
            contacts,
        }
    }

    fn companies(&self) -> [i64; 6] {
        [
            self.m1_private,
            self.m1_public,
            self.m2_private,
            self.m2_public,
            self.mgr_private,
            self.admin_private,
        ]
    }

    fn roles(&self) -> [(&'static str, &Client); 4] {
        [
            ("admin", &self.admin),
            ("manager", &self.manager),
            ("member1", &self.member1),
            ("member2", &self.member2),
        ]
    }
}

/// What one role may do with one contact.
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
async fn each_role_sees_and_changes_exactly_the_contacts_of_the_companies_it_may() {
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
    let missing = t.contacts.iter().max().copied().unwrap_or_default() + 1000;

    for (who, client, access) in &matrix {
        let expected: HashSet<i64> = t
            .contacts
            .iter()
            .zip(access)
            .filter(|(_, a)| **a != Hidden)
            .map(|(id, _)| *id)
            .collect();
        assert_eq!(listed(client, "/contacts").await, expected, "{who}: list");
        assert_eq!(search(client, "联系人").await, expected, "{who}: search");
        assert_eq!(search(client, "联系").await, expected, "{who}: search");
        for (contact, &a) in t.contacts.iter().zip(access) {
            let name = t
                .app
                .text(&format!("SELECT name FROM contacts WHERE id = {contact}"))
                .await;
            let found = search(client, &name).await;
            if a == Hidden {
                assert!(found.is_empty(), "{who}: search {name}");
            } else {
                assert_eq!(found, HashSet::from([*contact]), "{who}: search {name}");
            }
        }

        let nothing = client.get(&format!("/contacts/{missing}")).await;
        assert_eq!(nothing.status, 404);
        for ((contact, company), &a) in t.contacts.iter().zip(t.companies()).zip(access) {
            let detail = client.get(&format!("/contacts/{contact}")).await;
            let edit = client.get(&format!("/contacts/{contact}/edit")).await;
            let delete = client.get(&format!("/contacts/{contact}/delete")).await;
            let statuses = (detail.status, edit.status, delete.status);
            match a {
                Hidden => {
                    assert_eq!(statuses, (404, 404, 404), "{who} contact {contact}");
                    assert_eq!(
                        without_token(&detail),
                        without_token(&nothing),
                        "{who}: a hidden contact looks like a missing one"
                    );
                }
                Read => {
                    assert_eq!(statuses, (200, 403, 403), "{who} contact {contact}");
                    assert!(
                        detail.attrs("#content a.btn", "href").is_empty(),
                        "{who}: no edit/delete buttons"
                    );
                }
                Manage => {
                    assert_eq!(statuses, (200, 200, 200), "{who} contact {contact}");
                    assert_eq!(
                        detail.attrs("#content a.btn", "href"),
                        vec![
                            format!("/contacts/{contact}/edit"),
                            format!("/contacts/{contact}/delete")
                        ],
                        "{who}"
                    );
                }
            }
            // The company page agrees.
            let page = client.get(&format!("/customers/{company}")).await;
            if a == Hidden {
                assert_eq!(page.status, 404, "{who} company {company}");
            } else {
                assert_eq!(
                    page.attrs("#company-contacts li a", "href"),
                    vec![format!("/contacts/{contact}")],
                    "{who} company {company}"
                );
                assert_eq!(
                    !page.attrs("#company-contacts a.btn", "href").is_empty(),
                    a == Manage,
                    "{who}: 新增联系人 on company {company} only when it may"
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn only_those_who_manage_the_company_add_change_or_delete_its_contacts() {
    let team = Team::new().await;
    let t = &team;
    let app = &t.app;
    let theirs = t.contacts[3]; // at member2's public company
    let before = snapshot(app, "contacts", t.tenant).await;

    // member1 and the manager see member2's public company but may not add to it.
    for (who, client) in [("member1", &t.member1), ("manager", &t.manager)] {
        let fields = [
            ("company", "员工二公开公司"),
            ("name", "越权"),
            ("mobile", "139"),
        ];
        let page = submit_new(client, &fields).await;
        assert_eq!(page.status, 422, "{who}: {}", page.body);
        assert_eq!(
            page.field_error("company"),
            Some(zh("contacts.company_not_yours")),
            "{who}"
        );
        assert_kept(&page, &fields);
        // A private company of someone else does not even exist for them.
        let page = submit_new(client, &[("company", "员工二私有公司"), ("name", "越权")]).await;
        assert_eq!(page.status, 422, "{who}");
        assert_eq!(
            page.field_error("company"),
            Some(zh("contacts.company_unknown")),
            "{who}: the hidden company is not revealed"
        );

        client.get(&format!("/contacts/{theirs}")).await;
        let page = client
            .post(
                &format!("/contacts/{theirs}/edit"),
                &[("company", "员工二公开公司"), ("name", "改名")],
            )
            .await;
        assert_eq!(page.status, 403, "{who} POST edit");
        let page = client
            .post(&format!("/contacts/{theirs}/delete"), &[])
            .await;
        assert_eq!(page.status, 403, "{who} POST delete");
        // Nor may they pull it over to a company of their own.
        let page = client
            .post(
                &format!("/contacts/{theirs}/edit"),
                &[("company", "员工一私有公司"), ("name", "丁联系人")],
            )
            .await;
        assert_eq!(page.status, 403, "{who} POST edit to own company");
    }
    // member2 may not touch contacts of hidden companies.
    let hidden = t.contacts[0];
    t.member2.get("/contacts").await;
    let page = t
        .member2
        .post(
            &format!("/contacts/{hidden}/edit"),
            &[("company", "员工二公开公司"), ("name", "抢走")],
        )
        .await;
    assert_eq!(page.status, 404);
    let page = t
        .member2
        .post(&format!("/contacts/{hidden}/delete"), &[])
        .await;
    assert_eq!(page.status, 404);
    assert_eq!(
        snapshot(app, "contacts", t.tenant).await,
        before,
        "unchanged"
    );

    // The owner, their manager and an admin may.
    let own = create_contact(&t.member2, "员工二公开公司", "本人添加").await;
    let by_manager = create_contact(&t.manager, "员工一私有公司", "经理添加").await;
    let by_admin = create_contact(&t.admin, "员工二私有公司", "管理员添加").await;
    assert_eq!(company_of(app, own).await, t.m2_public);
    assert_eq!(company_of(app, by_manager).await, t.m1_private);
    assert_eq!(company_of(app, by_admin).await, t.m2_private);
    t.manager.get("/contacts").await;
    let page = t
        .manager
        .post(
            &format!("/contacts/{}/edit", t.contacts[0]),
            &[("company", "员工一私有公司"), ("name", "经理改名")],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(
        app.text(&format!(
            "SELECT name FROM contacts WHERE id = {}",
            t.contacts[0]
        ))
        .await,
        "经理改名"
    );
    t.admin.get("/contacts").await;
    let page = t
        .admin
        .post(&format!("/contacts/{theirs}/delete"), &[])
        .await;
    assert_eq!(page.status, 303);
    assert_eq!(
        app.scalar(&format!(
            "SELECT count(*) FROM contacts WHERE id = {theirs}"
        ))
        .await,
        0
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_new_contact_form_prefills_only_a_visible_company() {
    let team = Team::new().await;
    let t = &team;
    let other = t
        .app
        .signup("乙方集团", "乙方管理员", "admin@cother.test")
        .await;
    let foreign = create_company(&other, "乙方公开客户有限公司", "public").await;

    for (who, client, id, expected) in [
        ("member1", &t.member1, t.m1_private, "员工一私有公司"),
        ("member1", &t.member1, t.m2_public, "员工二公开公司"),
        ("member1", &t.member1, t.m2_private, ""),
        ("member1", &t.member1, t.admin_private, ""),
        ("member1", &t.member1, foreign, ""),
        ("member1", &t.member1, foreign + 1000, ""),
        ("manager", &t.manager, t.m1_private, "员工一私有公司"),
        ("manager", &t.manager, t.m2_private, ""),
        ("admin", &t.admin, t.m2_private, "员工二私有公司"),
        ("admin", &t.admin, foreign, ""),
    ] {
        let page = client.get(&format!("/contacts/new?company={id}")).await;
        assert_eq!(page.status, 200, "{who} company={id}");
        assert_eq!(
            page.input_value("company").as_deref(),
            Some(expected),
            "{who} company={id}"
        );
        if expected.is_empty() {
            let name = t
                .app
                .text(&format!(
                    "SELECT coalesce((SELECT name FROM companies WHERE id = {id}), '')"
                ))
                .await;
            assert!(
                name.is_empty() || !page.body.contains(&name),
                "{who}: {name} is not revealed"
            );
        }
    }

    // The prefilled form saves at that company.
    let page = t
        .member1
        .get(&format!("/contacts/new?company={}", t.m1_public))
        .await;
    let company = page.input_value("company").unwrap_or_default();
    let page = t
        .member1
        .post("/contacts/new", &[("company", &company), ("name", "预填")])
        .await;
    let id = redirected_contact(&page, "prefilled");
    assert_eq!(company_of(&t.app, id).await, t.m1_public);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_autocomplete_offers_only_visible_companies_containing_the_text() {
    let app = TestApp::start().await;
    let admin = app.signup("联想公司", "管理员", "admin@auto.test").await;
    app.create_user(&admin, "甲", "one@auto.test", "member", None)
        .await;
    app.create_user(&admin, "乙", "two@auto.test", "member", None)
        .await;
    let one = app.login_ok("one@auto.test").await;
    let two = app.login_ok("two@auto.test").await;
    let other = app
        .signup("乙方集团", "乙方管理员", "admin@auto-other.test")
        .await;

    create_company(&one, "北京甲方科技有限公司", "private").await;
    create_company(&two, "北京乙方贸易有限公司", "private").await;
    create_company(&two, "北京丙方物流有限公司", "public").await;
    create_company(&admin, "上海丁方咨询有限公司", "private").await;
    create_company(&admin, "南京北京路商店", "public").await;
    create_company(&other, "北京外部集团有限公司", "public").await;
    create_company(&other, "北京外部私有有限公司", "private").await;

    let set = |v: Vec<String>| v.into_iter().collect::<HashSet<String>>();
    let names = |v: &[&str]| {
        v.iter()
            .map(|s| (*s).to_owned())
            .collect::<HashSet<String>>()
    };

    assert_eq!(
        set(autocomplete(&one, "北京").await),
        names(&[
            "北京甲方科技有限公司",
            "北京丙方物流有限公司",
            "南京北京路商店"
        ]),
        "member one"
    );
    assert_eq!(
        set(autocomplete(&two, "北京").await),
        names(&[
            "北京乙方贸易有限公司",
            "北京丙方物流有限公司",
            "南京北京路商店"
        ]),
        "member two"
    );
    assert_eq!(
        set(autocomplete(&admin, "北京").await),
        names(&[
            "北京甲方科技有限公司",
            "北京乙方贸易有限公司",
            "北京丙方物流有限公司",
            "南京北京路商店",
        ]),
        "admin"
    );
    assert_eq!(
        set(autocomplete(&other, "北京").await),
        names(&["北京外部集团有限公司", "北京外部私有有限公司"]),
        "the other tenant"
    );
    assert_eq!(
        autocomplete(&one, "甲方").await,
        vec!["北京甲方科技有限公司".to_owned()]
    );
    assert_eq!(
        autocomplete(&one, " 物流 ").await,
        vec!["北京丙方物流有限公司".to_owned()]
    );
    for nothing in ["上海", "乙方", "外部", "不存在"] {
        assert!(
            autocomplete(&one, nothing).await.is_empty(),
            "member one: {nothing}"
        );
    }
    for empty in ["", "   "] {
        let path = format!("/customers/autocomplete?company={}", enc(empty));
        let page = one.get(&path).await;
        assert_eq!(page.status, 200);
        assert_eq!(page.body.trim(), "", "{empty:?}: no markup");
    }
    let page = one.get("/customers/autocomplete").await;
    assert_eq!(page.status, 200);
    assert_eq!(page.body.trim(), "", "no parameter: no markup");

    // At most ten suggestions.
    for n in 0..12 {
        create_company(&one, &format!("北京分号{n:02}"), "private").await;
    }
    assert_eq!(autocomplete(&one, "北京分号").await.len(), 10);
}

#[tokio::test(flavor = "multi_thread")]
async fn editing_a_contact_keeps_its_fields_and_may_move_it_to_another_manageable_company() {
    let team = Team::new().await;
    let t = &team;
    let app = &t.app;
    let id = t.contacts[0]; // 甲联系人 at member1's private company

    let form = t.member1.get(&format!("/contacts/{id}/edit")).await;
    assert_eq!(form.status, 200);
    assert_eq!(form.texts("h1"), vec![zh("contacts.edit")]);
    assert_eq!(
        form.input_value("company").as_deref(),
        Some("员工一私有公司")
    );
    assert_eq!(form.input_value("name").as_deref(), Some("甲联系人"));
    assert_eq!(
        form.attrs("form.contact-form", "action"),
        vec![format!("/contacts/{id}/edit")]
    );

    let before = snapshot(app, "contacts", t.tenant).await;
    // Refused: a company member1 sees but does not manage; a hidden one; no name.
    for (company, name, field, key) in [
        (
            "员工二公开公司",
            "甲联系人",
            "company",
            "contacts.company_not_yours",
        ),
        (
            "员工二私有公司",
            "甲联系人",
            "company",
            "contacts.company_unknown",
        ),
        ("员工一私有公司", "", "name", "form.required"),
    ] {
        let fields = [("company", company), ("name", name), ("title", "总监")];
        let page = t
            .member1
            .post(&format!("/contacts/{id}/edit"), &fields)
            .await;
        assert_eq!(page.status, 422, "{company}/{name}");
        assert_eq!(page.field_error(field), Some(zh(key)), "{company}/{name}");
        assert_kept(&page, &fields);
    }
    assert_eq!(snapshot(app, "contacts", t.tenant).await, before);

    // Moved to member1's public company (typed by a key variant), fields changed.
    let page = t
        .member1
        .post(
            &format!("/contacts/{id}/edit"),
            &[
                ("company", "员工一公开"),
                ("name", "甲联系人新"),
                ("title", "总监"),
                ("email", "JIA@example.cn"),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(page.location, Some(format!("/contacts/{id}")));
    assert_eq!(
        app.text(&format!(
            "SELECT concat_ws('|', company_id, name, title, email, mobile) FROM contacts WHERE id = {id}"
        ))
        .await,
        format!("{}|甲联系人新|总监|jia@example.cn|", t.m1_public)
    );
    assert_eq!(
        company_contacts(&t.member1, t.m1_private).await,
        Vec::<String>::new(),
        "no longer at the old company"
    );
    let at_new = company_contacts(&t.member1, t.m1_public).await;
    assert!(at_new.contains(&format!("/contacts/{id}")), "{at_new:?}");
    assert_eq!(at_new.len(), 2);
    let detail = t.member1.get(&format!("/contacts/{id}")).await;
    assert_eq!(
        detail.attrs(".contact-facts a", "href"),
        vec![format!("/customers/{}", t.m1_public)]
    );
    // Now public: member2 sees it, but still may not change it.
    assert_eq!(t.member2.get(&format!("/contacts/{id}")).await.status, 200);
    assert_eq!(
        t.member2.get(&format!("/contacts/{id}/edit")).await.status,
        403
    );

    // The manager moves it on to their own company; the admin to anyone's.
    t.manager.get("/contacts").await;
    let page = t
        .manager
        .post(
            &format!("/contacts/{id}/edit"),
            &[("company", "经理私有公司"), ("name", "甲联系人新")],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(company_of(app, id).await, t.mgr_private);
    assert_eq!(t.member1.get(&format!("/contacts/{id}")).await.status, 404);
    t.admin.get("/contacts").await;
    let page = t
        .admin
        .post(
            &format!("/contacts/{id}/edit"),
            &[("company", "员工二私有公司"), ("name", "甲联系人新")],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(company_of(app, id).await, t.m2_private);
}

#[tokio::test(flavor = "multi_thread")]
async fn deleting_a_contact_asks_first_then_removes_it() {
    let team = Team::new().await;
    let t = &team;
    let app = &t.app;
    let id = t.contacts[1]; // 乙联系人 at member1's public company
    let company = t.m1_public;

    let confirm = t.member1.get(&format!("/contacts/{id}/delete")).await;
    assert_eq!(confirm.status, 200);
    assert_eq!(confirm.texts("h1"), vec![zh("contacts.delete_title")]);
    let alert = confirm.texts(".alert-danger").join(" ");
    assert!(alert.contains("乙联系人"), "{alert}");
    assert_eq!(
        confirm.attrs(&format!("form[action='/contacts/{id}/delete']"), "method"),
        vec!["post".to_owned()]
    );
    assert_eq!(
        app.scalar(&format!("SELECT count(*) FROM contacts WHERE id = {id}"))
            .await,
        1,
        "opening the confirmation deletes nothing"
    );

    let page = t.member1.post(&format!("/contacts/{id}/delete"), &[]).await;
    assert_eq!(page.status, 303);
    assert_eq!(page.location, Some(format!("/customers/{company}")));
    assert_eq!(
        app.scalar(&format!("SELECT count(*) FROM contacts WHERE id = {id}"))
            .await,
        0
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT count(*) FROM companies WHERE id = {company}"
        ))
        .await,
        1,
        "the company stays"
    );
    assert_eq!(t.member1.get(&format!("/contacts/{id}")).await.status, 404);
    assert!(!listed(&t.member1, "/contacts").await.contains(&id));
    assert!(company_contacts(&t.member1, company).await.is_empty());
    assert_eq!(
        t.member1
            .post(&format!("/contacts/{id}/delete"), &[])
            .await
            .status,
        404,
        "a second delete finds nothing"
    );
    assert_eq!(contacts_of(app, t.tenant).await, 5);
}

#[tokio::test(flavor = "multi_thread")]
async fn deleting_a_company_deletes_its_contacts_in_the_same_transaction() {
    let app = TestApp::start().await;
    let admin = app.signup("级联公司", "管理员", "admin@cascade.test").await;
    let tenant = app.tenant_of("admin@cascade.test").await;
    let doomed = create_company(&admin, "将删除的公司", "public").await;
    let kept = create_company(&admin, "保留的公司", "public").await;
    let a = create_contact(&admin, "将删除的公司", "甲").await;
    let b = create_contact(&admin, "将删除的公司", "乙").await;
    let c = create_contact(&admin, "保留的公司", "丙").await;

    // If deleting the contacts fails, the company is not deleted either.
    exec(
        &app,
        "CREATE FUNCTION test_refuse_contact_delete() RETURNS trigger LANGUAGE plpgsql AS \
         $$ BEGIN RAISE EXCEPTION 'refused by test'; END $$",
    )
    .await;
    exec(
        &app,
        "CREATE TRIGGER test_refuse BEFORE DELETE ON contacts \
         FOR EACH ROW EXECUTE FUNCTION test_refuse_contact_delete()",
    )
    .await;
    admin.get(&format!("/customers/{doomed}/delete")).await;
    let page = admin
        .post(&format!("/customers/{doomed}/delete"), &[])
        .await;
    assert_eq!(page.status, 500, "the refused cascade fails the request");
    assert_eq!(
        app.scalar(&format!(
            "SELECT count(*) FROM companies WHERE id = {doomed}"
        ))
        .await,
        1,
        "rolled back: the company is still there"
    );
    assert_eq!(contacts_of(&app, tenant).await, 3);
    exec(&app, "DROP TRIGGER test_refuse ON contacts").await;

    admin.get(&format!("/customers/{doomed}/delete")).await;
    let page = admin
        .post(&format!("/customers/{doomed}/delete"), &[])
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(
        app.scalar(&format!(
            "SELECT count(*) FROM contacts WHERE id IN ({a}, {b})"
        ))
        .await,
        0,
        "its contacts are gone"
    );
    assert_eq!(
        app.scalar(&format!("SELECT company_id FROM contacts WHERE id = {c}"))
            .await,
        kept,
        "other companies' contacts stay"
    );
    for id in [a, b] {
        assert_eq!(admin.get(&format!("/contacts/{id}")).await.status, 404);
    }
    assert_eq!(listed(&admin, "/contacts").await, HashSet::from([c]));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_contact_list_pages_by_keyset_without_gaps_or_repeats() {
    let app = TestApp::start().await;
    let admin = app.signup("分页公司", "管理员", "admin@cpages.test").await;
    let tenant = app.tenant_of("admin@cpages.test").await;
    let admin_id = app.user_id("admin@cpages.test").await;
    app.create_user(&admin, "员工", "member@cpages.test", "member", None)
        .await;
    let member = app.login_ok("member@cpages.test").await;
    let public = create_company(&admin, "分页公开公司", "public").await;
    let private = create_company(&admin, "分页私有公司", "private").await;
    exec(
        &app,
        &format!(
            "INSERT INTO contacts (tenant_id, company_id, name, created_by) \
             SELECT {tenant}, {public}, '分页联系人' || lpad(n::text, 3, '0'), {admin_id} \
             FROM generate_series(1, 55) n"
        ),
    )
    .await;
    let all: Vec<i64> = app
        .text(&format!(
            "SELECT string_agg(id::text, ',' ORDER BY id DESC) FROM contacts WHERE tenant_id = {tenant}"
        ))
        .await
        .split(',')
        .map(|id| id.parse().expect("id"))
        .collect();
    assert_eq!(all.len(), 55);
    // Five newer ones at a private company, which the member must not see.
    exec(
        &app,
        &format!(
            "INSERT INTO contacts (tenant_id, company_id, name, created_by) \
             SELECT {tenant}, {private}, '私有联系人' || n, {admin_id} FROM generate_series(1, 5) n"
        ),
    )
    .await;

    for path in [
        "/contacts".to_owned(),
        format!("/contacts?q={}", enc("分页")),
    ] {
        let first = member.get(&path).await;
        assert_eq!(first.status, 200);
        let first_ids = row_ids(&first);
        assert_eq!(first_ids, all[..50].to_vec(), "{path}: newest 50 first");
        let next = first.attrs("a[href^='/contacts?before=']", "href");
        assert_eq!(next.len(), 1, "{path}: one next link");
        assert!(
            next[0].starts_with(&format!("/contacts?before={}&", all[49])),
            "{}",
            next[0]
        );
        assert_eq!(
            first.texts("a[href^='/contacts?before=']"),
            vec![zh("common.next_page")]
        );
        let second = member.get(&next[0]).await;
        assert_eq!(second.status, 200);
        let second_ids = row_ids(&second);
        assert_eq!(second_ids, all[50..].to_vec(), "{path}: the last 5");
        assert!(
            second
                .attrs("a[href^='/contacts?before=']", "href")
                .is_empty(),
            "no next link on the last page"
        );
        if path.contains("q=") {
            assert_eq!(second.input_value("q").as_deref(), Some("分页"));
        }
        let seen: HashSet<i64> = first_ids.iter().chain(&second_ids).copied().collect();
        assert_eq!(seen.len(), 55, "no duplicates, nothing missing");
    }

    // The admin also sees the private ones: 50 then 10.
    let first = admin.get("/contacts").await;
    let mut ids = row_ids(&first);
    assert_eq!(ids.len(), 50);
    let next = first.attrs("a[href^='/contacts?before=']", "href");
    assert_eq!(next.len(), 1);
    ids.extend(row_ids(&admin.get(&next[0]).await));
    assert_eq!(ids.len(), 60);
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 60);
}

#[tokio::test(flavor = "multi_thread")]
async fn another_tenants_contacts_do_not_exist_for_anyone_here() {
    let team = Team::new().await;
    let t = &team;
    let app = &t.app;
    let other = app
        .signup("乙方集团", "乙方管理员", "admin@cforeign.test")
        .await;
    let other_tenant = app.tenant_of("admin@cforeign.test").await;
    create_company(&other, "乙方公开客户有限公司", "public").await;
    create_company(&other, "乙方私有客户有限公司", "private").await;
    let theirs = [
        create_contact(&other, "乙方公开客户有限公司", "乙方公开联系人").await,
        create_contact(&other, "乙方私有客户有限公司", "乙方私有联系人").await,
    ];
    let before = snapshot(app, "contacts", other_tenant).await;
    let ours_before = snapshot(app, "contacts", t.tenant).await;
    let missing = theirs.iter().max().copied().unwrap_or_default() + 1000;

    for (who, client) in t.roles() {
        let nothing = client.get(&format!("/contacts/{missing}")).await;
        assert_eq!(nothing.status, 404);
        for id in theirs {
            for suffix in ["", "/edit", "/delete"] {
                let path = format!("/contacts/{id}{suffix}");
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
            client.get("/contacts").await;
            for company in ["员工一公开公司", "乙方公开客户有限公司"] {
                let page = client
                    .post(
                        &format!("/contacts/{id}/edit"),
                        &[("company", company), ("name", "接管")],
                    )
                    .await;
                assert_eq!(page.status, 404, "{who} POST edit {id}");
            }
            let page = client.post(&format!("/contacts/{id}/delete"), &[]).await;
            assert_eq!(page.status, 404, "{who} POST delete {id}");
        }
        let mine = listed(client, "/contacts").await;
        assert!(
            !mine.contains(&theirs[0]) && !mine.contains(&theirs[1]),
            "{who}: list"
        );
        assert!(search(client, "乙方").await.is_empty(), "{who}: search");
        // Their companies cannot be typed here.
        let page = submit_new(
            client,
            &[("company", "乙方公开客户有限公司"), ("name", "越界")],
        )
        .await;
        assert_eq!(page.status, 422, "{who}");
        assert_eq!(
            page.field_error("company"),
            Some(zh("contacts.company_unknown")),
            "{who}"
        );
        assert!(autocomplete(client, "乙方").await.is_empty(), "{who}");
    }
    assert_eq!(snapshot(app, "contacts", other_tenant).await, before);
    assert_eq!(snapshot(app, "contacts", t.tenant).await, ours_before);
    assert_eq!(
        listed(&other, "/contacts").await,
        HashSet::from([theirs[0], theirs[1]])
    );
}
