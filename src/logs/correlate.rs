//! The open messages of a log, keyed by queue or message id, with what is known of each (client, SASL user, sender, recipients outside the local domains, evidence lines); entries end with the message, expire, or are evicted, so memory stays bounded.

use std::collections::HashMap;
use std::net::IpAddr;

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

/// What the log has told about one message so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Message {
    pub id: String,
    /// Whether the line that queued it (`client=`, `from=`, `<=`) has been seen.
    pub received: bool,
    pub client: Option<IpAddr>,
    pub user: Option<String>,
    pub sender: Option<String>,
    /// Time of the first and the last line about it (Unix seconds).
    pub first: Option<i64>,
    pub last: Option<i64>,
    /// When the first recipient outside the local domains was delivered.
    pub first_external: Option<i64>,
    pub external: Vec<String>,
    pub external_count: u64,
    pub evidence: Vec<String>,
}

impl Message {
    /// Line `number` of `file` about this message, as `file:line: text`, kept while there
    /// is room (nothing is formatted when there is none).
    pub fn keep_evidence(&mut self, file: &str, number: usize, text: &str) {
        if self.evidence.len() < MAX_EVIDENCE {
            let text = super::first_chars(text, MAX_EVIDENCE_CHARS);
            self.evidence.push(format!("{file}:{number}: {text}"));
        }
    }

    pub fn add_external(&mut self, rcpt: &str, time: Option<i64>) {
        self.external_count += 1;
        if self.first_external.is_none() {
            self.first_external = time;
        }
        if self.external.len() < MAX_NAMED_RECIPIENTS && !self.external.iter().any(|r| r == rcpt) {
            self.external.push(rcpt.to_string());
        }
    }
}

/// The open messages.
#[derive(Debug, Default)]
pub struct Correlator {
    open: HashMap<String, Message>,
    /// Forgotten after [`MESSAGE_TTL_SECS`] without a line, or evicted at the cap.
    pub expired: u64,
    pub evicted: u64,
}

impl Correlator {
    /// The entry for `id`, opened when absent.
    pub fn entry(&mut self, id: &str) -> &mut Message {
        if !self.open.contains_key(id) {
            self.open.insert(
                id.to_string(),
                Message {
                    id: id.to_string(),
                    ..Message::default()
                },
            );
        }
        self.open.get_mut(id).expect("inserted above")
    }

    pub fn get(&self, id: &str) -> Option<&Message> {
        self.open.get(id)
    }

    /// Closes `id` (the message left the queue) and hands it back.
    pub fn close(&mut self, id: &str) -> Option<Message> {
        self.open.remove(id)
    }

    pub fn len(&self) -> usize {
        self.open.len()
    }

    pub fn is_empty(&self) -> bool {
        self.open.is_empty()
    }

    /// Hands back the messages quiet since before `now - TTL`, and, over the cap, the
    /// oldest until half the cap is open (a batch, so that the next eviction is far off).
    pub fn sweep(&mut self, now: Option<i64>) -> Vec<Message> {
        let mut out = Vec::new();
        if let Some(now) = now {
            let stale: Vec<String> = self
                .open
                .values()
                .filter(|m| m.last.is_some_and(|t| t < now - MESSAGE_TTL_SECS))
                .map(|m| m.id.clone())
                .collect();
            self.expired += stale.len() as u64;
            out.extend(stale.iter().filter_map(|id| self.open.remove(id)));
        }
        if self.open.len() > MAX_OPEN_MESSAGES {
            let mut by_age: Vec<(Option<i64>, String)> =
                self.open.values().map(|m| (m.last, m.id.clone())).collect();
            by_age.sort_unstable();
            let excess = self.open.len() - MAX_OPEN_MESSAGES / 2;
            self.evicted += excess as u64;
            out.extend(
                by_age
                    .into_iter()
                    .take(excess)
                    .filter_map(|(_, id)| self.open.remove(&id)),
            );
        }
        out
    }

    /// Every message still open, at the end of the input.
    pub fn drain(&mut self) -> Vec<Message> {
        let mut all: Vec<Message> = self.open.drain().map(|(_, m)| m).collect();
        all.sort_by(|a, b| (a.first, &a.id).cmp(&(b.first, &b.id)));
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_expire_and_are_evicted_over_the_cap() {
        let mut c = Correlator::default();
        c.entry("OLD").last = Some(0);
        c.entry("NEW").last = Some(MESSAGE_TTL_SECS);
        let gone = c.sweep(Some(MESSAGE_TTL_SECS + 10));
        assert_eq!(
            gone.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(),
            ["OLD"]
        );
        assert_eq!((c.len(), c.expired), (1, 1));
        for n in 0..=MAX_OPEN_MESSAGES {
            c.entry(&format!("M{n}")).last = Some(MESSAGE_TTL_SECS + n as i64);
        }
        let evicted = c.sweep(None);
        assert_eq!(c.len(), MAX_OPEN_MESSAGES / 2);
        assert_eq!(evicted.len() as u64, c.evicted);
        // The oldest go first.
        assert!(evicted.iter().any(|m| m.id == "NEW"));
        assert!(c.get(&format!("M{MAX_OPEN_MESSAGES}")).is_some());
        assert!(c.close("NEW").is_none());
    }

    #[test]
    fn evidence_and_recipients_are_capped() {
        let mut m = Message::default();
        for n in 0..20 {
            m.keep_evidence("f", 1, &"x".repeat(1000 + n));
        }
        assert_eq!(m.evidence.len(), MAX_EVIDENCE);
        assert_eq!(m.evidence[0].len(), "f:1: ".len() + MAX_EVIDENCE_CHARS);
        for n in 0..30 {
            m.add_external(&format!("r{n}@x"), Some(n));
        }
        m.add_external("r0@x", Some(99));
        assert_eq!(m.external.len(), MAX_NAMED_RECIPIENTS);
        assert_eq!((m.external_count, m.first_external), (31, Some(0)));
    }
}
