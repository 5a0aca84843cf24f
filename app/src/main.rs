//! The `kehu` binary: `kehu migrate` applies migrations as the owner role; `kehu serve`
//! (the default) runs the web app.

use anyhow::Context;
use kehu::{config::Config, state::AppState};
use poem::{Server, listener::TcpListener};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let config = Config::from_env()?;
    match std::env::args().nth(1).as_deref() {
        Some("migrate") => {
            let url = config
                .database_owner_url
                .as_deref()
                .context("DATABASE_OWNER_URL must be set to migrate")?;
            kehu::db::run_migrations(url).await
        }
        None | Some("serve") => serve(config).await,
        Some(other) => anyhow::bail!("unknown command {other:?}; use `migrate` or `serve`"),
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let addr = config.app_addr;
    kehu::auth::password::warm_up();
    let state = AppState::connect(config).await?;
    tracing::info!(%addr, files = state.files.description(), "Kehu is listening");
    Server::new(TcpListener::bind(addr))
        .run_with_graceful_shutdown(
            kehu::routes::app(state),
            shutdown_signal(),
            Some(std::time::Duration::from_secs(10)),
        )
        .await
        .context("web server failed")
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => return ctrl_c.await.unwrap_or(()),
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    ctrl_c.await.unwrap_or(());
}
