//! 销售指标设定 in the browser, in Chinese: a salesperson opens the tab from 工作桌面, types
//! this month's target (a wrong amount first, which the form refuses and keeps), saves,
//! sees the completion rise once an opportunity is won, sees the progress bar on the home
//! page, and compares the month across years with the query bar (htmx, no reload).

use chrono::{Datelike, Utc};
use kehu_tests::{
    PASSWORD, TestApp,
    browser::Browser,
    opportunities::{OpportunityBuilder, yuan},
};

use crate::steps::{HEADING, scroll_to, sign_in, tabs};

const TEST: &str = "targets";
const SALES_EMAIL: &str = "li.lei@targets.example.com";

#[tokio::test(flavor = "multi_thread")]
async fn a_monthly_target_shows_its_completion_after_a_won_opportunity() {
    let app = TestApp::start().await;
    let admin = app
        .signup("星辰销售有限公司", "王芳", "wang.fang@targets.example.com")
        .await;
    let tenant = app.tenant_of("wang.fang@targets.example.com").await;
    let sales = app
        .create_user(&admin, "李雷", SALES_EMAIL, "member", None)
        .await;
    let now = Utc::now().with_timezone(&chrono_tz::Asia::Shanghai);
    let (year, month) = (now.year(), now.month());
    let field = format!("#f-m{month}");
    let other = format!("#f-m{}", if month == 1 { 2 } else { 1 });
    let period = format!("{year}-{month:02}");

    let b = Browser::start(&app, TEST).await;
    sign_in(&b, SALES_EMAIL, PASSWORD).await;
    b.wait_for_text_in("#target-progress", "本月还没有设定销售指标")
        .await;
    assert_eq!(
        tabs(&b).await,
        ["业务看板", "任务/备忘录", "日历", "销售指标设定"]
    );
    b.screenshot("home-without-target").await;

    // 工作桌面 → 销售指标设定.
    b.click_and_load("ul.app-tabs a[href='/targets']").await;
    b.wait_for_path("/targets").await;
    assert_eq!(b.text_of(HEADING).await, "销售指标设定");
    assert_eq!(
        b.text_of("#targets-sheet .card-header h2").await,
        format!("李雷 · {year} 年每月销售指标")
    );
    b.screenshot("targets-empty").await;

    // A wrong amount in another month: refused, with the reason, and what was typed stays.
    b.fill(&field, "50,000").await;
    b.fill(&other, "1.234").await;
    b.click_and_load("#targets-sheet button[type=submit]").await;
    b.wait_for_text_in("#targets-sheet", "金额最多保留两位小数")
        .await;
    assert_eq!(
        b.attr(&field, "value").await.as_deref(),
        Some("50,000"),
        "the typed target is kept"
    );
    assert_eq!(
        b.attr(&other, "aria-invalid").await.as_deref(),
        Some("true")
    );
    b.screenshot("target-refused").await;
    b.fill(&other, "").await;
    b.click_and_load("#targets-sheet button[type=submit]").await;
    b.wait_for_text_in(".alert-success", "销售指标已保存").await;
    assert_eq!(b.attr(&field, "value").await.as_deref(), Some("50,000.00"));
    let row = format!("#targets-table tr[data-period='{period}']");
    assert_eq!(
        b.text_of(&format!("{row} td[data-col=target]")).await,
        "¥50,000.00"
    );
    assert_eq!(
        b.text_of(&format!("{row} td[data-col=completion]")).await,
        "0.0%"
    );
    scroll_to(&b, "#targets-report").await;
    b.screenshot("target-saved").await;

    // An opportunity is won this month: the completion follows.
    OpportunityBuilder::new(tenant, sales)
        .name("星辰科技年度采购")
        .amount(yuan(12_500))
        .won_at(&Utc::now().to_rfc3339())
        .insert(&app)
        .await;
    OpportunityBuilder::new(tenant, sales)
        .name("华信物流系统升级")
        .amount(yuan(40_000))
        .probability(50)
        .expected(&format!("{year}-{month:02}-{:02}", now.day().min(28)))
        .insert(&app)
        .await;
    b.goto("/targets").await;
    assert_eq!(
        b.text_of(&format!("{row} td[data-col=actual]")).await,
        "¥12,500.00"
    );
    assert_eq!(
        b.text_of(&format!("{row} td[data-col=completion]")).await,
        "25.0%"
    );
    let forecast =
        format!("#forecast-table tbody[data-period='{period}'] tr[data-person='{sales}']");
    assert_eq!(
        b.text_of(&format!("{forecast} td[data-col=weighted]"))
            .await,
        "¥20,000.00"
    );
    assert_eq!(
        b.text_of(&format!("{forecast} td[data-col=projected]"))
            .await,
        "65.0%"
    );
    scroll_to(&b, "#targets-report").await;
    b.screenshot("completion-after-won").await;
    scroll_to(&b, "#targets-forecast").await;
    b.screenshot("forecast").await;

    // The home page's progress bar.
    b.click_and_load("ul.app-tabs a[href='/']").await;
    b.wait_for("#target-progress progress").await;
    assert_eq!(
        b.attr("#target-progress progress", "value")
            .await
            .as_deref(),
        Some("25.0")
    );
    assert_eq!(
        b.text_of("#target-progress [data-col=completion]").await,
        "25.0%"
    );
    b.screenshot("home-progress").await;

    // Only a month: the same month across the years, swapped in by htmx.
    b.click_and_load("ul.app-tabs a[href='/targets']").await;
    b.mark_document().await;
    b.select("#q-year", "").await;
    b.select("#q-month", &month.to_string()).await;
    b.click("#targets-query button[type=submit]").await;
    b.wait_for_text_in("#targets-report h2", "同比").await;
    assert!(b.document_is_marked().await, "no page reload");
    assert_eq!(
        b.text_of(&format!("#targets-table tr[data-period='{period}'] th"))
            .await,
        format!("{year}年{month}月")
    );
    let search = b.js("return location.search", vec![]).await;
    assert_eq!(
        search.as_str(),
        Some(format!("?year=&month={month}").as_str()),
        "the URL follows the query"
    );
    scroll_to(&b, "#targets-report").await;
    b.screenshot("year-on-year").await;
    b.finish().await;
}
