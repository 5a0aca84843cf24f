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
