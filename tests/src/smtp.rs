//! A real SMTP server (mailin-embedded) on a local port that keeps every message it
//! receives, so tests exercise lettre's SMTP path end to end. A test can hold the
//! server's answer to a message's data ([`SmtpServer::hold`]): the message is received
//! and kept, but the sender does not hear "250 OK" until [`SmtpServer::release`], which
//! lets a fault test stop a worker at an exact point of a send.

use std::{
    net::TcpListener,
    sync::{Arc, Condvar, Mutex},
    time::Duration,
};

use mailin_embedded::{Handler, Server, SslConfig, response};

/// A message as the server received it.
#[derive(Clone, Debug)]
pub struct Received {
    /// Envelope sender.
    pub from: String,
    /// Envelope recipients.
    pub to: Vec<String>,
    /// The raw message (headers and body).
    pub raw: String,
}

impl Received {
    /// True for the email that asks a user an admin created to confirm the address
    /// (`email.confirm_user`, in either language): its subject has every fixed part of
    /// the template.
    pub fn is_account_confirmation(&self) -> bool {
        let subject = self.subject();
        [kehu::i18n::Locale::ZhCn, kehu::i18n::Locale::En]
            .iter()
            .any(|locale| {
                locale
                    .t("email.confirm_user.subject")
                    .split("%{")
                    .map(|part| part.split_once('}').map_or(part, |(_, rest)| rest))
                    .all(|fixed| subject.contains(fixed))
            })
    }

    /// The decoded subject.
    pub fn subject(&self) -> String {
        mail_parser::MessageParser::default()
            .parse(self.raw.as_bytes())
            .and_then(|m| m.subject().map(str::to_owned))
            .unwrap_or_default()
    }

    /// The decoded text body.
    pub fn body(&self) -> String {
        mail_parser::MessageParser::default()
            .parse(self.raw.as_bytes())
            .and_then(|m| m.body_text(0).map(|b| b.into_owned()))
            .unwrap_or_default()
    }

    /// The first URL in the body that starts with `prefix`.
    pub fn link(&self, prefix: &str) -> Option<String> {
        let body = self.body();
        let start = body.find(prefix)?;
        let rest = &body[start..];
        let end = rest.find(|c: char| c.is_whitespace()).unwrap_or(rest.len());
        Some(rest[..end].to_owned())
    }
}

/// Whether answers are held, and how many senders are waiting for theirs.
#[derive(Default)]
struct Gate {
    state: Mutex<GateState>,
    changed: Condvar,
}

#[derive(Default)]
struct GateState {
    holding: bool,
    waiting: usize,
}

#[derive(Clone)]
struct Capture {
    inbox: Arc<Mutex<Vec<Received>>>,
    gate: Arc<Gate>,
    current: Option<Received>,
}

impl Handler for Capture {
    fn data_start(
        &mut self,
        _domain: &str,
        from: &str,
        _is8bit: bool,
        to: &[String],
    ) -> mailin_embedded::Response {
        self.current = Some(Received {
            from: from.to_owned(),
            to: to.to_vec(),
            raw: String::new(),
        });
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        if let Some(current) = &mut self.current {
            current.raw.push_str(&String::from_utf8_lossy(buf));
        }
        Ok(())
    }

    fn data_end(&mut self) -> mailin_embedded::Response {
        if let Some(done) = self.current.take()
            && let Ok(mut inbox) = self.inbox.lock()
        {
            inbox.push(done);
        }
        // Received and kept; the answer waits while the gate is held.
        if let Ok(mut state) = self.gate.state.lock() {
            state.waiting += 1;
            self.gate.changed.notify_all();
            while state.holding {
                state = match self.gate.changed.wait(state) {
                    Ok(state) => state,
                    Err(_) => return response::OK,
                };
            }
            state.waiting -= 1;
        }
        response::OK
    }
}

/// A running SMTP server.
#[derive(Clone)]
pub struct SmtpServer {
    /// `smtp://127.0.0.1:<port>` for `SMTP_URL`.
    pub url: String,
    inbox: Arc<Mutex<Vec<Received>>>,
    gate: Arc<Gate>,
}

impl SmtpServer {
    /// Starts a server on a free port in a background thread.
    pub fn start() -> Self {
        Self::start_on(0)
    }

    /// Starts a server on `port` (0: a free one), e.g. where a test said SMTP was down.
    pub fn start_on(port: u16) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind SMTP port");
        let port = listener.local_addr().expect("local addr").port();
        let inbox = Arc::new(Mutex::new(Vec::new()));
        let gate = Arc::new(Gate::default());
        let mut server = Server::new(Capture {
            inbox: inbox.clone(),
            gate: gate.clone(),
            current: None,
        });
        // One thread per connection: enough for a worker's pooled connections and a
        // held answer at once.
        server
            .with_name("kehu-test-smtp")
            .with_num_threads(8)
            .with_tcp_listener(listener);
        if let Err(e) = server.with_ssl(SslConfig::None) {
            panic!("SMTP server setup: {e}");
        }
        std::thread::spawn(move || {
            let _ = server.serve();
        });
        Self {
            url: format!("smtp://127.0.0.1:{port}"),
            inbox,
            gate,
        }
    }

    /// From now on, a received message's "250 OK" waits until [`SmtpServer::release`].
    pub fn hold(&self) {
        if let Ok(mut state) = self.gate.state.lock() {
            state.holding = true;
        }
    }

    /// Answers every held message and stops holding.
    pub fn release(&self) {
        if let Ok(mut state) = self.gate.state.lock() {
            state.holding = false;
            self.gate.changed.notify_all();
        }
    }

    /// Waits until `count` senders wait for their answer (fails the test after `timeout`).
    pub fn wait_held(&self, count: usize, timeout: Duration) {
        let Ok(state) = self.gate.state.lock() else {
            panic!("the SMTP gate is poisoned");
        };
        let (state, waited) = self
            .gate
            .changed
            .wait_timeout_while(state, timeout, |s| s.waiting < count)
            .unwrap_or_else(|_| panic!("the SMTP gate is poisoned"));
        assert!(
            !waited.timed_out(),
            "{} of {count} messages held after {timeout:?}",
            state.waiting
        );
    }

    /// Every message received so far.
    pub fn messages(&self) -> Vec<Received> {
        self.inbox.lock().map(|m| m.clone()).unwrap_or_default()
    }

    /// Messages sent to `address`, except the account confirmation that
    /// [`crate::TestApp::create_user`] follows for every user it creates: tests about
    /// reminders, digests and the like count only their own mail. Tests of the
    /// confirmation itself read [`SmtpServer::all_messages_to`].
    pub fn messages_to(&self, address: &str) -> Vec<Received> {
        self.all_messages_to(address)
            .into_iter()
            .filter(|m| !m.is_account_confirmation())
            .collect()
    }

    /// Every message sent to `address`.
    pub fn all_messages_to(&self, address: &str) -> Vec<Received> {
        self.messages()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t.contains(address)))
            .collect()
    }

    /// The first message to `address` whose subject contains `subject`, once it has
    /// arrived (the worker sends asynchronously); fails after 20 seconds.
    pub async fn wait_for(&self, address: &str, subject: &str) -> Received {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(m) = self
                .messages_to(address)
                .into_iter()
                .find(|m| m.subject().contains(subject))
            {
                return m;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no email to {address} about {subject:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
