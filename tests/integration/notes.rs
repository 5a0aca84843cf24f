//! 备注: notes with attachments on the company page — adding (text, files, both), the
//! upload limits and their messages, downloads with safe headers, who may add, download and
//! delete, the CSRF check on multipart forms, paging, and deleting a company or a note
//! with its files.

use kehu_tests::{
    Client, TestApp,
    client::{Page, TokenIn},
};

use crate::support::zh;

const MIB: usize = 1024 * 1024;

/// Creates a company with a name and a visibility; returns its id.
async fn create_company(client: &Client, name: &str, visibility: &str) -> i64 {
    client.get("/customers/new").await;
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

/// Opens the company page (as a browser would before submitting) and adds a note.
async fn add_note(
    client: &Client,
    company: i64,
    body: &str,
    files: &[(&str, &str, Vec<u8>)],
) -> Page {
    client.get(&format!("/customers/{company}")).await;
    client
        .post_multipart(
            &format!("/customers/{company}/notes"),
            &[("body", body)],
            files,
        )
        .await
}

/// The note id in a `/customers/<company>#note-<id>` redirect.
fn added_note(page: &Page, company: i64) -> i64 {
    assert_eq!(page.status, 303, "adding a note: {}", page.body);
    let location = page.location.clone().unwrap_or_default();
    location
        .strip_prefix(&format!("/customers/{company}#note-"))
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("adding a note redirected to {location:?}"))
}

/// Bytes that are not text: every byte value, repeated to `len`.
fn binary(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 256) as u8).collect()
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    app.scalar(&format!("SELECT count(*) FROM {sql}")).await
}

/// Files in the app's file store.
fn stored_files(app: &TestApp) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![app.files_dir()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                found.push(path);
            }
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread")]
async fn a_note_with_a_chinese_named_file_downloads_back_byte_identical_with_safe_headers() {
    let app = TestApp::start().await;
    let admin = app.signup("备注公司", "管理员", "admin@notes.test").await;
    let tenant = app.tenant_of("admin@notes.test").await;
    let company = create_company(&admin, "北京星辰科技有限公司", "private").await;

    // Larger than the 256 KiB the CSRF check buffers for ordinary forms.
    let pdf = binary(MIB + 123);
    let html = b"<html><script>alert(1)</script></html>".to_vec();
    let page = add_note(
        &admin,
        company,
        "首次拜访：客户对报价感兴趣。\n下周再联系。",
        &[
            ("报价单 2026.pdf", "application/pdf", pdf.clone()),
            ("page.html", "text/html", html.clone()),
        ],
    )
    .await;
    let note = added_note(&page, company);

    let detail = admin.get(&format!("/customers/{company}")).await;
    assert_eq!(detail.status, 200);
    let shown = detail.texts(&format!("#note-{note} .note-body"));
    assert_eq!(
        shown,
        vec!["首次拜访：客户对报价感兴趣。 下周再联系。".to_owned()]
    );
    assert!(
        detail
            .body
            .contains("首次拜访：客户对报价感兴趣。\n下周再联系。"),
        "line breaks kept"
    );
    assert_eq!(
        detail.texts(&format!("#note-{note} .note-author")),
        vec!["管理员".to_owned()]
    );
    let links = detail.attrs(&format!("#note-{note} .note-files a"), "href");
    assert_eq!(links.len(), 2, "{}", detail.body);
    let names = detail.texts(&format!("#note-{note} .note-files a"));
    assert_eq!(names, vec!["报价单 2026.pdf", "page.html"]);
    // Each has a drawn paperclip, not an emoji that needs a font.
    assert_eq!(
        detail
            .attrs(
                &format!("#note-{note} .note-file svg.note-file-icon"),
                "aria-hidden"
            )
            .len(),
        2
    );
    assert!(!detail.body.contains('📎'));
    // The form says what the limits are.
    let help = detail.texts("#f-note-files-help").join(" ");
    assert!(help.contains('5') && help.contains("10 MB"), "{help}");
    assert_eq!(
        detail.attrs("form.note-form", "enctype"),
        vec!["multipart/form-data".to_owned()]
    );

    let (status, headers, bytes) = admin.get_bytes(&links[0]).await;
    assert_eq!(status, 200);
    assert!(bytes == pdf, "the download is byte-identical");
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(header("content-type"), "application/pdf");
    assert_eq!(header("x-content-type-options"), "nosniff");
    let disposition = header("content-disposition");
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    assert!(
        disposition.contains("filename*=UTF-8''%E6%8A%A5%E4%BB%B7%E5%8D%95%202026.pdf"),
        "{disposition}"
    );
    assert_eq!(header("content-length"), pdf.len().to_string());

    // An HTML file is never served as a page.
    let (status, headers, bytes) = admin.get_bytes(&links[1]).await;
    assert_eq!(status, 200);
    assert_eq!(bytes, html);
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert_eq!(content_type, "application/octet-stream");

    // Rows and files: keys the app chose, under the tenant, with the bytes on disk.
    assert_eq!(
        count(
            &app,
            &format!("notes WHERE id = {note} AND author_id IS NOT NULL")
        )
        .await,
        1
    );
    let keys = app
        .text(&format!(
            "SELECT string_agg(storage_key, ',' ORDER BY id) FROM note_attachments WHERE note_id = {note}"
        ))
        .await;
    let keys: Vec<&str> = keys.split(',').collect();
    assert_eq!(keys.len(), 2);
    for key in &keys {
        assert!(key.starts_with(&format!("t/{tenant}/notes/")), "{key}");
        assert!(!key.contains("报价单"), "no user-chosen names in keys");
    }
    assert_eq!(
        std::fs::read(app.files_dir().join(keys[0])).expect("stored file"),
        pdf
    );
    assert_eq!(
        app.text(&format!(
            "SELECT file_name || '|' || content_type || '|' || size_bytes FROM note_attachments WHERE storage_key = '{}'",
            keys[0]
        ))
        .await,
        format!("报价单 2026.pdf|application/pdf|{}", pdf.len())
    );

    // htmx sends the token in a header; that works for uploads too. A note may also be
    // just a file.
    admin.get(&format!("/customers/{company}")).await;
    let page = admin
        .post_multipart_token(
            &format!("/customers/{company}/notes"),
            &[("body", "")],
            &[("会议纪要.txt", "text/plain", "纪要".as_bytes().to_vec())],
            TokenIn::Header,
        )
        .await;
    let file_only = added_note(&page, company);
    let detail = admin.get(&format!("/customers/{company}")).await;
    let order: Vec<String> = detail.attrs(".notes-timeline > li", "id");
    assert_eq!(
        order,
        vec![format!("note-{file_only}"), format!("note-{note}")],
        "newest first"
    );
    assert!(
        detail
            .texts(&format!("#note-{file_only} .note-body"))
            .is_empty()
    );

    // An attachment id under another company of the tenant is not found.
    let other = create_company(&admin, "另一家公司", "private").await;
    let wrong = links[0].replace(
        &format!("/customers/{company}/"),
        &format!("/customers/{other}/"),
    );
    assert_eq!(admin.get_bytes(&wrong).await.0, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn refused_notes_say_why_keep_the_text_and_save_nothing() {
    let app = TestApp::start().await;
    let admin = app.signup("限制公司", "管理员", "admin@limits.test").await;
    let company = create_company(&admin, "上海限制测试有限公司", "private").await;
    let nothing_saved = || async {
        assert_eq!(count(&app, "notes").await, 0);
        assert_eq!(count(&app, "note_attachments").await, 0);
        assert!(stored_files(&app).is_empty(), "{:?}", stored_files(&app));
    };

    // Neither text nor file (also when the file input was left empty, which browsers
    // still send as an empty part).
    for files in [vec![], vec![("", "application/octet-stream", vec![])]] {
        let page = add_note(&admin, company, "   \n ", &files).await;
        assert_eq!(page.status, 422, "{}", page.body);
        assert_eq!(page.field_error("note-body"), Some(zh("notes.empty_note")));
        nothing_saved().await;
    }

    // A file over 10 MiB: refused with its name and the limit, the text kept.
    let typed = "客户要求的资料太大了，先记下来。";
    let page = add_note(
        &admin,
        company,
        typed,
        &[
            ("小文件.txt", "text/plain", b"ok".to_vec()),
            ("超大资料.zip", "application/zip", binary(10 * MIB + 1)),
        ],
    )
    .await;
    assert_eq!(page.status, 422);
    let error = page.field_error("note-files").unwrap_or_default();
    assert!(
        error.contains("超大资料.zip") && error.contains("10 MB"),
        "{error}"
    );
    assert_eq!(page.texts("#f-note-body"), vec![typed.to_owned()]);
    assert!(page.body.contains(typed));
    nothing_saved().await;

    // Six files are one too many.
    let six: Vec<(&str, &str, Vec<u8>)> = (0..6)
        .map(|_| ("a.txt", "text/plain", b"a".to_vec()))
        .collect();
    let page = add_note(&admin, company, "六个附件", &six).await;
    assert_eq!(page.status, 422);
    assert_eq!(
        page.field_error("note-files"),
        Some(zh("notes.too_many_files").replace("%{files}", "5"))
    );
    assert_eq!(page.texts("#f-note-body"), vec!["六个附件".to_owned()]);
    nothing_saved().await;

    // Too long a text.
    let long = "长".repeat(10_001);
    let page = add_note(&admin, company, &long, &[]).await;
    assert_eq!(page.status, 422);
    assert_eq!(
        page.field_error("note-body"),
        Some(zh("notes.too_long").replace("%{max}", "10000"))
    );
    assert_eq!(page.texts("#f-note-body"), vec![long.clone()]);
    nothing_saved().await;

    // The limits themselves are allowed: 10 000 characters and five files of 10 MiB.
    let five: Vec<(&str, &str, Vec<u8>)> = (0..5)
        .map(|_| ("十兆.bin", "application/octet-stream", binary(10 * MIB)))
        .collect();
    let page = add_note(&admin, company, &"长".repeat(10_000), &five).await;
    let note = added_note(&page, company);
    assert_eq!(
        count(
            &app,
            &format!(
                "note_attachments WHERE note_id = {note} AND size_bytes = {}",
                10 * MIB
            )
        )
        .await,
        5
    );
    assert_eq!(stored_files(&app).len(), 5);

    // A form that is not multipart at all is a bad request, not a server error.
    let page = admin
        .post(&format!("/customers/{company}/notes"), &[("body", "表单")])
        .await;
    assert_eq!(page.status, 400);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_multipart_post_without_the_csrf_token_is_refused() {
    let app = TestApp::start().await;
    let admin = app.signup("令牌公司", "管理员", "admin@csrf.test").await;
    let company = create_company(&admin, "令牌测试公司", "private").await;
    admin.get(&format!("/customers/{company}")).await;
    let path = format!("/customers/{company}/notes");
    let file = [("x.txt", "text/plain", b"x".to_vec())];
    for token_in in [TokenIn::Missing, TokenIn::LastField] {
        let page = admin
            .post_multipart_token(&path, &[("body", "伪造")], &file, token_in)
            .await;
        assert_eq!(page.status, 403, "{token_in:?}");
        assert!(page.body.contains(&zh("error.csrf_title")), "{token_in:?}");
    }
    // Also when the upload is far larger than what the check reads.
    let page = admin
        .post_multipart_token(
            &path,
            &[("body", "伪造")],
            &[("big.bin", "application/octet-stream", binary(2 * MIB))],
            TokenIn::Missing,
        )
        .await;
    assert_eq!(page.status, 403);
    assert_eq!(count(&app, "notes").await, 0);
    assert!(stored_files(&app).is_empty());
    // The same request with the token goes through.
    let page = admin
        .post_multipart(&path, &[("body", "真的")], &file)
        .await;
    added_note(&page, company);
}

/// A tenant with a manager, a member reporting to them and a second member.
struct Team {
    app: TestApp,
    admin: Client,
    manager: Client,
    member1: Client,
    member2: Client,
}

impl Team {
    async fn new() -> Self {
        let app = TestApp::start().await;
        let admin = app.signup("备注团队", "管理员", "admin@nteam.test").await;
        let manager_id = app
            .create_user(&admin, "经理", "manager@nteam.test", "manager", None)
            .await;
        app.create_user(
            &admin,
            "员工一",
            "member1@nteam.test",
            "member",
            Some(manager_id),
        )
        .await;
        app.create_user(&admin, "员工二", "member2@nteam.test", "member", None)
            .await;
        Self {
            manager: app.login_ok("manager@nteam.test").await,
            member1: app.login_ok("member1@nteam.test").await,
            member2: app.login_ok("member2@nteam.test").await,
            admin,
            app,
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn who_may_add_read_download_and_delete_notes() {
    let t = Team::new().await;
    let app = &t.app;
    let private = create_company(&t.member1, "员工一私有客户", "private").await;
    let public = create_company(&t.member1, "员工一公开客户", "public").await;
    let file = || vec![("资料.txt", "text/plain", "机密".as_bytes().to_vec())];
    let note = added_note(
        &add_note(&t.member1, private, "员工一的备注", &file()).await,
        private,
    );
    let attachment = app
        .scalar(&format!(
            "SELECT id FROM note_attachments WHERE note_id = {note}"
        ))
        .await;
    let download = format!("/customers/{private}/files/{attachment}");

    // Another member cannot see the private company: 404 for every notes route, and
    // nothing is saved.
    t.member2.get("/customers").await;
    let page = t
        .member2
        .post_multipart(
            &format!("/customers/{private}/notes"),
            &[("body", "越权备注")],
            &file(),
        )
        .await;
    assert_eq!(page.status, 404);
    assert_eq!(t.member2.get_bytes(&download).await.0, 404);
    assert_eq!(
        t.member2
            .get(&format!("/customers/{private}/notes"))
            .await
            .status,
        404
    );
    let delete = format!("/customers/{private}/notes/{note}/delete");
    assert_eq!(t.member2.get(&delete).await.status, 404);
    assert_eq!(t.member2.post(&delete, &[]).await.status, 404);
    assert_eq!(count(app, "notes").await, 1);
    assert_eq!(count(app, "note_attachments").await, 1);

    // The manager sees a report's company: reads, downloads, adds.
    let detail = t.manager.get(&format!("/customers/{private}")).await;
    assert!(detail.body.contains("员工一的备注"));
    let (status, _, bytes) = t.manager.get_bytes(&download).await;
    assert_eq!((status, bytes), (200, "机密".as_bytes().to_vec()));
    let by_manager = added_note(
        &add_note(&t.manager, private, "经理的补充", &[]).await,
        private,
    );

    // On a public company anyone may add a note, but only its author or someone who
    // manages the company may delete it.
    let by_member2 = added_note(
        &add_note(&t.member2, public, "员工二的意见", &[]).await,
        public,
    );
    let by_member1 = added_note(
        &add_note(&t.member1, public, "员工一的记录", &[]).await,
        public,
    );
    let detail = t.member2.get(&format!("/customers/{public}")).await;
    let deletable = detail.attrs(".note-delete", "href");
    assert_eq!(
        deletable,
        vec![format!("/customers/{public}/notes/{by_member2}/delete")],
        "member2 may delete only their own note here"
    );
    let foreign = format!("/customers/{public}/notes/{by_member1}/delete");
    assert_eq!(t.member2.get(&foreign).await.status, 403);
    assert_eq!(t.member2.post(&foreign, &[]).await.status, 403);
    let own = format!("/customers/{public}/notes/{by_member2}/delete");
    let confirm = t.member2.get(&own).await;
    assert_eq!(confirm.status, 200);
    assert_eq!(confirm.texts("h1"), vec![zh("notes.delete_title")]);
    assert!(confirm.body.contains("员工二的意见"));
    assert_eq!(
        count(app, &format!("notes WHERE id = {by_member2}")).await,
        1,
        "asking deletes nothing"
    );
    let page = t.member2.post(&own, &[]).await;
    assert_eq!(page.status, 303);
    assert_eq!(
        page.location.as_deref(),
        Some(format!("/customers/{public}#company-notes").as_str())
    );
    assert_eq!(
        count(app, &format!("notes WHERE id = {by_member2}")).await,
        0
    );

    // The owner deletes the manager's note on their company; the manager deletes the
    // member's note (a report's company), files included.
    let page = t
        .member1
        .post(
            &format!("/customers/{private}/notes/{by_manager}/delete"),
            &[],
        )
        .await;
    assert_eq!(page.status, 303);
    let key = app
        .text(&format!(
            "SELECT storage_key FROM note_attachments WHERE note_id = {note}"
        ))
        .await;
    assert!(app.files_dir().join(&key).is_file());
    t.manager.get(&format!("/customers/{private}")).await;
    let page = t
        .manager
        .post(&format!("/customers/{private}/notes/{note}/delete"), &[])
        .await;
    assert_eq!(page.status, 303);
    assert_eq!(
        count(app, &format!("notes WHERE company_id = {private}")).await,
        0
    );
    assert_eq!(count(app, "note_attachments").await, 0);
    assert!(
        !app.files_dir().join(&key).exists(),
        "the file went with the note"
    );
    assert_eq!(t.manager.get_bytes(&download).await.0, 404);

    // The admin sees everything.
    assert_eq!(
        t.admin.get(&format!("/customers/{public}")).await.status,
        200
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn deleting_a_company_removes_its_notes_attachments_and_files() {
    let app = TestApp::start().await;
    let admin = app.signup("删除公司", "管理员", "admin@gone.test").await;
    let doomed = create_company(&admin, "将被删除的公司", "private").await;
    let kept = create_company(&admin, "保留的公司", "private").await;
    for (company, text) in [(doomed, "要删的"), (doomed, "也要删"), (kept, "留着")] {
        added_note(
            &add_note(
                &admin,
                company,
                text,
                &[
                    ("甲.txt", "text/plain", text.as_bytes().to_vec()),
                    ("乙.bin", "application/octet-stream", binary(1000)),
                ],
            )
            .await,
            company,
        );
    }
    assert_eq!(stored_files(&app).len(), 6);
    let kept_keys = app
        .text(&format!(
            "SELECT string_agg(storage_key, ',') FROM note_attachments WHERE company_id = {kept}"
        ))
        .await;

    admin.get(&format!("/customers/{doomed}/delete")).await;
    let page = admin
        .post(&format!("/customers/{doomed}/delete"), &[])
        .await;
    assert_eq!(page.status, 303);
    assert_eq!(
        count(&app, &format!("notes WHERE company_id = {doomed}")).await,
        0
    );
    assert_eq!(
        count(
            &app,
            &format!("note_attachments WHERE company_id = {doomed}")
        )
        .await,
        0
    );
    let left = stored_files(&app);
    assert_eq!(left.len(), 2, "{left:?}");
    for key in kept_keys.split(',') {
        assert!(app.files_dir().join(key).is_file(), "{key} kept");
    }
    assert_eq!(
        count(&app, &format!("notes WHERE company_id = {kept}")).await,
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_timeline_shows_the_newest_notes_and_pages_to_older_ones() {
    let app = TestApp::start().await;
    let admin = app.signup("分页公司", "管理员", "admin@pages.test").await;
    let tenant = app.tenant_of("admin@pages.test").await;
    let admin_id = app.user_id("admin@pages.test").await;
    let company = create_company(&admin, "分页客户", "private").await;
    let detail = admin.get(&format!("/customers/{company}")).await;
    assert_eq!(
        detail.texts("#company-notes .empty-state"),
        vec![zh("notes.empty")]
    );
    crate::support::exec(
        &app,
        &format!(
            "INSERT INTO notes (tenant_id, company_id, body, author_id) \
             SELECT {tenant}, {company}, '第' || n || '条', {admin_id} FROM generate_series(1, 25) n"
        ),
    )
    .await;
    let detail = admin.get(&format!("/customers/{company}")).await;
    let first: Vec<String> = detail.texts(".notes-timeline .note-body");
    assert_eq!(first.len(), 20);
    assert_eq!(first[0], "第25条");
    assert_eq!(first[19], "第6条");
    let older = detail.attrs("#company-notes a[href*='/notes?before=']", "href");
    assert_eq!(older.len(), 1, "{}", detail.body);
    let page = admin.get(&older[0]).await;
    assert_eq!(page.status, 200);
    let rest = page.texts(".notes-timeline .note-body");
    assert_eq!(rest, vec!["第5条", "第4条", "第3条", "第2条", "第1条"]);
    assert!(page.attrs("a[href*='/notes?before=']", "href").is_empty());
}
