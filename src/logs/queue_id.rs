//! A queue or message id kept inline: the key of every open message, copied once per message, so the common ids cost no allocation of their own.
//!
//! The ids the readers accept are short: Postfix's 10-12 hex digits (15 or so when long
//! ids are on), Sendmail's 14 characters, Exim's 16 (23 since 4.97). [`INLINE`] bytes hold
//! them all; a longer id (a Postfix long id may grow, and the type does not rely on the
//! readers) goes to the heap.

use std::borrow::Borrow;
use std::hash::{Hash, Hasher};

/// The longest id kept inline: with the length byte and the variant's tag, a 32-byte
/// value (a `Box<str>` is 16 bytes plus an allocation of 32 or more for the same id, and a
/// malloc and a free per message). 22 bytes would make a 24-byte value but send Exim
/// 4.97's 23-character ids to the heap.
pub const INLINE: usize = 30;

/// One id, compared, hashed and ordered as the `str` it holds (so a table keyed by it
/// is looked up by `&str`).
#[derive(Clone)]
pub enum QueueId {
    Inline { len: u8, bytes: [u8; INLINE] },
    Heap(Box<str>),
}

impl QueueId {
    pub fn as_str(&self) -> &str {
        match self {
            QueueId::Inline { len, bytes } => {
                // Made from a &str cut at its end, so always whole characters.
                std::str::from_utf8(&bytes[..usize::from(*len)]).unwrap_or_default()
            }
            QueueId::Heap(s) => s,
        }
    }
}

impl From<&str> for QueueId {
    fn from(s: &str) -> QueueId {
        if s.len() <= INLINE {
            let mut bytes = [0; INLINE];
            bytes[..s.len()].copy_from_slice(s.as_bytes());
            QueueId::Inline {
                len: s.len() as u8,
                bytes,
            }
        } else {
            QueueId::Heap(s.into())
        }
    }
}

impl std::ops::Deref for QueueId {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for QueueId {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

/// As `str` hashes, as `Borrow<str>` requires.
impl Hash for QueueId {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl PartialEq for QueueId {
    fn eq(&self, other: &QueueId) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for QueueId {}

impl PartialOrd for QueueId {
    fn partial_cmp(&self, other: &QueueId) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for QueueId {
    fn cmp(&self, other: &QueueId) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl std::fmt::Debug for QueueId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.as_str().fmt(f)
    }
}

impl std::fmt::Display for QueueId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_look_up_as_str() {
        let long = "x".repeat(INLINE + 1);
        for id in [
            "",
            "B3CC99A8335",
            "2B7DAQ6f012345",
            "1wS3Xa-000Ab1cdEFG-2Zab",
            "\u{e9}t\u{e9}",
            long.as_str(),
        ] {
            let q = QueueId::from(id);
            assert_eq!(q.as_str(), id);
            assert_eq!(q.to_string(), id);
            assert_eq!(matches!(q, QueueId::Heap(_)), id.len() > INLINE, "{id}");
        }
        assert_eq!(std::mem::size_of::<QueueId>(), 32);
        let mut table: foldhash::HashMap<QueueId, u8> = foldhash::HashMap::default();
        table.insert("B3CC99A8335".into(), 1);
        table.insert(long.as_str().into(), 2);
        assert_eq!(table.get("B3CC99A8335"), Some(&1));
        assert_eq!(table.get(long.as_str()), Some(&2));
        assert_eq!(table.get("B3CC99A8336"), None);
        let mut ids: Vec<QueueId> = ["b", "a", "c"].map(QueueId::from).to_vec();
        ids.sort();
        assert_eq!(ids.iter().map(|q| q.as_str()).collect::<String>(), "abc");
    }
}
