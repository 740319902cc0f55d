//! One name for a finding of any catalogue (host, audit and log findings: [`FindingId`];
//! domain findings: [`DomainFindingId`]), parsed from its kebab-case id, with the nearest
//! valid ids offered when a word is none of them.

use std::fmt;

use crate::assess::FindingId;
use crate::assess::domain::DomainFindingId;

/// A finding id from either catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FindingName {
    Host(FindingId),
    Domain(DomainFindingId),
}

impl FindingName {
    /// Every finding id, host catalogue first, each in its catalogue's order.
    pub fn all() -> impl Iterator<Item = FindingName> {
        FindingId::ALL
            .into_iter()
            .map(FindingName::Host)
            .chain(DomainFindingId::ALL.into_iter().map(FindingName::Domain))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FindingName::Host(id) => id.as_str(),
            FindingName::Domain(id) => id.as_str(),
        }
    }

    /// The finding whose id is exactly `word`.
    pub fn parse(word: &str) -> Option<FindingName> {
        FindingName::all().find(|f| f.as_str() == word)
    }

    /// Up to `n` ids nearest to `word` by edit distance, nearest first (ties in catalogue
    /// order); only ids within a third of their length, so a word unlike any id gets none.
    pub fn nearest(word: &str, n: usize) -> Vec<&'static str> {
        let mut scored: Vec<(usize, &'static str)> = FindingName::all()
            .map(|f| (edit_distance(word, f.as_str()), f.as_str()))
            .filter(|(d, id)| *d <= id.len().div_ceil(3))
            .collect();
        scored.sort_by_key(|(d, _)| *d);
        scored.into_iter().take(n).map(|(_, id)| id).collect()
    }
}

impl fmt::Display for FindingName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Levenshtein distance over bytes (ids are ASCII), one row at a time.
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, &ca) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_id_parses_back_and_no_id_is_in_both_catalogues() {
        let mut seen = std::collections::HashSet::new();
        for f in FindingName::all() {
            assert_eq!(FindingName::parse(f.as_str()), Some(f), "{f}");
            assert!(seen.insert(f.as_str()), "{f} is in both catalogues");
        }
        assert_eq!(
            FindingName::parse("blocklisted-policy"),
            Some(FindingName::Host(FindingId::BlocklistedPolicy))
        );
        assert_eq!(
            FindingName::parse("dkim-weak-key"),
            Some(FindingName::Domain(DomainFindingId::DkimWeakKey))
        );
        assert_eq!(FindingName::parse("Blocklisted"), None);
    }

    #[test]
    fn edit_distance_table() {
        let table = [
            ("", "", 0),
            ("abc", "", 3),
            ("", "abc", 3),
            ("kitten", "sitting", 3),
            ("blocklisted", "blocklisted", 0),
            ("blocklist", "blocklisted", 2),
        ];
        for (a, b, want) in table {
            assert_eq!(edit_distance(a, b), want, "{a} {b}");
        }
    }

    #[test]
    fn nearest_ids_for_a_typo() {
        assert_eq!(
            FindingName::nearest("dkim-weak-keys", 3)[0],
            "dkim-weak-key"
        );
        assert_eq!(
            FindingName::nearest("blocklisted-polcy", 3)[0],
            "blocklisted-policy"
        );
        assert_eq!(
            FindingName::nearest("open-rely", 3),
            ["open-relay", "mx-open-relay"]
        );
        assert!(FindingName::nearest("xyzzy", 3).is_empty());
    }
}
