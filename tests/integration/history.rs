//! Record history on the detail page and the 最新动态 feed on the home page.

use kehu_tests::TestApp;

use crate::support::{add_field, zh};

#[tokio::test(flavor = "multi_thread")]
async fn every_change_is_recorded_with_who_and_the_values_before_and_after() {
    let app = TestApp::start().await;
    let admin = app.signup("历史公司", "王管理", "admin@history.test").await;
    let industry = add_field(&app, &admin, "company", "行业", "text", "").await;
    let page = admin
        .post(
            "/customers/new",
            &[("name", "北京星辰科技有限公司"), ("phone", "010-1111")],
        )
        .await;
    assert_eq!(page.status, 303);
    let company = app
        .scalar("SELECT id FROM companies WHERE name = '北京星辰科技有限公司'")
        .await;
    let page = admin
        .post(
            &format!("/customers/{company}/edit"),
            &[
                ("name", "北京星辰科技有限公司"),
                ("phone", "010-2222"),
                ("visibility", "public"),
                (&industry, "制造业"),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    // Saving without a change records nothing.
    let page = admin
        .post(
            &format!("/customers/{company}/edit"),
            &[
                ("name", "北京星辰科技有限公司"),
                ("phone", "010-2222"),
                ("visibility", "public"),
                (&industry, "制造业"),
            ],
        )
        .await;
    assert_eq!(page.status, 303);
    let edited = app
        .text(&format!(
            "SELECT updated_at::text FROM companies WHERE id = {company}"
        ))
        .await;
    let page = admin
        .post(
            "/contacts/new",
            &[("company", "北京星辰科技有限公司"), ("name", "李雷")],
        )
        .await;
    assert_eq!(page.status, 303);
    let page = admin
        .post(&format!("/customers/{company}/tags"), &[("name", "重点")])
        .await;
    assert_eq!(page.status, 303);
    admin.get(&format!("/customers/{company}")).await;
    let no_files: &[kehu_tests::client::FilePart<'_>] = &[];
    let page = admin
        .post_multipart(
            &format!("/customers/{company}/notes"),
            &[("body", "第一次拜访\n谈了报价")],
            no_files,
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);

    assert_eq!(
        app.text(&format!(
            "SELECT string_agg(action, ',' ORDER BY id) FROM company_events WHERE company_id = {company}"
        ))
        .await,
        "created,updated,contact_added,tagged,note_added"
    );
    let detail = admin.get(&format!("/customers/{company}")).await;
    let actions = detail.attrs("#company-history .event", "data-action");
    assert_eq!(
        actions,
        [
            "note_added",
            "tagged",
            "contact_added",
            "updated",
            "created"
        ]
    );
    let changes = detail.texts("#company-history .event-changes li");
    assert!(
        changes.contains(&"电话：010-1111 → 010-2222".to_owned()),
        "{changes:?}"
    );
    assert!(
        changes.contains(&"行业：— → 制造业".to_owned()),
        "{changes:?}"
    );
    assert!(
        changes.contains(&format!(
            "{}：{} → {}",
            zh("company.visibility"),
            zh("visibility.private"),
            zh("visibility.public")
        )),
        "{changes:?}"
    );
    assert_eq!(changes.len(), 3, "only what changed: {changes:?}");
    assert!(
        detail
            .texts("#company-history strong")
            .iter()
            .all(|who| who == "王管理")
    );
    assert!(
        detail
            .texts("#company-history .event-subject")
            .contains(&"“李雷”".to_owned())
    );
    assert!(
        detail
            .texts("#company-history .event-subject")
            .contains(&"“第一次拜访”".to_owned()),
        "a note's first line names it"
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT count(*) FROM companies WHERE id = {company} AND last_activity_at > created_at"
        ))
        .await,
        1,
        "activity moves last_activity_at"
    );
    assert_eq!(
        app.text(&format!(
            "SELECT updated_at::text FROM companies WHERE id = {company}"
        ))
        .await,
        edited,
        "a contact, a tag or a note is activity, not an edit of the company"
    );

    // Deleting the company takes its history with it.
    assert_eq!(
        admin
            .post(&format!("/customers/{company}/delete"), &[])
            .await
            .status,
        303
    );
    assert_eq!(app.scalar("SELECT count(*) FROM company_events").await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_home_feed_shows_only_changes_to_companies_the_user_may_see() {
    let app = TestApp::start().await;
    let admin = app.signup("动态公司", "管理员", "admin@feed.test").await;
    let empty = admin.get("/").await;
    assert!(empty.body.contains(&zh("home.activity_empty")));
    let boss = app
        .create_user(&admin, "经理", "boss@feed.test", "manager", None)
        .await;
    app.create_user(&admin, "小张", "zhang@feed.test", "member", Some(boss))
        .await;
    app.create_user(&admin, "小李", "li@feed.test", "member", None)
        .await;
    let zhang = app.login_ok("zhang@feed.test").await;
    let li = app.login_ok("li@feed.test").await;
    let manager = app.login_ok("boss@feed.test").await;
    for (who, name, visibility) in [
        (&zhang, "张的私有客户", "private"),
        (&zhang, "张的公开客户", "public"),
        (&li, "李的私有客户", "private"),
    ] {
        let page = who
            .post(
                "/customers/new",
                &[("name", name), ("visibility", visibility)],
            )
            .await;
        assert_eq!(page.status, 303);
    }
    let feed_of = |page: kehu_tests::client::Page| page.texts("#feed .event a");
    let seen = feed_of(li.get("/").await);
    assert_eq!(seen, ["李的私有客户", "张的公开客户"], "li: own + public");
    let seen = feed_of(manager.get("/").await);
    assert_eq!(
        seen,
        ["张的公开客户", "张的私有客户"],
        "the manager sees the report's records, not li's"
    );
    let seen = feed_of(admin.get("/").await);
    assert_eq!(seen, ["李的私有客户", "张的公开客户", "张的私有客户"]);
}

/// In English each contact and note event names the company it belongs to, in a
/// sentence ("added the contact “Li Lei” to Acme"), on the company's page and in the feed.
#[tokio::test(flavor = "multi_thread")]
async fn the_english_history_names_the_company_a_contact_was_added_to() {
    let app = TestApp::start().await;
    let admin = app
        .signup("英文历史公司", "Wang", "admin@history-en.test")
        .await;
    let page = admin
        .post("/customers/new", &[("name", "Acme Trading")])
        .await;
    assert_eq!(page.status, 303);
    let company = app
        .scalar("SELECT id FROM companies WHERE name = 'Acme Trading'")
        .await;
    let page = admin
        .post(
            "/contacts/new",
            &[("company", "Acme Trading"), ("name", "Li Lei")],
        )
        .await;
    assert_eq!(page.status, 303);
    let no_files: &[kehu_tests::client::FilePart<'_>] = &[];
    admin.get(&format!("/customers/{company}")).await;
    let page = admin
        .post_multipart(
            &format!("/customers/{company}/notes"),
            &[("body", "First visit")],
            no_files,
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let page = admin.post("/locale", &[("locale", "en")]).await;
    assert_eq!(page.status, 303);

    let detail = admin.get(&format!("/customers/{company}")).await;
    let event = |page: &kehu_tests::client::Page, action: &str| {
        page.texts(&format!("[data-action={action}] .event-text"))
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("a {action} event: {}", page.body))
    };
    assert_eq!(
        event(&detail, "contact_added"),
        "added the contact “Li Lei” to Acme Trading"
    );
    assert_eq!(
        event(&detail, "note_added"),
        "added the note “First visit” to Acme Trading"
    );
    assert_eq!(event(&detail, "created"), "created the customer");
    // The feed links the company inside the sentence, once.
    let home = admin.get("/").await;
    assert_eq!(
        event(&home, "contact_added"),
        "added the contact “Li Lei” to Acme Trading"
    );
    assert_eq!(
        home.attrs("[data-action=contact_added] a.event-company", "href"),
        [format!("/customers/{company}")]
    );
    assert_eq!(
        home.texts("[data-action=created]")[0]
            .matches("Acme Trading")
            .count(),
        1,
        "a phrase without the company is followed by it: {:?}",
        home.texts("[data-action=created]")
    );
    // Chinese keeps its word order: the phrase, then the company (in the feed), then who.
    admin.post("/locale", &[("locale", "zh-CN")]).await;
    let detail = admin.get(&format!("/customers/{company}")).await;
    assert_eq!(event(&detail, "contact_added"), zh("history.contact_added"));
    assert!(
        detail
            .texts("[data-action=contact_added] .event-subject")
            .contains(&"“Li Lei”".to_owned())
    );
}
