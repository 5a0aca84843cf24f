//! 自定义字段: admins define fields per entity; forms, detail pages and the stored JSON
//! follow the definitions.

use kehu_tests::TestApp;

use crate::support::zh;

async fn field_id(app: &TestApp, label: &str) -> i64 {
    app.scalar(&format!(
        "SELECT id FROM custom_fields WHERE label = '{label}'"
    ))
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn company_custom_fields_of_every_type_are_checked_stored_shown_and_removed() {
    let app = TestApp::start().await;
    let admin = app.signup("字段公司", "管理员", "admin@fields.test").await;
    let empty = admin.get("/admin/fields").await;
    assert_eq!(empty.status, 200);
    assert!(empty.body.contains(&zh("fields.empty")));

    for (label, kind, options, required) in [
        ("行业", "select", "制造业\n互联网\n餐饮", true),
        ("员工数", "number", "", false),
        ("成立日期", "date", "", false),
        ("经营范围", "multiselect", "软件, 硬件, 服务", false),
        ("备注说明", "text", "", false),
    ] {
        let mut form = vec![("entity", "company"), ("label", label), ("kind", kind)];
        form.push(("options", options));
        if required {
            form.push(("required", "on"));
        }
        let page = admin.post("/admin/fields", &form).await;
        assert_eq!(page.status, 303, "{label}: {}", page.body);
    }
    // A second field of the same name, or a select without options, is refused and
    // what was typed stays.
    let page = admin
        .post(
            "/admin/fields",
            &[("entity", "company"), ("label", "行业"), ("kind", "text")],
        )
        .await;
    assert_eq!(page.status, 422);
    assert_eq!(
        page.field_error("label").as_deref(),
        Some(zh("fields.taken").as_str())
    );
    let page = admin
        .post(
            "/admin/fields",
            &[("entity", "company"), ("label", "等级"), ("kind", "select")],
        )
        .await;
    assert_eq!(page.status, 422);
    assert_eq!(
        page.field_error("options").as_deref(),
        Some(zh("fields.options_needed").as_str())
    );
    assert_eq!(page.input_value("label").as_deref(), Some("等级"));

    let industry = field_id(&app, "行业").await;
    let staff = field_id(&app, "员工数").await;
    let founded = field_id(&app, "成立日期").await;
    let scope = field_id(&app, "经营范围").await;
    let note = field_id(&app, "备注说明").await;
    let name = |id: i64| format!("cf_{id}");

    // The company form shows every field.
    let form = admin.get("/customers/new").await;
    for id in [industry, staff, founded, note] {
        assert_eq!(form.attrs(&format!("[name={}]", name(id)), "name").len(), 1);
    }
    assert_eq!(
        form.attrs(&format!("input[name={}]", name(scope)), "value"),
        ["软件", "硬件", "服务"]
    );

    // Bad values: each gets its message, nothing is saved, and the input stays.
    let (n_industry, n_staff, n_founded, n_scope, n_note) = (
        name(industry),
        name(staff),
        name(founded),
        name(scope),
        name(note),
    );
    let page = admin
        .post(
            "/customers/new",
            &[
                ("name", "字段测试公司"),
                (&n_staff, "一百"),
                (&n_founded, "2026-02-30"),
                (&n_scope, "不存在"),
                (&n_note, "保留我"),
            ],
        )
        .await;
    assert_eq!(page.status, 422, "{}", page.body);
    assert_eq!(
        page.field_error(&n_industry).as_deref(),
        Some(zh("form.required").as_str())
    );
    assert_eq!(
        page.field_error(&n_staff).as_deref(),
        Some(zh("fields.invalid_number").as_str())
    );
    assert_eq!(
        page.field_error(&n_founded).as_deref(),
        Some(zh("fields.invalid_date").as_str())
    );
    assert!(page.body.contains(&zh("form.invalid_choice")));
    assert_eq!(page.input_value(&n_staff).as_deref(), Some("一百"));
    assert_eq!(page.input_value(&n_note).as_deref(), Some("保留我"));
    assert_eq!(
        app.scalar("SELECT count(*) FROM companies WHERE name = '字段测试公司'")
            .await,
        0
    );

    let page = admin
        .post(
            "/customers/new",
            &[
                ("name", "字段测试公司"),
                (&n_industry, "互联网"),
                (&n_staff, "1,200"),
                (&n_founded, "2020-05-04"),
                (&n_scope, "软件"),
                (&n_scope, "服务"),
                (&n_note, "重要客户"),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let company = app
        .scalar("SELECT id FROM companies WHERE name = '字段测试公司'")
        .await;
    let expected = serde_json::json!({
        industry.to_string(): "互联网",
        staff.to_string(): 1200,
        founded.to_string(): "2020-05-04",
        scope.to_string(): ["软件", "服务"],
        note.to_string(): "重要客户",
    });
    assert_eq!(
        app.scalar(&format!(
            "SELECT count(*) FROM companies WHERE id = {company} AND custom = '{expected}'::jsonb"
        ))
        .await,
        1,
        "typed JSON keyed by field id: {}",
        app.text(&format!(
            "SELECT custom::text FROM companies WHERE id = {company}"
        ))
        .await
    );
    let detail = admin.get(&format!("/customers/{company}")).await;
    assert_eq!(
        detail.texts(&format!("[data-field={n_scope}]")),
        ["软件、服务"]
    );
    assert_eq!(detail.texts(&format!("[data-field={n_staff}]")), ["1200"]);
    let edit = admin.get(&format!("/customers/{company}/edit")).await;
    assert_eq!(edit.input_value(&n_founded).as_deref(), Some("2020-05-04"));
    assert_eq!(
        edit.attrs(&format!("input[name={n_scope}][checked]"), "value"),
        ["软件", "服务"]
    );

    // Renaming a field keeps its values; removing an option keeps the stored value valid.
    let page = admin
        .post(
            &format!("/admin/fields/{industry}"),
            &[
                ("label", "所属行业"),
                ("options", "制造业\n餐饮"),
                ("required", "on"),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let page = admin
        .post(
            &format!("/customers/{company}/edit"),
            &[
                ("name", "字段测试公司"),
                (&n_industry, "互联网"),
                (&n_staff, "1200"),
                (&n_scope, "硬件"),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let detail = admin.get(&format!("/customers/{company}")).await;
    assert!(detail.texts("dt").contains(&"所属行业".to_owned()));
    assert_eq!(
        detail.texts(&format!("[data-field={n_industry}]")),
        ["互联网"]
    );

    // Reorder, then delete: the values go with the field.
    assert_eq!(
        admin
            .post(&format!("/admin/fields/{note}/up"), &[])
            .await
            .status,
        303
    );
    let list = admin.get("/admin/fields?entity=company").await;
    assert_eq!(
        list.texts("#fields tbody td:first-child"),
        ["所属行业", "员工数", "成立日期", "备注说明", "经营范围"]
    );
    assert_eq!(
        admin
            .post(&format!("/admin/fields/{scope}/delete"), &[])
            .await
            .status,
        303
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT count(*) FROM companies WHERE custom ? '{scope}'"
        ))
        .await,
        0
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT count(*) FROM companies WHERE custom ? '{staff}'"
        ))
        .await,
        1,
        "other values stay"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn contact_fields_are_separate_and_show_on_contact_forms_only() {
    let app = TestApp::start().await;
    let admin = app
        .signup("联系人字段公司", "管理员", "admin@cfields.test")
        .await;
    let page = admin
        .post(
            "/admin/fields",
            &[("entity", "contact"), ("label", "生日"), ("kind", "date")],
        )
        .await;
    assert_eq!(page.status, 303);
    let birthday = format!("cf_{}", field_id(&app, "生日").await);
    let contact_fields = admin.get("/admin/fields?entity=contact").await;
    assert_eq!(
        contact_fields.texts("#fields tbody td:first-child"),
        ["生日"]
    );
    let company_fields = admin.get("/admin/fields?entity=company").await;
    assert!(company_fields.texts("#fields").is_empty());
    assert!(!admin.get("/customers/new").await.body.contains(&birthday));

    let page = admin.post("/customers/new", &[("name", "星辰科技")]).await;
    assert_eq!(page.status, 303);
    let page = admin
        .post(
            "/contacts/new",
            &[
                ("company", "星辰科技"),
                ("name", "王芳"),
                (&birthday, "1990-13-01"),
            ],
        )
        .await;
    assert_eq!(page.status, 422);
    assert_eq!(
        page.field_error(&birthday).as_deref(),
        Some(zh("fields.invalid_date").as_str())
    );
    assert_eq!(page.input_value("name").as_deref(), Some("王芳"));
    let page = admin
        .post(
            "/contacts/new",
            &[
                ("company", "星辰科技"),
                ("name", "王芳"),
                (&birthday, "1990-12-01"),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let contact = page.location.expect("redirect to the contact");
    let detail = admin.get(&contact).await;
    assert_eq!(
        detail.texts(&format!("[data-field={birthday}]")),
        ["1990-12-01"]
    );
    // The contact list shows the field as a column and filters by it.
    let list = admin
        .get(&format!("/contacts?cf={birthday}&cv=1990-12-01"))
        .await;
    assert_eq!(list.texts("#contacts tbody td:first-child"), ["王芳"]);
    assert_eq!(
        list.texts(&format!("#contacts tbody td[data-col={birthday}]")),
        ["1990-12-01"]
    );
    let list = admin
        .get(&format!("/contacts?cf={birthday}&cv=1990-12-02"))
        .await;
    assert!(list.texts("#contacts tbody tr").is_empty());
    assert!(list.body.contains(&zh("contacts.no_match")));
}
