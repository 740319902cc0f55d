//! The open messages of a log, keyed by queue or message id, with what is known of each (client, SASL user, sender, recipients outside the local domains, evidence lines); entries end with the message, expire, or are evicted, so memory stays bounded.

use std::net::IpAddr;

use super::queue_id::QueueId;

/// The open messages' table. foldhash rather than std's SipHash: a table lookup per line
/// is the hottest thing `relayscan logs` does; foldhash's per-process seed still keeps a
/// log's author from choosing ids that collide.
type Table<V> = foldhash::HashMap<QueueId, V>;

/// A message still in the queue is forgotten this long after its last line: Postfix's
/// `maximal_queue_lifetime` and Sendmail's `Timeout.queuereturn` default to 5 days, Exim's
/// retry rules to 4, so a message quiet for 5 days has left the queue.
pub const MESSAGE_TTL_SECS: i64 = 5 * 86_400;

/// The most messages open at once. A busy relay has a few thousand in its queue; 50,000
/// open entries of at most [`MAX_EVIDENCE`] lines of [`MAX_EVIDENCE_CHARS`] cost at most
/// about 120 MB in the worst case (every one a suspect) and a few MB in the usual one.
pub const MAX_OPEN_MESSAGES: usize = 50_000;

/// Log lines kept as evidence per suspect message, and the longest kept line.
pub const MAX_EVIDENCE: usize = 8;
pub const MAX_EVIDENCE_CHARS: usize = 300;

/// Recipients outside the local domains named per message (the rest are counted).
pub const MAX_NAMED_RECIPIENTS: usize = 20;

/// The lines kept about one message, `file:line: text` each, in one buffer (one
/// allocation per message instead of one per line).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Evidence {
    text: String,
    /// Where each kept line ends in `text` (a file name may hold any character, so no
    /// separator could be trusted).
    ends: [u32; MAX_EVIDENCE],
    lines: usize,
}

impl Evidence {
    /// Keeps line `number` of `file` while there is room (nothing is copied when there is
    /// none).
    pub fn keep(&mut self, file: &str, number: usize, text: &str) {
        if self.lines >= MAX_EVIDENCE {
            return;
        }
        let text = super::first_chars(text, MAX_EVIDENCE_CHARS);
        let mut digits = itoa::Buffer::new();
        for part in [file, ":", digits.format(number), ": ", text] {
            self.text.push_str(part);
        }
        // At most 8 lines of a file name and 300 characters: far under 4 GiB.
        self.ends[self.lines] = u32::try_from(self.text.len()).unwrap_or(u32::MAX);
        self.lines += 1;
    }

    pub fn len(&self) -> usize {
        self.lines
    }

    pub fn is_empty(&self) -> bool {
        self.lines == 0
    }

    /// The kept lines, in order.
    pub fn lines(&self) -> Vec<String> {
        let mut start = 0;
        self.ends[..self.lines]
            .iter()
            .map(|&end| {
                let line = self.text.get(start..end as usize).unwrap_or_default();
                start = end as usize;
                line.to_string()
            })
            .collect()
    }
}

/// What the log has told about one message so far. Every open message is one of these,
/// so what only an incident needs (sender, recipient names, evidence) sits behind one
/// pointer, allocated only while the message may still be listed: a message from a
/// trusted client or a SASL user, or one past the listed incidents, costs 112 bytes here
/// and 32 for its id in the table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Message {
    /// Whether the line that queued it (`client=`, `from=`, `<=`) has been seen.
    pub received: bool,
    pub client: Option<IpAddr>,
    pub user: Option<Box<str>>,
    /// Recipients still without a final status, when the log said how many there were
    /// (Sendmail's `nrcpts=`): at zero the message is finished.
    pub pending: Option<u32>,
    /// Time of the first and the last line about it (Unix seconds).
    pub first: Option<i64>,
    pub last: Option<i64>,
    /// When the first recipient outside the local domains was delivered.
    pub first_external: Option<i64>,
    pub external_count: u64,
    pub details: Option<Box<Details>>,
}

/// What is kept of a message only while it may be listed as an incident.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Details {
    pub sender: Option<String>,
    /// The first [`MAX_NAMED_RECIPIENTS`] recipients outside the local domains.
    pub external: Vec<String>,
    pub evidence: Evidence,
}

impl Message {
    /// Counts a delivered recipient outside the local domains; `name` says whether to name
    /// it (only a message that may be listed as an incident needs the names).
    pub fn add_external(&mut self, rcpt: &str, time: Option<i64>, name: bool) {
        self.external_count += 1;
        if self.first_external.is_none() {
            self.first_external = time;
        }
        if !name {
            return;
        }
        let external = &mut self.details_mut().external;
        if external.len() < MAX_NAMED_RECIPIENTS && !external.iter().any(|r| r == rcpt) {
            external.push(rcpt.to_string());
        }
    }

    /// The details, made when first needed.
    pub fn details_mut(&mut self) -> &mut Details {
        self.details.get_or_insert_default()
    }

    /// Counts `n` recipients that got a final status; whether every recipient the log
    /// announced now has one (never when it announced none).
    pub fn settle(&mut self, n: u32) -> bool {
        match &mut self.pending {
            Some(left) => {
                *left = left.saturating_sub(n);
                *left == 0
            }
            None => false,
        }
    }
}

/// A message that left the table, with its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closed {
    pub id: QueueId,
    pub message: Message,
}

/// The open messages.
#[derive(Debug, Default)]
pub struct Correlator {
    open: Table<Message>,
    /// Forgotten after [`MESSAGE_TTL_SECS`] without a line, or evicted at the cap.
    pub expired: u64,
    pub evicted: u64,
}

impl Correlator {
    /// The entry for `id`, opened when absent: one lookup (the inline id costs a copy of
    /// its bytes, no allocation, so it is made before knowing whether it is needed).
    pub fn entry(&mut self, id: &str) -> &mut Message {
        self.open.entry(QueueId::from(id)).or_default()
    }

    pub fn get(&self, id: &str) -> Option<&Message> {
        self.open.get(id)
    }

    /// Closes `id` (the message left the queue) and hands it back.
    pub fn close(&mut self, id: &str) -> Option<Closed> {
        self.open
            .remove_entry(id)
            .map(|(id, message)| Closed { id, message })
    }

    pub fn len(&self) -> usize {
        self.open.len()
    }

    pub fn is_empty(&self) -> bool {
        self.open.is_empty()
    }

    /// Whether more than [`MAX_OPEN_MESSAGES`] are open: time to [`sweep`](Self::sweep).
    pub fn over_cap(&self) -> bool {
        self.open.len() > MAX_OPEN_MESSAGES
    }

    /// Hands back the messages quiet since before `now - TTL`, and, over the cap, the
    /// oldest until half the cap is open (a batch, so that the next eviction is far off).
    pub fn sweep(&mut self, now: Option<i64>) -> Vec<Closed> {
        let mut out = Vec::new();
        if let Some(now) = now {
            let stale = |m: &Message| m.last.is_some_and(|t| t < now - MESSAGE_TTL_SECS);
            let before = out.len();
            out.extend(
                self.open
                    .extract_if(|_, m| stale(m))
                    .map(|(id, message)| Closed { id, message }),
            );
            self.expired += (out.len() - before) as u64;
        }
        if self.open.len() > MAX_OPEN_MESSAGES {
            let mut ages: Vec<Option<i64>> = self.open.values().map(|m| m.last).collect();
            let excess = self.open.len() - MAX_OPEN_MESSAGES / 2;
            // The excess-th oldest time: everything older goes, then as many of that time
            // as still fit (ties are many in a log with one-second stamps).
            let (_, &mut cut, _) = ages.select_nth_unstable(excess - 1);
            let mut room_at_cut = excess - ages.iter().filter(|&&t| t < cut).count();
            let before = out.len();
            out.extend(
                self.open
                    .extract_if(|_, m| {
                        if m.last < cut {
                            true
                        } else if m.last == cut && room_at_cut > 0 {
                            room_at_cut -= 1;
                            true
                        } else {
                            false
                        }
                    })
                    .map(|(id, message)| Closed { id, message }),
            );
            self.evicted += (out.len() - before) as u64;
        }
        out
    }

    /// Every message still open, at the end of the input, oldest first.
    pub fn drain(&mut self) -> Vec<Closed> {
        let mut all: Vec<Closed> = self
            .open
            .drain()
            .map(|(id, message)| Closed { id, message })
            .collect();
        all.sort_by(|a, b| (a.message.first, &a.id).cmp(&(b.message.first, &b.id)));
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(closed: &[Closed]) -> Vec<&str> {
        closed.iter().map(|c| &*c.id).collect()
    }

    #[test]
    fn messages_expire_and_are_evicted_over_the_cap() {
        let mut c = Correlator::default();
        c.entry("OLD").last = Some(0);
        c.entry("NEW").last = Some(MESSAGE_TTL_SECS);
        let gone = c.sweep(Some(MESSAGE_TTL_SECS + 10));
        assert_eq!(ids(&gone), ["OLD"]);
        assert_eq!((c.len(), c.expired), (1, 1));
        assert!(!c.over_cap());
        // Many share one time (one-second stamps): the cut still takes exactly the excess.
        for n in 0..=MAX_OPEN_MESSAGES {
            c.entry(&format!("M{n}")).last = Some(MESSAGE_TTL_SECS + (n / 100) as i64);
        }
        assert!(c.over_cap());
        let evicted = c.sweep(None);
        assert_eq!(c.len(), MAX_OPEN_MESSAGES / 2);
        assert_eq!(evicted.len() as u64, c.evicted);
        // The oldest go first.
        assert!(ids(&evicted).contains(&"NEW"));
        assert!(ids(&evicted).contains(&"M0"));
        assert!(c.get(&format!("M{MAX_OPEN_MESSAGES}")).is_some());
        assert!(c.close("NEW").is_none());
        let last = c.close(&format!("M{MAX_OPEN_MESSAGES}")).unwrap();
        assert_eq!(&*last.id, format!("M{MAX_OPEN_MESSAGES}"));
    }

    #[test]
    fn evidence_and_recipients_are_capped() {
        let mut m = Message::default();
        for n in 0..20 {
            m.details_mut()
                .evidence
                .keep("f\nx", n + 1, &"x".repeat(1000 + n));
        }
        let evidence = &m.details.as_ref().unwrap().evidence;
        assert_eq!(evidence.len(), MAX_EVIDENCE);
        let lines = evidence.lines();
        assert_eq!(lines.len(), MAX_EVIDENCE);
        assert_eq!(lines[0].len(), "f\nx:1: ".len() + MAX_EVIDENCE_CHARS);
        assert!(lines[7].starts_with("f\nx:8: xxx"), "{}", lines[7]);
        for n in 0..30 {
            m.add_external(&format!("r{n}@x"), Some(n), true);
        }
        m.add_external("r0@x", Some(99), true);
        m.add_external("unnamed@x", Some(99), false);
        assert_eq!(m.details.unwrap().external.len(), MAX_NAMED_RECIPIENTS);
        assert_eq!((m.external_count, m.first_external), (32, Some(0)));
        let mut quiet = Message::default();
        quiet.add_external("r@x", Some(1), false);
        assert!(quiet.details.is_none());
        assert_eq!(quiet.external_count, 1);
        // Recipients announced (Sendmail's nrcpts=2) settle one line at a time; a
        // message that announced none never settles by count.
        let mut announced = Message {
            pending: Some(2),
            ..Message::default()
        };
        assert!(!announced.settle(1));
        assert!(announced.settle(3));
        assert!(!Message::default().settle(1));
        assert_eq!(std::mem::size_of::<Message>(), 112);
    }
}
