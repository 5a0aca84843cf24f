//! Browser tests: headless Chromium driven through chromedriver with fantoccini.
//!
//! [`Browser::start`] runs its own chromedriver on a free port (killed when the
//! [`Browser`] is dropped) with a fresh Chromium profile, so two browsers of one test
//! share nothing: they are two different people. Helpers wait by polling the page (no
//! fixed sleeps), and [`Browser::screenshot`] writes numbered PNGs of every step to
//! `$KEHU_TEST_ARTIFACTS/<test>/NN-<step>.png` (default `target/test-artifacts`).
//!
//! The browser console is read through chromedriver's log endpoint after every
//! navigation, screenshot and [`Browser::finish`]: every error and warning is appended
//! to `<test>/console.log`, and a Content Security Policy violation fails the test.

use std::{
    collections::HashMap,
    io::{Read, Write},
    net::{TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{
        Arc, Mutex, OnceLock,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use fantoccini::{
    Client, ClientBuilder, Locator,
    actions::{InputSource, MOUSE_BUTTON_LEFT, MouseActions, PointerAction},
    elements::Element,
    wd::{Capabilities, TimeoutConfiguration, WebDriverCompatibleCommand},
};
use serde_json::{Value, json};

use crate::TestApp;

/// How long the `wait_*` helpers wait before failing the test.
pub const WAIT: Duration = Duration::from_secs(10);
/// How often they look.
const POLL: Duration = Duration::from_millis(50);

/// One browser: a chromedriver process, a Chromium session and the test's artifacts.
pub struct Browser {
    client: Client,
    base_url: String,
    who: String,
    artifacts: Arc<Artifacts>,
    console: Mutex<Vec<ConsoleEntry>>,
    // Dropped last: ends the session and kills chromedriver.
    _driver: Driver,
}

/// A message from the browser console.
#[derive(Clone, Debug)]
pub struct ConsoleEntry {
    /// `SEVERE`, `WARNING`, `INFO`, …
    pub level: String,
    /// `security` (CSP), `network`, `javascript`, `console-api`, …
    pub source: String,
    /// The text, starting with the URL of the page that logged it.
    pub message: String,
}

impl ConsoleEntry {
    /// True for a Content Security Policy violation.
    pub fn is_csp_violation(&self) -> bool {
        self.source == "security" || self.message.contains("Content Security Policy")
    }
}

impl Browser {
    /// A fresh browser for `app`; its screenshots go to the directory of `test`.
    pub async fn start(app: &TestApp, test: &str) -> Self {
        Self::start_as(app, test, "browser").await
    }

    /// Like [`Browser::start`], naming the person using it (`who` labels its console
    /// messages), for tests with several browsers.
    pub async fn start_as(app: &TestApp, test: &str, who: &str) -> Self {
        Self::launch(app, test, who, true).await
    }

    /// Like [`Browser::start_as`] with JavaScript turned off (Chromium's content setting:
    /// the page's own scripts, htmx included, do not run; the helpers' WebDriver scripts
    /// still do), for what must work without it.
    pub async fn start_without_js(app: &TestApp, test: &str, who: &str) -> Self {
        Self::launch(app, test, who, false).await
    }

    async fn launch(app: &TestApp, test: &str, who: &str, javascript: bool) -> Self {
        let artifacts = Artifacts::for_test(test);
        let mut last_error = String::new();
        for _ in 0..3 {
            let mut driver = match Driver::spawn() {
                Ok(driver) => driver,
                Err(e) => {
                    last_error = e;
                    continue;
                }
            };
            let connected = ClientBuilder::native()
                .capabilities(capabilities(&driver.profile, javascript))
                .connect(&format!("http://127.0.0.1:{}", driver.port))
                .await;
            let client = match connected {
                Ok(client) => client,
                Err(e) => {
                    last_error = format!("WebDriver session: {e}");
                    continue;
                }
            };
            driver.session = client.session_id().await.ok().flatten();
            client
                .update_timeouts(TimeoutConfiguration::new(
                    Some(Duration::from_secs(10)),
                    Some(Duration::from_secs(30)),
                    Some(Duration::ZERO),
                ))
                .await
                .expect("set WebDriver timeouts");
            return Self {
                client,
                base_url: app.base_url.trim_end_matches('/').to_owned(),
                who: who.to_owned(),
                artifacts,
                console: Mutex::new(Vec::new()),
                _driver: driver,
            };
        }
        panic!(
            "could not start a browser (CHROMEDRIVER={}, CHROMIUM={}): {last_error}",
            chromedriver_path(),
            chromium_path()
        );
    }

    /// The fantoccini client, for anything the helpers do not cover.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Drags `source` onto `target` with a real pointer, the way a person does it (a
    /// small first move so the drag library starts, then over, then `end_y` pixels below
    /// the target's middle), and drops it there.
    pub async fn drag(&self, source: Element, target: Element, end_y: f64) {
        let drag = MouseActions::new("mouse".to_owned())
            .then(PointerAction::MoveToElement {
                element: source,
                duration: None,
                x: 0.0,
                y: 0.0,
            })
            .then(PointerAction::Down {
                button: MOUSE_BUTTON_LEFT,
            })
            .then(PointerAction::MoveBy {
                duration: Some(Duration::from_millis(200)),
                x: 12.0,
                y: 12.0,
            })
            .then(PointerAction::MoveToElement {
                element: target.clone(),
                duration: Some(Duration::from_millis(600)),
                x: 0.0,
                y: 0.0,
            })
            .then(PointerAction::MoveToElement {
                element: target,
                duration: Some(Duration::from_millis(200)),
                x: 0.0,
                y: end_y,
            })
            .then(PointerAction::Up {
                button: MOUSE_BUTTON_LEFT,
            });
        self.client
            .perform_actions(drag)
            .await
            .unwrap_or_else(|e| panic!("[{}] drag: {e}", self.who));
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base_url)
        }
    }

    /// Opens a path of the app (or an absolute URL) and waits for the page to load.
    pub async fn goto(&self, path: &str) {
        let url = self.url(path);
        self.client
            .goto(&url)
            .await
            .unwrap_or_else(|e| panic!("[{}] open {url}: {e}", self.who));
        self.wait_until_loaded().await;
        self.check_console().await;
    }

    /// Resizes the window so that the page's viewport is `width` × `height` CSS pixels
    /// (a phone is 390 × 844), and returns the viewport's size as the page sees it.
    pub async fn set_viewport(&self, width: u32, height: u32) -> (u64, u64) {
        self.client
            .set_window_size(width, height)
            .await
            .unwrap_or_else(|e| panic!("[{}] resize to {width}×{height}: {e}", self.who));
        // The window's frame, if any, takes part of it: grow the window by the difference.
        let inner = self
            .js("return [window.innerWidth, window.innerHeight]", vec![])
            .await;
        let size = |i: usize| inner[i].as_u64().unwrap_or_default();
        let (w, h) = (size(0), size(1));
        if (w, h) != (u64::from(width), u64::from(height)) {
            let grow = |want: u32, got: u64| {
                (2 * i64::from(want) - i64::try_from(got).unwrap_or_default()).max(1) as u32
            };
            self.client
                .set_window_size(grow(width, w), grow(height, h))
                .await
                .unwrap_or_else(|e| panic!("[{}] resize: {e}", self.who));
        }
        let inner = self
            .js("return [window.innerWidth, window.innerHeight]", vec![])
            .await;
        (
            inner[0].as_u64().unwrap_or_default(),
            inner[1].as_u64().unwrap_or_default(),
        )
    }

    /// Runs JavaScript (`return …` for a value).
    pub async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(script, args)
            .await
            .unwrap_or_else(|e| panic!("[{}] script {script:?}: {e}", self.who))
    }

    /// Waits until `script` (which must `return` something) returns a truthy value,
    /// and returns that value. Script errors (e.g. during a navigation) count as "not
    /// yet". On timeout, takes a screenshot and fails with `what` and the page text.
    pub async fn wait_js(&self, what: &str, script: &str, args: Vec<Value>) -> Value {
        self.wait_js_within(WAIT, what, script, args).await
    }

    /// [`Browser::wait_js`] with its own time limit, for what takes longer than a page
    /// (a background job the page polls for).
    pub async fn wait_js_within(
        &self,
        timeout: Duration,
        what: &str,
        script: &str,
        args: Vec<Value>,
    ) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(value) = self.client.execute(script, args.clone()).await
                && truthy(&value)
            {
                return value;
            }
            if Instant::now() >= deadline {
                self.fail(&format!("timed out after {timeout:?} waiting for {what}"))
                    .await;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Fails the test, with a screenshot and the page's URL and text.
    pub async fn fail(&self, message: &str) {
        let report = self.failure_report(message).await;
        panic!("{report}");
    }

    /// `message` with the page's URL and text and a screenshot, for a failing test.
    pub async fn failure_report(&self, message: &str) -> String {
        let url = self
            .client
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_default();
        let text = self.try_text().await.unwrap_or_default();
        let shot = self.try_screenshot("FAILED").await;
        format!(
            "[{}] {message}\n  at: {url}\n  screenshot: {}\n  page text:\n{}",
            self.who,
            shot.map(|p| p.display().to_string())
                .unwrap_or_else(|| "(none)".into()),
            text.chars().take(2000).collect::<String>()
        )
    }

    async fn wait_until_loaded(&self) {
        self.wait_js(
            "the page to load",
            "return document.readyState === 'complete'",
            vec![],
        )
        .await;
    }

    /// Waits for an element matching `css` and returns it.
    pub async fn wait_for(&self, css: &str) -> Element {
        self.wait_js(
            &format!("an element matching `{css}`"),
            "return document.querySelector(arguments[0]) !== null",
            vec![json!(css)],
        )
        .await;
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("[{}] find `{css}`: {e}", self.who))
    }

    /// Waits until no element matches `css`.
    pub async fn wait_for_absent(&self, css: &str) {
        self.wait_js(
            &format!("no element matching `{css}`"),
            "return document.readyState === 'complete' && document.querySelector(arguments[0]) === null",
            vec![json!(css)],
        )
        .await;
    }

    /// Waits until the visible text of the page contains `text`.
    pub async fn wait_for_text(&self, text: &str) {
        self.wait_js(
            &format!("the text {text:?}"),
            "return document.body !== null && document.body.innerText.includes(arguments[0])",
            vec![json!(text)],
        )
        .await;
    }

    /// Waits until the visible text of the element matching `css` contains `text`.
    pub async fn wait_for_text_in(&self, css: &str, text: &str) {
        self.wait_js(
            &format!("the text {text:?} in `{css}`"),
            "const e = document.querySelector(arguments[0]); \
             return e !== null && e.innerText.includes(arguments[1])",
            vec![json!(css), json!(text)],
        )
        .await;
    }

    /// Waits until the URL's path is `path` and the page has loaded.
    pub async fn wait_for_path(&self, path: &str) {
        self.wait_js(
            &format!("the path {path}"),
            "return location.pathname === arguments[0] && document.readyState === 'complete'",
            vec![json!(path)],
        )
        .await;
    }

    /// The URL's path.
    pub async fn path(&self) -> String {
        self.client
            .current_url()
            .await
            .map(|u| u.path().to_owned())
            .unwrap_or_else(|e| panic!("[{}] current URL: {e}", self.who))
    }

    /// Types `text` into the input matching `css` (clearing it first) and checks that
    /// the input holds exactly that text.
    pub async fn fill(&self, css: &str, text: &str) {
        let input = self.wait_for(css).await;
        input
            .clear()
            .await
            .unwrap_or_else(|e| panic!("[{}] clear `{css}`: {e}", self.who));
        input
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("[{}] type into `{css}`: {e}", self.who));
        let value = input.prop("value").await.ok().flatten().unwrap_or_default();
        if value != text {
            self.fail(&format!("`{css}` holds {value:?} after typing {text:?}"))
                .await;
        }
    }

    /// Chooses the option with `value` in the `<select>` matching `css`.
    pub async fn select(&self, css: &str, value: &str) {
        self.wait_for(css)
            .await
            .select_by_value(value)
            .await
            .unwrap_or_else(|e| panic!("[{}] select {value:?} in `{css}`: {e}", self.who));
    }

    /// Chooses the file at `path` (absolute) in the `<input type=file>` matching `css`,
    /// as a person picking it in the file dialog, and checks that the input holds it.
    pub async fn upload(&self, css: &str, path: &Path) {
        assert!(
            path.is_absolute(),
            "upload needs an absolute path: {path:?}"
        );
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_else(|| panic!("upload: no file name in {path:?}"));
        self.wait_for(css)
            .await
            .send_keys(&path.display().to_string())
            .await
            .unwrap_or_else(|e| panic!("[{}] choose {path:?} in `{css}`: {e}", self.who));
        self.wait_js(
            &format!("`{css}` to hold {name:?}"),
            "const e = document.querySelector(arguments[0]); \
             return e !== null && e.files !== null \
               && Array.from(e.files).some(f => f.name === arguments[1])",
            vec![json!(css), json!(name)],
        )
        .await;
    }

    /// Fetches `path` with the browser's own session (cookies and all) and returns the
    /// status, the response headers asked for in `headers` (lower-case names; missing
    /// ones are left out) and the body's bytes: a download without a download dialog.
    pub async fn fetch_bytes(
        &self,
        path: &str,
        headers: &[&str],
    ) -> (u16, HashMap<String, String>, Vec<u8>) {
        let value = self
            .js(
                "return (async () => { \
                   const r = await fetch(arguments[0], {credentials: 'same-origin'}); \
                   const body = new Uint8Array(await r.arrayBuffer()); \
                   const headers = {}; \
                   for (const name of arguments[1]) { \
                     const v = r.headers.get(name); \
                     if (v !== null) { headers[name] = v; } \
                   } \
                   return {status: r.status, headers, body: Array.from(body)}; \
                 })()",
                vec![json!(self.url(path)), json!(headers)],
            )
            .await;
        let status = value
            .get("status")
            .and_then(Value::as_u64)
            .and_then(|s| u16::try_from(s).ok())
            .unwrap_or_else(|| panic!("[{}] fetch {path}: {value}", self.who));
        let found = value
            .get("headers")
            .and_then(Value::as_object)
            .map(|h| {
                h.iter()
                    .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned())))
                    .collect()
            })
            .unwrap_or_default();
        let body = value
            .get("body")
            .and_then(Value::as_array)
            .map(|bytes| {
                bytes
                    .iter()
                    .filter_map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok()))
                    .collect()
            })
            .unwrap_or_default();
        (status, found, body)
    }

    /// Clicks the element matching `css`.
    pub async fn click(&self, css: &str) {
        // Layout can still shift for a moment (an htmx swap above the element): centre the
        // element and retry briefly when the click lands on something else.
        let mut last = None;
        for _ in 0..10 {
            let element = self.wait_for(css).await;
            self.js(
                "arguments[0].scrollIntoView({block: 'center', behavior: 'instant'}); return null",
                vec![serde_json::to_value(&element).expect("element reference")],
            )
            .await;
            match element.click().await {
                Ok(()) => return,
                Err(e) if e.to_string().contains("click intercepted") => {
                    last = Some(e);
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                Err(e) => panic!("[{}] click `{css}`: {e}", self.who),
            }
        }
        panic!("[{}] click `{css}`: {last:?}", self.who);
    }

    /// Clicks the element matching `css` and waits until the browser has loaded a new
    /// document (a form post, a link), so the next step sees the new page even when it
    /// looks like the old one (e.g. the login form again with the same message).
    pub async fn click_and_load(&self, css: &str) {
        self.mark_document().await;
        self.click(css).await;
        self.wait_js(
            &format!("a new page after clicking `{css}`"),
            "return window.__kehuMark === undefined && document.readyState === 'complete'",
            vec![],
        )
        .await;
        self.check_console().await;
    }

    /// Marks the current document; [`Browser::document_is_marked`] tells whether the
    /// browser is still on it (e.g. htmx swapped part of it instead of reloading).
    pub async fn mark_document(&self) {
        self.js("window.__kehuMark = true; return null", vec![])
            .await;
    }

    /// See [`Browser::mark_document`].
    pub async fn document_is_marked(&self) -> bool {
        self.js("return window.__kehuMark === true", vec![])
            .await
            .as_bool()
            .unwrap_or(false)
    }

    async fn try_text(&self) -> Option<String> {
        self.client
            .execute(
                "return document.body === null ? '' : document.body.innerText",
                vec![],
            )
            .await
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
    }

    /// The visible text of the page.
    pub async fn text(&self) -> String {
        self.try_text()
            .await
            .unwrap_or_else(|| panic!("[{}] could not read the page text", self.who))
    }

    /// The visible text of the first element matching `css` (waits for it), trimmed.
    pub async fn text_of(&self, css: &str) -> String {
        self.wait_for(css).await;
        self.js(
            "return document.querySelector(arguments[0]).innerText.trim()",
            vec![json!(css)],
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    /// The visible texts of every element matching `css`, trimmed.
    pub async fn texts(&self, css: &str) -> Vec<String> {
        let value = self
            .js(
                "return Array.from(document.querySelectorAll(arguments[0]), e => e.innerText.trim())",
                vec![json!(css)],
            )
            .await;
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

    /// True if an element matches `css` right now.
    pub async fn exists(&self, css: &str) -> bool {
        self.js(
            "return document.querySelector(arguments[0]) !== null",
            vec![json!(css)],
        )
        .await
        .as_bool()
        .unwrap_or(false)
    }

    /// An attribute of the first element matching `css` right now.
    pub async fn attr(&self, css: &str, name: &str) -> Option<String> {
        self.js(
            "const e = document.querySelector(arguments[0]); \
             return e === null ? null : e.getAttribute(arguments[1])",
            vec![json!(css), json!(name)],
        )
        .await
        .as_str()
        .map(str::to_owned)
    }

    /// Saves a screenshot as `<artifacts>/<test>/NN-<step>.png` and returns its path.
    /// Also checks the console (a CSP violation fails the test).
    pub async fn screenshot(&self, step: &str) -> PathBuf {
        let path = self
            .try_screenshot(step)
            .await
            .unwrap_or_else(|| panic!("[{}] screenshot {step} failed", self.who));
        self.check_console().await;
        path
    }

    async fn try_screenshot(&self, step: &str) -> Option<PathBuf> {
        let png = self.client.screenshot().await.ok()?;
        let path = self.artifacts.next_path(step, "png");
        std::fs::write(&path, png).ok()?;
        Some(path)
    }

    /// Reads the browser console since the last read: returns its errors and warnings,
    /// and records them (see [`Browser::console`] and `console.log`).
    pub async fn read_console(&self) -> Vec<ConsoleEntry> {
        let entries = match self.client.issue_cmd(BrowserLog).await {
            Ok(value) => parse_log(&value),
            // Not every driver has the log endpoint; then there is nothing to read.
            Err(_) => return Vec::new(),
        };
        let notable: Vec<ConsoleEntry> = entries
            .into_iter()
            .filter(|e| e.level == "SEVERE" || e.level == "WARNING")
            .collect();
        if !notable.is_empty() {
            self.artifacts.log(&self.who, &notable);
            if let Ok(mut console) = self.console.lock() {
                console.extend(notable.iter().cloned());
            }
        }
        notable
    }

    /// [`Browser::read_console`], failing the test on a Content Security Policy
    /// violation.
    pub async fn check_console(&self) {
        let violations: Vec<String> = self
            .read_console()
            .await
            .into_iter()
            .filter(ConsoleEntry::is_csp_violation)
            .map(|e| e.message)
            .collect();
        if !violations.is_empty() {
            self.fail(&format!(
                "the page violated the Content Security Policy:\n  {}",
                violations.join("\n  ")
            ))
            .await;
        }
    }

    /// Every console error and warning seen so far.
    pub fn console(&self) -> Vec<ConsoleEntry> {
        self.console.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// Reads the console a last time, then ends the session and chromedriver.
    pub async fn finish(self) {
        self.check_console().await;
        // Drop ends the session and kills chromedriver.
    }
}

fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::String(s) => !s.is_empty(),
        Value::Number(n) => n.as_f64().is_some_and(|n| n != 0.0),
        Value::Array(_) | Value::Object(_) => true,
    }
}

/// chromedriver's (non-W3C) endpoint that returns and clears the browser console.
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/se/log",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (reqwest::Method, Option<String>) {
        (
            reqwest::Method::POST,
            Some(json!({ "type": "browser" }).to_string()),
        )
    }
}

fn parse_log(value: &Value) -> Vec<ConsoleEntry> {
    let items = value
        .get("value")
        .unwrap_or(value)
        .as_array()
        .cloned()
        .unwrap_or_default();
    items
        .iter()
        .map(|item| {
            let field = |name: &str| {
                item.get(name)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            ConsoleEntry {
                level: field("level"),
                source: field("source"),
                message: field("message"),
            }
        })
        .collect()
}

fn chromedriver_path() -> String {
    std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into())
}

fn chromium_path() -> String {
    std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into())
}

fn capabilities(profile: &Path, javascript: bool) -> Capabilities {
    let mut caps = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": chromium_path(),
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--window-size=1280,900",
                format!("--user-data-dir={}", profile.display()),
            ],
        },
        "goog:loggingPrefs": { "browser": "ALL" },
    });
    if !javascript {
        caps["goog:chromeOptions"]["prefs"] =
            json!({ "profile.managed_default_content_settings.javascript": 2 });
    }
    match caps {
        Value::Object(map) => map,
        _ => unreachable!("capabilities are an object"),
    }
}

/// A chromedriver child process and the Chromium profile of its session.
struct Driver {
    child: Child,
    port: u16,
    profile: PathBuf,
    session: Option<String>,
}

impl Driver {
    fn spawn() -> Result<Self, String> {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("free port: {e}"))?
            .port();
        let profile = std::env::temp_dir().join(format!("kehu-chromium-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&profile).map_err(|e| format!("profile dir: {e}"))?;
        let child = Command::new(chromedriver_path())
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("start {}: {e}", chromedriver_path()))?;
        let mut driver = Self {
            child,
            port,
            profile,
            session: None,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(status)) = driver.child.try_wait() {
                return Err(format!("chromedriver exited at start: {status}"));
            }
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(driver);
            }
            if Instant::now() >= deadline {
                return Err("chromedriver did not listen within 10s".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Ends the session (so chromedriver quits Chromium), synchronously: Drop cannot
    /// await, and the fantoccini client's own goodbye would arrive after the kill.
    fn end_session(&self) {
        let Some(session) = &self.session else { return };
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
        let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
        let request = format!(
            "DELETE /session/{session} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\
             Content-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        );
        if stream.write_all(request.as_bytes()).is_ok() {
            // chromedriver keeps the connection open: read just the one response.
            let mut response = Vec::new();
            let mut chunk = [0u8; 4096];
            while let Ok(n) = stream.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                response.extend_from_slice(&chunk[..n]);
                if response_complete(&response) {
                    break;
                }
            }
        }
    }
}

/// True once `response` holds the headers and the whole `Content-Length` body.
fn response_complete(response: &[u8]) -> bool {
    let text = String::from_utf8_lossy(response);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return false;
    };
    let length = head
        .lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse::<usize>().ok())
        .unwrap_or(0);
    body.len() >= length
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.end_session();
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// Where one test's screenshots and console log go, and the step counter that numbers
/// them (shared by every browser of the test).
struct Artifacts {
    dir: PathBuf,
    step: AtomicUsize,
    log: Mutex<()>,
}

impl Artifacts {
    /// The artifacts of `test`; the first call in this process empties the directory.
    fn for_test(test: &str) -> Arc<Self> {
        static ALL: OnceLock<Mutex<HashMap<String, Arc<Artifacts>>>> = OnceLock::new();
        let all = ALL.get_or_init(Default::default);
        let mut all = all.lock().unwrap_or_else(|e| e.into_inner());
        all.entry(test.to_owned())
            .or_insert_with(|| {
                let dir = artifacts_root().join(test);
                let _ = std::fs::remove_dir_all(&dir);
                std::fs::create_dir_all(&dir)
                    .unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
                Arc::new(Artifacts {
                    dir,
                    step: AtomicUsize::new(0),
                    log: Mutex::new(()),
                })
            })
            .clone()
    }

    fn next_path(&self, step: &str, ext: &str) -> PathBuf {
        let n = self.step.fetch_add(1, Ordering::SeqCst) + 1;
        let step: String = step
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        self.dir.join(format!("{n:02}-{step}.{ext}"))
    }

    fn log(&self, who: &str, entries: &[ConsoleEntry]) {
        let _guard = self.log.lock().unwrap_or_else(|e| e.into_inner());
        let step = self.step.load(Ordering::SeqCst);
        let Ok(mut file) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("console.log"))
        else {
            return;
        };
        for e in entries {
            let _ = writeln!(
                file,
                "[{who}, after step {step:02}] {} {}: {}",
                e.level, e.source, e.message
            );
        }
    }
}

/// `$KEHU_TEST_ARTIFACTS`, else `target/test-artifacts` of the workspace.
pub fn artifacts_root() -> PathBuf {
    std::env::var_os("KEHU_TEST_ARTIFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let tests = Path::new(env!("CARGO_MANIFEST_DIR"));
            tests
                .parent()
                .unwrap_or(tests)
                .join("target")
                .join("test-artifacts")
        })
}
