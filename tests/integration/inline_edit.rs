//! 行内编辑 on the company page: one field at a time, same rules as the full form.

use kehu_tests::TestApp;

use crate::support::{add_field, zh};

#[tokio::test(flavor = "multi_thread")]
async fn a_field_edits_in_place_with_the_forms_rules_and_lands_in_the_history() {
    let app = TestApp::start().await;
    let admin = app.signup("行内公司", "管理员", "admin@inline.test").await;
    let level = add_field(&app, &admin, "company", "级别", "select", "A\nB").await;
    let page = admin
        .post(
            "/customers/new",
            &[("name", "星辰科技"), ("phone", "010-1")],
        )
        .await;
    assert_eq!(page.status, 303);
    let id = app
        .scalar("SELECT id FROM companies WHERE name = '星辰科技'")
        .await;

    // The page offers a pencil per field; the editor holds the current value.
    let detail = admin.get(&format!("/customers/{id}")).await;
    assert!(
        detail
            .attrs("#inline-phone .inline-edit", "hx-get")
            .contains(&format!("/customers/{id}/inline?field=phone"))
    );
    let editor = admin
        .get(&format!("/customers/{id}/inline?field=phone"))
        .await;
    assert_eq!(editor.status, 200);
    assert_eq!(
        editor.attrs("input[name=phone]", "value"),
        ["010-1"],
        "{}",
        editor.body
    );

    let saved = admin
        .post_htmx(
            &format!("/customers/{id}/inline"),
            &[("field", "phone"), ("phone", "021-2")],
        )
        .await;
    assert_eq!(saved.status, 200);
    assert_eq!(saved.texts(".inline-value"), ["021-2"]);
    assert_eq!(
        app.text(&format!("SELECT phone FROM companies WHERE id = {id}"))
            .await,
        "021-2"
    );
    assert_eq!(
        app.text(&format!(
            "SELECT changes::text FROM company_events WHERE company_id = {id} AND action = 'updated'"
        ))
        .await,
        r#"[{"after": "021-2", "field": "company.phone", "before": "010-1"}]"#
    );

    // A bad value comes back in the editor with its message; nothing changes.
    let refused = admin
        .post_htmx(
            &format!("/customers/{id}/inline"),
            &[("field", "email"), ("email", "not-an-email")],
        )
        .await;
    assert_eq!(refused.status, 200, "htmx swaps only 2xx");
    assert!(refused.body.contains(&zh("form.invalid_email")));
    assert_eq!(
        refused.attrs("input[name=email]", "value"),
        ["not-an-email"]
    );
    let refused = admin
        .post_htmx(
            &format!("/customers/{id}/inline"),
            &[("field", &level), (&level, "Z")],
        )
        .await;
    assert!(refused.body.contains(&zh("form.invalid_choice")));
    let saved = admin
        .post_htmx(
            &format!("/customers/{id}/inline"),
            &[("field", &level), (&level, "B")],
        )
        .await;
    assert_eq!(saved.texts(".inline-value"), ["B"]);
    assert_eq!(
        app.scalar(&format!(
            "SELECT count(*) FROM companies WHERE id = {id} AND email = '' AND custom->>'{}' = 'B'",
            level.trim_start_matches("cf_")
        ))
        .await,
        1
    );
    // Unknown fields are not found; cancel gives the value back.
    assert_eq!(
        admin
            .get(&format!("/customers/{id}/inline?field=name"))
            .await
            .status,
        404
    );
    let cancel = admin
        .get(&format!("/customers/{id}/inline?field=phone&cancel=1"))
        .await;
    assert_eq!(cancel.texts(".inline-value"), ["021-2"]);

    // A colleague who may see but not manage a public company gets no pencil and a 403.
    app.create_user(&admin, "小周", "zhou@inline.test", "member", None)
        .await;
    let page = admin
        .post(
            &format!("/customers/{id}/edit"),
            &[("name", "星辰科技"), ("visibility", "public")],
        )
        .await;
    assert_eq!(page.status, 303);
    let zhou = app.login_ok("zhou@inline.test").await;
    let detail = zhou.get(&format!("/customers/{id}")).await;
    assert_eq!(detail.status, 200);
    assert!(detail.attrs(".inline-edit", "hx-get").is_empty());
    assert_eq!(
        zhou.post_htmx(
            &format!("/customers/{id}/inline"),
            &[("field", "phone"), ("phone", "999")],
        )
        .await
        .status,
        403
    );
}

/// Without JavaScript the pencil is a plain link to the full edit form at its field (htmx
/// takes the click when JavaScript runs), on companies and opportunities alike.
#[tokio::test(flavor = "multi_thread")]
async fn without_javascript_the_pencil_links_to_the_edit_form_at_its_field() {
    let app = TestApp::start().await;
    let admin = app.signup("铅笔公司", "管理员", "admin@pencil.test").await;
    let level = add_field(&app, &admin, "company", "级别", "select", "A\nB").await;
    let page = admin
        .post(
            "/customers/new",
            &[("name", "铅笔科技"), ("phone", "010-1")],
        )
        .await;
    assert_eq!(page.status, 303);
    let id = app
        .scalar("SELECT id FROM companies WHERE name = '铅笔科技'")
        .await;
    let detail = admin.get(&format!("/customers/{id}")).await;
    for name in ["phone", "owner_id", level.as_str()] {
        let cell = format!("#inline-{name} a.inline-edit");
        assert_eq!(
            detail.attrs(&cell, "href"),
            [format!("/customers/{id}/edit#f-{name}")],
            "{name}"
        );
        assert_eq!(
            detail.attrs(&cell, "hx-get"),
            [format!("/customers/{id}/inline?field={name}")],
            "{name}: htmx still edits in place"
        );
    }
    // The link's target is the edit form, with the field it points at.
    let form = admin.get(&format!("/customers/{id}/edit")).await;
    assert_eq!(form.status, 200);
    assert_eq!(form.input_value("phone").as_deref(), Some("010-1"));
    assert_eq!(form.attrs(&format!("#f-{level}"), "id").len(), 1);

    let tenant = app.tenant_of("admin@pencil.test").await;
    let owner = app.user_id("admin@pencil.test").await;
    let deal = kehu_tests::opportunities::OpportunityBuilder::new(tenant, owner)
        .name("铅笔大单")
        .insert(&app)
        .await;
    let detail = admin.get(&format!("/opportunities/{deal}")).await;
    assert_eq!(
        detail.attrs("#inline-amount a.inline-edit", "href"),
        [format!("/opportunities/{deal}/edit#f-amount")]
    );
    let form = admin.get(&format!("/opportunities/{deal}/edit")).await;
    assert_eq!(form.status, 200);
    assert_eq!(form.attrs("#f-amount", "name"), ["amount"]);
}
