//! Steps several browser tests share: signing in and out, reading the left menu.

use kehu_tests::{Client, PASSWORD, TestApp, browser::Browser};
use serde_json::Value;

/// The login form's submit button (the language switch has submit buttons too).
pub const LOGIN_SUBMIT: &str = "form[action='/login'] button[type=submit]";
/// The sign-out button in the top bar.
pub const LOGOUT: &str = "form[action='/logout'] button[type=submit]";
/// The page heading (public pages and the app shell).
pub const HEADING: &str = "h1";

/// On the login page: types the email and password and submits.
pub async fn submit_login(b: &Browser, email: &str, password: &str) {
    b.wait_for("form[action='/login']").await;
    b.fill("#f-email", email).await;
    b.fill("#f-password", password).await;
    b.click_and_load(LOGIN_SUBMIT).await;
}

/// On the sign-up page: types the company, name and email and asks for the link.
pub async fn request_sign_up(b: &Browser, company: &str, name: &str, email: &str) {
    b.goto("/signup").await;
    b.fill("#f-company", company).await;
    b.fill("#f-name", name).await;
    b.fill("#f-email", email).await;
    b.click_and_load("form[action='/signup'] button[type=submit]")
        .await;
    b.wait_for("#signup-sent").await;
}

/// Opens the sign-up link emailed to `email` (about `company`), in the browser.
pub async fn open_sign_up_link(b: &Browser, app: &TestApp, company: &str, email: &str) {
    let mail = app.smtp.wait_for(email, company).await;
    let link = mail
        .link(&format!("{}/signup/confirm/", app.base_url))
        .expect("a sign-up link");
    b.goto(link.trim_start_matches(&app.base_url)).await;
    b.wait_for("#f-password").await;
}

/// Signs a company up the way a visitor does: the form, the emailed link, a password;
/// checks that the workspace opened.
pub async fn sign_up(b: &Browser, app: &TestApp, company: &str, name: &str, email: &str) {
    request_sign_up(b, company, name, email).await;
    open_sign_up_link(b, app, company, email).await;
    b.fill("#f-password", PASSWORD).await;
    b.click_and_load("form[action^='/signup/confirm/'] button[type=submit]")
        .await;
    b.wait_for_path("/").await;
    b.wait_for("nav.app-menu").await;
}

/// Opens the login page, signs in and checks that the workspace opened.
pub async fn sign_in(b: &Browser, email: &str, password: &str) {
    b.goto("/login").await;
    submit_login(b, email, password).await;
    b.wait_for_path("/").await;
    b.wait_for("nav.app-menu").await;
}

/// Signs out with the top-bar button and checks that the login page opened.
pub async fn sign_out(b: &Browser) {
    b.click_and_load(LOGOUT).await;
    b.wait_for_path("/login").await;
    b.wait_for("form[action='/login']").await;
}

/// As the signed-in `http` client, adds a company through 新增客户 (`fields` as the form
/// sends them, `name` at least) and returns its id: seeding data the test is not about.
pub async fn add_company(http: &Client, fields: &[(&str, &str)]) -> i64 {
    http.get("/customers/new").await;
    let page = http.post("/customers/new", fields).await;
    assert_eq!(page.status, 303, "adding {fields:?} failed: {}", page.body);
    page.location
        .as_deref()
        .and_then(|l| l.strip_prefix("/customers/"))
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("adding {fields:?} went to {:?}", page.location))
}

/// Scrolls the element matching `css` into the middle of the window, for a screenshot.
pub async fn scroll_to(b: &Browser, css: &str) {
    let element = b.wait_for(css).await;
    b.js(
        "arguments[0].scrollIntoView({block: 'center', behavior: 'instant'}); return null",
        vec![serde_json::to_value(&element).expect("element reference")],
    )
    .await;
}

/// The labels of the left menu, in order, without their icons.
pub async fn menu(b: &Browser) -> Vec<String> {
    let value = b
        .js(
            "return Array.from(document.querySelectorAll('nav.app-menu .nav-link'), a => \
               Array.from(a.childNodes).filter(n => n.nodeType === Node.TEXT_NODE) \
                 .map(n => n.textContent).join('').trim())",
            vec![],
        )
        .await;
    strings(&value)
}

/// The labels of the tab bar, in order.
pub async fn tabs(b: &Browser) -> Vec<String> {
    b.texts("ul.app-tabs .nav-link").await
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Chinese characters in `text` (CJK ideographs and full-width punctuation).
pub fn cjk(text: &str) -> String {
    text.chars()
        .filter(|c| matches!(*c as u32, 0x3000..=0x303F | 0x4E00..=0x9FFF | 0xFF00..=0xFFEF))
        .collect()
}
