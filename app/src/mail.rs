//! Outgoing email through lettre: real SMTP when `SMTP_URL` is set, otherwise `.eml`
//! files in `MAIL_DIR` so a local run needs no mail server.

use anyhow::Context;
use lettre::{
    AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox, header::ContentType},
    transport::smtp::PoolConfig,
};

use crate::config::Config;

/// Where mail goes.
#[derive(Clone)]
pub enum Mailer {
    /// An SMTP relay (plain, STARTTLS or TLS, as the URL says).
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// One `.eml` file per message in a folder.
    Files(AsyncFileTransport<Tokio1Executor>),
}

impl Mailer {
    /// Builds the mailer the configuration asks for. SMTP connections are pooled, twice
    /// as many as the email jobs run at once, so a message costs one NOOP to check the
    /// connection rather than a TCP connect, a greeting and an EHLO.
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        match &config.smtp_url {
            Some(url) => Ok(Self::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .context("SMTP_URL is not a valid SMTP URL")?
                    .timeout(Some(std::time::Duration::from_secs(20)))
                    .pool_config(pool_config(config.worker_concurrency_email))
                    .build(),
            )),
            None => {
                std::fs::create_dir_all(&config.mail_dir)
                    .with_context(|| format!("creating MAIL_DIR {:?}", config.mail_dir))?;
                Ok(Self::Files(AsyncFileTransport::new(&config.mail_dir)))
            }
        }
    }

    /// Sends one plain-text message ([`message`] then the transport).
    pub async fn send(
        &self,
        from: &str,
        to: &str,
        subject: &str,
        body: &str,
    ) -> anyhow::Result<()> {
        let message = message(from, to, subject, body)?;
        match self {
            Self::Smtp(transport) => {
                transport
                    .send(message)
                    .await
                    .context("SMTP delivery failed")?;
            }
            Self::Files(transport) => {
                transport
                    .send(message)
                    .await
                    .context("writing the .eml file failed")?;
            }
        }
        Ok(())
    }
}

/// The SMTP connection pool of `concurrency` sends at once: twice that many connections.
pub fn pool_config(concurrency: usize) -> PoolConfig {
    let size = u32::try_from(concurrency.saturating_mul(2)).unwrap_or(u32::MAX);
    PoolConfig::new().max_size(size.max(2))
}

/// A plain-text message as every Kehu email is built (the benchmark sends the same).
pub fn message(from: &str, to: &str, subject: &str, body: &str) -> anyhow::Result<Message> {
    let from: Mailbox = from.parse().context("MAIL_FROM is not a valid address")?;
    let to: Mailbox = to.parse().context("recipient address is not valid")?;
    Message::builder()
        .from(from)
        .to(to)
        .subject(subject)
        .header(ContentType::TEXT_PLAIN)
        .body(body.to_owned())
        .context("building the message")
}
