//! The app and the worker refuse to run as a database role that could read across tenants.

use std::time::Duration;

use kehu::{config::Config, db, state::AppState};
use kehu_tests::{TestApp, TestOptions};

fn owner_config(app: &TestApp) -> Config {
    let mut config = app.config.clone();
    config.database_url = app.config.database_owner_url.clone().expect("owner url");
    config
}

#[tokio::test(flavor = "multi_thread")]
async fn the_role_check_refuses_the_owner_role_and_accepts_the_app_role() {
    let app = TestApp::start_with(TestOptions {
        worker: false,
        ..TestOptions::default()
    })
    .await;
    let owner_pool = db::pool(&owner_config(&app).database_url, 2).expect("pool");
    let err = db::ensure_app_role_is_restricted(&owner_pool)
        .await
        .expect_err("the owner role must be refused");
    let message = format!("{err:#}");
    assert!(message.contains("refusing to start"), "{message}");
    assert!(
        message.contains("kehu_owner") || message.contains("owns"),
        "{message}"
    );

    let app_pool = db::pool(&app.config.database_url, 2).expect("pool");
    db::ensure_app_role_is_restricted(&app_pool)
        .await
        .expect("the app role is accepted");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_app_state_does_not_connect_with_the_owner_url() {
    let app = TestApp::start_with(TestOptions {
        worker: false,
        ..TestOptions::default()
    })
    .await;
    let result = AppState::connect(owner_config(&app)).await;
    assert!(result.is_err(), "AppState::connect accepted the owner role");
    AppState::connect(app.config.clone())
        .await
        .expect("AppState::connect accepts the app role");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_worker_exits_with_an_error_when_given_the_owner_url() {
    let app = TestApp::start_with(TestOptions {
        worker: false,
        ..TestOptions::default()
    })
    .await;
    let run = kehu_worker::run(owner_config(&app), std::future::pending());
    let result = tokio::time::timeout(Duration::from_secs(10), run)
        .await
        .expect("the worker must stop quickly instead of running");
    let err = result.expect_err("the worker must refuse the owner role");
    assert!(format!("{err:#}").contains("refusing to start"), "{err:#}");
}
