//! The browser harness itself: its CSP check must see a violation, or every other
//! test's "no CSP violation" would prove nothing.

use std::time::{Duration, Instant};

use kehu_tests::{TestApp, browser::Browser};

#[tokio::test(flavor = "multi_thread")]
async fn the_console_check_sees_csp_violations() {
    let app = TestApp::start().await;
    let b = Browser::start(&app, "harness_csp").await;
    b.goto("/login").await;
    assert!(
        b.read_console().await.iter().all(|e| !e.is_csp_violation()),
        "the login page itself keeps to the CSP"
    );

    // An inline style attribute and an inline script: both refused by the app's CSP.
    b.js(
        "document.body.insertAdjacentHTML('beforeend', \
           '<div id=\"csp-probe\" style=\"color: red\">probe</div>'); \
         const s = document.createElement('script'); \
         s.textContent = 'window.__inline = 1'; \
         document.body.appendChild(s); \
         return null",
        vec![],
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        seen.extend(
            b.read_console()
                .await
                .into_iter()
                .filter(|e| e.is_csp_violation()),
        );
        if seen.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        seen.iter().any(|e| e.message.contains("style-src")),
        "inline style reported: {seen:?}"
    );
    assert!(
        seen.iter().any(|e| e.message.contains("script-src")),
        "inline script reported: {seen:?}"
    );
    let inline_ran = b.js("return window.__inline === 1", vec![]).await;
    assert_eq!(
        inline_ran,
        serde_json::json!(false),
        "the inline script was blocked"
    );
    // No `finish`: its console check would (rightly) fail on the probe.
    drop(b);
}
