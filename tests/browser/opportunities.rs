//! 销售机会 in the browser, in Chinese: from a company page an admin adds an opportunity
//! (the company filled in), drags its card on the board to another stage with a real
//! pointer drag (SortableJS under the strict CSP), sees the columns' counts and totals
//! follow, and marks it won with the 成功 button on its detail page (htmx).

use kehu_tests::{PASSWORD, TestApp, browser::Browser};

use crate::steps::{HEADING, add_company, scroll_to, sign_in};

const TEST: &str = "opportunities";
const ADMIN_EMAIL: &str = "li.na@opp.example.com";
const COMPANY: &str = "上海云帆信息技术有限公司";
const NAME: &str = "云帆 CRM 年度采购";

#[tokio::test(flavor = "multi_thread")]
async fn an_opportunity_from_a_company_page_is_dragged_on_the_board_and_won() {
    let app = TestApp::start().await;
    let admin = app.signup("云帆集团", "李娜", ADMIN_EMAIL).await;
    let company = add_company(&admin, &[("name", COMPANY)]).await;
    let tenant = app.tenant_of(ADMIN_EMAIL).await;
    let stage = |name: &'static str| {
        let sql = format!(
            "SELECT id FROM opportunity_stages WHERE tenant_id = {tenant} AND name = '{name}'"
        );
        let app = &app;
        async move { app.scalar(&sql).await }
    };
    let first = stage("初步接洽").await;
    let proposal = stage("方案报价").await;

    let b = Browser::start(&app, TEST).await;
    sign_in(&b, ADMIN_EMAIL, PASSWORD).await;

    // The company page: no opportunities yet, and the button that adds one.
    b.goto(&format!("/customers/{company}")).await;
    scroll_to(&b, "#company-opportunities").await;
    b.wait_for_text_in(
        "#company-opportunities .empty-state",
        "该客户还没有销售机会",
    )
    .await;
    b.screenshot("company-without-opportunities").await;
    b.click_and_load("#new-opportunity").await;
    b.wait_for_path("/opportunities/new").await;
    assert_eq!(b.text_of(HEADING).await, "增加销售机会");
    let typed = b
        .js("return document.querySelector('#f-company').value", vec![])
        .await;
    assert_eq!(typed.as_str(), Some(COMPANY), "the company is filled in");
    b.fill("#f-name", NAME).await;
    b.fill("#f-amount", "¥12,800.50").await;
    b.fill("#f-description", "二十个账号，含实施培训").await;
    b.screenshot("new-opportunity-filled").await;
    b.click_and_load("form.opportunity-form button[type=submit]")
        .await;

    let id = app
        .scalar(&format!(
            "SELECT id FROM opportunities WHERE company_id = {company}"
        ))
        .await;
    b.wait_for_path(&format!("/opportunities/{id}")).await;
    assert_eq!(b.text_of(HEADING).await, NAME);
    assert_eq!(
        b.text_of("#inline-amount .inline-value").await,
        "¥12,800.50"
    );
    assert_eq!(b.text_of(".opportunity-status").await, "跟踪中");
    b.screenshot("opportunity-detail").await;

    // The board: the card in 初步接洽; drag it to 方案报价.
    b.click_and_load("ul.app-tabs a[href='/opportunities/board']")
        .await;
    b.wait_for_path("/opportunities/board").await;
    let column = |stage: i64| format!(".board-column[data-stage='{stage}']");
    b.wait_for(&format!("{} .board-card[data-id='{id}']", column(first)))
        .await;
    assert_eq!(
        b.text_of(&format!("{} .board-count", column(first))).await,
        "1 个"
    );
    assert_eq!(
        b.text_of(&format!("{} .board-total", column(first))).await,
        "¥12,800.50"
    );
    // SortableJS is running (it marks the lists it took over).
    b.wait_js(
        "SortableJS on the columns",
        "return document.querySelectorAll('.board-cards[data-sortable=on]').length === 4",
        vec![],
    )
    .await;
    b.screenshot("board-before-drag").await;
    b.mark_document().await;
    let card = b
        .wait_for(&format!(".board-card[data-id='{id}'] .board-card-company"))
        .await;
    let target = b
        .wait_for(&format!("{} .board-cards", column(proposal)))
        .await;
    b.drag(card, target, 5.0).await;
    // The move is saved and the board swapped in with the new counts (no page load).
    b.wait_js(
        "the card in 方案报价 after the swap",
        &format!(
            "return document.querySelector(\".board-column[data-stage='{proposal}'] .board-count\").dataset.count === '1'"
        ),
        vec![],
    )
    .await;
    assert!(
        b.document_is_marked().await,
        "htmx swapped the board in place"
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT stage_id FROM opportunities WHERE id = {id}"
        ))
        .await,
        proposal
    );
    assert_eq!(
        b.text_of(&format!("{} .board-count", column(first))).await,
        "0 个"
    );
    assert_eq!(
        b.text_of(&format!("{} .board-total", column(proposal)))
            .await,
        "¥12,800.50"
    );
    assert!(
        b.exists(&format!("{} .board-card[data-id='{id}']", column(proposal)))
            .await
    );
    // The new board is draggable again.
    b.wait_js(
        "SortableJS on the new columns",
        "return document.querySelectorAll('.board-cards[data-sortable=on]').length === 4",
        vec![],
    )
    .await;
    b.screenshot("board-after-drag").await;

    // 成功 on the detail page (htmx swaps the status card and the history).
    b.click_and_load(&format!(".board-card[data-id='{id}'] .board-card-name"))
        .await;
    b.wait_for_path(&format!("/opportunities/{id}")).await;
    b.mark_document().await;
    b.click("#opportunity-status button.status-won").await;
    b.wait_for_text_in("#opportunity-status .opportunity-status", "已经成功")
        .await;
    b.wait_for("#opportunity-closed").await;
    assert!(b.document_is_marked().await, "htmx, not a reload");
    let history = b.texts("#opportunity-history .event").await;
    assert!(
        history[0].contains("将状态从“跟踪中”改为“已经成功”"),
        "{history:?}"
    );
    assert!(
        history
            .iter()
            .any(|e| e.contains("将阶段从“初步接洽”改为“方案报价”")),
        "{history:?}"
    );
    assert_eq!(
        app.text(&format!(
            "SELECT concat_ws('|', status, closed_at IS NOT NULL) FROM opportunities WHERE id = {id}"
        ))
        .await,
        "won|t"
    );
    b.screenshot("opportunity-won").await;
    scroll_to(&b, "#opportunity-history").await;
    b.screenshot("opportunity-history").await;

    // Won opportunities leave the board.
    b.goto("/opportunities/board").await;
    assert_eq!(
        b.text_of(&format!("{} .board-count", column(proposal)))
            .await,
        "0 个"
    );
    b.screenshot("board-after-won").await;
    b.finish().await;
}
