//! Outgoing email through lettre: real SMTP when `SMTP_URL` is set, otherwise `.eml`
//! files in `MAIL_DIR` so a local run needs no mail server.

use anyhow::Context;
use lettre::{
    AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox, header::ContentType},
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
    /// Builds the mailer the configuration asks for.
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        match &config.smtp_url {
            Some(url) => Ok(Self::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .context("SMTP_URL is not a valid SMTP URL")?
                    .timeout(Some(std::time::Duration::from_secs(20)))
                    .build(),
            )),
            None => {
                std::fs::create_dir_all(&config.mail_dir)
                    .with_context(|| format!("creating MAIL_DIR {:?}", config.mail_dir))?;
                Ok(Self::Files(AsyncFileTransport::new(&config.mail_dir)))
            }
        }
    }

    /// Sends one plain-text message.
    pub async fn send(
        &self,
        from: &str,
        to: &str,
        subject: &str,
        body: &str,
    ) -> anyhow::Result<()> {
        let from: Mailbox = from.parse().context("MAIL_FROM is not a valid address")?;
        let to: Mailbox = to.parse().context("recipient address is not valid")?;
        let message = Message::builder()
            .from(from)
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body.to_owned())
            .context("building the message")?;
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
