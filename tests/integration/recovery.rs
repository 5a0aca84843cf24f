//! Getting back in without anybody's help: the lock email and its single-use unlock link,
//! a lock that ends by itself, and 忘记密码 end to end (the same answer for any address, a
//! single-use link, every old session ended, the account unlocked, the reset audited).

use std::time::Duration;

use kehu_tests::{Client, PASSWORD, TestApp, smtp::Received};

use crate::support::{OTHER_PASSWORD, WRONG_PASSWORD, exec, lock_out, signed_in, zh};

/// Waits for the one email to `to` whose subject is `subject` (some are written in the
/// background, so draining the outbox is not enough).
async fn mail(app: &TestApp, to: &str, subject: &str) -> Received {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let found: Vec<_> = app
            .smtp
            .messages_to(to)
            .into_iter()
            .filter(|m| m.subject() == subject)
            .collect();
        if !found.is_empty() {
            assert_eq!(found.len(), 1, "one email {subject:?} to {to}");
            return found[0].clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no email {subject:?} to {to}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The path of the link in `mail` that starts with `path`.
fn link(app: &TestApp, mail: &Received, path: &str) -> String {
    let url = mail
        .link(&format!("{}{path}", app.base_url))
        .unwrap_or_else(|| panic!("a {path} link in {}", mail.body()));
    url[app.base_url.len()..].to_owned()
}

async fn locked(app: &TestApp, email: &str) -> bool {
    app.scalar(&format!(
        "SELECT count(*) FROM users WHERE email = '{email}' AND locked_at IS NOT NULL"
    ))
    .await
        == 1
}

#[tokio::test(flavor = "multi_thread")]
async fn a_locked_owner_is_emailed_and_unlocks_with_a_link_that_works_once() {
    let app = TestApp::start().await;
    // The company's only admin: nobody else could unlock them.
    let owner = "owner@unlock-mail.test";
    let admin = app.signup("独自一人公司", "唯一管理员", owner).await;
    lock_out(&app, owner).await;
    assert!(signed_in(&admin).await, "their open session goes on");

    let notice = mail(&app, owner, &zh("email.locked.subject")).await;
    let body = notice.body();
    assert!(body.contains("唯一管理员"), "{body}");
    assert!(body.contains("15 分钟"), "{body}");
    let unlock = link(&app, &notice, "/account/unlock/");
    assert!(link(&app, &notice, "/password/reset/").len() > 30);

    // Opening the link (as a mail scanner would) changes nothing; the button unlocks.
    let client = app.client();
    let page = client.get(&unlock).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.texts("h1"), [zh("unlock.title")]);
    assert_eq!(page.input_value("email-ro").as_deref(), Some(owner));
    assert!(locked(&app, owner).await, "a GET does not unlock");
    let done = client.post(&unlock, &[]).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(done.texts("#unlocked"), [zh("unlock.done")]);
    assert!(!locked(&app, owner).await);
    let user = app.user_id(owner).await;
    assert_eq!(
        app.scalar(&format!(
            "SELECT count(*) FROM audit_log WHERE action = 'user_unlocked' \
               AND actor_id = {user} AND target_user_id = {user} AND detail->>'via' = 'email'"
        ))
        .await,
        1
    );
    // Once only.
    let again = client.post(&unlock, &[]).await;
    assert_eq!(again.status, 404);
    assert_eq!(again.texts("h1"), [zh("unlock.invalid_title")]);
    app.login_ok(owner).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lock_ends_by_itself_once_its_time_is_up() {
    let app = TestApp::start().await;
    let admin = app
        .signup("自动解锁公司", "管理员", "admin@expiry.test")
        .await;
    let member = "member@expiry.test";
    let id = app
        .create_user(&admin, "员工", member, "member", None)
        .await;
    lock_out(&app, member).await;
    let (_, page) = app.login(member, PASSWORD).await;
    assert_eq!(page.status, 401, "locked while its time runs");

    // Sixteen minutes later (the lock is fifteen).
    let earlier = "UPDATE users SET locked_at = now() - interval '16 minutes' WHERE email = 'member@expiry.test'";
    exec(&app, earlier).await;
    app.login_ok(member).await;
    assert!(!locked(&app, member).await);
    assert_eq!(
        app.scalar(&format!(
            "SELECT count(*) FROM audit_log WHERE action = 'user_unlocked' \
               AND actor_id IS NULL AND target_user_id = {id} AND detail->>'reason' = 'expired'"
        ))
        .await,
        1
    );

    // After an expired lock, wrong passwords count from one again.
    lock_out(&app, member).await;
    exec(&app, earlier).await;
    let (_, page) = app.login(member, WRONG_PASSWORD).await;
    assert_eq!(page.status, 401);
    assert_eq!(
        app.text(&format!(
            "SELECT (locked_at IS NULL)::text || '|' || failed_logins FROM users WHERE id = {id}"
        ))
        .await,
        "true|1"
    );

    // Guesses sent at once after an expiry end the lock once, not once each (each would
    // start a fresh three).
    lock_out(&app, member).await;
    exec(&app, earlier).await;
    let (a, b, c, d) = tokio::join!(
        app.login(member, WRONG_PASSWORD),
        app.login(member, WRONG_PASSWORD),
        app.login(member, WRONG_PASSWORD),
        app.login(member, WRONG_PASSWORD),
    );
    assert!(
        [a.1.status, b.1.status, c.1.status, d.1.status]
            .iter()
            .all(|s| *s == 401)
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT count(*) FROM audit_log WHERE action = 'user_unlocked' \
               AND target_user_id = {id} AND detail->>'reason' = 'expired'"
        ))
        .await,
        3,
        "one expiry ended per lock"
    );
}

/// The main text of a page with `email` blanked out.
fn without(page: &kehu_tests::client::Page, email: &str) -> Vec<String> {
    page.texts("main")
        .into_iter()
        .map(|t| t.replace(email, "EMAIL"))
        .collect()
}

async fn forgot(client: &Client, email: &str) -> kehu_tests::client::Page {
    client.get("/password/forgot").await;
    client.post("/password/forgot", &[("email", email)]).await
}

#[tokio::test(flavor = "multi_thread")]
async fn forgot_password_answers_alike_and_its_link_sets_a_new_password_ending_every_session() {
    let app = TestApp::start().await;
    let admin = app
        .signup("忘记密码公司", "管理员", "admin@forgot.test")
        .await;
    let member = "member@forgot.test";
    let id = app
        .create_user(&admin, "健忘员工", member, "member", None)
        .await;
    let phone = app.login_ok(member).await;
    let laptop = app.login_ok(member).await;
    // Locked too (by someone else): the lock email has a reset link of its own.
    lock_out(&app, member).await;
    let notice = mail(&app, member, &zh("email.locked.subject")).await;
    let old_reset = link(&app, &notice, "/password/reset/");

    // The login page links 忘记密码; any well-formed address gets the same answer.
    let page = app.client().get("/login").await;
    assert_eq!(page.attrs("#forgot", "href"), ["/password/forgot"]);
    let client = app.client();
    let known = forgot(&client, member).await;
    let unknown = forgot(&app.client(), "nobody@forgot.test").await;
    assert_eq!((known.status, unknown.status), (200, 200));
    assert_eq!(known.texts("#forgot-sent"), [zh("forgot.sent")]);
    assert_eq!(
        without(&known, member),
        without(&unknown, "nobody@forgot.test")
    );
    let bad = forgot(&app.client(), "not-an-address").await;
    assert_eq!(bad.status, 422);
    assert_eq!(bad.field_error("email"), Some(zh("form.invalid_email")));
    assert_eq!(bad.input_value("email").as_deref(), Some("not-an-address"));

    let reset_mail = mail(&app, member, &zh("email.reset.subject")).await;
    assert!(reset_mail.body().contains("健忘员工"));
    let reset = link(&app, &reset_mail, "/password/reset/");
    assert_eq!(
        client.get(&old_reset).await.status,
        200,
        "asking for a link does not kill the one the owner already has"
    );
    // Asking again at once sends nothing more (a stranger cannot flood the inbox).
    assert_eq!(forgot(&app.client(), member).await.status, 200);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let resets = app
        .smtp
        .messages_to(member)
        .iter()
        .filter(|m| m.subject() == zh("email.reset.subject"))
        .count();
    assert_eq!(resets, 1);

    // The link's form: refused and kept as a form when the two passwords differ.
    let page = client.get(&reset).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.texts("h1"), [zh("reset.title")]);
    let page = client
        .post(
            &reset,
            &[
                ("password", OTHER_PASSWORD),
                ("confirm", "Something-Else-12"),
            ],
        )
        .await;
    assert_eq!(page.status, 422);
    assert_eq!(page.field_error("confirm"), Some(zh("password.mismatch")));
    let page = client
        .post(
            &reset,
            &[("password", OTHER_PASSWORD), ("confirm", OTHER_PASSWORD)],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert!(signed_in(&client).await, "signed in with the new password");
    assert!(!signed_in(&phone).await, "the phone's old session ended");
    assert!(!signed_in(&laptop).await, "the laptop's old session ended");
    assert!(
        !locked(&app, member).await,
        "the reset unlocked the account"
    );
    assert_eq!(app.login(member, PASSWORD).await.1.status, 401);
    assert_eq!(app.login(member, OTHER_PASSWORD).await.1.status, 303);
    assert_eq!(
        client
            .post(&reset, &[("password", PASSWORD), ("confirm", PASSWORD)])
            .await
            .status,
        404,
        "the link works once"
    );
    assert_eq!(
        client.get(&old_reset).await.status,
        404,
        "setting the password closed the other links"
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT count(*) FROM audit_log WHERE action = 'user_unlocked' \
               AND target_user_id = {id} AND detail->>'via' = 'reset'"
        ))
        .await,
        1,
        "the unlock by the reset is audited"
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT count(*) FROM audit_log WHERE action = 'password_reset' \
               AND actor_id = {id} AND target_user_id = {id}"
        ))
        .await,
        1
    );
    assert!(
        app.smtp.messages_to("nobody@forgot.test").is_empty(),
        "no email to an address without an account"
    );
}
