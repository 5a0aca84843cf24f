//! The worker as its own process, for tests that kill it (SIGKILL) mid-job: the same
//! `kehu_worker::run` as the `kehu-worker` binary, configured from the environment.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();
    let config = kehu::config::Config::from_env()?;
    kehu_worker::run(config, std::future::pending()).await
}
