//! What imports and exports leave in 最新动态 and in a company's history (issue 13,
//! point 6): one feed entry per import, its undo and each export, for admins only; the
//! companies an import created, updated or restored show it in their own history.

use diesel_async::SimpleAsyncConnection;
use kehu_tests::{Client, TestApp};

use crate::{
    exports::export,
    imports::{counts, id_of, start, upload, wait_for},
    support::{count_on, exec, zh},
};

/// The feed's entries on the home page: (data-action, text).
async fn feed(client: &Client) -> Vec<(String, String)> {
    let page = client.get("/").await;
    assert_eq!(page.status, 200);
    let actions = page.attrs("#feed .event", "data-action");
    let texts = page.texts("#feed .event");
    actions.into_iter().zip(texts).collect()
}

/// A company's history on its detail page: the entries' data-action, newest first.
async fn history_of(client: &Client, company: i64) -> Vec<String> {
    let page = client.get(&format!("/customers/{company}")).await;
    assert_eq!(page.status, 200);
    page.attrs("#company-history .event", "data-action")
}

/// Imports a two-column CSV (name, phone) of companies with `choices` and waits until it
/// is done; returns the import's page path and id.
async fn import_csv(
    app: &TestApp,
    admin: &Client,
    file_name: &str,
    csv: &str,
    choices: &[(&str, &str)],
) -> (String, i64) {
    let page = upload(
        admin,
        "company",
        file_name,
        "text/csv",
        csv.as_bytes().to_vec(),
        &[],
    )
    .await;
    let path = page.location.expect("mapping");
    let id = id_of(&path);
    let page = start(admin, &path, &["name", "phone"], choices).await;
    assert_eq!(page.status, 303, "{}", page.body);
    wait_for(app, id, &["done"]).await;
    (path, id)
}

fn with_count(key: &str, count: &str) -> String {
    zh(key).replace("%{count}", count)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_import_its_undo_and_an_export_each_write_one_feed_entry_that_only_admins_see() {
    let app = TestApp::start().await;
    let admin = app.signup("动态导入", "王经理", "admin@ih.test").await;
    app.create_user(&admin, "小张", "zhang@ih.test", "member", None)
        .await;
    let zhang = app.login_ok("zhang@ih.test").await;
    let other = app
        .signup("别家公司", "李管理", "admin@ih-other.test")
        .await;
    let page = admin
        .post(
            "/customers/new",
            &[
                ("name", "北京星辰科技有限公司"),
                ("phone", "010-1"),
                ("visibility", "public"),
            ],
        )
        .await;
    assert_eq!(page.status, 303);
    let updated = app
        .scalar("SELECT id FROM companies WHERE name = '北京星辰科技有限公司'")
        .await;

    let csv = "Company,Phone\n北京星辰科技,010-2\n杭州西湖茶业,0571-1\n上海远航物流,021-3\n";
    let (path, id) = import_csv(
        &app,
        &admin,
        "客户名单.csv",
        csv,
        &[("on_duplicate", "update"), ("visibility", "public")],
    )
    .await;
    assert_eq!(counts(&app, id).await, [3, 2, 1, 1, 0]);

    // One entry for the whole import, by who started it, with its counts.
    let entries = feed(&admin).await;
    let imported: Vec<_> = entries.iter().filter(|(a, _)| a == "imported").collect();
    assert_eq!(imported.len(), 1, "{entries:?}");
    let text = &imported[0].1;
    assert!(text.contains("王经理"), "{text}");
    assert!(
        text.contains(&with_count("history.imported_company", "2")),
        "{text}"
    );
    assert!(
        text.contains(&with_count("history.import_also_updated_company", "1")),
        "{text}"
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT count(*) FROM tenant_events WHERE import_id = {id} AND action = 'imported' \
               AND created_count = 2 AND updated_count = 1 \
               AND actor_id = (SELECT id FROM users WHERE email = 'admin@ih.test')"
        ))
        .await,
        1
    );
    // The entry links to the import.
    let home = admin.get("/").await;
    assert!(
        home.attrs("#feed .event[data-action=imported] a", "href")
            .contains(&format!("/imports/{id}")),
        "{}",
        home.body
    );

    // The member sees the public companies' own events but not the import, and the other
    // tenant sees nothing of it.
    let seen = feed(&zhang).await;
    assert!(
        seen.iter().all(|(a, _)| a != "imported"),
        "a member does not see imports: {seen:?}"
    );
    assert!(feed(&other).await.iter().all(|(a, _)| a != "imported"));

    // Each company's own history: the created ones were imported, the existing one updated.
    let created = app
        .scalar("SELECT id FROM companies WHERE name = '杭州西湖茶业'")
        .await;
    assert_eq!(history_of(&admin, created).await, ["imported"]);
    assert_eq!(
        history_of(&admin, updated).await,
        ["import_updated", "created"]
    );
    let page = admin.get(&format!("/customers/{updated}")).await;
    assert!(
        page.texts("#company-history .event")[0].contains("客户名单.csv"),
        "the history names the file"
    );
    // A member who may see the company sees the event too, without the import's link.
    assert_eq!(
        history_of(&zhang, updated).await,
        ["import_updated", "created"]
    );
    let page = zhang.get(&format!("/customers/{updated}")).await;
    assert!(
        page.attrs("#company-history .event a", "href")
            .iter()
            .all(|h| !h.starts_with("/imports/")),
        "{}",
        page.body
    );

    // Undo: its own entry, by whoever asked for it; the restored company shows it.
    let page = admin.post(&format!("{path}/undo"), &[]).await;
    assert_eq!(page.status, 303);
    wait_for(&app, id, &["undone"]).await;
    let entries = feed(&admin).await;
    assert_eq!(entries[0].0, "import_undone", "{entries:?}");
    assert!(
        entries[0]
            .1
            .contains(&with_count("history.import_undone_company", "2")),
        "{entries:?}"
    );
    assert!(
        entries[0]
            .1
            .contains(&with_count("history.import_also_restored_company", "1")),
        "{entries:?}"
    );
    assert_eq!(
        entries.iter().filter(|(a, _)| a == "imported").count(),
        1,
        "the import's entry stays"
    );
    assert_eq!(
        history_of(&admin, updated).await,
        ["import_undone", "import_updated", "created"]
    );
    assert_eq!(
        app.text(&format!("SELECT phone FROM companies WHERE id = {updated}"))
            .await,
        "010-1"
    );

    // An export is an entry too, with the rows written; only for admins.
    export(&app, &zhang, "company", "csv", "", "").await;
    let entries = feed(&admin).await;
    assert_eq!(entries[0].0, "exported", "{entries:?}");
    assert!(entries[0].1.contains("小张"), "{entries:?}");
    assert!(
        entries[0]
            .1
            .contains(&with_count("history.exported_company", "1")),
        "{entries:?}"
    );
    assert!(feed(&zhang).await.iter().all(|(a, _)| a != "exported"));
    assert!(feed(&other).await.iter().all(|(a, _)| a != "exported"));

    // Under RLS the other tenant's transaction sees none of these rows.
    let theirs = app.tenant_of("admin@ih-other.test").await;
    let mine = app.tenant_of("admin@ih.test").await;
    assert_eq!(
        app.scalar(&format!(
            "SELECT count(*) FROM tenant_events WHERE tenant_id = {mine}"
        ))
        .await,
        3
    );
    let mut conn = app.app_conn().await;
    conn.batch_execute(&format!(
        "BEGIN; SELECT set_config('app.tenant_id', '{theirs}', true);"
    ))
    .await
    .expect("begin");
    assert_eq!(
        count_on(&mut conn, "SELECT count(*) FROM tenant_events")
            .await
            .expect("count"),
        0
    );
    conn.batch_execute("ROLLBACK").await.expect("rollback");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_finished_import_is_one_entry_even_when_it_wrote_nothing_and_never_two() {
    let app = TestApp::start().await;
    let admin = app.signup("空导入", "管理员", "admin@ih-empty.test").await;
    // Every row is an error (no name): the import finishes having written nothing.
    let csv = "Company,Phone\n,010-1\n,010-2\n";
    let (_, id) = import_csv(&app, &admin, "empty.csv", csv, &[]).await;
    assert_eq!(counts(&app, id).await[1], 0);
    // A finished import is news even when it wrote nothing ("导入了 0 家客户").
    let entries = feed(&admin).await;
    assert_eq!(
        entries.iter().filter(|(a, _)| a == "imported").count(),
        1,
        "{entries:?}"
    );
    // Recording the outcome again (a retried worker transaction) adds nothing.
    let again = format!(
        "INSERT INTO tenant_events (tenant_id, actor_id, action, import_id, entity) \
         SELECT tenant_id, requested_by, 'imported', id, entity FROM imports WHERE id = {id} \
         ON CONFLICT DO NOTHING"
    );
    assert_eq!(exec(&app, &again).await, 0);
    assert_eq!(
        app.scalar(&format!(
            "SELECT count(*) FROM tenant_events WHERE import_id = {id}"
        ))
        .await,
        1
    );
}
