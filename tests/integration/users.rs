//! 系统设置 → 用户管理: invitations, creating users, roles and managers, disable/enable,
//! unlock, password resets, the audit log, and admin-only access.

use std::time::Duration;

use kehu_tests::{Client, PASSWORD, TestApp};
use scraper::{Html, Selector};

use crate::support::{OTHER_PASSWORD, invite, latest_link, lock_out, signed_in, zh};

/// Texts matching `css` in an htmx fragment made of table rows.
fn row_texts(fragment: &str, css: &str) -> Vec<String> {
    let doc = Html::parse_fragment(&format!("<table><tbody>{fragment}</tbody></table>"));
    let sel = Selector::parse(css).expect("selector");
    doc.select(&sel)
        .map(|e| e.text().collect::<String>().trim().to_owned())
        .collect()
}

async fn edit(
    admin: &Client,
    id: i64,
    name: &str,
    role: &str,
    reports_to: Option<i64>,
) -> kehu_tests::client::Page {
    admin.get(&format!("/admin/users/{id}")).await;
    let manager = reports_to.map(|m| m.to_string()).unwrap_or_default();
    admin
        .post(
            &format!("/admin/users/{id}"),
            &[("name", name), ("role", role), ("reports_to", &manager)],
        )
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invited_user_sets_a_password_through_the_emailed_link_and_is_signed_in() {
    let app = TestApp::start().await;
    let admin = app.signup("邀请公司", "邀请人", "admin@invite.test").await;
    app.drain_jobs().await;
    let (id, link) = invite(&app, &admin, "新同事", "new@invite.test").await;
    assert!(
        link.starts_with(&format!("{}/invite/", app.base_url)),
        "{link}"
    );
    let mail = app.smtp.messages_to("new@invite.test");
    assert_eq!(mail.len(), 1);
    assert!(
        mail[0].subject().contains("邀请人"),
        "{}",
        mail[0].subject()
    );
    assert!(mail[0].subject().contains("邀请公司"));
    assert!(mail[0].body().contains("新同事"));
    assert_eq!(
        app.text(&format!(
            "SELECT status || '|' || (password_hash IS NULL)::text FROM users WHERE id = {id}"
        ))
        .await,
        "invited|true"
    );
    let token = link.rsplit('/').next().expect("token");
    assert_eq!(
        app.scalar(&format!(
            "SELECT count(*) FROM invitations WHERE user_id = {id} AND token_hash <> '{token}'"
        ))
        .await,
        1,
        "only a hash of the token is stored"
    );

    let invitee = app.client();
    let form = invitee.get(&link).await;
    assert_eq!(form.status, 200);
    assert_eq!(form.texts("h1"), vec![zh("invite.title")]);
    assert_eq!(
        form.attrs("#f-email-ro", "value"),
        vec!["new@invite.test".to_owned()]
    );

    let page = invitee
        .post(
            &link,
            &[("password", PASSWORD), ("confirm", OTHER_PASSWORD)],
        )
        .await;
    assert_eq!(page.status, 422);
    assert_eq!(page.field_error("confirm"), Some(zh("password.mismatch")));
    let page = invitee
        .post(&link, &[("password", "short"), ("confirm", "short")])
        .await;
    assert_eq!(page.status, 422);
    assert_eq!(page.field_error("password"), Some(zh("password.too_short")));
    assert_eq!(
        app.text(&format!("SELECT status FROM users WHERE id = {id}"))
            .await,
        "invited"
    );

    let page = invitee
        .post(
            &link,
            &[("password", OTHER_PASSWORD), ("confirm", OTHER_PASSWORD)],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(page.location.as_deref(), Some("/"));
    let home = invitee.get("/").await;
    assert_eq!(home.status, 200);
    assert_eq!(
        home.texts(".app-user .fw-semibold"),
        vec!["新同事".to_owned()]
    );
    assert_eq!(
        app.text(&format!("SELECT status FROM users WHERE id = {id}"))
            .await,
        "active"
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT count(*) FROM invitations WHERE user_id = {id} AND used_at IS NOT NULL"
        ))
        .await,
        1
    );

    // The link works once.
    let again = app.client();
    let page = again.get(&link).await;
    assert_eq!(page.status, 404);
    assert!(page.body.contains(&zh("invite.invalid_title")));
    again.get("/login").await;
    let page = again
        .post(&link, &[("password", PASSWORD), ("confirm", PASSWORD)])
        .await;
    assert_eq!(page.status, 404);
    let (_, login) = app.login("new@invite.test", PASSWORD).await;
    assert_eq!(login.status, 401, "the second use did not set a password");
    let (_, login) = app.login("new@invite.test", OTHER_PASSWORD).await;
    assert_eq!(login.status, 303, "the chosen password works");
}

#[tokio::test(flavor = "multi_thread")]
async fn reinviting_sends_a_new_link_and_the_old_one_stops_working() {
    let app = TestApp::start().await;
    let admin = app
        .signup("重发公司", "管理员", "admin@reinvite.test")
        .await;
    let (id, first) = invite(&app, &admin, "慢同事", "slow@reinvite.test").await;

    admin.get("/admin/users").await;
    let page = admin
        .post(&format!("/admin/users/{id}/reinvite"), &[])
        .await;
    assert_eq!(page.status, 303);
    assert_eq!(page.location.as_deref(), Some("/admin/users"));
    app.drain_jobs().await;
    assert_eq!(app.smtp.messages_to("slow@reinvite.test").len(), 2);
    let second = latest_link(&app, "slow@reinvite.test", "/invite/");
    assert_ne!(first, second);

    let invitee = app.client();
    assert_eq!(
        invitee.get(&first).await.status,
        404,
        "the old link is dead"
    );
    assert_eq!(invitee.get(&second).await.status, 200);
    let page = invitee
        .post(
            &second,
            &[("password", OTHER_PASSWORD), ("confirm", OTHER_PASSWORD)],
        )
        .await;
    assert_eq!(page.status, 303);
    assert_eq!(
        app.scalar(&format!(
            "SELECT count(*) FROM audit_log WHERE action = 'user_invited' AND target_user_id = {id}"
        ))
        .await,
        2
    );

    // Only invited users can be reinvited.
    let page = admin
        .post(&format!("/admin/users/{id}/reinvite"), &[])
        .await;
    assert_eq!(page.status, 404);
    app.drain_jobs().await;
    assert_eq!(app.smtp.messages_to("slow@reinvite.test").len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_invitation_of_a_disabled_user_is_refused_every_time() {
    let app = TestApp::start().await;
    let admin = app
        .signup("停用邀请公司", "管理员", "admin@gone.test")
        .await;
    let (id, link) = invite(&app, &admin, "离职者", "gone@gone.test").await;
    let page = admin.post(&format!("/admin/users/{id}/disable"), &[]).await;
    assert_eq!(page.status, 303);
    // Several requests at once, so the pool holds several idle connections.
    let u = "/admin/users";
    let warm = tokio::join!(
        admin.get(u),
        admin.get(u),
        admin.get(u),
        admin.get(u),
        admin.get(u),
        admin.get(u),
        admin.get(u),
        admin.get(u)
    );
    assert_eq!(warm.0.status, 200);
    assert_eq!(warm.7.status, 200);
    let visitor = app.client();
    for n in 1..=4 {
        let page = tokio::time::timeout(Duration::from_secs(10), visitor.get(&link))
            .await
            .unwrap_or_else(|_| panic!("opening the link (visit {n}) hung"));
        assert_eq!(page.status, 404, "visit {n}");
    }
    visitor.get("/login").await;
    let page = tokio::time::timeout(
        Duration::from_secs(10),
        visitor.post(
            &link,
            &[("password", OTHER_PASSWORD), ("confirm", OTHER_PASSWORD)],
        ),
    )
    .await
    .expect("submitting the link hung");
    assert_eq!(page.status, 404);
    assert_eq!(
        app.text(&format!(
            "SELECT status || '|' || (password_hash IS NULL)::text FROM users WHERE id = {id}"
        ))
        .await,
        "disabled|true"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_creates_a_user_who_signs_in_once_they_confirm_the_address() {
    let app = TestApp::start().await;
    let admin = app.signup("直建公司", "管理员", "admin@create.test").await;
    let form = admin.get("/admin/users/new").await;
    assert_eq!(form.status, 200);
    assert_eq!(form.input_value("password").as_deref(), Some(""));
    assert!(form.body.contains(&zh("users.create_intro")));
    let page = admin
        .post(
            "/admin/users/new",
            &[
                ("name", "直建员工"),
                ("email", "Direct@Create.test"),
                ("role", "manager"),
                ("reports_to", ""),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let id = app.user_id("direct@create.test").await;
    // Until the address is confirmed the user waits and cannot sign in.
    assert_eq!(
        app.text(&format!(
            "SELECT email || '|' || role || '|' || status || '|' || \
                    (email_confirmed_at IS NULL)::text FROM users WHERE id = {id}"
        ))
        .await,
        "direct@create.test|manager|invited|true"
    );
    let list = admin.get("/admin/users").await;
    let row = list.texts(&format!("tr#user-{id} td"));
    assert_eq!(row[0], "直建员工");
    assert_eq!(row[1], "direct@create.test");
    assert_eq!(row[2], zh("role.manager"));
    assert_eq!(row[4], zh("status.invited"));
    let (_, login) = app.login("direct@create.test", PASSWORD).await;
    assert_eq!(login.status, 401, "not before the address is confirmed");
    assert_eq!(
        app.scalar(&format!(
            "SELECT count(*) FROM audit_log WHERE action = 'user_created' AND target_user_id = {id}"
        ))
        .await,
        1
    );
    app.drain_jobs().await;
    let mail = app.smtp.all_messages_to("direct@create.test");
    assert_eq!(mail.len(), 1, "one confirmation email");
    assert!(mail[0].is_account_confirmation());
    assert!(
        mail[0].subject().contains("直建公司"),
        "{}",
        mail[0].subject()
    );
    let link = mail[0]
        .link(&format!("{}/invite/", app.base_url))
        .expect("a confirmation link");

    // The link shows the address and one button; no password is asked for.
    let person = app.client();
    let page = person.get(&link).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.texts("h1"), vec![zh("invite.confirm_title")]);
    assert!(page.input_value("password").is_none());
    let page = person.post(&link, &[]).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.texts("h1"), vec![zh("invite.confirmed_title")]);
    assert!(!signed_in(&person).await, "they sign in with the password");
    assert_eq!(
        app.text(&format!("SELECT status FROM users WHERE id = {id}"))
            .await,
        "active"
    );
    assert_eq!(person.get(&link).await.status, 404, "the link works once");
    let manager = app.login_ok("direct@create.test").await;
    assert!(signed_in(&manager).await, "with the admin's password");
}

#[tokio::test(flavor = "multi_thread")]
async fn creating_a_user_with_bad_input_keeps_what_was_typed() {
    let app = TestApp::start().await;
    let admin = app.signup("校验公司", "管理员", "admin@check.test").await;
    app.signup("别家公司", "别家管理员", "other@elsewhere.test")
        .await;
    app.create_user(&admin, "已有员工", "taken@check.test", "member", None)
        .await;

    for email in ["TAKEN@check.test", "admin@check.test"] {
        admin.get("/admin/users/new").await;
        let page = admin
            .post(
                "/admin/users/new",
                &[
                    ("name", "重名员工"),
                    ("email", email),
                    ("role", "manager"),
                    ("reports_to", ""),
                    ("password", PASSWORD),
                ],
            )
            .await;
        assert_eq!(page.status, 422, "{email}");
        assert_eq!(
            page.field_error("email"),
            Some(zh("users.email_in_tenant")),
            "{email}"
        );
        assert_eq!(page.input_value("name").as_deref(), Some("重名员工"));
        assert_eq!(page.input_value("email").as_deref(), Some(email));
        assert_eq!(
            page.attrs("#f-role option[selected]", "value"),
            vec!["manager".to_owned()]
        );
    }
    admin.get("/admin/users/new").await;
    let page = admin
        .post(
            "/admin/users/new",
            &[
                ("name", ""),
                ("email", "bad-email"),
                ("role", "owner"),
                ("reports_to", "999999"),
                ("password", "password123"),
            ],
        )
        .await;
    assert_eq!(page.status, 422);
    assert_eq!(page.field_error("name"), Some(zh("form.required")));
    assert_eq!(page.field_error("email"), Some(zh("form.invalid_email")));
    assert_eq!(
        page.field_error("password"),
        Some(zh("password.too_common"))
    );
    let select_errors = page.texts(".invalid-feedback");
    assert!(
        select_errors.contains(&zh("form.invalid_choice")),
        "{select_errors:?}"
    );
    assert_eq!(page.input_value("email").as_deref(), Some("bad-email"));
    assert_eq!(app.scalar("SELECT count(*) FROM users").await, 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn changing_a_role_is_saved_and_audited_with_from_and_to() {
    let app = TestApp::start().await;
    let admin = app.signup("角色公司", "管理员", "admin@role.test").await;
    let id = app
        .create_user(&admin, "升职员工", "up@role.test", "member", None)
        .await;
    let page = edit(&admin, id, "升职员工", "manager", None).await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(
        app.text(&format!("SELECT role FROM users WHERE id = {id}"))
            .await,
        "manager"
    );
    assert_eq!(
        app.text(&format!(
            "SELECT detail::text FROM audit_log WHERE action = 'role_changed' AND target_user_id = {id}"
        ))
        .await,
        r#"{"to": "manager", "from": "member"}"#
    );
    // Saving without a change writes nothing.
    edit(&admin, id, "升职员工", "manager", None).await;
    assert_eq!(
        app.scalar("SELECT count(*) FROM audit_log WHERE action = 'role_changed'")
            .await,
        1
    );
    let member = app.login_ok("up@role.test").await;
    let home = member.get("/").await;
    assert_eq!(home.texts(".app-user .badge"), vec![zh("role.manager")]);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_manager_a_user_reports_to_is_saved_shown_and_audited() {
    let app = TestApp::start().await;
    let admin = app.signup("汇报公司", "管理员", "admin@reports.test").await;
    let boss = app
        .create_user(&admin, "销售经理", "boss@reports.test", "manager", None)
        .await;
    let rep = app
        .create_user(&admin, "销售代表", "rep@reports.test", "member", Some(boss))
        .await;
    assert_eq!(
        app.scalar(&format!("SELECT reports_to FROM users WHERE id = {rep}"))
            .await,
        boss
    );
    let list = admin.get("/admin/users").await;
    assert_eq!(list.texts(&format!("tr#user-{rep} td"))[3], "销售经理");
    assert_eq!(list.texts(&format!("tr#user-{boss} td"))[3], "—");
    let form = admin.get(&format!("/admin/users/{rep}")).await;
    assert_eq!(
        form.attrs("#f-reports_to option[selected]", "value"),
        vec![boss.to_string()]
    );
    assert!(
        form.attrs("#f-reports_to option", "value")
            .iter()
            .all(|v| v != &rep.to_string()),
        "a user is not offered as their own manager"
    );

    let page = edit(&admin, rep, "销售代表", "member", None).await;
    assert_eq!(page.status, 303);
    assert_eq!(
        app.scalar(&format!(
            "SELECT count(*) FROM users WHERE id = {rep} AND reports_to IS NULL"
        ))
        .await,
        1
    );
    assert_eq!(
        app.text(&format!(
            "SELECT detail::text FROM audit_log WHERE action = 'manager_changed' AND target_user_id = {rep}"
        ))
        .await,
        format!(r#"{{"to": null, "from": {boss}}}"#)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reporting_cycle_is_refused_with_a_message() {
    let app = TestApp::start().await;
    let admin = app.signup("循环公司", "管理员", "admin@cycle.test").await;
    let a = app
        .create_user(&admin, "甲", "a@cycle.test", "member", None)
        .await;
    let b = app
        .create_user(&admin, "乙", "b@cycle.test", "manager", None)
        .await;
    let c = app
        .create_user(&admin, "丙", "c@cycle.test", "manager", None)
        .await;
    assert_eq!(edit(&admin, a, "甲", "member", Some(b)).await.status, 303);
    assert_eq!(edit(&admin, b, "乙", "manager", Some(c)).await.status, 303);

    for (who, name, role, manager) in [
        (b, "乙", "manager", a),
        (c, "丙", "manager", a),
        (a, "甲", "member", a),
    ] {
        let page = edit(&admin, who, name, role, Some(manager)).await;
        assert_eq!(page.status, 422, "{name} → {manager}");
        assert!(
            page.texts(".invalid-feedback")
                .contains(&zh("users.manager_cycle")),
            "{:?}",
            page.texts(".invalid-feedback")
        );
        assert_eq!(page.input_value("name").as_deref(), Some(name));
    }
    assert_eq!(
        app.text("SELECT string_agg(email || '>' || coalesce(reports_to::text, '-'), ',' ORDER BY email) FROM users WHERE email LIKE '_@cycle.test'")
            .await,
        format!("a@cycle.test>{b},b@cycle.test>{c},c@cycle.test>-")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_last_admin_cannot_demote_themselves() {
    let app = TestApp::start().await;
    let admin = app
        .signup("独管公司", "唯一管理员", "admin@last.test")
        .await;
    let id = app.user_id("admin@last.test").await;
    let page = edit(&admin, id, "唯一管理员", "member", None).await;
    assert_eq!(page.status, 422);
    assert!(
        page.texts(".invalid-feedback")
            .contains(&zh("users.last_admin")),
        "{:?}",
        page.texts(".invalid-feedback")
    );
    assert_eq!(
        app.text(&format!("SELECT role FROM users WHERE id = {id}"))
            .await,
        "admin"
    );
    // With a second admin it works.
    app.create_user(&admin, "第二管理员", "second@last.test", "admin", None)
        .await;
    let page = edit(&admin, id, "唯一管理员", "member", None).await;
    assert_eq!(page.status, 303);
    assert_eq!(
        admin.get("/admin/users").await.status,
        403,
        "a demoted admin loses the admin pages at once"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn disable_and_enable_answer_htmx_with_the_row_and_forms_with_a_redirect() {
    let app = TestApp::start().await;
    let admin = app.signup("启停公司", "管理员", "admin@toggle.test").await;
    let id = app
        .create_user(&admin, "启停员工", "toggle@toggle.test", "member", None)
        .await;
    admin.get("/admin/users").await;

    let page = admin
        .post_htmx(&format!("/admin/users/{id}/disable"), &[])
        .await;
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("<html"), "a fragment, not a page");
    assert!(
        page.body.starts_with(&format!("<tr id=\"user-{id}\"")),
        "{}",
        page.body
    );
    assert_eq!(
        row_texts(&page.body, &format!("tr#user-{id} .badge")),
        vec![zh("status.disabled")]
    );
    assert_eq!(
        row_texts(&page.body, "button[data-action]"),
        vec![zh("users.enable")]
    );
    assert_eq!(
        app.text(&format!("SELECT status FROM users WHERE id = {id}"))
            .await,
        "disabled"
    );

    let page = admin
        .post_htmx(&format!("/admin/users/{id}/enable"), &[])
        .await;
    assert_eq!(page.status, 200);
    assert_eq!(
        row_texts(&page.body, &format!("tr#user-{id} .badge")),
        vec![zh("status.active")]
    );
    assert_eq!(
        app.text(&format!("SELECT status FROM users WHERE id = {id}"))
            .await,
        "active"
    );

    let page = admin.post(&format!("/admin/users/{id}/disable"), &[]).await;
    assert_eq!(page.status, 303);
    assert_eq!(page.location.as_deref(), Some("/admin/users"));
    let list = admin.get("/admin/users").await;
    assert_eq!(
        list.texts(&format!("tr#user-{id} .badge")),
        vec![zh("status.disabled")]
    );
    let page = admin.post(&format!("/admin/users/{id}/enable"), &[]).await;
    assert_eq!(page.status, 303);
    assert_eq!(
        app.scalar(&format!(
            "SELECT count(*) FROM audit_log WHERE target_user_id = {id} \
             AND action IN ('user_disabled', 'user_enabled')"
        ))
        .await,
        4
    );
    app.login_ok("toggle@toggle.test").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_cannot_disable_themselves() {
    let app = TestApp::start().await;
    let admin = app.signup("自停公司", "管理员", "admin@selfoff.test").await;
    let id = app.user_id("admin@selfoff.test").await;
    let list = admin.get("/admin/users").await;
    assert!(
        list.attrs(&format!("tr#user-{id} button[data-action]"), "data-action")
            .iter()
            .all(|a| a != "disable"),
        "no disable button on one's own row"
    );
    let page = admin.post(&format!("/admin/users/{id}/disable"), &[]).await;
    assert_eq!(page.status, 403);
    let page = admin
        .post_htmx(&format!("/admin/users/{id}/disable"), &[])
        .await;
    assert_eq!(page.status, 403);
    assert_eq!(
        app.text(&format!("SELECT status FROM users WHERE id = {id}"))
            .await,
        "active"
    );
    assert!(signed_in(&admin).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn unlocking_clears_the_lock_is_audited_and_lets_the_user_sign_in() {
    let app = TestApp::start().await;
    let admin = app.signup("解锁公司", "管理员", "admin@unlock.test").await;
    let id = app
        .create_user(&admin, "被锁员工", "locked@unlock.test", "member", None)
        .await;
    lock_out(&app, "locked@unlock.test").await;
    let list = admin.get("/admin/users").await;
    assert_eq!(
        list.texts(&format!("tr#user-{id} .badge")),
        vec![zh("status.locked")]
    );
    let page = admin
        .post_htmx(&format!("/admin/users/{id}/unlock"), &[])
        .await;
    assert_eq!(page.status, 200);
    assert_eq!(
        row_texts(&page.body, &format!("tr#user-{id} .badge")),
        vec![zh("status.active")]
    );
    assert_eq!(
        app.text(&format!(
            "SELECT (locked_at IS NULL)::text || '|' || failed_logins FROM users WHERE id = {id}"
        ))
        .await,
        "true|0"
    );
    let admin_id = app.user_id("admin@unlock.test").await;
    assert_eq!(
        app.scalar(&format!(
            "SELECT count(*) FROM audit_log WHERE action = 'user_unlocked' \
             AND actor_id = {admin_id} AND target_user_id = {id}"
        ))
        .await,
        1
    );
    app.login_ok("locked@unlock.test").await;
    // Unlocking an unlocked user does nothing and writes nothing.
    let page = admin.post(&format!("/admin/users/{id}/unlock"), &[]).await;
    assert_eq!(page.status, 303);
    assert_eq!(
        app.scalar("SELECT count(*) FROM audit_log WHERE action = 'user_unlocked'")
            .await,
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_resets_a_password_and_only_the_new_one_works() {
    let app = TestApp::start().await;
    let admin = app.signup("重置公司", "管理员", "admin@reset.test").await;
    let id = app
        .create_user(&admin, "忘记密码", "forgot@reset.test", "member", None)
        .await;
    let form = admin.get(&format!("/admin/users/{id}/password")).await;
    assert_eq!(form.status, 200);
    assert!(form.body.contains("forgot@reset.test"));
    let page = admin
        .post(
            &format!("/admin/users/{id}/password"),
            &[("password", OTHER_PASSWORD), ("confirm", PASSWORD)],
        )
        .await;
    assert_eq!(page.status, 422);
    assert_eq!(page.field_error("confirm"), Some(zh("password.mismatch")));
    let page = admin
        .post(
            &format!("/admin/users/{id}/password"),
            &[("password", "12345678"), ("confirm", "12345678")],
        )
        .await;
    assert_eq!(page.status, 422);
    assert_eq!(
        page.field_error("password"),
        Some(zh("password.too_common"))
    );

    let page = admin
        .post(
            &format!("/admin/users/{id}/password"),
            &[("password", OTHER_PASSWORD), ("confirm", OTHER_PASSWORD)],
        )
        .await;
    assert_eq!(page.status, 303);
    let (_, old) = app.login("forgot@reset.test", PASSWORD).await;
    assert_eq!(old.status, 401);
    let (_, new) = app.login("forgot@reset.test", OTHER_PASSWORD).await;
    assert_eq!(new.status, 303);
    assert_eq!(
        app.scalar(&format!(
            "SELECT count(*) FROM audit_log WHERE action = 'password_reset' AND target_user_id = {id}"
        ))
        .await,
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_audit_page_lists_account_events_in_chinese() {
    let app = TestApp::start().await;
    let admin = app
        .signup("审计公司", "审计管理员", "admin@audit.test")
        .await;
    let empty = admin.get("/admin/audit").await;
    assert_eq!(empty.status, 200);
    assert!(empty.body.contains(&zh("audit.empty")));

    let id = app
        .create_user(&admin, "审计对象", "target@audit.test", "member", None)
        .await;
    edit(&admin, id, "审计对象", "manager", None).await;
    lock_out(&app, "target@audit.test").await;
    admin.post(&format!("/admin/users/{id}/unlock"), &[]).await;
    admin.post(&format!("/admin/users/{id}/disable"), &[]).await;
    admin.post(&format!("/admin/users/{id}/enable"), &[]).await;

    let page = admin.get("/admin/audit").await;
    assert_eq!(page.status, 200);
    let actions = page.attrs("#audit tbody tr", "data-action");
    assert_eq!(
        actions,
        [
            "user_enabled",
            "user_disabled",
            "user_unlocked",
            "user_locked",
            "role_changed",
            "user_created"
        ],
        "newest first"
    );
    let locked = page.texts("#audit tr[data-action=user_locked] td");
    assert_eq!(
        locked[1],
        zh("audit.system"),
        "the system locked the account"
    );
    assert_eq!(locked[2], zh("audit.user_locked"));
    assert_eq!(locked[3], "审计对象");
    let role = page.texts("#audit tr[data-action=role_changed] td");
    assert_eq!(role[1], "审计管理员");
    assert_eq!(role[2], zh("audit.role_changed"));
    assert!(
        role[4].contains(&zh("role.member")) && role[4].contains(&zh("role.manager")),
        "{}",
        role[4]
    );
    for key in [
        "audit.user_unlocked",
        "audit.user_disabled",
        "audit.user_enabled",
        "audit.user_created",
    ] {
        assert!(page.body.contains(&zh(key)), "{key}");
    }
    assert!(
        page.texts("#audit td.text-nowrap")[0].contains('年'),
        "dates in Chinese"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn members_and_managers_get_403_on_every_admin_page() {
    let app = TestApp::start().await;
    let admin = app.signup("权限公司", "管理员", "admin@perm.test").await;
    let boss = app
        .create_user(&admin, "经理", "boss@perm.test", "manager", None)
        .await;
    let rep = app
        .create_user(&admin, "员工", "rep@perm.test", "member", Some(boss))
        .await;
    // The welcome email is sent first, so the reconciler has nothing to touch meanwhile.
    app.drain_jobs().await;
    // Their first sign-ins are recorded; nothing after them may change anything.
    let emails = ["boss@perm.test", "rep@perm.test"];
    let clients = [app.login_ok(emails[0]).await, app.login_ok(emails[1]).await];
    let before =
        crate::support::tenant_snapshot(&app, app.tenant_of("admin@perm.test").await).await;
    for (email, client) in emails.into_iter().zip(&clients) {
        let home = client.get("/").await;
        assert!(
            home.attrs("a", "href")
                .iter()
                .all(|h| !h.starts_with("/admin")),
            "{email} sees no links to admin pages"
        );
        for path in [
            "/admin/users".to_owned(),
            "/admin/users/new".to_owned(),
            "/admin/users/invite".to_owned(),
            format!("/admin/users/{rep}"),
            format!("/admin/users/{boss}/password"),
            "/admin/audit".to_owned(),
            "/admin/jobs".to_owned(),
        ] {
            let page = client.get(&path).await;
            assert_eq!(page.status, 403, "{email} GET {path}");
            assert!(
                page.body.contains(&zh("error.403_title")),
                "{email} GET {path}"
            );
        }
        let posts: Vec<(String, Vec<(&str, &str)>)> = vec![
            (
                "/admin/users/new".to_owned(),
                vec![
                    ("name", "黑客"),
                    ("email", "x@perm.test"),
                    ("role", "admin"),
                    ("password", PASSWORD),
                ],
            ),
            (
                "/admin/users/invite".to_owned(),
                vec![
                    ("name", "黑客"),
                    ("email", "y@perm.test"),
                    ("role", "admin"),
                ],
            ),
            (
                format!("/admin/users/{rep}"),
                vec![("name", "黑客"), ("role", "admin")],
            ),
            (
                format!("/admin/users/{rep}/password"),
                vec![("password", OTHER_PASSWORD), ("confirm", OTHER_PASSWORD)],
            ),
            (format!("/admin/users/{rep}/unlock"), vec![]),
            (format!("/admin/users/{boss}/disable"), vec![]),
            (format!("/admin/users/{rep}/enable"), vec![]),
            (format!("/admin/users/{rep}/reinvite"), vec![]),
        ];
        for (path, form) in posts {
            let page = client.post(&path, &form).await;
            assert_eq!(page.status, 403, "{email} POST {path}");
            let page = client.post_htmx(&path, &form).await;
            assert_eq!(page.status, 403, "{email} htmx POST {path}");
        }
    }
    let after = crate::support::tenant_snapshot(&app, app.tenant_of("admin@perm.test").await).await;
    assert_eq!(before, after, "403s changed nothing");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invitation_link_submitted_twice_at_once_works_only_once() {
    let app = TestApp::start().await;
    let admin = app
        .signup("并发邀请公司", "管理员", "admin@race-invite.test")
        .await;
    let (id, link) = invite(&app, &admin, "抢先者", "racer@race-invite.test").await;
    let first = app.client();
    let second = app.client();
    assert_eq!(first.get(&link).await.status, 200);
    assert_eq!(second.get(&link).await.status, 200);
    let (a, b) = tokio::join!(
        first.post(&link, &[("password", PASSWORD), ("confirm", PASSWORD)]),
        second.post(
            &link,
            &[("password", OTHER_PASSWORD), ("confirm", OTHER_PASSWORD)]
        ),
    );
    let mut statuses = [a.status, b.status];
    statuses.sort_unstable();
    assert_eq!(
        statuses,
        [303, 404],
        "exactly one submission may use the link"
    );
    let (winner, loser) = if a.status == 303 {
        (PASSWORD, OTHER_PASSWORD)
    } else {
        (OTHER_PASSWORD, PASSWORD)
    };
    let (_, page) = app.login("racer@race-invite.test", winner).await;
    assert_eq!(page.status, 303, "the accepted password works");
    let (_, page) = app.login("racer@race-invite.test", loser).await;
    assert_eq!(page.status, 401, "the refused submission set no password");
    assert_eq!(
        app.scalar(&format!(
            "SELECT count(*) FROM audit_log WHERE target_user_id = {id} AND action = 'user_locked'"
        ))
        .await,
        0
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_invitation_link_is_refused() {
    let app = TestApp::start().await;
    let admin = app.signup("过期公司", "管理员", "admin@expired.test").await;
    let (id, link) = invite(&app, &admin, "迟到者", "late@expired.test").await;
    crate::support::exec(
        &app,
        &format!(
            "UPDATE invitations SET expires_at = now() - interval '1 minute' WHERE user_id = {id}"
        ),
    )
    .await;
    let visitor = app.client();
    let page = visitor.get(&link).await;
    assert_eq!(page.status, 404);
    assert!(page.body.contains(&zh("invite.invalid")));
    visitor.get("/login").await;
    let page = visitor
        .post(&link, &[("password", PASSWORD), ("confirm", PASSWORD)])
        .await;
    assert_eq!(page.status, 404);
    assert_eq!(
        app.text(&format!("SELECT status FROM users WHERE id = {id}"))
            .await,
        "invited"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn two_admins_demoting_each_other_at_once_leave_one_admin() {
    use diesel_async::RunQueryDsl;

    let app = TestApp::start().await;
    let first = app.signup("双管公司", "甲管理员", "a@race.test").await;
    let b_id = app
        .create_user(&first, "乙管理员", "b@race.test", "admin", None)
        .await;
    let a_id = app.user_id("a@race.test").await;
    let tenant = app.tenant_of("a@race.test").await;
    let second = app.login_ok("b@race.test").await;
    first.get(&format!("/admin/users/{b_id}")).await;
    second.get(&format!("/admin/users/{a_id}")).await;

    // Hold the tenant's admin-change lock so both requests queue up behind it.
    let mut holder = app.owner_conn().await;
    diesel::sql_query("BEGIN")
        .execute(&mut holder)
        .await
        .expect("begin");
    diesel::sql_query(format!(
        "SELECT pg_advisory_xact_lock(hashtextextended('kehu.admins', {tenant}))"
    ))
    .execute(&mut holder)
    .await
    .expect("lock");
    let b_url = format!("/admin/users/{b_id}");
    let a_url = format!("/admin/users/{a_id}");
    let demote_b = first.post(
        &b_url,
        &[("name", "乙管理员"), ("role", "member"), ("reports_to", "")],
    );
    let demote_a = second.post(
        &a_url,
        &[("name", "甲管理员"), ("role", "member"), ("reports_to", "")],
    );
    let release = async {
        tokio::time::sleep(Duration::from_millis(700)).await;
        diesel::sql_query("COMMIT")
            .execute(&mut holder)
            .await
            .expect("commit");
    };
    let (one, two, ()) = tokio::join!(demote_b, demote_a, release);

    let mut statuses = [one.status, two.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [303, 422], "exactly one demotion may succeed");
    assert_eq!(
        app.scalar("SELECT count(*) FROM users WHERE role = 'admin' AND status = 'active'")
            .await,
        1,
        "the company keeps one admin"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_reset_of_a_pending_user_keeps_the_link_that_confirms_the_address() {
    let app = TestApp::start().await;
    let admin = app
        .signup("重置邀请公司", "管理员", "admin@reset-invite.test")
        .await;
    let (id, link) = invite(&app, &admin, "被邀请人", "invitee@reset-invite.test").await;
    admin.get(&format!("/admin/users/{id}/password")).await;
    let page = admin
        .post(
            &format!("/admin/users/{id}/password"),
            &[("password", PASSWORD), ("confirm", PASSWORD)],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    // The admin's password does not take the address for its owner.
    let (_, login) = app.login("invitee@reset-invite.test", PASSWORD).await;
    assert_eq!(login.status, 401);
    assert_eq!(
        app.text(&format!("SELECT status FROM users WHERE id = {id}"))
            .await,
        "invited"
    );
    // The link now only confirms the address (the password is set).
    let person = app.client();
    let page = person.get(&link).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.texts("h1"), vec![zh("invite.confirm_title")]);
    let page = person.post(&link, &[]).await;
    assert_eq!(page.status, 200, "{}", page.body);
    app.login_ok("invitee@reset-invite.test").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn adding_or_inviting_an_address_taken_elsewhere_answers_like_a_free_one_and_tells_its_owner()
{
    let app = TestApp::start().await;
    let admin = app.signup("探测公司", "管理员", "admin@probe.test").await;
    app.signup("别家公司", "别家管理员", "owner@elsewhere.test")
        .await;
    app.signup("第三公司", "第三管理员", "owner@third.test")
        .await;
    app.drain_jobs().await;
    let before = app.smtp.messages_to("owner@elsewhere.test").len();
    let tenant = app.tenant_of("admin@probe.test").await;

    for (path, email, password) in [
        ("/admin/users/new", "free.one@probe.test", PASSWORD),
        ("/admin/users/new", " Owner@Elsewhere.test ", PASSWORD),
        ("/admin/users/invite", "free.two@probe.test", ""),
        ("/admin/users/invite", "owner@third.test", ""),
    ] {
        admin.get(path).await;
        let page = admin
            .post(
                path,
                &[
                    ("name", "新同事"),
                    ("email", email),
                    ("role", "member"),
                    ("reports_to", ""),
                    ("password", password),
                ],
            )
            .await;
        assert_eq!(page.status, 303, "{email}: {}", page.body);
        assert_eq!(page.location.as_deref(), Some("/admin/users"), "{email}");
    }
    // Four users wait alike in the list, whether or not their address is free.
    let list = admin.get("/admin/users").await;
    let mut rows = vec![];
    for email in [
        "free.one@probe.test",
        "owner@elsewhere.test",
        "free.two@probe.test",
        "owner@third.test",
    ] {
        let id = app
            .scalar(&format!(
                "SELECT id FROM users WHERE tenant_id = {tenant} AND email = '{email}'"
            ))
            .await;
        let cells = list.texts(&format!("tr#user-{id} td"));
        assert_eq!(cells[4], zh("status.invited"), "{email}");
        rows.push((
            cells[2..].to_vec(),
            list.texts(&format!("tr#user-{id} button")),
        ));
    }
    assert!(rows.windows(2).all(|w| w[0] == w[1]), "{rows:?}");
    assert_eq!(
        app.scalar(&format!(
            "SELECT count(*) FROM emails WHERE tenant_id = {tenant} AND to_addr <> 'admin@probe.test'"
        ))
        .await,
        0,
        "the company's own outbox (后台任务) holds none of these emails"
    );
    assert_eq!(
        app.scalar("SELECT count(*) FROM users WHERE email = 'owner@elsewhere.test'")
            .await,
        2,
        "the other company's account and this company's waiting user"
    );
    app.drain_jobs().await;
    for owner in ["owner@elsewhere.test", "owner@third.test"] {
        let told = app.smtp.messages_to(owner);
        let told = &told[told.len() - 1..];
        assert!(told[0].subject().contains("探测公司"), "{owner}");
        assert!(
            told[0].link(&format!("{}/invite/", app.base_url)).is_none(),
            "{owner} gets no link"
        );
    }
    assert_eq!(
        app.smtp.messages_to("owner@elsewhere.test").len() - before,
        1
    );
    for free in ["free.one@probe.test", "free.two@probe.test"] {
        assert!(
            app.smtp.all_messages_to(free)[0]
                .link(&format!("{}/invite/", app.base_url))
                .is_some(),
            "{free} gets a link"
        );
    }
    let (_, login) = app.login("owner@elsewhere.test", PASSWORD).await;
    assert_eq!(login.status, 303, "the owner still signs in");

    // A free address taken before its link is followed: the link tells only the person
    // who follows it, and nothing changes.
    let link = latest_link(&app, "free.two@probe.test", "/invite/");
    app.signup("抢先公司", "抢先者", "free.two@probe.test")
        .await;
    let person = app.client();
    person.get(&link).await;
    let page = person
        .post(
            &link,
            &[("password", OTHER_PASSWORD), ("confirm", OTHER_PASSWORD)],
        )
        .await;
    assert_eq!(page.status, 409, "{}", page.body);
    assert!(page.body.contains(&zh("invite.taken")));
    assert_eq!(
        app.text(&format!(
            "SELECT status FROM users WHERE tenant_id = {tenant} AND email = 'free.two@probe.test'"
        ))
        .await,
        "invited"
    );
    let (_, login) = app.login("free.two@probe.test", PASSWORD).await;
    assert_eq!(
        login.status, 303,
        "the sign-up's account is the one that signs in"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_tenant_adds_and_invites_users_within_its_daily_allowance() {
    let app = TestApp::start_with(kehu_tests::TestOptions {
        invite_new_tenant_limit: 2,
        ..kehu_tests::TestOptions::default()
    })
    .await;
    let admin = app
        .signup("限额公司", "管理员", "admin@allowance.test")
        .await;
    app.create_user(&admin, "一号", "one@allowance.test", "member", None)
        .await;
    let (id, _) = invite(&app, &admin, "二号", "two@allowance.test").await;
    admin.get("/admin/users/invite").await;
    let page = admin
        .post(
            "/admin/users/invite",
            &[
                ("name", "三号"),
                ("email", "three@allowance.test"),
                ("role", "member"),
                ("reports_to", ""),
            ],
        )
        .await;
    assert_eq!(page.status, 429);
    assert_eq!(page.alert(), Some(zh("users.limited")));
    assert_eq!(
        page.input_value("email").as_deref(),
        Some("three@allowance.test")
    );
    let page = admin
        .post(&format!("/admin/users/{id}/reinvite"), &[])
        .await;
    assert_eq!(page.status, 429, "a resent invitation counts too");
    assert_eq!(
        app.scalar("SELECT count(*) FROM users WHERE email LIKE '%@allowance.test'")
            .await,
        3
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lock_that_has_run_out_is_not_shown_as_locked() {
    let app = TestApp::start().await;
    let admin = app
        .signup("过期锁公司", "管理员", "admin@expired-lock.test")
        .await;
    let id = app
        .create_user(&admin, "曾被锁", "once@expired-lock.test", "member", None)
        .await;
    lock_out(&app, "once@expired-lock.test").await;
    crate::support::exec(
        &app,
        &format!("UPDATE users SET locked_at = now() - interval '16 minutes' WHERE id = {id}"),
    )
    .await;
    let list = admin.get("/admin/users").await;
    assert_eq!(
        list.texts(&format!("tr#user-{id} .badge")),
        vec![zh("status.active")],
        "LOGIN_LOCK_MINUTES (15) have passed"
    );
    assert!(
        list.attrs(&format!("tr#user-{id} form"), "action")
            .iter()
            .all(|a| !a.ends_with("/unlock")),
        "no unlock button for an ended lock"
    );
}
