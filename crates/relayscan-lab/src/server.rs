//! The lab's network side: one loopback listener per persona host, one task per connection, a command log, and prompt shutdown.
//!
//! All SMTP decisions live in `policy.rs`; this file only moves bytes, keeps
//! time and enforces the per-connection bounds.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, Write as _};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ipnetwork::Ipv4Network;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep, timeout};
use tokio_util::sync::CancellationToken;

use crate::lines::{Line, LineReader, MAX_LINE};
use crate::persona::Persona;
use crate::policy::{Answer, Conversation, Greylist, greeting, talked_too_early};
use crate::tls::{self, AfterStarttls, LabTls};
use crate::tls_server::TlsServer;

/// A client silent this long is told 421 and dropped.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// Port-0 start-ups retried when a later address finds the chosen port taken.
const BIND_TRIES: usize = 5;

/// How long a closing connection keeps reading what the client still sends,
/// so the kernel does not answer unread bytes with a RST that can destroy the
/// last reply before the client reads it.
const LINGER: Duration = Duration::from_secs(2);

/// Bytes read (and dropped) while lingering.
const LINGER_BYTES: usize = 64 * 1024;

/// Commands kept in memory with `record`; past this the oldest are kept and
/// newer ones only go to the log, so a long benchmark cannot exhaust memory.
const RECORD_CAP: usize = 1_000_000;

/// How long `shutdown` waits for tasks; only a task stuck in a blocking log
/// write could need it.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// How the lab is laid out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabConfig {
    /// The loopback network the hosts are taken from (inside 127.0.0.0/8).
    pub bind: Ipv4Network,
    /// The port every host listens on; 0 picks one free port for all.
    pub port: u16,
    /// Personas assigned in order to consecutive addresses, cycling.
    pub personas: Vec<Persona>,
    /// Addresses to populate; 0 means `personas.len()`.
    pub hosts: usize,
    /// A JSON Lines file receiving every command line, flushed per line.
    pub log: Option<PathBuf>,
    /// Keep received commands in memory for [`Lab::received`].
    pub record: bool,
    /// A pause before every reply, to simulate WAN latency in benchmarks.
    pub reply_delay: Duration,
    /// The slow-greeting persona's pause between its teaser and its final 220.
    pub greeting_pause: Duration,
    /// The port on which personas that speak TLS first (implicit-tls) also listen;
    /// 0 picks a free one.
    pub tls_port: u16,
}

impl Default for LabConfig {
    fn default() -> Self {
        LabConfig {
            bind: DEFAULT_BIND,
            port: 0,
            personas: Persona::ALL.to_vec(),
            hosts: 0,
            log: None,
            record: false,
            reply_delay: Duration::ZERO,
            greeting_pause: Duration::from_millis(1500),
            tls_port: 0,
        }
    }
}

/// The default lab network. Built in a const so a bad literal is a compile
/// error rather than a run-time panic.
pub const DEFAULT_BIND: Ipv4Network =
    match Ipv4Network::new_checked(Ipv4Addr::new(127, 0, 2, 0), 24) {
        Some(net) => net,
        None => panic!("127.0.2.0/24 is a valid network"),
    };

/// Why the lab could not start.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    #[error("lab network {0} is outside 127.0.0.0/8: the lab only binds loopback addresses")]
    NotLoopback(Ipv4Network),
    #[error("lab network {network} has room for {usable} hosts, {wanted} requested")]
    NetworkTooSmall {
        network: Ipv4Network,
        usable: u64,
        wanted: usize,
    },
    #[error("the lab needs at least one persona")]
    NoPersonas,
    #[error("{0}")]
    Tls(String),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: io::Error,
    },
    #[error("cannot open lab log {}: {source}", path.display())]
    Log {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// One simulated server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LabHost {
    pub addr: SocketAddr,
    pub persona: Persona,
}

/// One command line a lab host received (message bodies are summarised).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceivedCommand {
    pub host: SocketAddr,
    pub persona: Persona,
    pub line: String,
    /// Which connection it came on: numbered from 1 in the order the lab accepted them.
    #[serde(default)]
    pub connection: u64,
    /// Which flight of that connection it came in, from 1: the lines the lab read and
    /// answered together (a pipelined group is one flight, a command sent on its own is
    /// one). Each flight is one simulated round trip: `--reply-delay` is paid once per
    /// flight. With the connect and the greeting, a client's round trips on a
    /// connection are 2 + its last flight.
    #[serde(default)]
    pub flight: u32,
}

/// Where on the wire a line came in: its connection and flight (see [`ReceivedCommand`]).
#[derive(Debug, Clone, Copy, Default)]
struct Arrival {
    connection: u64,
    flight: u32,
}

/// A running lab. Dropping it stops the listeners too; `shutdown` also waits.
#[derive(Debug)]
pub struct Lab {
    hosts: Vec<LabHost>,
    port: u16,
    /// The hosts that also speak implicit TLS, at `tls_port`.
    tls_hosts: Vec<LabHost>,
    tls_port: Option<u16>,
    /// The SHA-256 of each TLS persona's key, made at start: the zone's matching TLSA.
    spki_sha256: tls::SpkiDigests,
    /// The lab CA (PEM): what a scan trusts to fetch the MTA-STS policy.
    ca_pem: String,
    /// Where the MTA-STS policy host listens: its persona's address, a port of its own.
    sts_policy: Option<SocketAddr>,
    recorder: Arc<Recorder>,
    cancel: CancellationToken,
    /// Closed (`recv` yields `None`) once every task has dropped its sender.
    tasks_done: mpsc::Receiver<()>,
}

impl Lab {
    /// Validates the layout, opens the log, binds every host and starts serving.
    pub async fn start(cfg: LabConfig) -> Result<Lab, LabError> {
        let plan = plan_hosts(cfg.bind, &cfg.personas, cfg.hosts)?;
        let recorder = Arc::new(Recorder::open(cfg.log.as_deref(), cfg.record)?);
        let ips: Vec<Ipv4Addr> = plan.iter().map(|&(ip, _)| ip).collect();
        let (listeners, port) = bind_all(&ips, cfg.port)?;
        let personas: Vec<Persona> = plan.iter().map(|&(_, p)| p).collect();
        let certificates =
            LabTls::generate(&personas, chrono::Utc::now()).map_err(LabError::Tls)?;
        let implicit: Vec<Ipv4Addr> = plan
            .iter()
            .filter(|&&(_, p)| tls::implicit_tls(p))
            .map(|&(ip, _)| ip)
            .collect();
        let (mut tls_listeners, tls_port) = if implicit.is_empty() {
            (Vec::new(), None)
        } else {
            let (l, p) = bind_all(&implicit, cfg.tls_port)?;
            (l, Some(p))
        };
        tls_listeners.reverse();

        let cancel = CancellationToken::new();
        let (done_tx, tasks_done) = mpsc::channel(1);
        let mut hosts = Vec::with_capacity(plan.len());
        let mut tls_hosts = Vec::new();
        for ((ip, persona), listener) in plan.into_iter().zip(listeners) {
            let addr = SocketAddr::new(IpAddr::V4(ip), port);
            hosts.push(LabHost { addr, persona });
            let ctx = Arc::new(HostCtx {
                addr,
                ip,
                persona,
                greylist: Greylist::new(),
                recorder: Arc::clone(&recorder),
                reply_delay: cfg.reply_delay,
                greeting_pause: cfg.greeting_pause,
                tls: certificates.server(persona).cloned(),
            });
            if tls::implicit_tls(persona)
                && let (Some(tls_port), Some(tls_listener)) = (tls_port, tls_listeners.pop())
            {
                let addr = SocketAddr::new(IpAddr::V4(ip), tls_port);
                tls_hosts.push(LabHost { addr, persona });
                let ctx = Arc::new(HostCtx {
                    addr,
                    greylist: Greylist::new(),
                    tls: ctx.tls.clone(),
                    recorder: Arc::clone(&recorder),
                    ..*ctx
                });
                tokio::spawn(accept_loop(
                    tls_listener,
                    ctx,
                    true,
                    cancel.clone(),
                    done_tx.clone(),
                ));
            }
            tokio::spawn(accept_loop(
                listener,
                ctx,
                false,
                cancel.clone(),
                done_tx.clone(),
            ));
        }
        let sts_ip = hosts
            .iter()
            .find(|h| h.persona == crate::sts_server::STS_POLICY_PERSONA)
            .map(|h| h.addr.ip());
        let sts_policy = match (certificates.sts_policy(), sts_ip) {
            (Some(server), Some(ip)) => {
                let addr = SocketAddr::new(ip, 0);
                let listener = bind_one(addr).map_err(|source| LabError::Bind { addr, source })?;
                let bound = listener
                    .local_addr()
                    .map_err(|source| LabError::Bind { addr, source })?;
                tokio::spawn(crate::sts_server::serve_policy(
                    listener,
                    server.clone(),
                    cancel.clone(),
                ));
                Some(bound)
            }
            _ => None,
        };
        Ok(Lab {
            hosts,
            port,
            tls_hosts,
            tls_port,
            spki_sha256: certificates.spki_sha256().clone(),
            ca_pem: certificates.ca_pem().to_string(),
            sts_policy,
            recorder,
            cancel,
            tasks_done,
        })
    }

    pub fn hosts(&self) -> &[LabHost] {
        &self.hosts
    }

    /// The port shared by every host.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// What the lab made at start that its zone publishes ([`crate::dns::lab_zone`]).
    pub fn made_at_start(&self) -> crate::dns::MadeAtStart {
        crate::dns::MadeAtStart {
            spki_sha256: self.spki_sha256.clone(),
            sts_policy: self.sts_policy.map(|a| a.ip()),
        }
    }

    /// The lab CA (PEM), empty when the lab made no certificate.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// Where the MTA-STS policy host listens (HTTPS), when the lab runs its persona.
    pub fn sts_policy(&self) -> Option<SocketAddr> {
        self.sts_policy
    }

    /// The hosts that speak TLS first, on [`Lab::tls_port`].
    pub fn tls_hosts(&self) -> &[LabHost] {
        &self.tls_hosts
    }

    /// The implicit-TLS port, when a persona listens on it.
    pub fn tls_port(&self) -> Option<u16> {
        self.tls_port
    }

    /// Commands received so far (empty unless `record` was set).
    pub fn received(&self) -> Vec<ReceivedCommand> {
        self.recorder.snapshot()
    }

    /// A table of the hosts: ADDRESS, PERSONA, EXPECTED VERDICT, DESCRIPTION.
    pub fn describe(&self) -> String {
        describe_hosts(&self.all_hosts())
    }

    /// One line per persona: how many hosts serve it and where (`relayscan lab` without -v).
    pub fn summary(&self) -> String {
        summarize_hosts(&self.all_hosts())
    }

    fn all_hosts(&self) -> Vec<LabHost> {
        self.hosts.iter().chain(&self.tls_hosts).copied().collect()
    }

    /// A target spec covering exactly the hosts, for `relayscan scan`.
    pub fn target_range(&self) -> String {
        match self.hosts.first() {
            Some(first) => match first.addr.ip() {
                IpAddr::V4(ip) => range_text(ip, self.hosts.len()),
                IpAddr::V6(ip) => ip.to_string(),
            },
            None => String::new(),
        }
    }

    /// Stops the listeners and every open connection, and waits for them.
    pub async fn shutdown(mut self) {
        self.cancel.cancel();
        let _ = timeout(SHUTDOWN_GRACE, async {
            while self.tasks_done.recv().await.is_some() {}
        })
        .await;
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        // A lab dropped without `shutdown` (a failing test) must not keep serving.
        self.cancel.cancel();
    }
}

/// The addresses and personas of the lab: from the network address + 1,
/// `hosts` consecutive addresses (or one per persona), personas cycling.
pub fn plan_hosts(
    bind: Ipv4Network,
    personas: &[Persona],
    hosts: usize,
) -> Result<Vec<(Ipv4Addr, Persona)>, LabError> {
    // The hard safety rule: never listen anywhere but loopback.
    if bind.prefix() < 8 || bind.network().octets()[0] != 127 {
        return Err(LabError::NotLoopback(bind));
    }
    if personas.is_empty() {
        return Err(LabError::NoPersonas);
    }
    let wanted = if hosts == 0 { personas.len() } else { hosts };
    // Skip the network address, and the broadcast address where there is one.
    let usable: u64 = match bind.prefix() {
        32 => 0,
        31 => 1,
        p => (1u64 << (32 - p)) - 2,
    };
    if wanted as u64 > usable {
        return Err(LabError::NetworkTooSmall {
            network: bind,
            usable,
            wanted,
        });
    }
    // In range: wanted <= usable < 2^(32-prefix), checked above.
    Ok((0..wanted)
        .map(|i| {
            (
                host_address(bind.network(), i),
                personas[i % personas.len()],
            )
        })
        .collect())
}

/// The address of host `n` (0-based) of a lab on `network`: the network address + 1 + n,
/// so the first host is `.1` (saturating at 255.255.255.255, past any real lab).
pub fn host_address(network: Ipv4Addr, n: usize) -> Ipv4Addr {
    let n = u32::try_from(n).unwrap_or(u32::MAX);
    Ipv4Addr::from(u32::from(network).saturating_add(1).saturating_add(n))
}

/// `count` consecutive addresses from `first` as a target spec: a CIDR when
/// they form exactly one block, else `a.b.c.x-y` or `first-last`.
pub fn range_text(first: Ipv4Addr, count: usize) -> String {
    let start = u32::from(first);
    let count32 = u32::try_from(count).unwrap_or(u32::MAX).max(1);
    if count32.is_power_of_two() && start % count32 == 0 {
        return format!("{first}/{}", 32 - count32.trailing_zeros());
    }
    let last = Ipv4Addr::from(start.saturating_add(count32 - 1));
    let (f, l) = (first.octets(), last.octets());
    if f[..3] == l[..3] {
        format!("{first}-{}", l[3])
    } else {
        format!("{first}-{last}")
    }
}

/// The `describe` table: every host, columns padded to their widest cell.
pub fn describe_hosts(hosts: &[LabHost]) -> String {
    let rows: Vec<[String; 4]> = hosts
        .iter()
        .map(|h| {
            [
                h.addr.to_string(),
                h.persona.name().to_string(),
                h.persona.designed_verdict().to_string(),
                h.persona.description().to_string(),
            ]
        })
        .collect();
    padded(
        ["ADDRESS", "PERSONA", "EXPECTED VERDICT", "DESCRIPTION"],
        &rows,
    )
}

/// The `summary` table: one line per persona, in the order of its first host: its name,
/// how many hosts serve it, their addresses, its designed verdict. `--hosts 2000` would
/// otherwise print 2,000 lines before the lab is ready.
pub fn summarize_hosts(hosts: &[LabHost]) -> String {
    let mut groups: Vec<(Persona, Vec<SocketAddr>)> = Vec::new();
    for h in hosts {
        match groups.iter_mut().find(|(p, _)| *p == h.persona) {
            Some((_, addrs)) => addrs.push(h.addr),
            None => groups.push((h.persona, vec![h.addr])),
        }
    }
    let rows: Vec<[String; 4]> = groups
        .iter()
        .map(|(persona, addrs)| {
            [
                persona.name().to_string(),
                addrs.len().to_string(),
                addresses_text(addrs),
                persona.designed_verdict().to_string(),
            ]
        })
        .collect();
    padded(["PERSONA", "HOSTS", "ADDRESSES", "EXPECTED VERDICT"], &rows)
}

/// One host's address; several: the first and the last, and the stride between them when
/// it is the same all along (personas cycle, so with --hosts N each has one address in P).
fn addresses_text(addrs: &[SocketAddr]) -> String {
    let (Some(first), Some(last)) = (addrs.first(), addrs.last()) else {
        return String::new();
    };
    if addrs.len() == 1 {
        return first.to_string();
    }
    let v4 = |a: &SocketAddr| match a.ip() {
        IpAddr::V4(ip) => Some((u32::from(ip), a.port())),
        IpAddr::V6(_) => None,
    };
    let keys: Option<Vec<(u32, u16)>> = addrs.iter().map(v4).collect();
    let stride = keys.and_then(|k| {
        let step = k[1].0.checked_sub(k[0].0)?;
        k.windows(2)
            .all(|w| w[1].1 == w[0].1 && w[1].0.checked_sub(w[0].0) == Some(step))
            .then_some(step)
    });
    match stride {
        Some(1) => format!("{first} to {last}, every address"),
        Some(step) => format!("{first} to {last}, one address in {step}"),
        None => format!("{first} to {last}"),
    }
}

/// Rows under a header, each column padded to its widest cell (the last left ragged).
fn padded(header: [&str; 4], rows: &[[String; 4]]) -> String {
    let mut widths = header.map(str::len);
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let mut out = String::new();
    let mut line = |cells: [&str; 4]| {
        let _ = writeln!(
            out,
            "{:<w0$}  {:<w1$}  {:<w2$}  {}",
            cells[0],
            cells[1],
            cells[2],
            cells[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
        );
    };
    line(header);
    for row in rows {
        line([&row[0], &row[1], &row[2], &row[3]]);
    }
    out
}

/// Binds every address on one port. With port 0 the first bind picks the port;
/// if it is taken on a later address, everything is closed and retried.
pub(crate) fn bind_all(ips: &[Ipv4Addr], port: u16) -> Result<(Vec<TcpListener>, u16), LabError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut listeners = Vec::with_capacity(ips.len());
        let mut chosen = port;
        let mut failure = None;
        for &ip in ips {
            let addr = SocketAddr::new(IpAddr::V4(ip), chosen);
            match bind_one(addr) {
                Ok(listener) => {
                    if chosen == 0 {
                        chosen = listener
                            .local_addr()
                            .map_err(|source| LabError::Bind { addr, source })?
                            .port();
                    }
                    listeners.push(listener);
                }
                Err(source) => {
                    failure = Some(LabError::Bind { addr, source });
                    break;
                }
            }
        }
        match failure {
            None => return Ok((listeners, chosen)),
            Some(LabError::Bind { addr, source })
                if port == 0
                    && source.kind() == io::ErrorKind::AddrInUse
                    && attempt < BIND_TRIES =>
            {
                // `listeners` drops here, closing what was bound; try a fresh port.
                let _ = (addr, source);
            }
            Some(err) => return Err(err),
        }
    }
}

fn bind_one(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = TcpSocket::new_v4()?;
    // Restarting the lab must not wait for TIME_WAIT from the previous run.
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

/// Where received commands go: a JSON Lines file, memory, both or neither.
#[derive(Debug)]
struct Recorder {
    file: Option<Mutex<File>>,
    memory: Option<Mutex<Vec<ReceivedCommand>>>,
    /// The last connection number handed out.
    connections: AtomicU64,
}

impl Recorder {
    // The lab's own command log, named by the test that starts it; not a report, so not
    // through the scanner's report::file (clippy.toml).
    #[allow(clippy::disallowed_methods)]
    fn open(log: Option<&Path>, record: bool) -> Result<Recorder, LabError> {
        let file = match log {
            Some(path) => Some(Mutex::new(File::create(path).map_err(|source| {
                LabError::Log {
                    path: path.to_path_buf(),
                    source,
                }
            })?)),
            None => None,
        };
        Ok(Recorder {
            file,
            memory: record.then(|| Mutex::new(Vec::new())),
            connections: AtomicU64::new(0),
        })
    }

    /// A new connection's arrival point, before its first flight.
    fn connected(&self) -> Arrival {
        Arrival {
            connection: self.connections.fetch_add(1, Ordering::Relaxed) + 1,
            flight: 0,
        }
    }

    fn record(&self, host: SocketAddr, persona: Persona, at: Arrival, line: &str) {
        if self.file.is_none() && self.memory.is_none() {
            return;
        }
        let cmd = ReceivedCommand {
            host,
            persona,
            line: line.to_string(),
            connection: at.connection,
            flight: at.flight,
        };
        if let Some(file) = &self.file
            && let Ok(mut json) = serde_json::to_vec(&cmd)
        {
            json.push(b'\n');
            // One unbuffered write per line: readers see whole lines as they
            // come. A failing log must not take the lab down, so errors are dropped.
            let mut f = file.lock().unwrap_or_else(|e| e.into_inner());
            let _ = f.write_all(&json);
        }
        if let Some(memory) = &self.memory {
            let mut m = memory.lock().unwrap_or_else(|e| e.into_inner());
            if m.len() < RECORD_CAP {
                m.push(cmd);
            }
        }
    }

    fn snapshot(&self) -> Vec<ReceivedCommand> {
        match &self.memory {
            Some(m) => m.lock().unwrap_or_else(|e| e.into_inner()).clone(),
            None => Vec::new(),
        }
    }
}

/// What a connection task needs to know about its host.
#[derive(Debug)]
struct HostCtx {
    addr: SocketAddr,
    ip: Ipv4Addr,
    persona: Persona,
    greylist: Greylist,
    recorder: Arc<Recorder>,
    reply_delay: Duration,
    greeting_pause: Duration,
    /// The persona's certificate, when it speaks TLS.
    tls: Option<TlsServer>,
}

impl HostCtx {
    fn log(&self, at: Arrival, line: &str) {
        self.recorder.record(self.addr, self.persona, at, line);
    }

    async fn delay(&self) {
        if !self.reply_delay.is_zero() {
            sleep(self.reply_delay).await;
        }
    }
}

/// Serves one listener; with `implicit` every connection starts with the TLS handshake.
async fn accept_loop(
    listener: TcpListener,
    ctx: Arc<HostCtx>,
    implicit: bool,
    cancel: CancellationToken,
    done: mpsc::Sender<()>,
) {
    loop {
        let accepted = tokio::select! {
            _ = cancel.cancelled() => return,
            r = listener.accept() => r,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(_) => {
                // Usually out of file descriptors: back off instead of spinning.
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = sleep(Duration::from_millis(50)) => continue,
                }
            }
        };
        let _ = stream.set_nodelay(true);
        let ctx = Arc::clone(&ctx);
        let cancel = cancel.clone();
        let done = done.clone();
        tokio::spawn(async move {
            let _done = done;
            let mut stream = stream;
            tokio::select! {
                _ = cancel.cancelled() => {}
                _ = serve_maybe_tls(&mut stream, peer.ip(), &ctx, implicit) => {}
            }
        });
    }
}

/// A connection on the implicit-TLS port: the handshake first, then the dialogue.
async fn serve_maybe_tls(
    stream: &mut TcpStream,
    client: IpAddr,
    ctx: &HostCtx,
    implicit: bool,
) -> io::Result<()> {
    if !implicit {
        return serve(stream, client, ctx, false).await;
    }
    // Boxed for the same reason as `serve_after_starttls`.
    Box::pin(serve_implicit_tls(stream, client, ctx)).await
}

/// The handshake first, then the dialogue inside TLS.
async fn serve_implicit_tls(
    stream: &mut TcpStream,
    client: IpAddr,
    ctx: &HostCtx,
) -> io::Result<()> {
    let Some(server) = &ctx.tls else {
        return Ok(());
    };
    let mut tls = match timeout(IDLE_TIMEOUT, server.accept(stream)).await {
        Ok(r) => r?,
        Err(_) => return Ok(()),
    };
    serve(&mut tls, client, ctx, true).await
}

/// One connection, from greeting to close. I/O errors just end it: per-client
/// trouble is never the lab's problem.
async fn serve<S>(stream: &mut S, client: IpAddr, ctx: &HostCtx, in_tls: bool) -> io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let mut conversation = Conversation::new(ctx.persona, ctx.ip, client);
    let mut at = ctx.recorder.connected();
    if in_tls {
        conversation.tls_started();
    }
    // Room for an EHLO reply or a pipelined group's replies without regrowing.
    let mut out = Vec::with_capacity(1024);

    let hello = greeting(ctx.persona);
    ctx.delay().await;
    if let Some(teaser) = &hello.teaser {
        push_line(&mut out, teaser);
        flush(stream, &mut out).await?;
        // Postscreen's pregreet test: anything before the final 220 is a ban.
        let mut buf = vec![0u8; MAX_LINE];
        tokio::select! {
            _ = sleep(ctx.greeting_pause) => {}
            r = stream.read(&mut buf) => {
                let n = r?;
                if n == 0 {
                    return Ok(());
                }
                at.flight = 1;
                ctx.log(at, &first_line(&buf[..n]));
                push_answer(&mut out, &talked_too_early());
                flush(stream, &mut out).await?;
                linger_close(stream).await;
                return Ok(());
            }
        }
    }
    push_line(&mut out, &hello.line);
    if hello.twice {
        push_line(&mut out, &hello.line);
    }
    if hello.close {
        flush(stream, &mut out).await?;
        linger_close(stream).await;
        return Ok(());
    }
    if commands(stream, &mut conversation, ctx, &mut at, out).await? == Next::Close {
        return Ok(());
    }
    // The 220 to STARTTLS is out; what follows is the handshake. Boxed: the TLS
    // states are large, and most connections never get here, so they should not
    // make every connection's task that large.
    Box::pin(serve_after_starttls(stream, conversation, ctx, at)).await
}

/// The STARTTLS handshake (or its refusal) and the dialogue inside TLS.
async fn serve_after_starttls<S>(
    stream: &mut S,
    mut conversation: Conversation,
    ctx: &HostCtx,
    mut at: Arrival,
) -> io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    match tls::after_starttls(ctx.persona) {
        AfterStarttls::Refuse { record } => {
            // Take the ClientHello, answer it like a server that knows no newer TLS.
            let mut buf = vec![0u8; MAX_LINE];
            let _ = timeout(IDLE_TIMEOUT, stream.read(&mut buf)).await;
            stream.write_all(record).await?;
            linger_close(stream).await;
            Ok(())
        }
        AfterStarttls::Handshake { .. } => {
            let Some(server) = &ctx.tls else {
                return Ok(());
            };
            let mut tls = match timeout(IDLE_TIMEOUT, server.accept(&mut *stream)).await {
                Ok(r) => r?,
                Err(_) => return Ok(()),
            };
            conversation.tls_started();
            // A second STARTTLS is refused by the policy, so this ends in Close.
            commands(&mut tls, &mut conversation, ctx, &mut at, Vec::new()).await?;
            Ok(())
        }
    }
}

/// How a run of commands ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    Close,
    /// The 220 to STARTTLS went out: the handshake is next.
    StartTls,
}

/// The command loop: reads lines, answers them, until the dialogue closes or STARTTLS
/// is accepted. `out` holds what is still to be sent (the greeting).
async fn commands<S>(
    stream: &mut S,
    conversation: &mut Conversation,
    ctx: &HostCtx,
    at: &mut Arrival,
    mut out: Vec<u8>,
) -> io::Result<Next>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut reader = LineReader::new();
    // One idle timer for the whole dialogue, pushed back before each read.
    let idle = sleep(IDLE_TIMEOUT);
    tokio::pin!(idle);
    loop {
        // The simulated round trip is paid once per flight of commands read together, as
        // on a real network: a pipelined group waits once, not once per command.
        let mut owed_delay = true;
        let mut new_flight = true;
        while let Some(line) = reader.next_line() {
            if new_flight {
                at.flight += 1;
                new_flight = false;
            }
            let mut starttls = false;
            let answer = if conversation.in_body() {
                let end = match line {
                    Line::Text(text) => conversation.body_line(&text),
                    Line::TooLong => conversation.body_bytes(MAX_LINE),
                };
                end.map(|end| {
                    ctx.log(*at, &format!("<message body, {} bytes>", end.bytes));
                    end.answer
                })
            } else {
                Some(match line {
                    Line::Text(text) => {
                        ctx.log(*at, &text);
                        let answer = conversation.command(&text, &ctx.greylist);
                        // The code first: it rules out almost every line cheaply.
                        starttls = answer.code() == Some(220)
                            && text.trim().eq_ignore_ascii_case("STARTTLS");
                        answer
                    }
                    Line::TooLong => {
                        ctx.log(*at, "<line too long>");
                        conversation.line_too_long()
                    }
                })
            };
            if let Some(answer) = answer {
                if !answer.lines.is_empty() {
                    if owed_delay {
                        ctx.delay().await;
                        owed_delay = false;
                    }
                    push_answer(&mut out, &answer);
                }
                if starttls {
                    if let AfterStarttls::Handshake { inject } = tls::after_starttls(ctx.persona) {
                        out.extend_from_slice(inject);
                    }
                    // One write: the injection arrives with the 220, as a MITM's would.
                    // Whatever the client pipelined after STARTTLS is dropped with `reader`.
                    flush(stream, &mut out).await?;
                    return Ok(Next::StartTls);
                }
                if answer.close {
                    flush(stream, &mut out).await?;
                    linger_close(stream).await;
                    return Ok(Next::Close);
                }
            }
        }
        // Pipelined replies go out together, in order, before waiting for more.
        flush(stream, &mut out).await?;
        // Straight into the reader, at most MAX_LINE bytes as before: no zeroed bounce
        // buffer, no copy.
        let mut limited = (&mut *stream).take(MAX_LINE as u64);
        // Moving a registered deadline later is a field update, not a timer-wheel
        // insert and cancel per read as a fresh `timeout` would be.
        idle.as_mut().reset(Instant::now() + IDLE_TIMEOUT);
        let read = tokio::select! {
            biased;
            r = limited.read_buf(reader.spare(MAX_LINE)) => Some(r),
            _ = &mut idle => None,
        };
        let n = match read {
            Some(r) => r?,
            None => {
                push_answer(&mut out, &conversation.timeout());
                flush(stream, &mut out).await?;
                linger_close(stream).await;
                return Ok(Next::Close);
            }
        };
        if n == 0 {
            return Ok(Next::Close);
        }
    }
}

/// The first line of an early talker's bytes, for the log.
fn first_line(bytes: &[u8]) -> String {
    let end = bytes
        .iter()
        .position(|&b| b == b'\n')
        .unwrap_or(bytes.len());
    let line = &bytes[..end];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    String::from_utf8_lossy(line).into_owned()
}

fn push_line(out: &mut Vec<u8>, line: &str) {
    out.extend_from_slice(line.as_bytes());
    out.extend_from_slice(b"\r\n");
}

fn push_answer(out: &mut Vec<u8>, answer: &Answer) {
    for line in &answer.lines {
        push_line(out, line);
    }
}

/// Writes what is pending; a client that stops reading is dropped after the idle timeout.
async fn flush<S: AsyncWrite + Unpin>(stream: &mut S, out: &mut Vec<u8>) -> io::Result<()> {
    if out.is_empty() {
        return Ok(());
    }
    match timeout(IDLE_TIMEOUT, stream.write_all(out)).await {
        Ok(r) => r?,
        Err(_) => return Err(io::ErrorKind::TimedOut.into()),
    }
    out.clear();
    Ok(())
}

/// Half-closes, then drains the client's leftovers briefly (see [`LINGER`]).
async fn linger_close<S: AsyncRead + AsyncWrite + Unpin>(stream: &mut S) {
    let _ = timeout(LINGER, async {
        let _ = stream.shutdown().await;
        let mut buf = [0u8; 1024];
        let mut total = 0;
        while let Ok(n) = stream.read(&mut buf).await {
            total += n;
            if n == 0 || total > LINGER_BYTES {
                break;
            }
        }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;
    use tokio::io::{AsyncBufReadExt, BufReader};
    use tokio::net::TcpStream;

    fn net(s: &str) -> Ipv4Network {
        s.parse().expect("test network")
    }

    #[test]
    fn plan_refuses_non_loopback_networks() {
        for bad in ["10.0.0.0/24", "0.0.0.0/0", "126.0.0.0/7", "192.168.1.0/24"] {
            let err = plan_hosts(net(bad), &Persona::ALL, 0).unwrap_err();
            assert!(matches!(err, LabError::NotLoopback(_)), "{bad}: {err}");
            assert!(err.to_string().contains("127.0.0.0/8"));
        }
    }

    #[test]
    fn plan_layout() {
        let plan = plan_hosts(net("127.0.2.0/24"), &Persona::ALL, 0).unwrap();
        assert_eq!(plan.len(), Persona::ALL.len());
        assert_eq!(plan[0], (Ipv4Addr::new(127, 0, 2, 1), Persona::OpenRelay));
        assert_eq!(plan[12], (Ipv4Addr::new(127, 0, 2, 13), Persona::Blocked));

        // Cycling, and a host address given with the network is masked.
        let two = [Persona::Closed, Persona::Busy];
        let plan = plan_hosts(net("127.9.9.77/28"), &two, 5).unwrap();
        let got: Vec<_> = plan.iter().map(|&(ip, p)| (ip.octets()[3], p)).collect();
        assert_eq!(
            got,
            [
                (65, Persona::Closed),
                (66, Persona::Busy),
                (67, Persona::Closed),
                (68, Persona::Busy),
                (69, Persona::Closed)
            ]
        );
    }

    #[test]
    fn plan_sizes() {
        let one = [Persona::Closed];
        let table = [
            ("127.0.0.0/30", 2, true),
            ("127.0.0.0/30", 3, false),
            ("127.0.0.0/31", 1, true),
            ("127.0.0.0/31", 2, false),
            ("127.0.0.5/32", 1, false),
            ("127.0.0.0/24", 254, true),
            ("127.0.0.0/24", 255, false),
            ("127.0.0.0/8", 300, true),
        ];
        for (network, hosts, ok) in table {
            let r = plan_hosts(net(network), &one, hosts);
            assert_eq!(r.is_ok(), ok, "{network} x{hosts}: {r:?}");
            if let Ok(plan) = r {
                assert_eq!(plan.len(), hosts);
            }
        }
        assert!(matches!(
            plan_hosts(net("127.0.0.0/24"), &[], 0),
            Err(LabError::NoPersonas)
        ));
    }

    #[test]
    fn host_addresses_count_from_the_network_address_plus_one() {
        let table = [
            ((127, 0, 2, 0), 0, (127, 0, 2, 1)),
            ((127, 0, 2, 0), 12, (127, 0, 2, 13)),
            ((127, 0, 0, 0), 300, (127, 0, 1, 45)),
            ((255, 255, 255, 255), 5, (255, 255, 255, 255)),
        ];
        for ((a, b, c, d), n, (w, x, y, z)) in table {
            assert_eq!(
                host_address(Ipv4Addr::new(a, b, c, d), n),
                Ipv4Addr::new(w, x, y, z)
            );
        }
    }

    #[test]
    fn target_ranges() {
        let table = [
            ((127, 0, 2, 1), 13, "127.0.2.1-13"),
            ((127, 0, 2, 1), 1, "127.0.2.1/32"),
            ((127, 0, 2, 1), 2, "127.0.2.1-2"),
            ((127, 0, 2, 0), 16, "127.0.2.0/28"),
            ((127, 0, 0, 1), 300, "127.0.0.1-127.0.1.44"),
        ];
        for ((a, b, c, d), count, want) in table {
            assert_eq!(range_text(Ipv4Addr::new(a, b, c, d), count), want);
        }
    }

    #[test]
    fn describe_table_has_header_and_rows() {
        let hosts = [
            LabHost {
                addr: "127.0.2.1:2525".parse().unwrap(),
                persona: Persona::OpenRelay,
            },
            LabHost {
                addr: "127.0.2.12:2525".parse().unwrap(),
                persona: Persona::Busy,
            },
        ];
        let text = describe_hosts(&hosts);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("ADDRESS          PERSONA     EXPECTED VERDICT  DESCRIPTION"));
        assert!(lines[1].starts_with("127.0.2.1:2525   open-relay  open-relay        relays"));
        assert!(lines[2].starts_with("127.0.2.12:2525  busy        inconclusive      greets"));
    }

    #[test]
    fn summary_has_one_line_per_persona_with_count_addresses_and_verdict() {
        let host = |addr: &str, persona| LabHost {
            addr: addr.parse().unwrap(),
            persona,
        };
        // Two personas cycling over six addresses, as --hosts 6 lays them out.
        let cycled: Vec<LabHost> = (1..=6)
            .map(|n| {
                let persona = if n % 2 == 1 {
                    Persona::OpenRelay
                } else {
                    Persona::Busy
                };
                host(&format!("127.0.2.{n}:2525"), persona)
            })
            .collect();
        let text = summarize_hosts(&cycled);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(
            lines[0].starts_with("PERSONA     HOSTS  ADDRESSES"),
            "{text}"
        );
        assert!(lines[0].ends_with("EXPECTED VERDICT"), "{text}");
        assert!(
            lines[1].starts_with(
                "open-relay  3      127.0.2.1:2525 to 127.0.2.5:2525, one address in 2  open-relay"
            ),
            "{text}"
        );
        assert!(
            lines[2].starts_with("busy        3      127.0.2.2:2525 to 127.0.2.6:2525"),
            "{text}"
        );
        assert!(lines[2].ends_with("inconclusive"), "{text}");

        let table: [(&[&str], &str); 4] = [
            (&["127.0.2.9:2525"], "127.0.2.9:2525"),
            (
                &["127.0.2.1:2525", "127.0.2.2:2525", "127.0.2.3:2525"],
                "127.0.2.1:2525 to 127.0.2.3:2525, every address",
            ),
            // Not one stride (or not one port): the ends only.
            (
                &["127.0.2.1:2525", "127.0.2.2:2525", "127.0.2.9:2525"],
                "127.0.2.1:2525 to 127.0.2.9:2525",
            ),
            (
                &["127.0.2.1:2525", "127.0.2.1:4650"],
                "127.0.2.1:2525 to 127.0.2.1:4650",
            ),
        ];
        for (addrs, want) in table {
            let addrs: Vec<SocketAddr> = addrs.iter().map(|a| a.parse().unwrap()).collect();
            assert_eq!(addresses_text(&addrs), want, "{addrs:?}");
        }
    }

    fn cfg(network: &str, personas: &[Persona]) -> LabConfig {
        LabConfig {
            bind: net(network),
            personas: personas.to_vec(),
            record: true,
            greeting_pause: Duration::from_millis(300),
            ..LabConfig::default()
        }
    }

    /// A raw client: reads one reply (all its lines) at a time.
    struct Client {
        reader: BufReader<TcpStream>,
    }

    impl Client {
        async fn connect(addr: SocketAddr) -> Client {
            let stream = TcpStream::connect(addr).await.expect("connect to lab");
            Client {
                reader: BufReader::new(stream),
            }
        }

        async fn line(&mut self) -> Option<String> {
            let mut line = String::new();
            let n = timeout(Duration::from_secs(5), self.reader.read_line(&mut line))
                .await
                .expect("lab answers within 5 s")
                .ok()?;
            (n > 0).then(|| line.trim_end().to_string())
        }

        /// The lines of one SMTP reply, up to the one with a space after the code.
        async fn reply(&mut self) -> Vec<String> {
            let mut lines = Vec::new();
            while let Some(l) = self.line().await {
                let last = l.as_bytes().get(3) != Some(&b'-');
                lines.push(l);
                if last {
                    break;
                }
            }
            lines
        }

        async fn send(&mut self, text: &str) {
            self.reader
                .get_mut()
                .write_all(text.as_bytes())
                .await
                .expect("write to lab");
        }

        async fn cmd(&mut self, line: &str) -> Vec<String> {
            self.send(&format!("{line}\r\n")).await;
            self.reply().await
        }
    }

    #[tokio::test]
    async fn refuses_to_start_outside_loopback() {
        let err = Lab::start(cfg("192.0.2.0/28", &[Persona::Closed]))
            .await
            .unwrap_err();
        assert!(matches!(err, LabError::NotLoopback(_)), "{err}");
    }

    #[tokio::test]
    async fn open_relay_accepts_a_relay_rcpt_and_records_it() {
        let lab = Lab::start(cfg("127.13.1.0/28", &[Persona::OpenRelay, Persona::Closed]))
            .await
            .expect("lab starts");
        assert_eq!(lab.hosts().len(), 2);
        assert_eq!(lab.target_range(), "127.13.1.1-2");
        let port = lab.port();
        assert_ne!(port, 0);
        assert!(lab.hosts().iter().all(|h| h.addr.port() == port));

        let open = lab.hosts()[0].addr;
        let mut c = Client::connect(open).await;
        assert_eq!(
            c.reply().await,
            ["220 open-relay.lab.test ESMTP relayscan-lab"]
        );
        let ehlo = c.cmd("EHLO scanner.test").await;
        assert_eq!(
            ehlo.first().map(String::as_str),
            Some("250-open-relay.lab.test")
        );
        assert_eq!(ehlo.last().map(String::as_str), Some("250 SMTPUTF8"));
        assert_eq!(
            c.cmd("MAIL FROM:<antispam@example.com>").await,
            ["250 2.1.0 Ok"]
        );
        assert_eq!(
            c.cmd("RCPT TO:<relaytest@example.com>").await,
            ["250 2.1.5 Ok"]
        );
        assert_eq!(c.cmd("QUIT").await, ["221 2.0.0 Bye"]);
        assert_eq!(c.line().await, None, "closed after QUIT");

        // The second host is the closed persona on the same port.
        let mut d = Client::connect(lab.hosts()[1].addr).await;
        d.reply().await;
        // Pipelined: three commands in one write, answered in order.
        d.send("HELO x\r\nMAIL FROM:<>\nRCPT TO:<relaytest@example.com>\r\n")
            .await;
        assert_eq!(d.reply().await, ["250 closed.lab.test"]);
        assert_eq!(d.reply().await, ["250 2.1.0 Ok"]);
        assert_eq!(
            d.reply().await,
            ["554 5.7.1 <relaytest@example.com>: Relay access denied"]
        );

        let got = lab.received();
        let open_lines: Vec<&str> = got
            .iter()
            .filter(|r| r.host == open)
            .map(|r| r.line.as_str())
            .collect();
        assert_eq!(
            open_lines,
            [
                "EHLO scanner.test",
                "MAIL FROM:<antispam@example.com>",
                "RCPT TO:<relaytest@example.com>",
                "QUIT"
            ]
        );
        assert!(
            got.iter()
                .all(|r| r.host != open || r.persona == Persona::OpenRelay)
        );
        lab.shutdown().await;
    }

    #[tokio::test]
    async fn slow_greeting_kicks_early_talkers_and_serves_patient_ones() {
        let lab = Lab::start(cfg("127.13.2.0/28", &[Persona::SlowGreeting]))
            .await
            .expect("lab starts");
        let addr = lab.hosts()[0].addr;

        let mut early = Client::connect(addr).await;
        assert_eq!(
            early.line().await.as_deref(),
            Some("220-slow-greeting.lab.test ESMTP please wait")
        );
        early.send("EHLO impatient\r\n").await;
        assert_eq!(
            early.line().await.as_deref(),
            Some("554 5.5.1 Error: talked too early")
        );
        assert_eq!(early.line().await, None, "closed after the ban");

        let mut patient = Client::connect(addr).await;
        let started = Instant::now();
        assert_eq!(
            patient.reply().await,
            [
                "220-slow-greeting.lab.test ESMTP please wait",
                "220 slow-greeting.lab.test ESMTP relayscan-lab"
            ]
        );
        assert!(started.elapsed() >= Duration::from_millis(250));
        assert_eq!(patient.cmd("HELO x").await, ["250 slow-greeting.lab.test"]);
        assert_eq!(
            lab.received().first().map(|r| r.line.as_str()),
            Some("EHLO impatient")
        );
        lab.shutdown().await;
    }

    #[tokio::test]
    async fn not_smtp_busy_and_blocked() {
        let lab = Lab::start(cfg(
            "127.13.3.0/28",
            &[Persona::NotSmtp, Persona::Busy, Persona::Blocked],
        ))
        .await
        .expect("lab starts");
        let hosts = lab.hosts().to_vec();

        let mut ssh = Client::connect(hosts[0].addr).await;
        assert_eq!(
            ssh.line().await.as_deref(),
            Some("SSH-2.0-OpenSSH_9.6p1 Debian-4")
        );
        ssh.send("EHLO x\r\n").await;
        assert_eq!(
            ssh.line().await.as_deref(),
            Some("Invalid SSH identification string.")
        );
        assert_eq!(ssh.line().await, None);

        let mut busy = Client::connect(hosts[1].addr).await;
        assert_eq!(
            busy.reply().await,
            ["421 4.3.2 busy.lab.test Service not available, closing transmission channel"]
        );
        assert_eq!(busy.line().await, None, "busy hangs up after its greeting");

        let mut blocked = Client::connect(hosts[2].addr).await;
        assert_eq!(
            blocked.reply().await[0],
            "554 5.7.1 blocked.lab.test Service unavailable; client host blocked"
        );
        assert_eq!(
            blocked.cmd("EHLO x").await,
            ["503 5.5.1 Error: no SMTP service here"]
        );
        assert_eq!(blocked.cmd("QUIT").await, ["221 2.0.0 Bye"]);
        assert_eq!(blocked.line().await, None);
        lab.shutdown().await;
    }

    #[tokio::test]
    async fn long_lines_data_and_drop_after_mail() {
        let lab = Lab::start(cfg(
            "127.13.4.0/28",
            &[Persona::AcceptAllSink, Persona::DropAfterMail],
        ))
        .await
        .expect("lab starts");
        let hosts = lab.hosts().to_vec();

        let mut c = Client::connect(hosts[0].addr).await;
        c.reply().await;
        c.send(&format!("NOOP {}\r\n", "x".repeat(MAX_LINE + 100)))
            .await;
        assert_eq!(c.reply().await, ["500 5.5.2 Line too long"]);
        assert_eq!(c.cmd("EHLO me").await.len(), 6);
        assert_eq!(c.cmd("MAIL FROM:<>").await, ["250 2.1.0 Ok"]);
        assert_eq!(c.cmd("RCPT TO:<x@nx.invalid>").await, ["250 2.1.5 Ok"]);
        assert_eq!(c.cmd("DATA").await, ["354 End data with <CR><LF>.<CR><LF>"]);
        assert_eq!(
            c.cmd("Subject: t\r\n\r\nbody\r\n.").await,
            ["250 2.0.0 Ok: queued as LAB"]
        );

        let mut d = Client::connect(hosts[1].addr).await;
        d.reply().await;
        assert_eq!(d.cmd("EHLO me").await.len(), 6);
        d.send("MAIL FROM:<a@b.test>\r\n").await;
        assert_eq!(d.line().await, None, "dropped without a reply");

        let sink: Vec<String> = lab
            .received()
            .into_iter()
            .filter(|r| r.persona == Persona::AcceptAllSink)
            .map(|r| r.line)
            .collect();
        assert_eq!(
            sink,
            [
                "<line too long>",
                "EHLO me",
                "MAIL FROM:<>",
                "RCPT TO:<x@nx.invalid>",
                "DATA",
                "<message body, 20 bytes>"
            ]
        );
        lab.shutdown().await;
    }

    #[tokio::test]
    async fn log_file_gets_each_line_while_running() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("lab.jsonl");
        let lab = Lab::start(LabConfig {
            log: Some(path.clone()),
            record: false,
            ..cfg("127.13.5.0/28", &[Persona::Closed])
        })
        .await
        .expect("lab starts");
        let addr = lab.hosts()[0].addr;
        let mut c = Client::connect(addr).await;
        c.reply().await;
        c.cmd("EHLO logger.test").await;
        c.cmd("MAIL FROM:<>").await;
        c.cmd("RCPT TO:<x@y>").await;

        // Read while the lab is still running: lines are written as they come.
        let text = std::fs::read_to_string(&path).expect("log readable");
        let logged: Vec<ReceivedCommand> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("each line is JSON"))
            .collect();
        let lines: Vec<&str> = logged.iter().map(|r| r.line.as_str()).collect();
        assert_eq!(lines, ["EHLO logger.test", "MAIL FROM:<>", "RCPT TO:<x@y>"]);
        assert!(
            logged
                .iter()
                .all(|r| r.host == addr && r.persona == Persona::Closed && r.connection == 1)
        );
        // Each command waited for its reply: a flight of its own.
        let flights: Vec<u32> = logged.iter().map(|r| r.flight).collect();
        assert_eq!(flights, [1, 2, 3]);
        let first: serde_json::Value =
            serde_json::from_str(text.lines().next().unwrap_or("")).unwrap();
        assert_eq!(first["persona"], "closed");
        assert_eq!(first["host"], addr.to_string());
        assert!(lab.received().is_empty(), "record was off");
        lab.shutdown().await;
    }

    #[tokio::test]
    async fn shutdown_is_prompt_and_closes_connections() {
        let lab = Lab::start(cfg(
            "127.13.6.0/28",
            &[Persona::Closed, Persona::SlowGreeting],
        ))
        .await
        .expect("lab starts");
        let hosts = lab.hosts().to_vec();
        // One idle connection mid-dialogue, one inside the greeting pause.
        let mut idle = Client::connect(hosts[0].addr).await;
        idle.reply().await;
        let mut waiting = Client::connect(hosts[1].addr).await;
        waiting.line().await;

        let started = Instant::now();
        lab.shutdown().await;
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "shutdown took {:?}",
            started.elapsed()
        );
        assert_eq!(idle.line().await, None, "open connection closed");
        assert!(
            TcpStream::connect(hosts[0].addr).await.is_err(),
            "listener closed"
        );
    }

    #[tokio::test]
    async fn explicit_port_in_use_names_the_address() {
        let lab = Lab::start(cfg("127.13.7.0/28", &[Persona::Closed]))
            .await
            .expect("lab starts");
        let clash = Lab::start(LabConfig {
            port: lab.port(),
            ..cfg("127.13.7.0/28", &[Persona::Closed])
        })
        .await
        .unwrap_err();
        assert!(matches!(clash, LabError::Bind { .. }), "{clash}");
        assert!(
            clash
                .to_string()
                .contains(&format!("127.13.7.1:{}", lab.port())),
            "{clash}"
        );
        lab.shutdown().await;
    }

    #[tokio::test]
    async fn reply_delay_slows_every_reply() {
        let lab = Lab::start(LabConfig {
            reply_delay: Duration::from_millis(100),
            ..cfg("127.13.8.0/28", &[Persona::Closed])
        })
        .await
        .expect("lab starts");
        let started = Instant::now();
        let mut c = Client::connect(lab.hosts()[0].addr).await;
        c.reply().await;
        c.cmd("NOOP").await;
        assert!(started.elapsed() >= Duration::from_millis(200));
        lab.shutdown().await;
    }
}
