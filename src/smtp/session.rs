//! One SMTP dialogue over TCP: per-step timeouts, a whole-host deadline, bounded reads, a transcript.

use std::fmt;
use std::future::Future;
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
use super::transcript::{Transcript, render_raw};

/// Anything a dialogue can run over: plain TCP now, TLS after STARTTLS.
pub trait AsyncStream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + ?Sized> AsyncStream for T {}

/// Most bytes asked for in one read; the reply limits bound the buffer, not this. The
/// chunk lives in every waiting probe's future, so it is sized for memory per in-flight
/// probe (4 KiB made 34 KiB per probe at C=10,000, 1 KiB 30 KiB): replies are small, and
/// a long one just takes a few more reads.
const READ_CHUNK: usize = 1024;

/// Bytes reserved per command of a group: a relay test's MAIL or RCPT line fits.
const WIRE_PER_COMMAND: usize = 64;

/// How long `quit` waits for the server's goodbye at most.
pub(crate) const QUIT_WAIT: Duration = Duration::from_secs(2);

/// Prefix of the `Io` message for EMFILE/ENFILE, so the scheduler can tell
/// "we ran out of descriptors" (back off) from trouble with one host.
const TOO_MANY_FILES: &str = "too many open files";

/// Timeouts and caps for one dialogue.
#[derive(Debug, Clone)]
pub struct SessionSettings {
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

impl Default for SessionSettings {
    /// nmap's 10 s per step, zgrab2's 60 s per target.
    fn default() -> Self {
        SessionSettings {
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

/// Why [`Session::upgrade`] did not give a TLS session.
#[derive(Debug)]
pub enum UpgradeError<E> {
    /// The handshake failed (the wrapper's own error: alert, chain, reason).
    Handshake(E),
    /// Time ran out or the scan was cancelled during the handshake.
    Session(SessionError),
}

/// Stands in for the stream during an upgrade and after a failed one: reads see end of
/// file and writes fail, so anything still tried ends as `Closed`.
struct Detached;

impl AsyncRead for Detached {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        _buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Detached {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        _buf: &[u8],
    ) -> std::task::Poll<io::Result<usize>> {
        std::task::Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
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

/// A TCP connection within `bound`, unless the scan is cancelled first.
async fn open(
    addr: SocketAddr,
    bound: Duration,
    cancel: &CancellationToken,
) -> Result<TcpStream, SessionError> {
    tokio::select! {
        biased;
        () = cancel.cancelled() => Err(SessionError::Cancelled),
        r = tokio::time::timeout(bound, TcpStream::connect(addr)) => match r {
            Err(_) => Err(SessionError::ConnectTimeout),
            Ok(Err(e)) => Err(connect_error(&e)),
            Ok(Ok(stream)) => Ok(stream),
        },
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
    cfg: SessionSettings,
    peer: SocketAddr,
    /// Times we waited for the server: handshakes, the greeting, each command or group.
    round_trips: u32,
    /// We spoke (or connected) and the next reply ends a round trip.
    awaiting: bool,
    /// The last read filled all the room it was given, so the socket may hold more that
    /// we have not taken in: checked before we speak (see `refuse_unsolicited`).
    maybe_more: bool,
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
    pub async fn connect(addr: SocketAddr, cfg: &SessionSettings) -> Result<Session, SessionError> {
        let transcript = Transcript::new(cfg.transcript_cap);
        let deadline = Instant::now() + cfg.host_timeout;
        if cfg.cancel.is_cancelled() {
            return Err(SessionError::Cancelled);
        }
        let bound = cfg.connect_timeout.min(cfg.host_timeout);
        let stream = open(addr, bound, &cfg.cancel).await?;
        // Commands are single small writes awaited one by one: Nagle would only add delay.
        let nodelay = stream.set_nodelay(true);
        let mut session = Session {
            stream: Box::new(stream),
            buf: Vec::new(),
            transcript,
            deadline,
            cfg: cfg.clone(),
            peer: addr,
            // The TCP handshake, then the wait for the greeting.
            round_trips: 1,
            awaiting: true,
            maybe_more: false,
        };
        session.note(format!("connected to {addr}"));
        if let Err(e) = nodelay {
            session.note(format!("could not set TCP_NODELAY: {e}"));
        }
        Ok(session)
    }

    /// A new TCP connection to the same peer in place of the current one, for going on in
    /// plaintext after a failed TLS handshake. The transcript and the host deadline carry
    /// on; anything buffered from the old connection is dropped.
    pub async fn reconnect(&mut self) -> Result<(), SessionError> {
        self.buf.clear();
        self.maybe_more = false;
        let _ = tokio::time::timeout(Duration::from_millis(100), self.stream.shutdown()).await;
        self.stream = Box::new(Detached);
        let left = self.time_left();
        if left.is_zero() {
            let e = SessionError::HostTimeout;
            self.note_error(&e, "a new connection", None);
            return Err(e);
        }
        let bound = self.cfg.connect_timeout.min(left);
        match open(self.peer, bound, &self.cfg.cancel).await {
            Ok(stream) => {
                let _ = stream.set_nodelay(true);
                self.stream = Box::new(stream);
                self.round_trips = self.round_trips.saturating_add(1);
                self.awaiting = true;
                self.note(format!("connected again to {}, without TLS", self.peer));
                Ok(())
            }
            Err(e) => {
                self.note(format!("could not connect again: {e}"));
                Err(e)
            }
        }
    }

    /// Wraps an already open stream (tests, the lab, a TLS stream made elsewhere); the
    /// deadline starts now.
    pub fn from_stream(
        stream: Box<dyn AsyncStream>,
        peer: SocketAddr,
        cfg: &SessionSettings,
    ) -> Session {
        Session {
            stream,
            buf: Vec::new(),
            transcript: Transcript::new(cfg.transcript_cap),
            deadline: Instant::now() + cfg.host_timeout,
            cfg: cfg.clone(),
            peer,
            round_trips: 0,
            awaiting: true,
            maybe_more: false,
        }
    }

    /// Swaps the stream for what `wrap` makes of it (a TLS handshake), bounded by the read
    /// timeout, the host deadline and cancellation.
    ///
    /// First, every byte still buffered is dropped unread: after the 220 to STARTTLS the
    /// only thing that may follow is the handshake, so plaintext already received is
    /// either garbage or an injection meant to be taken for replies to commands sent over
    /// TLS (CVE-2021-38371). The transcript notes what was dropped, escaped; the count is
    /// returned either way. After a failed handshake the stream is gone: every later
    /// read or write ends with `Closed`.
    pub async fn upgrade<T, E, F, Fut>(&mut self, wrap: F) -> (usize, Result<T, UpgradeError<E>>)
    where
        F: FnOnce(Box<dyn AsyncStream>) -> Fut,
        Fut: Future<Output = Result<(Box<dyn AsyncStream>, T), E>>,
        E: fmt::Display,
    {
        let dropped = std::mem::take(&mut self.buf);
        self.maybe_more = false;
        if !dropped.is_empty() {
            self.note(format!(
                "dropped {} bytes of plaintext received before the TLS handshake, unread (response injection?): {}",
                dropped.len(),
                render_raw(&dropped)
            ));
        }
        let (bound, host_bound) = match self.step_bound() {
            Ok(b) => b,
            Err(e) => {
                self.note_error(&e, "the TLS handshake", None);
                return (dropped.len(), Err(UpgradeError::Session(e)));
            }
        };
        let stream = std::mem::replace(&mut self.stream, Box::new(Detached));
        let cancel = self.cfg.cancel.clone();
        let outcome = tokio::select! {
            biased;
            () = cancel.cancelled() => Err(UpgradeError::Session(SessionError::Cancelled)),
            r = tokio::time::timeout(bound, wrap(stream)) => match r {
                Err(_) => Err(UpgradeError::Session(timeout_error(host_bound))),
                Ok(Err(e)) => Err(UpgradeError::Handshake(e)),
                Ok(Ok(pair)) => Ok(pair),
            },
        };
        let result = match outcome {
            Ok((stream, value)) => {
                self.stream = stream;
                self.round_trips = self.round_trips.saturating_add(1);
                self.awaiting = false;
                Ok(value)
            }
            Err(UpgradeError::Handshake(e)) => {
                self.note(format!("TLS handshake failed: {e}"));
                Err(UpgradeError::Handshake(e))
            }
            Err(UpgradeError::Session(e)) => {
                self.note_error(&e, "the TLS handshake", None);
                Err(UpgradeError::Session(e))
            }
        };
        (dropped.len(), result)
    }

    /// Reads one whole reply (every continuation line up to the final one).
    pub async fn read_reply(&mut self) -> Result<Reply, SessionError> {
        let limits = self.cfg.limits;
        // Where the current (incomplete) line starts. Re-parsing the whole buffer after
        // every read would be quadratic against a server that sends one byte per
        // segment, so the parser runs only when a read can change its answer.
        let mut line_start = self
            .buf
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let mut parse = true;
        loop {
            if parse && let Some(reply) = self.parse_buffered(&limits)? {
                return Ok(reply);
            }
            let before = self.buf.len();
            // The parser fails once a partial reply passes max_total, so asking for at
            // most one byte beyond it keeps the buffer bounded whatever the server sends.
            let room = limits
                .max_total
                .saturating_add(1)
                .saturating_sub(self.buf.len());
            let want = room.clamp(1, READ_CHUNK);
            let n = match self.read_some(want).await {
                Ok(n) => n,
                Err(e) => {
                    // What a tarpit trickled before time ran out is evidence too.
                    if matches!(e, SessionError::ReadTimeout | SessionError::HostTimeout)
                        && !self.buf.is_empty()
                    {
                        self.transcript.server_raw(&self.buf);
                    }
                    return Err(e);
                }
            };
            if n == 0 {
                if !self.buf.is_empty() {
                    let partial = std::mem::take(&mut self.buf);
                    self.transcript.server_raw(&partial);
                }
                self.note("connection closed by server");
                return Err(SessionError::Closed);
            }
            let fresh = self.buf.get(before..).unwrap_or_default();
            parse = match fresh.iter().rposition(|&b| b == b'\n') {
                Some(i) => {
                    line_start = before + i + 1;
                    true
                }
                None => {
                    let partial = self.buf.len().saturating_sub(line_start);
                    // A line's first four bytes tell garbage from SMTP; the caps end it.
                    before.saturating_sub(line_start) < 4
                        || partial >= limits.max_line
                        || self.buf.len() >= limits.max_total
                }
            };
        }
    }

    /// Takes one reply off the front of the buffer when it is complete.
    fn parse_buffered(&mut self, limits: &ReplyLimits) -> Result<Option<Reply>, SessionError> {
        match parse_reply(&self.buf, limits) {
            Ok(Some((reply, used))) => {
                self.buf.drain(..used.min(self.buf.len()));
                if self.awaiting {
                    self.round_trips = self.round_trips.saturating_add(1);
                    self.awaiting = false;
                }
                self.transcript.server(&reply);
                Ok(Some(reply))
            }
            Ok(None) => Ok(None),
            Err(e) => {
                self.transcript.server_raw(&self.buf);
                self.transcript.note(format!("protocol error: {e}"));
                // The dialogue cannot resynchronise; free the memory now.
                self.buf = Vec::new();
                Err(SessionError::Protocol(e))
            }
        }
    }

    /// One read of at most `want` bytes appended to the buffer, bounded in time.
    async fn read_some(&mut self, want: usize) -> Result<usize, SessionError> {
        let (bound, host_bound) = match self.step_bound() {
            Ok(b) => b,
            Err(e) => {
                self.note_error(&e, "a reply", None);
                return Err(e);
            }
        };
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
                self.maybe_more = n == want;
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
        self.write_commands(std::slice::from_ref(cmd)).await
    }

    /// Sends a pipelined group (RFC 2920) in one write; the caller then reads one reply
    /// per command, in order. Like [`Session::command`], bytes the server sent before it
    /// was asked end the dialogue. Nothing is sent when any command is unsafe.
    pub async fn pipeline(&mut self, cmds: &[Command]) -> Result<(), SessionError> {
        self.refuse_unsolicited()?;
        self.write_commands(cmds).await
    }

    /// Commands written in one go: the transcript first, then the write, bounded like a read.
    async fn write_commands(&mut self, cmds: &[Command]) -> Result<(), SessionError> {
        let mut wire = Vec::with_capacity(WIRE_PER_COMMAND.saturating_mul(cmds.len()));
        for cmd in cmds {
            if let Err(e) = cmd.write_wire(&mut wire) {
                self.note(format!("not sent: {e}"));
                return Err(SessionError::Command(e));
            }
        }
        for cmd in cmds {
            self.transcript.client(cmd.to_string());
        }
        self.awaiting = true;
        let mut detail = None;
        let result = match self.step_bound() {
            Ok((bound, host_bound)) => {
                let stream = &mut self.stream;
                let mut write = std::pin::pin!(async {
                    stream.write_all(&wire).await?;
                    stream.flush().await
                });
                // A command fits the socket buffer, so the write nearly always finishes
                // at the first poll: the timer and the wait for Ctrl-C (checked by
                // step_bound just now) are set up only for one that does not.
                let first =
                    std::future::poll_fn(|cx| std::task::Poll::Ready(write.as_mut().poll(cx)))
                        .await;
                let written = match first {
                    std::task::Poll::Ready(r) => Ok(r),
                    std::task::Poll::Pending => tokio::select! {
                        biased;
                        () = self.cfg.cancel.cancelled() => Err(SessionError::Cancelled),
                        r = tokio::time::timeout(bound, write.as_mut()) => {
                            r.map_err(|_| timeout_error(host_bound))
                        }
                    },
                };
                match written {
                    Err(e) => Err(e),
                    Ok(Err(e)) => {
                        detail = Some(e.to_string());
                        Err(stream_error(&e))
                    }
                    Ok(Ok(())) => Ok(()),
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
        self.refuse_unsolicited()?;
        self.send(cmd).await?;
        self.read_reply().await
    }

    /// Every reply asked for has been read, so any byte still buffered was sent out of
    /// turn: a protocol error (no false relay from an early 250). Checked before we speak,
    /// and by the dialogue after the last reply of a group.
    pub fn refuse_unsolicited(&mut self) -> Result<(), SessionError> {
        // Bytes behind a read that filled its room are in the socket, not yet in the
        // buffer: taken in now, or they would be read as the answer to what we send next.
        self.catch_up();
        if self.buf.is_empty() {
            return Ok(());
        }
        let e = ReplyError::Unsolicited {
            bytes: self.buf.len(),
            shown: render_raw(&self.buf),
        };
        self.transcript.server_raw(&std::mem::take(&mut self.buf));
        self.transcript.note(format!("protocol error: {e}"));
        Err(SessionError::Protocol(e))
    }

    /// Takes in what the server has sent that we have not read, without waiting: the
    /// bytes the socket holds now join the buffer. After the last reply of a group, any
    /// byte here is one reply too many; one command at a time, it is a reply in the
    /// place of the one just read. Bounded like a read: at most the reply cap is taken.
    pub fn take_ready(&mut self) {
        use futures::FutureExt;
        let limits = self.cfg.limits;
        let mut chunk = [0u8; READ_CHUNK];
        while self.buf.len() <= limits.max_total {
            // A read that is not ready now is dropped unpolled again: nothing is lost.
            match self.stream.read(&mut chunk).now_or_never() {
                Some(Ok(n)) if n > 0 => {
                    self.buf
                        .extend_from_slice(chunk.get(..n).unwrap_or_default());
                }
                // End of stream or an error: the next read reports it in its step.
                Some(_) | None => break,
            }
        }
        self.maybe_more = false;
    }

    /// [`Session::take_ready`], but only when the last read filled all its room: a short
    /// read left nothing behind, so the usual case costs no syscall.
    pub fn catch_up(&mut self) {
        if self.maybe_more {
            self.take_ready();
        }
    }

    /// The complete replies already received and not read (after [`Session::take_ready`]),
    /// in order, each in the transcript. A partial line stays buffered.
    pub fn buffered_replies(&mut self) -> Result<Vec<Reply>, SessionError> {
        let limits = self.cfg.limits;
        let mut out = Vec::new();
        while let Some(reply) = self.parse_buffered(&limits)? {
            out.push(reply);
        }
        Ok(out)
    }

    /// Times this dialogue waited for the server so far.
    pub fn round_trips(&self) -> u32 {
        self.round_trips
    }

    /// A polite goodbye: QUIT, wait for the reply at most 2 s (or the time left), take in
    /// whatever else the server had sent by then (so the caller can tell a reply too many
    /// from [`Session::buffered_len`]), then shut the stream down. Never fails: the
    /// dialogue is over either way; `None` when no goodbye came.
    pub async fn quit(&mut self) -> Option<Reply> {
        let bound = QUIT_WAIT.min(self.time_left());
        let started = Instant::now();
        let reply = match self.send(&Command::Quit).await {
            Ok(()) => self.read_goodbye().await,
            Err(_) => None,
        };
        self.close(bound.saturating_sub(started.elapsed())).await;
        reply
    }

    /// The reply to a QUIT already sent (alone, or at the end of a pipelined group),
    /// waited for at most 2 s (or the time left): the dialogue is over either way, so a
    /// server slow to say goodbye costs no more. Whatever else the server had sent by
    /// then is taken in, so the caller can tell a reply too many from
    /// [`Session::buffered_len`]. `None` when no goodbye came.
    pub async fn read_goodbye(&mut self) -> Option<Reply> {
        let bound = QUIT_WAIT.min(self.time_left());
        let reply = match tokio::time::timeout(bound, self.read_reply()).await {
            Ok(Ok(reply)) => Some(reply),
            Ok(Err(_)) => None,
            Err(_) => {
                self.note(format!("no reply to QUIT within {}", fmt_duration(bound)));
                None
            }
        };
        if reply.is_some() {
            self.catch_up();
        }
        reply
    }

    /// Shuts the stream down after the goodbye, within `within` (at least 100 ms).
    /// Shutdown may need to write (a TLS close_notify): bounded, with a small floor so a
    /// plain TCP FIN still goes out when the time is up.
    pub async fn close(&mut self, within: Duration) {
        let bound = within.max(Duration::from_millis(100));
        let _ = tokio::time::timeout(bound, self.stream.shutdown()).await;
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

    /// Those bytes escaped for a transcript or a reason (the first 512 of them).
    pub fn buffered_text(&self) -> String {
        render_raw(&self.buf)
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
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else if ms > 1000 {
        format!("{:.1}s", d.as_secs_f64())
    } else {
        format!("{ms}ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::transcript::Direction;
    use std::future::Future;
    use tokio::net::TcpListener;

    /// A one-connection server on 127.0.0.1 running `serve`; returns its address.
    async fn server<F, Fut>(serve: F) -> SocketAddr
    where
        F: FnOnce(TcpStream) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let listener = match TcpListener::bind("127.0.0.1:0").await {
            Ok(l) => l,
            Err(e) => panic!("bind 127.0.0.1:0: {e}"),
        };
        let addr = match listener.local_addr() {
            Ok(a) => a,
            Err(e) => panic!("local_addr: {e}"),
        };
        tokio::spawn(async move {
            if let Ok((stream, _)) = listener.accept().await {
                serve(stream).await;
            }
        });
        addr
    }

    fn cfg(read_ms: u64, host_ms: u64) -> SessionSettings {
        SessionSettings {
            connect_timeout: Duration::from_secs(2),
            read_timeout: Duration::from_millis(read_ms),
            host_timeout: Duration::from_millis(host_ms),
            ..SessionSettings::default()
        }
    }

    async fn connect(addr: SocketAddr, cfg: &SessionSettings) -> Session {
        match Session::connect(addr, cfg).await {
            Ok(s) => s,
            Err(e) => panic!("connect {addr}: {e}"),
        }
    }

    /// No command in the transcript: nothing was (recorded as) sent.
    fn nothing_sent(session: &Session) -> bool {
        session
            .transcript()
            .lines()
            .iter()
            .all(|l| l.dir != Direction::Client)
    }

    /// Holds the connection open without a word, until the peer goes away.
    async fn silent(mut stream: TcpStream) {
        let mut sink = [0u8; 64];
        while let Ok(n) = stream.read(&mut sink).await {
            if n == 0 {
                break;
            }
        }
    }

    #[tokio::test]
    async fn greeting_in_one_byte_writes() {
        let greeting = b"220-mx.example.org ESMTP\r\n220 ready\r\n";
        let addr = server(move |mut s| async move {
            for b in greeting {
                if s.write_all(&[*b]).await.is_err() {
                    return;
                }
                let _ = s.flush().await;
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            silent(s).await;
        })
        .await;
        let mut session = connect(addr, &cfg(2000, 10_000)).await;
        assert_eq!(session.peer_addr(), addr);
        let reply = session.read_reply().await;
        let reply = reply.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(reply.code, 220);
        assert_eq!(reply.lines, vec!["mx.example.org ESMTP", "ready"]);
        assert_eq!(session.buffered_len(), 0);
        let texts: Vec<(Direction, String)> = session
            .transcript()
            .lines()
            .iter()
            .map(|l| (l.dir, l.text.clone()))
            .collect();
        assert_eq!(
            texts,
            vec![
                (Direction::Note, format!("connected to {addr}")),
                (Direction::Server, "220-mx.example.org ESMTP".to_string()),
                (Direction::Server, "220 ready".to_string()),
            ]
        );
    }

    #[tokio::test]
    async fn two_replies_in_one_write_and_a_command() {
        let addr = server(|mut s| async move {
            let _ = s.write_all(b"220 hi\r\n250 second\r\n").await;
            let mut line = [0u8; 64];
            let n = s.read(&mut line).await.unwrap_or(0);
            if line.get(..n) == Some(&b"NOOP\r\n"[..]) {
                let _ = s.write_all(b"250 2.0.0 noop ok\r\n").await;
            }
            silent(s).await;
        })
        .await;
        let mut session = connect(addr, &cfg(2000, 10_000)).await;
        let first = session.read_reply().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(first.code, 220);
        // The second reply is already buffered (or about to be): same result either way.
        let second = session.read_reply().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(second.summary(), "250 second");
        assert_eq!(session.buffered_len(), 0);
        let noop = session
            .command(&Command::Noop)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(noop.summary(), "250 2.0.0 noop ok");
        let last = session
            .transcript()
            .lines()
            .iter()
            .rev()
            .take(2)
            .collect::<Vec<_>>();
        assert_eq!(last[1].dir, Direction::Client);
        assert_eq!(last[1].text, "NOOP");
        assert_eq!(last[0].text, "250 2.0.0 noop ok");
    }

    #[tokio::test]
    async fn a_write_the_peer_never_takes_ends_with_the_timeout_or_ctrl_c() {
        // A 16-byte pipe nobody reads: the EHLO line cannot go out at the first poll,
        // so the write waits, bounded by the read timeout, then by Ctrl-C.
        let peer: SocketAddr = ([127, 0, 0, 1], 25).into();
        let (ours, _theirs) = tokio::io::duplex(16);
        let mut session = Session::from_stream(Box::new(ours), peer, &cfg(50, 10_000));
        let ehlo = Command::Ehlo("probe.example.org".into());
        assert!(matches!(
            session.send(&ehlo).await,
            Err(SessionError::ReadTimeout)
        ));
        let config = cfg(10_000, 10_000);
        let (ours, _theirs) = tokio::io::duplex(16);
        let mut session = Session::from_stream(Box::new(ours), peer, &config);
        let cancel = config.cancel.clone();
        let (sent, ()) = tokio::join!(session.send(&ehlo), async move {
            tokio::task::yield_now().await;
            cancel.cancel();
        });
        assert!(matches!(sent, Err(SessionError::Cancelled)), "{sent:?}");
        // A write that fits goes out at once.
        let (ours, mut theirs) = tokio::io::duplex(64);
        let mut session = Session::from_stream(Box::new(ours), peer, &cfg(50, 10_000));
        assert!(session.send(&ehlo).await.is_ok());
        let mut got = [0u8; 64];
        let n = theirs.read(&mut got).await.unwrap_or(0);
        assert_eq!(got.get(..n), Some(&b"EHLO probe.example.org\r\n"[..]));
    }

    #[tokio::test]
    async fn silent_server_gives_read_timeout() {
        let addr = server(silent).await;
        let mut session = connect(addr, &cfg(150, 10_000)).await;
        let started = Instant::now();
        let r = session.read_reply().await;
        assert!(matches!(r, Err(SessionError::ReadTimeout)), "{r:?}");
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(140) && took < Duration::from_millis(1000),
            "{took:?}"
        );
        let last = session.transcript().lines().last().map(|l| l.text.clone());
        assert_eq!(
            last.as_deref(),
            Some("waited 150ms for a reply: read timeout")
        );
    }

    #[tokio::test]
    async fn trickle_ends_at_the_host_deadline() {
        let addr = server(|mut s| async move {
            let _ = s.write_all(b"220 ").await;
            // One byte per 50 ms: never silent long enough for the read timeout.
            loop {
                if s.write_all(b"x").await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .await;
        let started = Instant::now();
        let mut session = connect(addr, &cfg(1000, 400)).await;
        let r = session.read_reply().await;
        let took = started.elapsed();
        assert!(matches!(r, Err(SessionError::HostTimeout)), "{r:?}");
        assert!(
            took >= Duration::from_millis(390) && took < Duration::from_millis(900),
            "{took:?}"
        );
        assert_eq!(session.time_left(), Duration::ZERO);
        let partial = session
            .transcript()
            .lines()
            .iter()
            .find(|l| l.dir == Direction::Server)
            .map(|l| l.text.clone())
            .unwrap_or_default();
        assert!(partial.starts_with("220 xx"), "{partial}");
        assert!(session.buffered_len() >= 5, "leftover bytes stay buffered");
        // Past the deadline, every further step fails at once.
        let r = session.send(&Command::Noop).await;
        assert!(matches!(r, Err(SessionError::HostTimeout)), "{r:?}");
    }

    #[tokio::test]
    async fn endless_line_is_a_protocol_error_without_buffering_it() {
        let addr = server(|mut s| async move {
            let mut line = b"220 ".to_vec();
            line.extend(std::iter::repeat_n(b'A', 1024 * 1024));
            let _ = s.write_all(&line).await;
            silent(s).await;
        })
        .await;
        let config = cfg(2000, 10_000);
        let mut session = connect(addr, &config).await;
        let r = session.read_reply().await;
        assert!(
            matches!(
                r,
                Err(SessionError::Protocol(ReplyError::LineTooLong {
                    limit: 4096
                }))
            ),
            "{r:?}"
        );
        assert_eq!(session.buffered_len(), 0);
        // The raw line in the transcript tells how much was buffered: 512 shown + the rest.
        let raw = session
            .transcript()
            .lines()
            .iter()
            .find(|l| l.dir == Direction::Server)
            .map(|l| l.text.clone())
            .unwrap_or_default();
        let more: usize = raw
            .rsplit_once("…(")
            .and_then(|(_, tail)| tail.strip_suffix(" more bytes)"))
            .and_then(|n| n.parse().ok())
            .unwrap_or(usize::MAX);
        assert!(512 + more <= config.limits.max_line + READ_CHUNK, "{more}");
        assert!(raw.starts_with("220 AAAA"), "{raw}");
    }

    #[tokio::test]
    async fn replies_sent_ahead_of_their_commands_stop_the_dialogue() {
        // Greeting, EHLO reply and a "250" for a RCPT not yet sent, in one write.
        let addr = server(|mut s| async move {
            let _ = s
                .write_all(b"220 mx ESMTP\r\n250 mx\r\n250 2.1.5 Ok\r\n")
                .await;
            silent(s).await;
        })
        .await;
        let mut session = connect(addr, &cfg(2000, 10_000)).await;
        let greeting = session.read_reply().await.expect("the greeting");
        assert_eq!(greeting.code, 220);
        // One write on loopback arrives in one read: the rest is buffered behind it.
        assert!(session.buffered_len() > 0);
        let r = session.command(&Command::Noop).await;
        assert!(
            matches!(r, Err(SessionError::Protocol(ReplyError::Unsolicited { bytes, .. })) if bytes > 0),
            "{r:?}"
        );
        assert_eq!(session.buffered_len(), 0);
        assert!(nothing_sent(&session), "nothing was sent");
    }

    #[tokio::test]
    async fn a_reply_too_many_behind_a_full_read_is_caught_before_we_speak() {
        // A greeting of exactly one read chunk, and a stray reply behind it in the same
        // write: the stray is still in the socket when the greeting has been parsed.
        let mut greeting = b"220 ".to_vec();
        greeting.resize(READ_CHUNK - 2, b'x');
        greeting.extend_from_slice(b"\r\n");
        let addr = server(move |mut s| async move {
            let mut bytes = greeting;
            bytes.extend_from_slice(b"250 2.0.0 stray\r\n");
            let _ = s.write_all(&bytes).await;
            silent(s).await;
        })
        .await;
        let mut session = connect(addr, &cfg(2000, 10_000)).await;
        let first = session.read_reply().await.expect("the greeting");
        assert_eq!(first.code, 220);
        assert_eq!(session.buffered_len(), 0, "the stray is not read yet");
        // Give the write time to land whole, as it would have on a slower path.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let r = session.command(&Command::Noop).await;
        assert!(
            matches!(
                r,
                Err(SessionError::Protocol(ReplyError::Unsolicited {
                    bytes: 17,
                    ref shown,
                })) if shown == "250 2.0.0 stray\\x0d\\x0a"
            ),
            "{r:?}"
        );
        assert!(nothing_sent(&session), "nothing was sent");
    }

    #[tokio::test]
    async fn a_pipelined_group_is_one_write_and_one_round_trip() {
        // The server answers only once the whole group is in: proof it came in one flight.
        let addr = server(|mut s| async move {
            let _ = s.write_all(b"220 mx ESMTP\r\n").await;
            let want = b"RSET\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n";
            let mut got = Vec::new();
            let mut chunk = [0u8; 256];
            while got.len() < want.len() {
                match s.read(&mut chunk).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => got.extend_from_slice(&chunk[..n]),
                }
            }
            if got == want {
                let _ = s
                    .write_all(b"250 2.0.0 Ok\r\n250 2.1.0 Ok\r\n554 5.7.1 Relay access denied\r\n")
                    .await;
            }
            silent(s).await;
        })
        .await;
        let mut session = connect(addr, &cfg(2000, 10_000)).await;
        let greeting = session.read_reply().await.expect("the greeting");
        assert_eq!(greeting.code, 220);
        assert_eq!(
            session.round_trips(),
            2,
            "the TCP handshake and the greeting"
        );
        let group = [
            Command::Rset,
            Command::MailFrom("<a@b.example>".into()),
            Command::RcptTo("<c@d.example>".into()),
        ];
        session.pipeline(&group).await.expect("sent");
        let mut codes = Vec::new();
        for _ in &group {
            codes.push(session.read_reply().await.expect("a reply").code);
        }
        assert_eq!(codes, vec![250, 250, 554]);
        assert_eq!(session.round_trips(), 3, "the group cost one round trip");
        assert_eq!(session.buffered_len(), 0);
    }

    #[tokio::test]
    async fn a_group_is_refused_when_bytes_arrived_unasked_or_a_command_is_unsafe() {
        let addr = server(|mut s| async move {
            let _ = s.write_all(b"220 mx ESMTP\r\n250 2.1.5 Ok\r\n").await;
            silent(s).await;
        })
        .await;
        let mut session = connect(addr, &cfg(2000, 10_000)).await;
        session.read_reply().await.expect("the greeting");
        let unsafe_group = [Command::Rset, Command::RcptTo("<a@b>\r\nDATA".into())];
        let r = session.pipeline(&unsafe_group).await;
        assert!(
            matches!(
                r,
                Err(SessionError::Protocol(ReplyError::Unsolicited {
                    bytes: 14,
                    ..
                }))
            ),
            "{r:?}"
        );
        let r = session.pipeline(&unsafe_group).await;
        assert!(matches!(r, Err(SessionError::Command(_))), "{r:?}");
        assert!(nothing_sent(&session), "nothing was sent");
    }

    #[tokio::test]
    async fn garbage_without_newline_is_caught_early() {
        let addr = server(|mut s| async move {
            let _ = s.write_all(b"SSH-2.0-OpenSSH_9.6").await;
            silent(s).await;
        })
        .await;
        let mut session = connect(addr, &cfg(5000, 10_000)).await;
        let started = Instant::now();
        let r = session.read_reply().await;
        assert!(
            matches!(&r, Err(SessionError::Protocol(ReplyError::NotSmtp { line })) if line.starts_with("SSH-")),
            "{r:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[tokio::test]
    async fn byte_by_byte_overlong_line_still_hits_the_cap() {
        let addr = server(|mut s| async move {
            let _ = s.set_nodelay(true);
            for b in b"250-ok\r\n220 ".iter().chain([b'A'; 200].iter()) {
                if s.write_all(&[*b]).await.is_err() {
                    return;
                }
                tokio::task::yield_now().await;
            }
            silent(s).await;
        })
        .await;
        let mut config = cfg(5000, 10_000);
        config.limits.max_line = 64;
        let mut session = connect(addr, &config).await;
        let r = session.read_reply().await;
        assert!(
            matches!(
                r,
                Err(SessionError::Protocol(ReplyError::LineTooLong {
                    limit: 64
                }))
            ),
            "{r:?}"
        );
    }

    #[tokio::test]
    async fn eof_is_closed() {
        let addr = server(|mut s| async move {
            let _ = s.write_all(b"220-partial\r\n220").await;
            // Dropping the stream closes it mid-reply.
        })
        .await;
        let mut session = connect(addr, &cfg(2000, 10_000)).await;
        let r = session.read_reply().await;
        assert!(matches!(r, Err(SessionError::Closed)), "{r:?}");
        let texts: Vec<&str> = session
            .transcript()
            .lines()
            .iter()
            .map(|l| l.text.as_str())
            .collect();
        assert!(texts.contains(&"220-partial\\x0d\\x0a220"), "{texts:?}");
        assert_eq!(texts.last(), Some(&"connection closed by server"));
    }

    #[tokio::test]
    async fn closed_port_is_refused() {
        // Bind to learn a free port, then close it again.
        let addr = {
            let l = TcpListener::bind("127.0.0.1:0")
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            l.local_addr().unwrap_or_else(|e| panic!("{e}"))
        };
        let r = Session::connect(addr, &cfg(1000, 5000)).await;
        assert!(matches!(r, Err(SessionError::Refused)), "{r:?}");
        if let Err(e) = r {
            assert_eq!(e.to_string(), "connection refused");
            assert!(!e.is_too_many_open_files());
        }
    }

    #[tokio::test]
    async fn cancellation_ends_a_read() {
        let addr = server(silent).await;
        let config = cfg(10_000, 60_000);
        let mut session = connect(addr, &config).await;
        let cancel = config.cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            cancel.cancel();
        });
        let started = Instant::now();
        let r = session.read_reply().await;
        assert!(matches!(r, Err(SessionError::Cancelled)), "{r:?}");
        assert!(started.elapsed() < Duration::from_secs(2));
        // Already cancelled: connect refuses to start.
        let r = Session::connect(addr, &config).await;
        assert!(matches!(r, Err(SessionError::Cancelled)), "{r:?}");
    }

    #[tokio::test]
    async fn quit_against_a_mute_server_is_bounded() {
        let addr = server(silent).await;
        let mut session = connect(addr, &cfg(10_000, 60_000)).await;
        let started = Instant::now();
        session.quit().await;
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(1900) && took < Duration::from_millis(3000),
            "{took:?}"
        );
        let texts: Vec<&str> = session
            .transcript()
            .lines()
            .iter()
            .map(|l| l.text.as_str())
            .collect();
        assert_eq!(texts.get(1), Some(&"QUIT"));
        assert_eq!(texts.last(), Some(&"no reply to QUIT within 2s"));

        // With less time left than 2 s, the deadline bounds it instead.
        let addr = server(silent).await;
        let mut session = connect(addr, &cfg(10_000, 300)).await;
        let started = Instant::now();
        session.quit().await;
        assert!(started.elapsed() < Duration::from_millis(800));
    }

    #[tokio::test]
    async fn quit_reads_the_goodbye() {
        let addr = server(|mut s| async move {
            let mut buf = [0u8; 64];
            let n = s.read(&mut buf).await.unwrap_or(0);
            if buf.get(..n) == Some(&b"QUIT\r\n"[..]) {
                let _ = s.write_all(b"221 2.0.0 Bye\r\n").await;
            }
        })
        .await;
        let mut session = connect(addr, &cfg(2000, 10_000)).await;
        let started = Instant::now();
        session.quit().await;
        assert!(started.elapsed() < Duration::from_millis(1000));
        let last = session
            .into_transcript()
            .into_parts()
            .0
            .pop()
            .map(|l| l.text);
        assert_eq!(last.as_deref(), Some("221 2.0.0 Bye"));
    }

    /// An upgrade that wraps nothing: the same bytes go on, so anything the session still
    /// had buffered would surface as the next reply if the upgrade kept it.
    async fn same_stream(
        stream: Box<dyn AsyncStream>,
    ) -> Result<(Box<dyn AsyncStream>, &'static str), String> {
        Ok((stream, "wrapped"))
    }

    /// Reads one line (up to LF) from a test server's side of the connection.
    async fn read_line(s: &mut TcpStream) -> String {
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        while let Ok(1) = s.read(&mut byte).await {
            line.push(byte[0]);
            if byte[0] == b'\n' {
                break;
            }
        }
        String::from_utf8_lossy(&line).into_owned()
    }

    #[tokio::test]
    async fn injected_plaintext_after_starttls_is_never_parsed_as_a_reply() {
        let addr = server(|mut s| async move {
            let _ = s.write_all(b"220 mx.example.org ESMTP\r\n").await;
            if read_line(&mut s).await == "STARTTLS\r\n" {
                // The 220 and a forged reply in one write: the client buffers both.
                let _ = s
                    .write_all(b"220 2.0.0 go ahead\r\n250 2.1.5 injected\r\n")
                    .await;
            }
            if read_line(&mut s).await == "NOOP\r\n" {
                let _ = s.write_all(b"250 2.0.0 the real reply\r\n").await;
            }
            silent(s).await;
        })
        .await;
        let mut session = connect(addr, &cfg(2000, 10_000)).await;
        let greeting = session.read_reply().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(greeting.code, 220);
        let go = session
            .command(&Command::StartTls)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(go.summary(), "220 2.0.0 go ahead");
        assert_eq!(session.buffered_len(), "250 2.1.5 injected\r\n".len());

        let (dropped, wrapped) = session.upgrade(same_stream).await;
        assert_eq!(dropped, "250 2.1.5 injected\r\n".len());
        assert!(matches!(wrapped, Ok("wrapped")), "{wrapped:?}");
        assert_eq!(session.buffered_len(), 0);

        // The next reply is the server's answer to the next command, not the injection.
        let noop = session
            .command(&Command::Noop)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(noop.summary(), "250 2.0.0 the real reply");
        let lines = session.transcript().lines();
        assert!(
            lines
                .iter()
                .all(|l| l.dir != Direction::Server || !l.text.contains("injected")),
            "the injection is never a server reply: {lines:?}"
        );
        let note = lines
            .iter()
            .find(|l| l.dir == Direction::Note && l.text.starts_with("dropped"))
            .map(|l| l.text.as_str());
        assert_eq!(
            note,
            Some(
                "dropped 20 bytes of plaintext received before the TLS handshake, unread (response injection?): 250 2.1.5 injected\\x0d\\x0a"
            )
        );
    }

    #[tokio::test]
    async fn a_failed_upgrade_leaves_no_stream_behind() {
        let addr = server(silent).await;
        let mut session = connect(addr, &cfg(2000, 10_000)).await;
        let (dropped, r) = session
            .upgrade(|_stream| async { Err::<(Box<dyn AsyncStream>, ()), _>("alert 70") })
            .await;
        assert_eq!(dropped, 0);
        assert!(
            matches!(r, Err(UpgradeError::Handshake("alert 70"))),
            "{r:?}"
        );
        let last = session.transcript().lines().last().map(|l| l.text.clone());
        assert_eq!(last.as_deref(), Some("TLS handshake failed: alert 70"));
        // Nothing can be said or heard any more.
        let r = session.send(&Command::Noop).await;
        assert!(matches!(r, Err(SessionError::Closed)), "{r:?}");
        let r = session.read_reply().await;
        assert!(matches!(r, Err(SessionError::Closed)), "{r:?}");
    }

    #[tokio::test]
    async fn a_handshake_that_never_ends_is_bounded_by_the_read_timeout() {
        let addr = server(silent).await;
        let mut session = connect(addr, &cfg(150, 10_000)).await;
        let (_, r) = session
            .upgrade(|_stream| std::future::pending::<Result<(Box<dyn AsyncStream>, ()), String>>())
            .await;
        assert!(
            matches!(r, Err(UpgradeError::Session(SessionError::ReadTimeout))),
            "{r:?}"
        );
    }

    #[tokio::test]
    async fn reconnect_keeps_the_transcript_and_talks_to_a_new_connection() {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        tokio::spawn(async move {
            for banner in [&b"220 first\r\n"[..], &b"220 second\r\n"[..]] {
                if let Ok((mut s, _)) = listener.accept().await {
                    let _ = s.write_all(banner).await;
                    tokio::spawn(silent(s));
                }
            }
        });
        let mut session = connect(addr, &cfg(2000, 10_000)).await;
        let first = session.read_reply().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(first.summary(), "220 first");
        session.reconnect().await.unwrap_or_else(|e| panic!("{e}"));
        let second = session.read_reply().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(second.summary(), "220 second");
        let texts: Vec<&str> = session
            .transcript()
            .lines()
            .iter()
            .map(|l| l.text.as_str())
            .collect();
        assert_eq!(
            texts,
            vec![
                format!("connected to {addr}").as_str(),
                "220 first",
                format!("connected again to {addr}, without TLS").as_str(),
                "220 second"
            ]
        );
    }

    #[tokio::test]
    async fn unsafe_command_is_not_sent() {
        let addr = server(silent).await;
        let mut session = connect(addr, &cfg(2000, 10_000)).await;
        let r = session.send(&Command::RcptTo("<a@b>\r\nDATA".into())).await;
        assert!(
            matches!(
                r,
                Err(SessionError::Command(CommandError::ForbiddenByte { .. }))
            ),
            "{r:?}"
        );
        assert!(nothing_sent(&session), "nothing recorded as sent");
    }

    #[test]
    fn error_classification() {
        let refused = io::Error::from_raw_os_error(libc::ECONNREFUSED);
        assert!(matches!(connect_error(&refused), SessionError::Refused));
        for code in [libc::ENETUNREACH, libc::EHOSTUNREACH] {
            let e = io::Error::from_raw_os_error(code);
            assert!(
                matches!(connect_error(&e), SessionError::Unreachable(_)),
                "{code}"
            );
        }
        for code in [libc::EMFILE, libc::ENFILE] {
            let e = connect_error(&io::Error::from_raw_os_error(code));
            assert!(e.is_too_many_open_files(), "{e}");
        }
        let other = connect_error(&io::Error::from_raw_os_error(libc::EADDRNOTAVAIL));
        assert!(matches!(other, SessionError::Io(_)));
        assert!(!other.is_too_many_open_files());
        let reset = io::Error::from(io::ErrorKind::ConnectionReset);
        assert!(matches!(stream_error(&reset), SessionError::Closed));
        let messages = [
            (SessionError::Closed, "connection closed by server"),
            (SessionError::HostTimeout, "whole-host deadline reached"),
            (
                SessionError::ReadTimeout,
                "no reply within the read timeout",
            ),
            (SessionError::Cancelled, "cancelled"),
        ];
        for (e, want) in messages {
            assert_eq!(e.to_string(), want);
        }
    }

    #[test]
    fn durations_read_well() {
        let cases = [(10_000, "10s"), (400, "400ms"), (1500, "1.5s"), (0, "0s")];
        for (ms, want) in cases {
            assert_eq!(fmt_duration(Duration::from_millis(ms)), want);
        }
    }
}
