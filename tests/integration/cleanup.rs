//! The nightly clean-up, run with a clock the test chooses: a file no row references goes
//! once it is older than the grace period and a referenced one stays; an import upload
//! never started goes after a day with its row and file; expired links and sign-up
//! requests are purged, and Kehu's own sent emails; a second run changes nothing.

use bytes::Bytes;
use chrono::{Duration, Utc};
use kehu::{
    files::{FileKey, FileStore},
    ids::TenantId,
};
use kehu_tests::{TestApp, worker::run_cron};

use crate::{imports::upload, support::invite};

async fn exists(store: &FileStore, key: &FileKey) -> bool {
    store.get_stream(key).await.expect("store").is_some()
}

fn report(links: i64, signups: i64, mails: i64, drafts: usize, files: usize) -> String {
    format!(
        "{:?}",
        kehu::cleanup::Report {
            links,
            signups,
            kehu_emails: mails,
            import_drafts: drafts,
            orphan_files: files,
        }
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cleanup_removes_only_what_no_row_needs_and_a_second_run_changes_nothing() {
    let app = TestApp::start().await;
    let admin = app.signup("清理公司", "管理员", "admin@cleanup.test").await;
    let tenant = TenantId(app.tenant_of("admin@cleanup.test").await);
    let store = FileStore::from_url(&app.config.file_store_url).expect("store");

    // A note with an attachment: its file is referenced.
    admin.get("/customers/new").await;
    let page = admin
        .post(
            "/customers/new",
            &[("name", "附件客户"), ("visibility", "public")],
        )
        .await;
    let company = page.location.expect("the company");
    admin.get(&company).await;
    let page = admin
        .post_multipart(
            &format!("{company}/notes"),
            &[("body", "合同扫描件")],
            &[("合同.pdf", "application/pdf", b"%PDF-1.4 kept".to_vec())],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let attached = FileKey::parse(
        tenant,
        "notes",
        &app.text("SELECT storage_key FROM note_attachments").await,
    )
    .expect("a notes key");

    // Orphans: a note file whose row never came, and a file of an area Kehu does not
    // know, which it leaves alone.
    let orphan = FileKey::generate(tenant, "notes");
    store
        .put(&orphan, Bytes::from_static(b"crashed upload"))
        .await
        .expect("put");
    let foreign = FileKey::generate(tenant, "misc");
    store
        .put(&foreign, Bytes::from_static(b"not ours to judge"))
        .await
        .expect("put");

    // An import uploaded but never started.
    let page = upload(
        &admin,
        "company",
        "客户.csv",
        "text/csv",
        "公司名称\n甲公司\n".as_bytes().to_vec(),
        &[],
    )
    .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let draft = FileKey::parse(
        tenant,
        "imports",
        &app.text("SELECT file_key FROM imports WHERE status = 'draft'")
            .await,
    )
    .expect("an imports key");

    // A pending sign-up and an invitation.
    let visitor = app.client();
    visitor.get("/signup").await;
    visitor
        .post(
            "/signup",
            &[
                ("company", "未确认公司"),
                ("name", "某人"),
                ("email", "pending@cleanup.test"),
            ],
        )
        .await;
    invite(&app, &admin, "受邀者", "invitee@cleanup.test").await;
    let links = app.scalar("SELECT count(*) FROM invitations").await;
    assert_eq!(links, 1);

    // Within the grace periods nothing goes.
    let now = Utc::now();
    assert_eq!(
        run_cron(&app, "cleanup", now + Duration::hours(1)).await,
        report(0, 0, 0, 0, 0)
    );
    for key in [&attached, &orphan, &foreign, &draft] {
        assert!(exists(&store, key).await, "{key} kept");
    }

    // A day later: the orphan, the draft (row and file), the sign-up request and Kehu's
    // three sent emails (the admin's and the pending one's sign-up, the invitation) go.
    assert_eq!(
        run_cron(&app, "cleanup", now + Duration::hours(25)).await,
        report(0, 1, 3, 1, 1)
    );
    assert_eq!(
        app.scalar("SELECT count(*) FROM emails WHERE tenant_id = 0")
            .await,
        0
    );
    assert!(!exists(&store, &orphan).await, "the orphan is removed");
    assert!(!exists(&store, &draft).await, "the draft's file is removed");
    assert!(exists(&store, &attached).await, "the attachment stays");
    assert!(
        exists(&store, &foreign).await,
        "an unknown area is left alone"
    );
    assert_eq!(app.scalar("SELECT count(*) FROM imports").await, 0);
    assert_eq!(app.scalar("SELECT count(*) FROM signup_requests").await, 0);
    assert_eq!(app.scalar("SELECT count(*) FROM note_attachments").await, 1);

    // The invitation runs out after a week; then a second run changes nothing.
    assert_eq!(
        run_cron(&app, "cleanup", now + Duration::days(8)).await,
        report(1, 0, 0, 0, 0)
    );
    assert_eq!(app.scalar("SELECT count(*) FROM invitations").await, 0);
    assert_eq!(
        run_cron(&app, "cleanup", now + Duration::days(8)).await,
        report(0, 0, 0, 0, 0)
    );
    assert!(exists(&store, &attached).await);
    let page = admin.get(&company).await;
    assert!(
        page.body.contains("合同.pdf"),
        "the note still lists its file"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_import_that_was_started_is_never_removed_as_a_draft() {
    let app = TestApp::start().await;
    let admin = app.signup("导入公司", "管理员", "admin@started.test").await;
    let page = upload(
        &admin,
        "company",
        "客户.csv",
        "text/csv",
        "公司名称\n乙公司\n".as_bytes().to_vec(),
        &[],
    )
    .await;
    let path = page.location.expect("the mapping screen");
    let page = crate::imports::start(&admin, &path, &["name"], &[]).await;
    assert_eq!(page.status, 303, "{}", page.body);
    crate::imports::wait_for(&app, crate::imports::id_of(&path), &["done"]).await;
    let report = run_cron(&app, "cleanup", Utc::now() + Duration::days(3)).await;
    assert!(report.contains("import_drafts: 0"), "{report}");
    assert!(report.contains("orphan_files: 0"), "{report}");
    assert_eq!(app.scalar("SELECT count(*) FROM imports").await, 1);
    assert_eq!(app.scalar("SELECT count(*) FROM companies").await, 1);
}
