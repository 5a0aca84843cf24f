//! An SMTP sink for the reminder benchmark (`kehu-bench-reminders`): it accepts every
//! message as soon as its data ends and keeps only a count and the time of the last one
//! (and, when asked, the raw messages).
//!
//! It answers at once and ACKs at once. lettre writes a message's data and its final
//! `.` in two writes and does not set `TCP_NODELAY`, so Nagle holds the `.` until the
//! data is ACKed, and a server that delays its ACKs (Linux does, up to 40 ms) stalls
//! every message: measured here, 10k messages took 57 s (45 ms each per connection)
//! that way. So the sink sets `TCP_NODELAY` on its side and `TCP_QUICKACK` whenever it
//! has read all it was sent, which sends the pending ACK now. The test SMTP server of
//! `smtp.rs` parses and stores each message for assertions; this one does as little as a
//! server can, so that the raw lettre baseline and the worker meet the same, negligible,
//! server cost.

use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::{TcpListener, TcpStream, tcp::OwnedReadHalf},
};

use socket2::SockRef;

/// A running sink; it stops with the process.
#[derive(Clone)]
pub struct Sink {
    /// Where it listens.
    pub addr: SocketAddr,
    shared: Arc<Shared>,
}

struct Shared {
    epoch: Instant,
    accepted: AtomicU64,
    /// Microseconds from `epoch` to the last accepted message, plus one (0: none yet).
    last: AtomicU64,
    kept: Option<Mutex<Vec<Vec<u8>>>>,
}

impl Sink {
    /// Listens on a free local port; `keep` keeps every message's raw bytes.
    pub async fn start(keep: bool) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            epoch: Instant::now(),
            accepted: AtomicU64::new(0),
            last: AtomicU64::new(0),
            kept: keep.then(|| Mutex::new(Vec::new())),
        });
        let state = shared.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = state.clone();
                tokio::spawn(async move {
                    let _ = session(stream, &state).await;
                });
            }
        });
        Ok(Self { addr, shared })
    }

    /// The URL lettre sends to (plain SMTP, no TLS).
    pub fn url(&self) -> String {
        format!("smtp://{}:{}", self.addr.ip(), self.addr.port())
    }

    /// Messages accepted so far.
    pub fn accepted(&self) -> u64 {
        self.shared.accepted.load(Ordering::Acquire)
    }

    /// When the last message was accepted.
    pub fn last_accepted(&self) -> Option<Instant> {
        match self.shared.last.load(Ordering::Acquire) {
            0 => None,
            us => Some(self.shared.epoch + Duration::from_micros(us - 1)),
        }
    }

    /// Forgets the count, the last time and the kept messages (between two runs).
    pub fn reset(&self) {
        self.shared.accepted.store(0, Ordering::Release);
        self.shared.last.store(0, Ordering::Release);
        if let Some(Ok(mut kept)) = self.shared.kept.as_ref().map(|k| k.lock()) {
            kept.clear();
        }
    }

    /// The kept raw messages (empty unless started with `keep`).
    pub fn messages(&self) -> Vec<Vec<u8>> {
        self.shared
            .kept
            .as_ref()
            .and_then(|k| k.lock().ok().map(|k| k.clone()))
            .unwrap_or_default()
    }

    /// Waits until `count` messages are in, or `timeout` passes; true if they are.
    pub async fn wait_for(&self, count: u64, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while self.accepted() < count {
            if Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        true
    }
}

/// One client connection: any number of transactions until QUIT.
async fn session(stream: TcpStream, state: &Shared) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    write.write_all(b"220 kehu-sink ESMTP\r\n").await?;
    let mut line = Vec::new();
    loop {
        line.clear();
        if next_line(&mut read, &mut line).await? == 0 {
            return Ok(());
        }
        let verb = line
            .get(..4)
            .map(|v| v.to_ascii_uppercase())
            .unwrap_or_default();
        match verb.as_slice() {
            b"EHLO" => {
                write
                    .write_all(b"250-kehu-sink\r\n250 8BITMIME\r\n")
                    .await?
            }
            b"DATA" => {
                write.write_all(b"354 end with .\r\n").await?;
                let mut message = Vec::new();
                loop {
                    line.clear();
                    if next_line(&mut read, &mut line).await? == 0 {
                        return Ok(());
                    }
                    if line == b".\r\n" || line == b".\n" {
                        break;
                    }
                    if state.kept.is_some() {
                        message.extend_from_slice(&line);
                    }
                }
                if let Some(Ok(mut kept)) = state.kept.as_ref().map(|k| k.lock()) {
                    kept.push(message);
                }
                let at = state.epoch.elapsed().as_micros() as u64 + 1;
                state.last.fetch_max(at, Ordering::AcqRel);
                state.accepted.fetch_add(1, Ordering::AcqRel);
                write.write_all(b"250 accepted\r\n").await?;
            }
            b"QUIT" => {
                write.write_all(b"221 bye\r\n").await?;
                return Ok(());
            }
            _ => write.write_all(b"250 ok\r\n").await?,
        }
    }
}

/// Reads a line; before waiting for more bytes, ACKs what came in at once (`TCP_QUICKACK`
/// lasts until the kernel's next decision, so it is set again each time).
async fn next_line(
    read: &mut BufReader<OwnedReadHalf>,
    line: &mut Vec<u8>,
) -> std::io::Result<usize> {
    if read.buffer().is_empty() {
        SockRef::from(read.get_ref().as_ref()).set_tcp_quickack(true)?;
    }
    read.read_until(b'\n', line).await
}
