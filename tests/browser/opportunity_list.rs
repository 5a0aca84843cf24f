//! 销售机会一览 in the browser, in Chinese: the 跟踪中 tab by default, the 已经成功 tab,
//! sorting by amount from the column header, and a bulk change of visibility with its
//! confirmation and the message that says what was done.

use kehu_tests::{PASSWORD, TestApp, browser::Browser, fixtures::opportunities::Pipeline};

use crate::steps::{HEADING, sign_in};

const TEST: &str = "opportunity_list";
const ADMIN_EMAIL: &str = "zhao.lei@oplist.example.com";

#[tokio::test(flavor = "multi_thread")]
async fn the_list_switches_tabs_sorts_and_changes_visibility_in_bulk() {
    let app = TestApp::start().await;
    app.signup("雷霆贸易", "赵磊", ADMIN_EMAIL).await;
    let tenant = app.tenant_of(ADMIN_EMAIL).await;
    let admin = app.user_id(ADMIN_EMAIL).await;
    let p = Pipeline::create(&app, tenant, admin, &[("初步接洽", 10), ("商务谈判", 60)]).await;
    let small = p
        .opportunity("华东区渠道试点", admin)
        .amount(350_000)
        .insert(&app)
        .await;
    let big = p
        .opportunity("集团年度框架协议", admin)
        .amount(12_800_050)
        .moved(1, "now()")
        .insert(&app)
        .await;
    p.opportunity("西南分公司续费", admin)
        .amount(99_900)
        .won("now()")
        .insert(&app)
        .await;

    let b = Browser::start(&app, TEST).await;
    sign_in(&b, ADMIN_EMAIL, PASSWORD).await;
    b.goto("/opportunities").await;
    assert_eq!(b.text_of(HEADING).await, "销售机会");
    assert_eq!(
        b.texts("#opportunities tbody td.list-name").await,
        ["集团年度框架协议", "华东区渠道试点"]
    );
    assert_eq!(b.text_of("#list-tabs a.active").await, "跟踪中");
    assert!(
        b.text_of(&format!("#opportunity-{big}"))
            .await
            .contains("¥128,000.50")
    );
    b.screenshot("tracking-tab").await;

    b.click_and_load("#list-tabs a[data-tab='won']").await;
    b.wait_for_text_in("#list-tabs a.active", "已经成功").await;
    assert_eq!(
        b.texts("#opportunities tbody td.list-name").await,
        ["西南分公司续费"]
    );
    b.screenshot("won-tab").await;

    // Back to 跟踪中, sorted by amount (largest first), then smallest first.
    b.click_and_load("#list-tabs a[data-tab='tracking']").await;
    b.click_and_load("#opportunities th[data-col='amount'] a.sort-link")
        .await;
    assert_eq!(
        b.texts("#opportunities tbody td.list-name").await,
        ["集团年度框架协议", "华东区渠道试点"]
    );
    b.click_and_load("#opportunities th[data-col='amount'] a.sort-link")
        .await;
    assert_eq!(
        b.texts("#opportunities tbody td.list-name").await,
        ["华东区渠道试点", "集团年度框架协议"]
    );
    b.screenshot("sorted-by-amount").await;

    // Make the small one public in bulk: tick it, choose 公开, confirm.
    b.click(&format!("#opportunity-{small} input[type=checkbox]"))
        .await;
    b.click("#bulk-more summary").await;
    b.select("#f-bulk-visibility", "public").await;
    b.screenshot("bulk-chosen").await;
    b.click_and_load("#bulk-more button[data-bulk='visibility']")
        .await;
    b.wait_for_text_in("#bulk-confirm", "1 个销售机会").await;
    b.screenshot("bulk-confirm").await;
    b.click_and_load("#bulk-confirm-submit").await;
    b.wait_for_text_in("#flash", "已将 1 个销售机会的查看权限改为“公开”")
        .await;
    assert_eq!(
        b.texts("#opportunities tbody td.list-name").await,
        ["华东区渠道试点", "集团年度框架协议"],
        "back on the same sorted view"
    );
    b.screenshot("bulk-done").await;
    assert_eq!(
        app.text(&format!(
            "SELECT visibility FROM opportunities WHERE id = {small}"
        ))
        .await,
        "public"
    );
    b.check_console().await;
}
