//! 统计分析 in the browser, in Chinese: an admin opens 销售时机比例图 and sees ECharts draw
//! the donuts under the strict CSP (the harness fails on any CSP report), switches the
//! charts to amounts (an htmx swap, redrawn), then opens 销售排行榜 for November and sees
//! the bars, and 销售漏斗. Every chart's canvas must have been painted.

use kehu_tests::{PASSWORD, TestApp, browser::Browser, fixtures::opportunities::Pipeline};
use serde_json::json;

use crate::steps::{HEADING, scroll_to, sign_in};

const TEST: &str = "statistics";
const ADMIN_EMAIL: &str = "li.na@stats.example.com";
const NOVEMBER: &str = "period=custom&from=2026-11-01&to=2026-11-30";

/// True once ECharts has drawn into the chart: its canvas has painted pixels.
const PAINTED: &str = "
    const el = document.querySelector(arguments[0]);
    if (!el || !el.classList.contains('chart-ready')) return false;
    const canvas = el.querySelector('canvas');
    if (!canvas || canvas.width === 0) return false;
    const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let painted = 0;
    for (let i = 3; i < data.length; i += 4) { if (data[i] !== 0) painted++; }
    return painted > 2000 ? painted : false;
";

/// An opportunity of the data set: name, owner, amount (fen), category, the index of the
/// stage it reached, and `won` / `lost` if it closed.
type Deal<'a> = (&'a str, i64, i64, i64, usize, Option<&'a str>);

#[tokio::test(flavor = "multi_thread")]
async fn the_distribution_donuts_and_the_ranking_bars_are_drawn_by_echarts() {
    let app = TestApp::start().await;
    let admin = app.signup("星河贸易", "李娜", ADMIN_EMAIL).await;
    let tenant = app.tenant_of(ADMIN_EMAIL).await;
    let admin_id = app.user_id(ADMIN_EMAIL).await;
    let zhang = app
        .create_user(
            &admin,
            "张伟",
            "zhang.wei@stats.example.com",
            "member",
            None,
        )
        .await;
    let wang = app
        .create_user(
            &admin,
            "王芳",
            "wang.fang@stats.example.com",
            "member",
            None,
        )
        .await;
    let pipeline = Pipeline::create(
        &app,
        tenant,
        admin_id,
        &[
            ("初步接洽", 10),
            ("需求确认", 30),
            ("方案报价", 60),
            ("商务谈判", 80),
        ],
    )
    .await;
    let software = pipeline.category(&app, "软件").await;
    let service = pipeline.category(&app, "服务").await;
    let deals: [Deal; 7] = [
        ("华东区年度采购", zhang, 1_280_000, software, 3, Some("won")),
        ("客服系统升级", zhang, 560_000, service, 2, None),
        ("门店收银改造", wang, 930_000, software, 3, Some("won")),
        ("培训服务", wang, 120_000, service, 1, Some("lost")),
        ("数据迁移", wang, 300_000, service, 0, None),
        ("总部集采", admin_id, 2_150_000, software, 3, Some("won")),
        ("分公司试点", admin_id, 450_000, software, 1, None),
    ];
    for (i, (name, owner, amount, category, stage, close)) in deals.into_iter().enumerate() {
        let day = 3 + i * 3;
        let mut deal = pipeline
            .opportunity(name, owner)
            .amount(amount)
            .category(category)
            .created(&format!("2026-11-{day:02} 10:00:00+08"));
        for s in 1..=stage {
            deal = deal.moved(s, &format!("2026-11-{:02} 1{s}:00:00+08", day + 1));
        }
        deal = match close {
            Some("won") => deal.won(&format!("2026-11-{:02} 16:00:00+08", day + 2)),
            Some(_) => deal.lost(&format!("2026-11-{:02} 16:00:00+08", day + 2)),
            None => deal,
        };
        deal.insert(&app).await;
    }

    let b = Browser::start(&app, TEST).await;
    sign_in(&b, ADMIN_EMAIL, PASSWORD).await;

    // 统计分析 in the left menu opens the distribution.
    b.click_and_load("nav.app-menu a[href='/statistics/distribution']")
        .await;
    b.wait_for_path("/statistics/distribution").await;
    assert_eq!(b.text_of(HEADING).await, "销售时机比例图");
    for chart in ["#chart-status", "#chart-stage", "#chart-category"] {
        b.wait_js(&format!("{chart} painted"), PAINTED, vec![json!(chart)])
            .await;
    }
    assert_eq!(
        b.texts("#table-status tbody td:first-child").await,
        vec!["跟踪中", "已经成功", "失败"]
    );
    b.screenshot("distribution-by-count").await;
    scroll_to(&b, "#split-category").await;
    b.screenshot("distribution-by-stage-and-category").await;

    // By amount: the form swaps the body with htmx and the charts are drawn again.
    b.mark_document().await;
    b.select("#f-measure", "amount").await;
    b.click(".stats-filters button[type=submit]").await;
    b.wait_js(
        "the amount donut",
        "const el = document.querySelector('#chart-status');
         return el && el.getAttribute('data-chart').includes('43600') && el.classList.contains('chart-ready');",
        vec![],
    )
    .await;
    b.wait_js(
        "#chart-status painted",
        PAINTED,
        vec![json!("#chart-status")],
    )
    .await;
    assert!(b.document_is_marked().await, "an htmx swap, not a reload");
    assert!(
        b.js("return location.search", vec![])
            .await
            .as_str()
            .is_some_and(|q| q.contains("measure=amount")),
        "the URL follows"
    );
    b.screenshot("distribution-by-amount").await;

    // The ranking of November: 李娜, 张伟, 王芳 by won amount, as bars.
    b.goto(&format!("/statistics/ranking?{NOVEMBER}")).await;
    assert_eq!(b.text_of(HEADING).await, "销售排行榜");
    b.wait_js(
        "#chart-ranking painted",
        PAINTED,
        vec![json!("#chart-ranking")],
    )
    .await;
    assert_eq!(
        b.texts("#table-ranking tbody td:nth-child(2)").await,
        vec!["李娜", "张伟", "王芳"]
    );
    assert_eq!(
        b.texts("#table-ranking tbody td:nth-child(3)").await,
        vec!["¥21,500.00", "¥12,800.00", "¥9,300.00"]
    );
    b.screenshot("ranking-bars").await;

    // The funnel of November.
    b.click_and_load("ul.app-tabs a[href='/statistics/funnel']")
        .await;
    b.goto(&format!("/statistics/funnel?{NOVEMBER}")).await;
    b.wait_js(
        "#chart-funnel painted",
        PAINTED,
        vec![json!("#chart-funnel")],
    )
    .await;
    assert_eq!(
        b.texts("#table-funnel tbody td:first-child").await,
        vec!["初步接洽", "需求确认", "方案报价", "商务谈判", "成交"]
    );
    b.screenshot("funnel").await;
    b.finish().await;
}
