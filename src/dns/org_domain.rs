//! The organisational domain of a DNS name (RFC 7489 §3.2), by the Public Suffix List.
//!
//! The list comes from the `psl` crate, which compiles the whole list (its ICANN and its
//! private section) into code, so no file is read at run time and the list moves with the
//! crate's version (see Cargo.toml).
//!
//! Private entries (`github.io`, `blogspot.com`) count as public suffixes: RFC 7489 §3.2
//! names the list without excluding its private section, and two sites under
//! `github.io` belong to two different owners, so a report destination on one for the
//! other must be authorised. Counting them as one organisation would skip that check.

/// The organisational domain of `name`: the public suffix plus one label, in the name's
/// own (lower-case, ASCII) form. A name that is itself a public suffix (`co.uk`), a single
/// label (`localhost`) or empty has none and stands for itself. A name under a top-level
/// label the list does not know (`lab.test`) takes that label as its suffix (the list's
/// default rule `*`). IDNs in A-label form (`xn--...`) are matched through their Unicode
/// form, in which the list writes them.
pub fn organizational_domain(name: &str) -> String {
    let ascii = super::normalize_name(name);
    let unicode = if ascii.contains("xn--") {
        let (text, result) = idna::domain_to_unicode(&ascii);
        // An invalid A-label is matched as written (its suffix is then the default rule).
        if result.is_ok() { text } else { ascii.clone() }
    } else {
        ascii.clone()
    };
    let Some(domain) = psl::domain(unicode.as_bytes()) else {
        return ascii;
    };
    // The Unicode and ASCII forms have the same labels, so count them to cut the ASCII name.
    let keep = domain.as_bytes().split(|b| *b == b'.').count();
    let labels: Vec<&str> = ascii.split('.').collect();
    labels[labels.len().saturating_sub(keep)..].join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn organisational_domains_by_the_public_suffix_list() {
        // (name, its organisational domain)
        let table = [
            // ICANN suffixes of two labels.
            ("example.co.uk", "example.co.uk"),
            ("reports.example.co.uk", "example.co.uk"),
            ("a.b.example.com.au", "example.com.au"),
            ("mail.example.com", "example.com"),
            // A private entry is a suffix too: two owners under github.io.
            ("alice.github.io", "alice.github.io"),
            ("www.alice.github.io", "alice.github.io"),
            // A bare suffix and a single label stand for themselves.
            ("co.uk", "co.uk"),
            ("github.io", "github.io"),
            ("com", "com"),
            ("localhost", "localhost"),
            ("", ""),
            // Case and a trailing root dot are not part of the name.
            ("A.b.Example.COM.", "example.com"),
            ("Example.Co.UK.", "example.co.uk"),
            // A top-level label the list does not know: the default rule `*`.
            ("customer-open.lab.test", "lab.test"),
            // IDNs: the list writes them in Unicode, DNS answers in A-labels.
            ("mail.xn--e1afmkfd.xn--p1ai", "xn--e1afmkfd.xn--p1ai"),
            ("почта.пример.рф", "пример.рф"),
            ("xn--p1ai", "xn--p1ai"),
        ];
        for (name, want) in table {
            assert_eq!(organizational_domain(name), want, "{name:?}");
        }
    }
}
