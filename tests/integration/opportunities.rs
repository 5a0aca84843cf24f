//! 销售机会: creating (from the form and from a company page), validation that keeps the
//! input, the default pipeline, the status buttons and their close dates, stage moves and
//! their history with who did it, the board's counts, totals and moves, edits recorded in
//! both histories, notes on opportunities in the company timeline, deleting an opportunity
//! or its company with notes and files, the settings pages, custom fields and visibility.

use kehu_tests::{Client, TestApp, client::Page};

use crate::support::{People, add_field, exec, zh};

/// Adds a company through the app; returns its id.
async fn company(client: &Client, name: &str, visibility: &str) -> i64 {
    client.get("/customers/new").await;
    let page = client
        .post(
            "/customers/new",
            &[("name", name), ("visibility", visibility)],
        )
        .await;
    assert_eq!(page.status, 303, "creating {name}: {}", page.body);
    id_in(&page, "/customers/")
}

fn id_in(page: &Page, prefix: &str) -> i64 {
    let location = page.location.clone().unwrap_or_default();
    location
        .strip_prefix(prefix)
        .and_then(|id| id.split(['#', '?']).next())
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| {
            panic!(
                "expected a redirect to {prefix}…, got {location:?}: {}",
                page.body
            )
        })
}

/// Adds an opportunity through the form; returns its id.
async fn opportunity(client: &Client, fields: &[(&str, &str)]) -> i64 {
    client.get("/opportunities/new").await;
    let page = client.post("/opportunities/new", fields).await;
    assert_eq!(page.status, 303, "creating {fields:?}: {}", page.body);
    id_in(&page, "/opportunities/")
}

async fn stage_id(app: &TestApp, tenant: i64, name: &str) -> i64 {
    app.scalar(&format!(
        "SELECT id FROM opportunity_stages WHERE tenant_id = {tenant} AND name = '{name}'"
    ))
    .await
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    app.scalar(&format!("SELECT count(*) FROM {sql}")).await
}

#[tokio::test(flavor = "multi_thread")]
async fn an_opportunity_is_created_from_a_company_page_with_the_company_filled_in() {
    let app = TestApp::start().await;
    let admin = app.signup("星辰科技", "王芳", "wang@opp.test").await;
    let tenant = app.tenant_of("wang@opp.test").await;
    let customer = company(&admin, "北京星辰有限公司", "private").await;

    let page = admin.get(&format!("/customers/{customer}")).await;
    assert!(
        page.texts("#company-opportunities .empty-state")[0]
            .contains(&zh("opportunities.none_for_company"))
    );
    assert_eq!(
        page.attrs("#new-opportunity", "href"),
        [format!("/opportunities/new?company={customer}")]
    );
    let form = admin
        .get(&format!("/opportunities/new?company={customer}"))
        .await;
    assert_eq!(form.status, 200);
    assert_eq!(
        form.input_value("company").as_deref(),
        Some("北京星辰有限公司")
    );
    // The default pipeline is offered, its first stage chosen.
    let stages = form.texts("#f-stage_id option");
    assert_eq!(
        stages,
        [
            "初步接洽（10%）",
            "需求确认（30%）",
            "方案报价（50%）",
            "商务谈判（80%）"
        ]
    );
    let page = admin
        .post(
            "/opportunities/new",
            &[
                ("company", "北京星辰有限公司"),
                ("name", "年度软件采购"),
                ("description", "二十个账号，含培训"),
                ("amount", "1,234.56"),
                ("expected_close", "2027-03-31"),
                ("stage_id", ""),
                ("owner_id", ""),
                ("visibility", "private"),
            ],
        )
        .await;
    let id = id_in(&page, "/opportunities/");
    assert_eq!(
        app.text(&format!(
            "SELECT concat_ws('|', company_id, amount, currency, status, stage_id, expected_close, closed_at IS NULL) FROM opportunities WHERE id = {id}"
        ))
        .await,
        format!(
            "{customer}|123456|CNY|tracking|{}|2027-03-31|t",
            stage_id(&app, tenant, "初步接洽").await
        )
    );
    // 'created' records the first stage, with who.
    assert_eq!(
        app.text(&format!(
            "SELECT concat_ws('|', e.action, s.name, u.name) FROM opportunity_events e \
             JOIN opportunity_stages s ON s.id = e.to_stage_id JOIN users u ON u.id = e.actor_id \
             WHERE e.opportunity_id = {id}"
        ))
        .await,
        "created|初步接洽|王芳"
    );
    assert_eq!(
        count(
            &app,
            &format!("company_events WHERE company_id = {customer} AND action = 'opportunity_added' AND subject = '年度软件采购'")
        )
        .await,
        1
    );

    let detail = admin.get(&format!("/opportunities/{id}")).await;
    assert_eq!(detail.status, 200);
    assert_eq!(detail.texts("h1"), ["年度软件采购"]);
    assert_eq!(detail.texts("#inline-amount .inline-value"), ["¥1,234.56"]);
    assert_eq!(detail.texts("#inline-owner_id .inline-value"), ["王芳"]);
    assert_eq!(
        detail.texts("#inline-description .inline-value"),
        ["二十个账号，含培训"]
    );
    assert_eq!(detail.texts(".opportunity-status"), ["跟踪中"]);
    assert_eq!(detail.texts("#opportunity-company"), ["北京星辰有限公司"]);
    assert_eq!(detail.texts("#opportunity-created time").len(), 1);
    assert_eq!(
        detail.texts("#opportunity-tasks .empty-state"),
        [zh("tasks.section_empty")]
    );
    assert!(
        detail.texts("#opportunity-history .event")[0].contains("创建了销售机会，阶段：初步接洽")
    );

    // The company page lists it with stage, status and amount.
    let page = admin.get(&format!("/customers/{customer}")).await;
    assert_eq!(
        page.texts("#company-opportunities .opportunity-name"),
        ["年度软件采购"]
    );
    assert_eq!(
        page.texts("#company-opportunities .opportunity-stage"),
        ["初步接洽"]
    );
    assert_eq!(
        page.texts("#company-opportunities .opportunity-amount"),
        ["¥1,234.56"]
    );
    assert_eq!(
        page.texts("#company-opportunities .opportunity-status"),
        ["跟踪中"]
    );
    assert!(page.texts("#company-history .event")[0].contains(&zh("history.opportunity_added")));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_form_says_why_and_keeps_what_was_typed() {
    let app = TestApp::start().await;
    let admin = app.signup("校验公司", "管理员", "admin@check.test").await;
    company(&admin, "真实客户", "private").await;
    admin.get("/opportunities/new").await;
    let page = admin
        .post(
            "/opportunities/new",
            &[
                ("company", "不存在的公司"),
                ("name", "  "),
                ("description", "保留的简介"),
                ("amount", "12abc"),
                ("expected_close", "2027-02-30"),
                ("visibility", "public"),
            ],
        )
        .await;
    assert_eq!(page.status, 422);
    assert_eq!(
        page.field_error("company").as_deref(),
        Some(zh("contacts.company_unknown").as_str())
    );
    assert_eq!(
        page.field_error("name").as_deref(),
        Some(zh("form.required").as_str())
    );
    assert_eq!(
        page.field_error("amount").as_deref(),
        Some(zh("money.invalid").as_str())
    );
    assert_eq!(
        page.field_error("expected_close").as_deref(),
        Some(zh("fields.invalid_date").as_str())
    );
    assert_eq!(page.input_value("company").as_deref(), Some("不存在的公司"));
    assert_eq!(page.input_value("amount").as_deref(), Some("12abc"));
    assert_eq!(page.texts("#f-description"), ["保留的简介"]);
    assert_eq!(
        page.attrs("#f-visibility option[selected]", "value"),
        ["public"]
    );
    for (amount, key) in [("-5", "money.negative"), ("1.234", "money.too_precise")] {
        let page = admin
            .post(
                "/opportunities/new",
                &[
                    ("company", "真实客户"),
                    ("name", "机会"),
                    ("amount", amount),
                ],
            )
            .await;
        assert_eq!(page.status, 422, "{amount}");
        assert_eq!(
            page.field_error("amount").as_deref(),
            Some(zh(key).as_str())
        );
    }
    assert_eq!(count(&app, "opportunities").await, 0, "nothing saved");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tenant_without_stages_gets_the_default_pipeline_once() {
    let app = TestApp::start().await;
    let admin = app
        .signup("无阶段公司", "管理员", "admin@nostage.test")
        .await;
    let tenant = app.tenant_of("admin@nostage.test").await;
    assert_eq!(
        app.text(&format!(
            "SELECT string_agg(name || ':' || probability, ',' ORDER BY position) FROM opportunity_stages WHERE tenant_id = {tenant}"
        ))
        .await,
        "初步接洽:10,需求确认:30,方案报价:50,商务谈判:80"
    );
    assert_eq!(
        count(&app, &format!("lost_reasons WHERE tenant_id = {tenant}")).await,
        6
    );
    // A tenant from before opportunities existed.
    exec(
        &app,
        &format!("DELETE FROM opportunity_stages WHERE tenant_id = {tenant}"),
    )
    .await;
    exec(
        &app,
        &format!("DELETE FROM lost_reasons WHERE tenant_id = {tenant}"),
    )
    .await;
    for _ in 0..2 {
        assert_eq!(admin.get("/opportunities/board").await.status, 200);
        assert_eq!(admin.get("/opportunities/new").await.status, 200);
    }
    assert_eq!(
        count(
            &app,
            &format!("opportunity_stages WHERE tenant_id = {tenant}")
        )
        .await,
        4
    );
    assert_eq!(
        count(&app, &format!("lost_reasons WHERE tenant_id = {tenant}")).await,
        6
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_status_buttons_close_and_reopen_and_lost_needs_a_reason() {
    let app = TestApp::start().await;
    let t = People::sign_up(&app, "status").await;
    let customer = company(&t.member, "状态客户", "private").await;
    let id = opportunity(
        &t.member,
        &[
            ("company", "状态客户"),
            ("name", "状态机会"),
            ("amount", "5000"),
        ],
    )
    .await;
    let closed_sql = format!(
        "SELECT concat_ws('|', status, closed_at IS NOT NULL) FROM opportunities WHERE id = {id}"
    );
    let path = format!("/opportunities/{id}/status");
    let detail = t.member.get(&format!("/opportunities/{id}")).await;
    assert_eq!(
        detail.attrs(".status-buttons form", "action"),
        [path.clone(), path.clone()]
    );
    assert_eq!(
        detail.attrs("a.status-lost", "href"),
        [format!("{path}?to=lost")]
    );

    // 成功 (without JavaScript): won, closed now, back on the detail page.
    let page = t.member.post(&path, &[("status", "won")]).await;
    assert_eq!(page.status, 303);
    assert_eq!(
        page.location.as_deref(),
        Some(format!("/opportunities/{id}").as_str())
    );
    assert_eq!(app.text(&closed_sql).await, "won|t");
    assert_eq!(
        count(
            &app,
            &format!("company_events WHERE company_id = {customer} AND action = 'opportunity_won'")
        )
        .await,
        1
    );
    let detail = t.member.get(&format!("/opportunities/{id}")).await;
    assert_eq!(detail.texts(".opportunity-status"), ["已经成功"]);
    assert!(detail.texts("#opportunity-closed")[0].starts_with("成交于"));

    // 跟踪 (htmx): reopened, close date cleared; the card and the history come back.
    let page = t.member.post_htmx(&path, &[("status", "tracking")]).await;
    assert_eq!(page.status, 200);
    assert_eq!(
        page.texts("#opportunity-status .opportunity-status"),
        ["跟踪中"]
    );
    assert_eq!(page.attrs("#opportunity-history", "hx-swap-oob"), ["true"]);
    assert_eq!(app.text(&closed_sql).await, "tracking|f");

    // 失败 asks for a reason first.
    let form = t.member.get(&format!("{path}?to=lost")).await;
    assert_eq!(form.status, 200);
    let reasons = form.texts("#f-lost-reason option");
    assert!(reasons.contains(&"价格太高".to_owned()), "{reasons:?}");
    let page = t
        .member
        .post(
            &path,
            &[
                ("status", "lost"),
                ("lost_reason_id", ""),
                ("lost_note", " "),
            ],
        )
        .await;
    assert_eq!(page.status, 422);
    assert_eq!(
        page.texts("#f-lost-reason-error"),
        [zh("opportunities.lost_reason_needed")]
    );
    assert_eq!(app.text(&closed_sql).await, "tracking|f", "nothing changed");
    let page = t
        .member
        .post_htmx(&path, &[("status", "lost"), ("lost_reason_id", "")])
        .await;
    assert_eq!(page.status, 200, "htmx gets the form back to swap in");
    assert_eq!(page.texts("form.lost-form").len(), 1);
    let reason = app
        .scalar("SELECT id FROM lost_reasons WHERE name = '价格太高'")
        .await
        .to_string();
    let page = t
        .member
        .post(
            &path,
            &[
                ("status", "lost"),
                ("lost_reason_id", &reason),
                ("lost_note", "对方预算砍半"),
            ],
        )
        .await;
    assert_eq!(page.status, 303);
    assert_eq!(app.text(&closed_sql).await, "lost|t");
    assert_eq!(
        app.text(&format!(
            "SELECT concat_ws('|', lost_reason_id, lost_note) FROM opportunities WHERE id = {id}"
        ))
        .await,
        format!("{reason}|对方预算砍半")
    );
    let detail = t.member.get(&format!("/opportunities/{id}")).await;
    assert_eq!(
        detail.texts("#opportunity-lost-reason")[0],
        "失败原因：价格太高 · 对方预算砍半"
    );
    // Every change is in the history with who.
    assert_eq!(
        app.text(&format!(
            "SELECT string_agg(concat_ws('>', from_status, to_status) || '@' || actor_id, ',' ORDER BY id) \
             FROM opportunity_events WHERE opportunity_id = {id} AND action = 'status'"
        ))
        .await,
        format!(
            "tracking>won@{m},won>tracking@{m},tracking>lost@{m}",
            m = t.member_id
        )
    );
    // Only whoever manages it may press the buttons.
    assert_eq!(
        t.outsider.post(&path, &[("status", "won")]).await.status,
        404
    );
    exec(
        &app,
        &format!("UPDATE opportunities SET visibility = 'public' WHERE id = {id}"),
    )
    .await;
    assert_eq!(
        t.outsider.post(&path, &[("status", "won")]).await.status,
        403
    );
    assert_eq!(
        t.manager.post(&path, &[("status", "won")]).await.status,
        303
    );
    assert_eq!(
        t.admin.post(&path, &[("status", "tracking")]).await.status,
        303
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn stage_moves_are_recorded_with_who_and_retired_stages_are_refused() {
    let app = TestApp::start().await;
    let t = People::sign_up(&app, "stage").await;
    let tenant = app.tenant_of("admin@stage.test").await;
    let customer = company(&t.member, "阶段客户", "private").await;
    let id = opportunity(&t.member, &[("company", "阶段客户"), ("name", "阶段机会")]).await;
    let needs = stage_id(&app, tenant, "需求确认").await;
    let proposal = stage_id(&app, tenant, "方案报价").await;
    t.member.get(&format!("/opportunities/{id}")).await;
    let page = t
        .member
        .post(
            &format!("/opportunities/{id}/stage"),
            &[("stage_id", &needs.to_string())],
        )
        .await;
    assert_eq!(page.status, 303);
    assert_eq!(
        page.location.as_deref(),
        Some(format!("/opportunities/{id}").as_str())
    );
    let page = t
        .manager
        .post(
            &format!("/opportunities/{id}/stage"),
            &[("stage_id", &proposal.to_string())],
        )
        .await;
    assert_eq!(page.status, 303, "the member's manager may move it");
    let manager_id = app.user_id("manager@stage.test").await;
    assert_eq!(
        app.text(&format!(
            "SELECT string_agg(f.name || '>' || s.name || '@' || e.actor_id, ',' ORDER BY e.id) \
             FROM opportunity_events e JOIN opportunity_stages f ON f.id = e.from_stage_id \
             JOIN opportunity_stages s ON s.id = e.to_stage_id \
             WHERE e.opportunity_id = {id} AND e.action = 'stage'"
        ))
        .await,
        format!(
            "初步接洽>需求确认@{},需求确认>方案报价@{manager_id}",
            t.member_id
        )
    );
    assert_eq!(
        count(
            &app,
            &format!(
                "company_events WHERE company_id = {customer} AND action = 'opportunity_updated'"
            )
        )
        .await,
        2
    );
    let detail = t.member.get(&format!("/opportunities/{id}")).await;
    let events = detail.texts("#opportunity-history .event");
    assert!(
        events[0].contains("经理") && events[0].contains("将阶段从“需求确认”改为“方案报价”"),
        "{events:?}"
    );
    assert!(
        events[1].contains("员工") && events[1].contains("将阶段从“初步接洽”改为“需求确认”"),
        "{events:?}"
    );
    assert_eq!(
        detail.attrs("#opportunity-stage option[selected]", "value"),
        [proposal.to_string()]
    );
    // A retired stage is not offered and cannot be moved to.
    exec(
        &app,
        &format!("UPDATE opportunity_stages SET retired = true WHERE id = {needs}"),
    )
    .await;
    let page = t
        .member
        .post(
            &format!("/opportunities/{id}/stage"),
            &[("stage_id", &needs.to_string())],
        )
        .await;
    assert_eq!(page.status, 400);
    let form = t.member.get("/opportunities/new").await;
    assert!(
        !form
            .texts("#f-stage_id option")
            .iter()
            .any(|o| o.starts_with("需求确认"))
    );
    // Someone who may not manage it cannot move it.
    exec(
        &app,
        &format!("UPDATE opportunities SET visibility = 'public' WHERE id = {id}"),
    )
    .await;
    let page = t
        .outsider
        .post(
            &format!("/opportunities/{id}/stage"),
            &[("stage_id", &proposal.to_string())],
        )
        .await;
    assert_eq!(page.status, 403);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_board_counts_and_totals_visible_tracking_opportunities_and_moves_cards() {
    let app = TestApp::start().await;
    let t = People::sign_up(&app, "board").await;
    let tenant = app.tenant_of("admin@board.test").await;
    company(&t.admin, "看板客户", "public").await;
    let contact = stage_id(&app, tenant, "初步接洽").await;
    let needs = stage_id(&app, tenant, "需求确认").await;
    let mine = opportunity(
        &t.member,
        &[
            ("company", "看板客户"),
            ("name", "甲的机会"),
            ("amount", "100.50"),
            ("expected_close", "2027-01-15"),
        ],
    )
    .await;
    opportunity(
        &t.member,
        &[
            ("company", "看板客户"),
            ("name", "甲的第二个"),
            ("amount", "200"),
        ],
    )
    .await;
    let admins = opportunity(
        &t.admin,
        &[
            ("company", "看板客户"),
            ("name", "公开的机会"),
            ("amount", "1000"),
            ("visibility", "public"),
        ],
    )
    .await;
    let hidden = opportunity(
        &t.admin,
        &[
            ("company", "看板客户"),
            ("name", "管理员私有"),
            ("amount", "7"),
            ("stage_id", &needs.to_string()),
        ],
    )
    .await;
    let won = opportunity(
        &t.member,
        &[
            ("company", "看板客户"),
            ("name", "已成交"),
            ("amount", "9999"),
        ],
    )
    .await;
    t.member.get(&format!("/opportunities/{won}")).await;
    t.member
        .post(
            &format!("/opportunities/{won}/status"),
            &[("status", "won")],
        )
        .await;

    let column = |page: &Page, stage: i64, what: &str| -> Vec<String> {
        page.attrs(
            &format!(".board-column[data-stage='{stage}'] .board-{what}"),
            &format!("data-{what}"),
        )
    };
    let board = t.member.get("/opportunities/board").await;
    assert_eq!(board.status, 200);
    assert_eq!(
        board.texts(".board-column h2"),
        ["初步接洽", "需求确认", "方案报价", "商务谈判"]
    );
    // The member's two and the public one; not the won one, not the admin's private one.
    assert_eq!(column(&board, contact, "count"), ["3"]);
    assert_eq!(column(&board, contact, "total"), ["130050"]);
    assert_eq!(column(&board, needs, "count"), ["0"]);
    assert_eq!(
        board.texts(&format!(
            ".board-column[data-stage='{contact}'] .board-total"
        )),
        ["¥1,300.50"]
    );
    let card = format!(".board-card[data-id='{mine}']");
    assert_eq!(
        board.texts(&format!("{card} .board-card-company")),
        ["看板客户"]
    );
    assert_eq!(
        board.texts(&format!("{card} .board-card-amount")),
        ["¥100.50"]
    );
    assert_eq!(board.texts(&format!("{card} .board-card-owner")), ["员工"]);
    assert!(board.texts(&format!("{card} .board-card-close"))[0].contains("2027-01-15"));
    assert!(
        board
            .texts(&format!(".board-card[data-id='{hidden}']"))
            .is_empty()
    );
    assert!(
        board
            .texts(&format!(".board-card[data-id='{won}']"))
            .is_empty()
    );
    // The admin's public card is shown but locked, without a move form.
    assert_eq!(
        board.attrs(&format!(".board-card[data-id='{admins}']"), "class"),
        ["board-card board-card-locked"]
    );
    assert!(
        board
            .texts(&format!(".board-card[data-id='{admins}'] form"))
            .is_empty()
    );
    assert_eq!(
        board.attrs("script[src]", "src"),
        [
            "/static/vendor/htmx.min.js",
            "/static/forms.js",
            "/static/vendor/Sortable.min.js",
            "/static/board.js"
        ]
    );
    // The admin sees everything, and can narrow the view to one employee.
    let board = t.admin.get("/opportunities/board").await;
    assert_eq!(column(&board, contact, "count"), ["3"]);
    assert_eq!(column(&board, needs, "count"), ["1"]);
    let board = t
        .admin
        .get(&format!("/opportunities/board?view=user-{}", t.member_id))
        .await;
    assert_eq!(column(&board, contact, "count"), ["2"]);
    assert_eq!(column(&board, needs, "count"), ["0"]);

    // A drag (htmx) moves the card and brings back the board with new counts and totals.
    let page = t
        .member
        .post_htmx(
            &format!("/opportunities/{mine}/stage"),
            &[
                ("stage_id", &needs.to_string()),
                ("back", "board"),
                ("view", ""),
            ],
        )
        .await;
    assert_eq!(page.status, 200);
    assert_eq!(page.attrs("#board", "data-view"), [""]);
    assert_eq!(column(&page, contact, "count"), ["2"]);
    assert_eq!(column(&page, needs, "count"), ["1"]);
    assert_eq!(column(&page, needs, "total"), ["10050"]);
    assert_eq!(
        page.attrs(
            &format!(".board-column[data-stage='{needs}'] .board-card"),
            "data-id"
        ),
        [mine.to_string()]
    );
    // Without JavaScript, the card's menu does the same and returns to the board.
    let page = t
        .member
        .post(
            &format!("/opportunities/{mine}/stage"),
            &[
                ("stage_id", &contact.to_string()),
                ("back", "board"),
                ("view", ""),
            ],
        )
        .await;
    assert_eq!(page.status, 303);
    assert_eq!(page.location.as_deref(), Some("/opportunities/board"));
    assert_eq!(
        app.scalar(&format!(
            "SELECT stage_id FROM opportunities WHERE id = {mine}"
        ))
        .await,
        contact
    );
    // A card the user may not manage cannot be moved.
    let page = t
        .member
        .post_htmx(
            &format!("/opportunities/{admins}/stage"),
            &[("stage_id", &needs.to_string()), ("back", "board")],
        )
        .await;
    assert_eq!(page.status, 403);
    assert_eq!(
        app.scalar(&format!(
            "SELECT stage_id FROM opportunities WHERE id = {admins}"
        ))
        .await,
        contact
    );
    // The manager sees the team's cards and the public one, not the admin's private one.
    let board = t.manager.get("/opportunities/board").await;
    assert_eq!(column(&board, contact, "count"), ["3"]);
    assert_eq!(column(&board, needs, "count"), ["0"]);
    // The outsider sees only the public card.
    let board = t.outsider.get("/opportunities/board").await;
    assert_eq!(column(&board, contact, "count"), ["1"]);
    let _ = t.outsider_id;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_column_shows_its_first_cards_and_pages_to_the_rest() {
    let app = TestApp::start().await;
    let admin = app.signup("大看板", "管理员", "admin@big.test").await;
    let tenant = app.tenant_of("admin@big.test").await;
    let customer = company(&admin, "大客户", "private").await;
    let first = stage_id(&app, tenant, "初步接洽").await;
    let owner = app.user_id("admin@big.test").await;
    exec(
        &app,
        &format!(
            "INSERT INTO opportunities (tenant_id, company_id, name, amount, stage_id, owner_id, created_by) \
             SELECT {tenant}, {customer}, '机会' || g, 100, {first}, {owner}, {owner} FROM generate_series(1, 55) g"
        ),
    )
    .await;
    let board = admin.get("/opportunities/board").await;
    let column = format!(".board-column[data-stage='{first}']");
    assert_eq!(board.texts(&format!("{column} .board-card")).len(), 50);
    assert_eq!(
        board.attrs(&format!("{column} .board-count"), "data-count"),
        ["55"]
    );
    assert_eq!(
        board.attrs(&format!("{column} .board-total"), "data-total"),
        ["5500"]
    );
    let more = board.attrs(&format!("{column} .board-more"), "href");
    assert_eq!(more.len(), 1);
    let rest = admin.get(&more[0]).await;
    assert_eq!(rest.texts(".board-column").len(), 1);
    assert_eq!(rest.texts(".board-card").len(), 5);
    assert_eq!(
        rest.texts(".board-card-name").last().map(String::as_str),
        Some("机会1")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn edits_are_recorded_in_the_opportunity_and_company_histories() {
    let app = TestApp::start().await;
    let admin = app.signup("修改公司", "王芳", "admin@edit.test").await;
    let tenant = app.tenant_of("admin@edit.test").await;
    let customer = company(&admin, "修改客户", "private").await;
    let id = opportunity(
        &admin,
        &[("company", "修改客户"), ("name", "原名"), ("amount", "100")],
    )
    .await;
    let form = admin.get(&format!("/opportunities/{id}/edit")).await;
    assert_eq!(form.input_value("name").as_deref(), Some("原名"));
    assert_eq!(form.input_value("amount").as_deref(), Some("100"));
    assert_eq!(form.texts("#f-company-fixed"), ["修改客户"]);
    let proposal = stage_id(&app, tenant, "方案报价").await.to_string();
    let refused = admin
        .post(
            &format!("/opportunities/{id}/edit"),
            &[("name", "新名"), ("amount", "abc"), ("stage_id", &proposal)],
        )
        .await;
    assert_eq!(refused.status, 422);
    assert_eq!(refused.input_value("name").as_deref(), Some("新名"));
    let page = admin
        .post(
            &format!("/opportunities/{id}/edit"),
            &[
                ("name", "新名"),
                ("amount", "2,500"),
                ("stage_id", &proposal),
                ("visibility", "public"),
            ],
        )
        .await;
    assert_eq!(page.status, 303);
    let changes = app
        .text(&format!(
            "SELECT changes::text FROM opportunity_events WHERE opportunity_id = {id} AND action = 'updated'"
        ))
        .await;
    for part in [
        r#""field": "opportunities.name""#,
        r#""after": "新名""#,
        r#""before": "¥100.00""#,
        r#""after": "¥2,500.00""#,
        r#""after": "public""#,
    ] {
        assert!(changes.contains(part), "{part} in {changes}");
    }
    assert_eq!(
        count(
            &app,
            &format!("opportunity_events WHERE opportunity_id = {id} AND action = 'stage'")
        )
        .await,
        1
    );
    let company_page = admin.get(&format!("/customers/{customer}")).await;
    let events = company_page.texts("#company-history .event[data-action='opportunity_updated']");
    assert!(
        events
            .iter()
            .any(|e| e.contains("¥2,500.00") && e.contains("新名")),
        "{events:?}"
    );
    assert!(events.iter().any(|e| e.contains("方案报价")), "{events:?}");
    let home = admin.get("/").await;
    assert!(
        home.texts("#feed .event[data-action='opportunity_updated']")
            .iter()
            .any(|e| e.contains("修改了销售机会")),
        "最新动态 shows it"
    );
    // Inline edit of the amount goes through the same checks and history.
    let editor = admin
        .get(&format!("/opportunities/{id}/inline?field=amount"))
        .await;
    assert_eq!(editor.attrs("#inline-input-amount", "value"), ["2500"]);
    let page = admin
        .post_htmx(
            &format!("/opportunities/{id}/inline"),
            &[("field", "amount"), ("amount", "x")],
        )
        .await;
    assert_eq!(page.texts(".inline-error"), [zh("money.invalid")]);
    let page = admin
        .post_htmx(
            &format!("/opportunities/{id}/inline"),
            &[("field", "amount"), ("amount", "¥3000.5")],
        )
        .await;
    assert_eq!(page.texts(".inline-value"), ["¥3,000.50"]);
    assert_eq!(
        app.scalar(&format!("SELECT amount FROM opportunities WHERE id = {id}"))
            .await,
        300_050
    );
    assert_eq!(
        count(
            &app,
            &format!("opportunity_events WHERE opportunity_id = {id} AND action = 'updated'")
        )
        .await,
        2
    );
}

/// Adds a note with one file to an opportunity; returns the note id.
async fn note_with_file(client: &Client, opportunity: i64, body: &str) -> i64 {
    client.get(&format!("/opportunities/{opportunity}")).await;
    let page = client
        .post_multipart(
            &format!("/opportunities/{opportunity}/notes"),
            &[("body", body)],
            &[("报价单.txt", "text/plain", body.as_bytes().to_vec())],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let location = page.location.unwrap_or_default();
    location
        .strip_prefix(&format!("/opportunities/{opportunity}#note-"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("note redirect {location}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn notes_on_an_opportunity_show_there_and_in_its_company_timeline() {
    let app = TestApp::start().await;
    let admin = app.signup("备注公司", "王芳", "admin@onotes.test").await;
    let customer = company(&admin, "备注客户", "private").await;
    let id = opportunity(&admin, &[("company", "备注客户"), ("name", "带备注的机会")]).await;
    let note = note_with_file(&admin, id, "客户要正式报价").await;
    assert_eq!(
        app.text(&format!(
            "SELECT concat_ws('|', company_id, opportunity_id) FROM notes WHERE id = {note}"
        ))
        .await,
        format!("{customer}|{id}")
    );
    let detail = admin.get(&format!("/opportunities/{id}")).await;
    assert_eq!(
        detail.texts(&format!("#opportunity-notes #note-{note} .note-body")),
        ["客户要正式报价"]
    );
    let link = detail.attrs(&format!("#note-{note} .note-files a"), "href");
    assert!(
        link[0].starts_with(&format!("/opportunities/{id}/files/")),
        "{link:?}"
    );
    let (status, _, bytes) = admin.get_bytes(&link[0]).await;
    assert_eq!((status, bytes), (200, "客户要正式报价".as_bytes().to_vec()));
    // The company's timeline has it, naming the opportunity; its history too.
    let page = admin.get(&format!("/customers/{customer}")).await;
    assert_eq!(
        page.texts(&format!("#company-notes #note-{note} .note-body")),
        ["客户要正式报价"]
    );
    assert_eq!(
        page.attrs(&format!("#note-{note} .note-opportunity a"), "href"),
        [format!("/opportunities/{id}")]
    );
    assert!(
        page.texts("#company-history .event[data-action='note_added']")[0]
            .contains("客户要正式报价")
    );
    // A company's own note is not on the opportunity.
    let own = admin
        .post_multipart(
            &format!("/customers/{customer}/notes"),
            &[("body", "公司自己的备注")],
            &[],
        )
        .await;
    assert_eq!(own.status, 303);
    let detail = admin.get(&format!("/opportunities/{id}")).await;
    assert!(!detail.body.contains("公司自己的备注"));
    // Deleting the note from the opportunity page.
    let confirm = admin
        .get(&format!("/opportunities/{id}/notes/{note}/delete"))
        .await;
    assert_eq!(confirm.status, 200);
    let page = admin
        .post(&format!("/opportunities/{id}/notes/{note}/delete"), &[])
        .await;
    assert_eq!(page.status, 303);
    assert_eq!(count(&app, &format!("notes WHERE id = {note}")).await, 0);
}

fn stored_files(app: &TestApp) -> usize {
    let mut found = 0;
    let mut stack = vec![app.files_dir()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            if entry.path().is_dir() {
                stack.push(entry.path());
            } else {
                found += 1;
            }
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread")]
async fn deleting_an_opportunity_removes_its_notes_files_and_history() {
    let app = TestApp::start().await;
    let admin = app.signup("删除公司", "王芳", "admin@odel.test").await;
    let customer = company(&admin, "删除客户", "private").await;
    let id = opportunity(&admin, &[("company", "删除客户"), ("name", "要删的机会")]).await;
    let keep = opportunity(&admin, &[("company", "删除客户"), ("name", "留下的机会")]).await;
    note_with_file(&admin, id, "第一条").await;
    note_with_file(&admin, id, "第二条").await;
    note_with_file(&admin, keep, "留下的备注").await;
    assert_eq!(stored_files(&app), 3);

    let confirm = admin.get(&format!("/opportunities/{id}/delete")).await;
    assert_eq!(confirm.status, 200);
    assert!(confirm.texts(".alert-danger strong")[0].contains("要删的机会"));
    assert_eq!(
        confirm.texts("#delete-contents"),
        [zh_with(
            "opportunities.delete_contents",
            &[("notes", "2"), ("files", "2")]
        )]
    );
    assert!(confirm.body.contains(&zh("opportunities.delete_warning")));
    let page = admin
        .post(&format!("/opportunities/{id}/delete"), &[])
        .await;
    assert_eq!(page.status, 303);
    assert_eq!(
        page.location.as_deref(),
        Some(format!("/customers/{customer}#company-opportunities").as_str())
    );
    assert_eq!(
        count(&app, &format!("opportunities WHERE id = {id}")).await,
        0
    );
    assert_eq!(
        count(&app, &format!("notes WHERE opportunity_id = {id}")).await,
        0
    );
    assert_eq!(
        count(
            &app,
            &format!("opportunity_events WHERE opportunity_id = {id}")
        )
        .await,
        0
    );
    assert_eq!(count(&app, "note_attachments").await, 1);
    assert_eq!(
        stored_files(&app),
        1,
        "its files are gone, the other's stays"
    );
    assert_eq!(
        count(&app, &format!("opportunities WHERE id = {keep}")).await,
        1
    );
    assert_eq!(
        count(&app, &format!("company_events WHERE company_id = {customer} AND action = 'opportunity_deleted' AND subject = '要删的机会'")).await,
        1
    );
    assert_eq!(admin.get(&format!("/opportunities/{id}")).await.status, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn deleting_a_company_removes_its_opportunities_and_their_files() {
    let app = TestApp::start().await;
    let admin = app.signup("删客户公司", "王芳", "admin@cdel.test").await;
    let customer = company(&admin, "将被删除的客户", "private").await;
    let other = company(&admin, "别的客户", "private").await;
    let id = opportunity(
        &admin,
        &[("company", "将被删除的客户"), ("name", "随公司删除")],
    )
    .await;
    opportunity(
        &admin,
        &[("company", "将被删除的客户"), ("name", "也随公司删除")],
    )
    .await;
    let survivor = opportunity(&admin, &[("company", "别的客户"), ("name", "不受影响")]).await;
    note_with_file(&admin, id, "机会备注").await;
    note_with_file(&admin, survivor, "别的备注").await;
    let confirm = admin.get(&format!("/customers/{customer}/delete")).await;
    assert_eq!(
        confirm.texts("#delete-opportunities"),
        [zh_with(
            "opportunities.company_delete_warning",
            &[("count", "2")]
        )]
    );
    let page = admin
        .post(&format!("/customers/{customer}/delete"), &[])
        .await;
    assert_eq!(page.status, 303);
    assert_eq!(
        count(
            &app,
            &format!("opportunities WHERE company_id = {customer}")
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &app,
            &format!("opportunity_events WHERE opportunity_id = {id}")
        )
        .await,
        0
    );
    assert_eq!(
        count(&app, &format!("opportunities WHERE id = {survivor}")).await,
        1
    );
    assert_eq!(
        stored_files(&app),
        1,
        "the opportunity's file went with the company"
    );
    assert_eq!(admin.get(&format!("/customers/{other}")).await.status, 200);
}

/// The Chinese text of a key with its placeholders filled.
fn zh_with(key: &str, args: &[(&str, &str)]) -> String {
    kehu::i18n::Locale::ZhCn.tf(key, args)
}

#[tokio::test(flavor = "multi_thread")]
async fn admins_keep_the_pipeline_and_others_may_not() {
    let app = TestApp::start().await;
    let t = People::sign_up(&app, "pipe").await;
    let tenant = app.tenant_of("admin@pipe.test").await;
    for client in [&t.member, &t.manager] {
        for path in [
            "/admin/stages",
            "/admin/opportunity-categories",
            "/admin/lost-reasons",
        ] {
            assert_eq!(client.get(path).await.status, 403, "{path}");
        }
        assert_eq!(
            client
                .post("/admin/stages", &[("name", "偷加"), ("probability", "5")])
                .await
                .status,
            403
        );
        assert_eq!(
            client
                .post("/admin/lost-reasons", &[("name", "偷加")])
                .await
                .status,
            403
        );
    }
    let page = t.admin.get("/admin/stages").await;
    assert_eq!(
        page.attrs("#stages input[name=name]", "value"),
        ["初步接洽", "需求确认", "方案报价", "商务谈判"]
    );
    let page = t
        .admin
        .post("/admin/stages", &[("name", "签约"), ("probability", "101")])
        .await;
    assert_eq!(page.status, 422);
    assert_eq!(
        page.field_error("probability").as_deref(),
        Some(zh("opportunities.stages.bad_probability").as_str())
    );
    assert_eq!(page.input_value("name").as_deref(), Some("签约"));
    let page = t
        .admin
        .post(
            "/admin/stages",
            &[("name", "初步接洽"), ("probability", "5")],
        )
        .await;
    assert_eq!(
        page.field_error("name").as_deref(),
        Some(zh("opportunities.stages.taken").as_str())
    );
    assert_eq!(
        t.admin
            .post("/admin/stages", &[("name", "签约"), ("probability", "95")])
            .await
            .status,
        303
    );
    let signing = stage_id(&app, tenant, "签约").await;
    let contact = stage_id(&app, tenant, "初步接洽").await;
    // Rename with a new probability, move up, retire.
    let page = t
        .admin
        .post(
            &format!("/admin/stages/{contact}"),
            &[("name", "初次沟通"), ("probability", "15")],
        )
        .await;
    assert_eq!(page.status, 303);
    assert_eq!(
        t.admin
            .post(&format!("/admin/stages/{signing}/up"), &[])
            .await
            .status,
        303
    );
    assert_eq!(
        t.admin
            .post(&format!("/admin/stages/{contact}/retire"), &[])
            .await
            .status,
        303
    );
    assert_eq!(
        app.text(&format!(
            "SELECT string_agg(name || ':' || probability || ':' || retired, ',' ORDER BY position) FROM opportunity_stages WHERE tenant_id = {tenant}"
        ))
        .await,
        "初次沟通:15:true,需求确认:30:false,方案报价:50:false,签约:95:false,商务谈判:80:false"
    );
    let board = t.admin.get("/opportunities/board").await;
    assert_eq!(
        board.texts(".board-column h2"),
        ["需求确认", "方案报价", "签约", "商务谈判"]
    );
    assert_eq!(
        t.admin
            .post(&format!("/admin/stages/{contact}/retire"), &[])
            .await
            .status,
        303,
        "restored"
    );
    // The last active stage stays.
    for name in ["初次沟通", "需求确认", "方案报价", "签约"] {
        let id = stage_id(&app, tenant, name).await;
        t.admin
            .post(&format!("/admin/stages/{id}/retire"), &[])
            .await;
    }
    let last = stage_id(&app, tenant, "商务谈判").await;
    let page = t
        .admin
        .post(&format!("/admin/stages/{last}/retire"), &[])
        .await;
    assert_eq!(page.status, 422);
    assert!(page.body.contains(&zh("opportunities.stages.last_active")));
    assert_eq!(
        count(
            &app,
            &format!("opportunity_stages WHERE tenant_id = {tenant} AND NOT retired")
        )
        .await,
        1
    );

    // Categories and lost reasons: added, offered, refused twice.
    assert_eq!(
        t.admin
            .post("/admin/opportunity-categories", &[("name", "新业务")])
            .await
            .status,
        303
    );
    let page = t
        .admin
        .post("/admin/opportunity-categories", &[("name", "新业务")])
        .await;
    assert_eq!(
        page.field_error("name").as_deref(),
        Some(zh("opportunities.categories.taken").as_str())
    );
    let form = t.member.get("/opportunities/new").await;
    assert!(
        form.texts("#f-category_id option")
            .contains(&"新业务".to_owned())
    );
    assert_eq!(
        t.admin
            .post("/admin/lost-reasons", &[("name", "交期太长")])
            .await
            .status,
        303
    );
    let page = t.admin.get("/admin/lost-reasons").await;
    assert!(
        page.attrs("#lost-reasons input[name=name]", "value")
            .contains(&"交期太长".to_owned())
    );
    let reason = app
        .scalar("SELECT id FROM lost_reasons WHERE name = '交期太长'")
        .await;
    assert_eq!(
        t.admin
            .post(&format!("/admin/lost-reasons/{reason}/delete"), &[])
            .await
            .status,
        303
    );
    assert_eq!(count(&app, "lost_reasons WHERE name = '交期太长'").await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn custom_fields_of_opportunities_are_in_the_form_and_the_detail_page() {
    let app = TestApp::start().await;
    let admin = app.signup("字段公司", "王芳", "admin@ofields.test").await;
    company(&admin, "字段客户", "private").await;
    let page = admin.get("/admin/fields?entity=opportunity").await;
    assert!(page.texts(".nav-pills .nav-link.active")[0].contains("销售机会字段"));
    let source = add_field(
        &app,
        &admin,
        "opportunity",
        "来源渠道",
        "select",
        "展会\n转介绍",
    )
    .await;
    exec(
        &app,
        "UPDATE custom_fields SET required = true WHERE label = '来源渠道'",
    )
    .await;
    let form = admin.get("/opportunities/new").await;
    assert!(
        form.texts(&format!("#f-{source} option"))
            .contains(&"展会".to_owned())
    );
    let page = admin
        .post(
            "/opportunities/new",
            &[("company", "字段客户"), ("name", "有字段的机会")],
        )
        .await;
    assert_eq!(page.status, 422);
    assert_eq!(
        page.field_error(&source).as_deref(),
        Some(zh("form.required").as_str())
    );
    let id = opportunity(
        &admin,
        &[
            ("company", "字段客户"),
            ("name", "有字段的机会"),
            (source.as_str(), "转介绍"),
        ],
    )
    .await;
    let detail = admin.get(&format!("/opportunities/{id}")).await;
    assert_eq!(
        detail.texts(&format!("#inline-{source} .inline-value")),
        ["转介绍"]
    );
    // The company form does not get it.
    let company_form = admin.get("/customers/new").await;
    assert!(!company_form.body.contains("来源渠道"));
}

#[tokio::test(flavor = "multi_thread")]
async fn who_sees_an_opportunity_follows_its_owner_and_visibility() {
    let app = TestApp::start().await;
    let t = People::sign_up(&app, "vis").await;
    company(&t.admin, "公开客户", "public").await;
    let members = opportunity(
        &t.member,
        &[("company", "公开客户"), ("name", "甲的私有机会")],
    )
    .await;
    let admins = opportunity(
        &t.admin,
        &[("company", "公开客户"), ("name", "管理员私有机会")],
    )
    .await;
    let public = opportunity(
        &t.outsider,
        &[
            ("company", "公开客户"),
            ("name", "乙的公开机会"),
            ("visibility", "public"),
        ],
    )
    .await;
    let path = |id: i64| format!("/opportunities/{id}");
    // The member: own and public.
    assert_eq!(t.member.get(&path(members)).await.status, 200);
    assert_eq!(t.member.get(&path(admins)).await.status, 404);
    let page = t.member.get(&path(public)).await;
    assert_eq!(page.status, 200);
    assert!(
        page.texts(".status-buttons").is_empty(),
        "no buttons on another's record"
    );
    assert_eq!(
        t.member.get(&format!("{}/edit", path(public))).await.status,
        403
    );
    assert_eq!(
        t.member
            .get(&format!("{}/delete", path(public)))
            .await
            .status,
        403
    );
    // The manager: the team's, and public.
    assert_eq!(t.manager.get(&path(members)).await.status, 200);
    assert_eq!(t.manager.get(&path(admins)).await.status, 404);
    assert_eq!(
        t.manager
            .get(&format!("{}/edit", path(members)))
            .await
            .status,
        200
    );
    // The outsider: not the member's private one.
    assert_eq!(t.outsider.get(&path(members)).await.status, 404);
    assert_eq!(
        t.outsider
            .get(&format!("{}/notes", path(members)))
            .await
            .status,
        404
    );
    // The admin: everything.
    for id in [members, admins, public] {
        assert_eq!(t.admin.get(&path(id)).await.status, 200);
    }
    // The company page lists only what the viewer may see.
    let customer = app
        .scalar("SELECT id FROM companies WHERE name = '公开客户'")
        .await;
    let page = t.outsider.get(&format!("/customers/{customer}")).await;
    assert_eq!(
        page.texts("#company-opportunities .opportunity-name"),
        ["乙的公开机会"]
    );
    let page = t.admin.get(&format!("/customers/{customer}")).await;
    assert_eq!(
        page.texts("#company-opportunities .opportunity-name").len(),
        3
    );
    // A member may open an opportunity on a public company they do not own, as its owner.
    let theirs = opportunity(
        &t.outsider,
        &[("company", "公开客户"), ("name", "乙自己的")],
    )
    .await;
    assert_eq!(
        app.scalar(&format!(
            "SELECT owner_id FROM opportunities WHERE id = {theirs}"
        ))
        .await,
        t.outsider_id
    );
    // …but may not give it to someone they do not manage.
    t.outsider.get("/opportunities/new").await;
    let page = t
        .outsider
        .post(
            "/opportunities/new",
            &[
                ("company", "公开客户"),
                ("name", "给别人"),
                ("owner_id", &t.member_id.to_string()),
            ],
        )
        .await;
    assert_eq!(page.status, 422);
    assert_eq!(
        page.field_error("owner_id").as_deref(),
        Some(zh("form.invalid_choice").as_str())
    );
}

/// `opportunity_open` of a tenant and the same figures by a plain GROUP BY over its
/// tracking opportunities, as two comparable texts.
async fn open_figures(app: &TestApp, tenant: i64) -> (String, String) {
    let kept = app
        .text(&format!(
            "SELECT coalesce(string_agg(concat_ws(',', owner_id, visibility, open_count, open_amount), ';' \
                    ORDER BY owner_id, visibility), '') \
               FROM opportunity_open WHERE tenant_id = {tenant} AND open_count <> 0"
        ))
        .await;
    let live = app
        .text(&format!(
            "SELECT coalesce(string_agg(concat_ws(',', owner_id, visibility, n, amount), ';' \
                    ORDER BY owner_id, visibility), '') \
               FROM (SELECT owner_id, visibility, count(*) AS n, sum(amount) AS amount \
                       FROM opportunities WHERE tenant_id = {tenant} AND status = 'tracking' \
                      GROUP BY 1, 2) g"
        ))
        .await;
    (kept, live)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_open_figures_follow_every_kind_of_change() {
    let app = TestApp::start().await;
    let t = People::sign_up(&app, "openfig").await;
    let tenant = app.tenant_of("admin@openfig.test").await;
    let bystander = People::sign_up(&app, "openbys").await;
    let other_tenant = app.tenant_of("admin@openbys.test").await;
    company(&bystander.member, "旁观客户", "private").await;
    opportunity(
        &bystander.member,
        &[
            ("company", "旁观客户"),
            ("name", "旁观机会"),
            ("amount", "700"),
        ],
    )
    .await;
    let bystanders = open_figures(&app, other_tenant).await;

    let customer = company(&t.member, "开放客户", "private").await;
    let first = opportunity(
        &t.member,
        &[
            ("company", "开放客户"),
            ("name", "一号"),
            ("amount", "5000"),
        ],
    )
    .await;
    let second = opportunity(
        &t.member,
        &[
            ("company", "开放客户"),
            ("name", "二号"),
            ("amount", "3000"),
        ],
    )
    .await;
    let (kept, live) = open_figures(&app, tenant).await;
    assert_eq!(
        kept,
        format!("{},private,2,800000", t.member_id),
        "two tracking, ¥8,000 in fen"
    );
    assert_eq!(kept, live);

    // Won: no longer open. Reopened: open again.
    let status = format!("/opportunities/{first}/status");
    assert_eq!(
        t.member.post(&status, &[("status", "won")]).await.status,
        303
    );
    let (kept, live) = open_figures(&app, tenant).await;
    assert_eq!(kept, format!("{},private,1,300000", t.member_id));
    assert_eq!(kept, live);
    assert_eq!(
        t.member
            .post(&status, &[("status", "tracking")])
            .await
            .status,
        303
    );
    assert_eq!(
        open_figures(&app, tenant).await.0,
        live.replace(",1,300000", ",2,800000")
    );

    // An edit of the amount and the visibility moves the figures between rows.
    let page = t
        .member
        .post(
            &format!("/opportunities/{second}/edit"),
            &[
                ("name", "二号"),
                ("amount", "3,500"),
                ("visibility", "public"),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let (kept, live) = open_figures(&app, tenant).await;
    assert_eq!(
        kept,
        format!("{m},private,1,500000;{m},public,1,350000", m = t.member_id)
    );
    assert_eq!(kept, live);

    // A bulk change of owner by the admin.
    t.admin.get("/opportunities").await;
    let (outsider, first_id, second_id) = (
        t.outsider_id.to_string(),
        first.to_string(),
        second.to_string(),
    );
    let page = t
        .admin
        .post(
            "/opportunities/bulk",
            &[
                ("action", "owner"),
                ("owner_id", outsider.as_str()),
                ("opportunity_id", first_id.as_str()),
                ("opportunity_id", second_id.as_str()),
                ("confirm", "1"),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let (kept, live) = open_figures(&app, tenant).await;
    assert_eq!(
        kept,
        format!(
            "{o},private,1,500000;{o},public,1,350000",
            o = t.outsider_id
        )
    );
    assert_eq!(kept, live);

    // The ranking page shows them.
    let ranking = t.admin.get("/statistics/ranking?format=json").await;
    assert_eq!(ranking.status, 200);
    let ranking: serde_json::Value = serde_json::from_str(&ranking.body).expect("JSON");
    let row = ranking["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["user_id"].as_i64() == Some(t.outsider_id))
        .cloned()
        .expect("the outsider is ranked");
    assert_eq!(
        (row["open_count"].as_i64(), row["open_amount"].as_i64()),
        (Some(2), Some(850000))
    );

    // Deleting the company removes its opportunities, and their figures.
    t.admin.get(&format!("/customers/{customer}")).await;
    assert_eq!(
        t.admin
            .post(&format!("/customers/{customer}/delete"), &[])
            .await
            .status,
        303
    );
    let (kept, live) = open_figures(&app, tenant).await;
    assert_eq!((kept.as_str(), live.as_str()), ("", ""));
    assert_eq!(
        open_figures(&app, other_tenant).await,
        bystanders,
        "the other tenant's figures are untouched"
    );
    assert!(bystanders.0.ends_with(",private,1,70000"), "{bystanders:?}");
}
