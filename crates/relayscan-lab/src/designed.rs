//! What a correct scan reports about each lab server, in the scanner's words: the verdicts, statuses and mail routes the lab is designed to produce.
//!
//! The lab cannot name the scanner's types (it must not depend on the scanner, whose
//! binary runs the lab), so these are small mirrors with the scanner's kebab-case names.
//! The scanner maps each variant onto its own type with an exhaustive match and tests
//! that every name here parses as that type, so the two cannot drift apart.

use std::fmt;

/// Writes `as_str` for `Display`, and lists every variant in `ALL`, from one table.
macro_rules! names {
    ($(#[$meta:meta])* $ty:ident { $($(#[$doc:meta])* $variant:ident => $name:literal),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $ty {
            $($(#[$doc])* $variant,)*
        }

        impl $ty {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$ty] = &[$($ty::$variant,)*];

            /// The scanner's name for it, as reports print it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $name,)*
                }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

names! {
    /// The relay verdict a scan must reach (the scanner's `probe::Verdict`).
    DesignedVerdict {
        OpenRelay => "open-relay",
        RelayDenied => "relay-denied",
        AuthRequired => "auth-required",
        Inconclusive => "inconclusive",
        NotSmtp => "not-smtp",
    }
}

names! {
    /// How far a probe must get (the scanner's `probe::Status`): the statuses the lab's
    /// servers are built to cause.
    DesignedStatus {
        Completed => "completed",
        IoTimeout => "io-timeout",
        HostTimeout => "host-timeout",
        Dropped => "dropped",
        ProtocolError => "protocol-error",
    }
}

names! {
    /// How a lab mail domain receives mail (the scanner's `dns::MailRoute`).
    DesignedRoute {
        Mx => "mx",
        ImplicitMx => "implicit-mx",
        NullMx => "null-mx",
        NoMailHosts => "no-mail-hosts",
        Nxdomain => "nxdomain",
        NoRecords => "no-records",
        Servfail => "servfail",
        Timeout => "timeout",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn names_are_unique_kebab_case_and_displayed() {
        let names: Vec<&str> = DesignedVerdict::ALL
            .iter()
            .map(|v| v.as_str())
            .chain(DesignedStatus::ALL.iter().map(|s| s.as_str()))
            .chain(DesignedRoute::ALL.iter().map(|r| r.as_str()))
            .collect();
        for name in &names {
            assert!(
                name.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                "{name}"
            );
        }
        let verdicts: HashSet<_> = DesignedVerdict::ALL.iter().map(|v| v.as_str()).collect();
        assert_eq!(verdicts.len(), DesignedVerdict::ALL.len());
        let statuses: HashSet<_> = DesignedStatus::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(statuses.len(), DesignedStatus::ALL.len());
        let routes: HashSet<_> = DesignedRoute::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(routes.len(), DesignedRoute::ALL.len());
        assert_eq!(DesignedVerdict::NotSmtp.to_string(), "not-smtp");
        assert_eq!(DesignedStatus::HostTimeout.to_string(), "host-timeout");
    }
}
