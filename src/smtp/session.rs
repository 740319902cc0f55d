//! One SMTP dialogue over TCP: per-step timeouts, a whole-host deadline, bounded reads, a transcript.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::Reply;
use super::command::{Command, CommandError};
use super::reply::{ReplyError, ReplyLimits, parse_reply};
use super::transcript::Transcript;

/// Anything a dialogue can run over: plain TCP now, TLS after STARTTLS.
pub trait AsyncStream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + ?Sized> AsyncStream for T {}

/// Most bytes asked for in one read; the reply limits bound the buffer, not this.
const READ_CHUNK: usize = 4096;

/// How long `quit` waits for the server's goodbye at most.
const QUIT_WAIT: Duration = Duration::from_secs(2);

/// Prefix of the `Io` message for EMFILE/ENFILE, so the scheduler can tell
/// "we ran out of descriptors" (back off) from trouble with one host.
const TOO_MANY_FILES: &str = "too many open files";

/// Timeouts and caps for one dialogue.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Longest wait for the TCP handshake.
    pub connect_timeout: Duration,
    /// Longest wait for any one read or write.
    pub read_timeout: Duration,
    /// The whole dialogue, connect included: ends tarpits that trickle bytes.
    pub host_timeout: Duration,
    pub limits: ReplyLimits,
    /// Most bytes of transcript text kept.
    pub transcript_cap: usize,
    /// Ctrl-C: every wait ends with `Cancelled` once this fires.
    pub cancel: CancellationToken,
}

impl Default for SessionConfig {
    /// nmap's 10 s per step, zgrab2's 60 s per target.
    fn default() -> Self {
        SessionConfig {
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(10),
            host_timeout: Duration::from_secs(60),
            limits: ReplyLimits::default(),
            transcript_cap: 64 * 1024,
            cancel: CancellationToken::new(),
        }
    }
}

/// Why a dialogue could not go on. The durations involved are written to the
/// transcript as a note, since the variants carry none.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("connection refused")]
    Refused,
    #[error("no answer to the connection attempt within the connect timeout")]
    ConnectTimeout,
    #[error("unreachable: {0}")]
    Unreachable(String),
    #[error("no reply within the read timeout")]
    ReadTimeout,
    #[error("whole-host deadline reached")]
    HostTimeout,
    #[error("connection closed by server")]
    Closed,
    #[error("i/o error: {0}")]
    Io(String),
    #[error("protocol error: {0}")]
    Protocol(ReplyError),
    #[error("refused to send command: {0}")]
    Command(CommandError),
    #[error("cancelled")]
    Cancelled,
}

impl SessionError {
    /// EMFILE/ENFILE on connect: the scanner is out of descriptors, not the host at fault.
    pub fn is_too_many_open_files(&self) -> bool {
        matches!(self, SessionError::Io(m) if m.starts_with(TOO_MANY_FILES))
    }
}

/// Maps a connect error to what it says about the target.
fn connect_error(e: &io::Error) -> SessionError {
    let code = e.raw_os_error();
    if e.kind() == io::ErrorKind::ConnectionRefused || code == Some(libc::ECONNREFUSED) {
        SessionError::Refused
    } else if matches!(code, Some(libc::ENETUNREACH | libc::EHOSTUNREACH))
        || matches!(
            e.kind(),
            io::ErrorKind::NetworkUnreachable | io::ErrorKind::HostUnreachable
        )
    {
        SessionError::Unreachable(e.to_string())
    } else if matches!(code, Some(libc::EMFILE | libc::ENFILE)) {
        SessionError::Io(format!("{TOO_MANY_FILES}: {e}"))
    } else {
        SessionError::Io(e.to_string())
    }
}

/// Maps a read/write error: a reset or broken pipe is the server hanging up.
fn stream_error(e: &io::Error) -> SessionError {
    match e.kind() {
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe
        | io::ErrorKind::UnexpectedEof => SessionError::Closed,
        _ => SessionError::Io(e.to_string()),
    }
}

/// One dialogue with one server.
pub struct Session {
    stream: Box<dyn AsyncStream>,
    /// Bytes received but not yet parsed; never more than `limits.max_total + 1`.
    buf: Vec<u8>,
    transcript: Transcript,
    /// Connect start + host_timeout.
    deadline: Instant,
    cfg: SessionConfig,
    peer: SocketAddr,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("peer", &self.peer)
            .field("buffered", &self.buf.len())
            .field("time_left", &self.time_left())
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Opens a TCP connection; reads nothing (the caller asks for the greeting).
    pub async fn connect(addr: SocketAddr, cfg: &SessionConfig) -> Result<Session, SessionError> {
        let transcript = Transcript::new(cfg.transcript_cap);
        let deadline = Instant::now() + cfg.host_timeout;
        if cfg.cancel.is_cancelled() {
            return Err(SessionError::Cancelled);
        }
        let bound = cfg.connect_timeout.min(cfg.host_timeout);
        let stream = tokio::select! {
            biased;
            () = cfg.cancel.cancelled() => return Err(SessionError::Cancelled),
            r = tokio::time::timeout(bound, TcpStream::connect(addr)) => match r {
                Err(_) => return Err(SessionError::ConnectTimeout),
                Ok(Err(e)) => return Err(connect_error(&e)),
                Ok(Ok(stream)) => stream,
            },
        };
        // Commands are single small writes awaited one by one: Nagle would only add delay.
        let nodelay = stream.set_nodelay(true);
        let mut session = Session {
            stream: Box::new(stream),
            buf: Vec::new(),
            transcript,
            deadline,
            cfg: cfg.clone(),
            peer: addr,
        };
        session.note(format!("connected to {addr}"));
        if let Err(e) = nodelay {
            session.note(format!("could not set TCP_NODELAY: {e}"));
        }
        Ok(session)
    }

    /// Wraps an already open stream (tests, the lab, a TLS stream made elsewhere); the
    /// deadline starts now.
    pub fn from_stream(
        stream: Box<dyn AsyncStream>,
        peer: SocketAddr,
        cfg: &SessionConfig,
    ) -> Session {
        Session {
            stream,
            buf: Vec::new(),
            transcript: Transcript::new(cfg.transcript_cap),
            deadline: Instant::now() + cfg.host_timeout,
            cfg: cfg.clone(),
            peer,
        }
    }

    /// Reads one whole reply (every continuation line up to the final one).
    pub async fn read_reply(&mut self) -> Result<Reply, SessionError> {
        let limits = self.cfg.limits;
        loop {
            match parse_reply(&self.buf, &limits) {
                Ok(Some((reply, used))) => {
                    self.buf.drain(..used.min(self.buf.len()));
                    self.transcript.server(&reply);
                    return Ok(reply);
                }
                Ok(None) => {}
                Err(e) => {
                    self.transcript.server_raw(&self.buf);
                    self.transcript.note(format!("protocol error: {e}"));
                    // The dialogue cannot resynchronise; free the memory now.
                    self.buf = Vec::new();
                    return Err(SessionError::Protocol(e));
                }
            }
            // The parser fails once a partial reply passes max_total, so asking for at
            // most one byte beyond it keeps the buffer bounded whatever the server sends.
            let room = limits
                .max_total
                .saturating_add(1)
                .saturating_sub(self.buf.len());
            let want = room.clamp(1, READ_CHUNK);
            let n = self.read_some(want).await?;
            if n == 0 {
                if !self.buf.is_empty() {
                    let partial = std::mem::take(&mut self.buf);
                    self.transcript.server_raw(&partial);
                }
                self.note("connection closed by server");
                return Err(SessionError::Closed);
            }
        }
    }

    /// One read of at most `want` bytes appended to the buffer, bounded in time.
    async fn read_some(&mut self, want: usize) -> Result<usize, SessionError> {
        let (bound, host_bound) = self.step_bound()?;
        let mut chunk = [0u8; READ_CHUNK];
        let slot = chunk.get_mut(..want).unwrap_or_default();
        let mut detail = None;
        let result = tokio::select! {
            biased;
            () = self.cfg.cancel.cancelled() => Err(SessionError::Cancelled),
            r = tokio::time::timeout(bound, self.stream.read(slot)) => match r {
                Err(_) => Err(timeout_error(host_bound)),
                Ok(Err(e)) => {
                    detail = Some(e.to_string());
                    Err(stream_error(&e))
                }
                Ok(Ok(n)) => Ok(n),
            },
        };
        match result {
            Ok(n) => {
                self.buf
                    .extend_from_slice(chunk.get(..n).unwrap_or_default());
                Ok(n)
            }
            Err(e) => {
                self.note_error(&e, "a reply", detail);
                Err(e)
            }
        }
    }

    /// Sends one command: the transcript first (so a stalled write still shows what
    /// we tried), then the write, bounded like a read.
    pub async fn send(&mut self, cmd: &Command) -> Result<(), SessionError> {
        let wire = match cmd.to_wire() {
            Ok(wire) => wire,
            Err(e) => {
                self.note(format!("not sent: {e}"));
                return Err(SessionError::Command(e));
            }
        };
        self.transcript.client(cmd.to_string());
        let mut detail = None;
        let result = match self.step_bound() {
            Ok((bound, host_bound)) => {
                let stream = &mut self.stream;
                let write = async {
                    stream.write_all(&wire).await?;
                    stream.flush().await
                };
                tokio::select! {
                    biased;
                    () = self.cfg.cancel.cancelled() => Err(SessionError::Cancelled),
                    r = tokio::time::timeout(bound, write) => match r {
                        Err(_) => Err(timeout_error(host_bound)),
                        Ok(Err(e)) => {
                            detail = Some(e.to_string());
                            Err(stream_error(&e))
                        }
                        Ok(Ok(())) => Ok(()),
                    },
                }
            }
            Err(e) => Err(e),
        };
        if let Err(e) = &result {
            self.note_error(e, "the write to complete", detail);
        }
        result
    }

    /// Sends a command and reads its reply.
    pub async fn command(&mut self, cmd: &Command) -> Result<Reply, SessionError> {
        self.send(cmd).await?;
        self.read_reply().await
    }

    /// A polite goodbye: QUIT, wait for the reply at most 2 s (or the time left),
    /// then shut the stream down. Never fails: the dialogue is over either way.
    pub async fn quit(&mut self) {
        let bound = QUIT_WAIT.min(self.time_left());
        let started = Instant::now();
        let goodbye = async {
            self.send(&Command::Quit).await?;
            self.read_reply().await
        };
        match tokio::time::timeout(bound, goodbye).await {
            Ok(_) => {}
            Err(_) => self.note(format!("no reply to QUIT within {}", fmt_duration(bound))),
        }
        // Shutdown may need to write (a TLS close_notify): bound it as well, with a
        // small floor so a plain TCP FIN still goes out when the time is up.
        let rest = bound
            .saturating_sub(started.elapsed())
            .max(Duration::from_millis(100));
        let _ = tokio::time::timeout(rest, self.stream.shutdown()).await;
    }

    /// Our own remark in the transcript.
    pub fn note(&mut self, text: impl Into<String>) {
        self.transcript.note(text);
    }

    pub fn transcript(&self) -> &Transcript {
        &self.transcript
    }

    pub fn into_transcript(self) -> Transcript {
        self.transcript
    }

    pub fn peer_addr(&self) -> SocketAddr {
        self.peer
    }

    /// Bytes received but not yet returned as a reply.
    pub fn buffered_len(&self) -> usize {
        self.buf.len()
    }

    /// Time until the whole-host deadline.
    pub fn time_left(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// The bound for the next read or write, and whether it is the host deadline
    /// (rather than the read timeout) that sets it.
    fn step_bound(&self) -> Result<(Duration, bool), SessionError> {
        if self.cfg.cancel.is_cancelled() {
            return Err(SessionError::Cancelled);
        }
        let left = self.time_left();
        if left.is_zero() {
            return Err(SessionError::HostTimeout);
        }
        if self.cfg.read_timeout < left {
            Ok((self.cfg.read_timeout, false))
        } else {
            Ok((left, true))
        }
    }

    /// Records why the dialogue stopped, with the durations the error variants lack.
    fn note_error(&mut self, e: &SessionError, waiting_for: &str, io_detail: Option<String>) {
        let text = match e {
            SessionError::Closed => match io_detail {
                Some(d) => format!("connection closed by server ({d})"),
                None => e.to_string(),
            },
            SessionError::ReadTimeout => format!(
                "waited {} for {waiting_for}: read timeout",
                fmt_duration(self.cfg.read_timeout)
            ),
            SessionError::HostTimeout => format!(
                "whole-host deadline of {} reached",
                fmt_duration(self.cfg.host_timeout)
            ),
            other => other.to_string(),
        };
        self.note(text);
    }
}

/// Which timeout fired: the host deadline when it, not the read timeout, set the bound.
fn timeout_error(host_bound: bool) -> SessionError {
    if host_bound {
        SessionError::HostTimeout
    } else {
        SessionError::ReadTimeout
    }
}

/// "10s", "1.5s", "400ms".
fn fmt_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms % 1000 == 0 {
        format!("{}s", ms / 1000)
    } else if ms > 1000 {
        format!("{:.1}s", d.as_secs_f64())
    } else {
        format!("{ms}ms")
    }
}
