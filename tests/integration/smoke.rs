use kehu_tests::TestApp;

#[tokio::test(flavor = "multi_thread")]
async fn signup_sends_welcome_email_through_the_worker() {
    let app = TestApp::start().await;
    let admin = app
        .signup("北京测试科技有限公司", "王小明", "wang@example.com")
        .await;
    let home = admin.get("/").await;
    assert_eq!(home.status, 200);
    assert!(home.body.contains("北京测试科技有限公司"));
    app.drain_jobs().await;
    let mail = app.smtp.messages_to("wang@example.com");
    assert_eq!(mail.len(), 2, "the sign-up link, then the welcome email");
    assert!(
        mail[0]
            .link(&format!("{}/signup/confirm/", app.base_url))
            .is_some()
    );
    assert!(
        mail[1].subject().contains("北京测试科技有限公司"),
        "{}",
        mail[0].subject()
    );
    assert!(mail[1].body().contains("王小明"));
}
