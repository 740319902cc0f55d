//! The authorised scope (`--scope CIDR|FILE`) and the blocks no scan should touch unless
//! named explicitly (multicast, reserved, "this network"), both as range sets.

use std::net::IpAddr;
use std::path::Path;

use super::ranges::RangeSet;
use super::source::read_file;
use super::spec::{Target, TargetSpec};

/// Blocks that are never an SMTP server: subtracted from every wider target, kept only
/// when a target lies entirely inside one (the user named it explicitly).
pub const SPECIAL_BLOCKS: &[(&str, &str)] = &[
    (
        "0.0.0.0/8",
        "\"this network\" (RFC 1122), not a destination",
    ),
    ("224.0.0.0/4", "IPv4 multicast"),
    (
        "240.0.0.0/4",
        "reserved for future use, with the broadcast address 255.255.255.255",
    ),
    ("::/128", "the unspecified address"),
    ("ff00::/8", "IPv6 multicast"),
];

/// The special blocks as one set.
pub fn special_blocks() -> RangeSet {
    let mut set = RangeSet::new();
    for (net, _) in SPECIAL_BLOCKS {
        // The table above is constant and parses; a typo would show in the tests below.
        if let Ok(net) = net.parse() {
            set.insert_net(net);
        }
    }
    set
}

/// The special block holding every address of `spec`, if one does: such a target
/// names the block explicitly and is scanned.
pub fn inside_one_special_block(spec: &TargetSpec) -> bool {
    let Some(own) = address_set(spec) else {
        return false;
    };
    SPECIAL_BLOCKS.iter().any(|(net, _)| {
        let mut block = RangeSet::new();
        if let Ok(net) = net.parse() {
            block.insert_net(net);
        }
        let mut rest = own.clone();
        rest.subtract(&block);
        rest.is_empty()
    })
}

/// The addresses of an address spec; `None` for a host name.
pub fn address_set(spec: &TargetSpec) -> Option<RangeSet> {
    let mut set = RangeSet::new();
    match spec {
        TargetSpec::Addr(ip) => set.insert_addr(*ip),
        TargetSpec::Net(net) => set.insert_net(*net),
        TargetSpec::Range { start, end } => set.insert_range(*start, *end),
        TargetSpec::Host(_) | TargetSpec::Domain(_) => return None,
    }
    Some(set)
}

/// Whether a run may send anything to `ip` beside its probes (the MTA-STS policy
/// fetch): the same rules as the plan's, inside `--scope` when one is given and never
/// into a special block.
pub fn may_contact(scope: Option<&RangeSet>, ip: IpAddr) -> bool {
    scope.is_none_or(|s| s.contains(ip)) && !special_blocks().contains(ip)
}

/// The first address of `set` outside `scope`, if any.
pub fn first_outside(set: &RangeSet, scope: &RangeSet) -> Option<IpAddr> {
    let mut rest = set.clone();
    rest.subtract(scope);
    rest.nth(0)
}

/// Adds one scope entry: an address spec without a port. `what` names it in errors.
fn add_entry(scope: &mut RangeSet, what: &str, target: &Target) -> Result<(), String> {
    if target.port.is_some() {
        return Err(format!(
            "{what}: \"{target}\": a scope is addresses only; drop the port"
        ));
    }
    match address_set(&target.spec) {
        Some(set) => {
            scope.union_with(&set);
            Ok(())
        }
        None => Err(format!(
            "{what}: \"{target}\": a scope is address ranges, not host names (resolve it and write the addresses)"
        )),
    }
}

/// Builds the scope from `--scope` values: each an address, CIDR block or range, or else
/// a file of them (one or more a line, `#` comments). Errors name the value or file:line.
pub fn read_scope(values: &[String]) -> Result<RangeSet, String> {
    let mut scope = RangeSet::new();
    for value in values {
        if let Ok(target) = value.parse::<Target>()
            && !matches!(target.spec, TargetSpec::Host(_) | TargetSpec::Domain(_))
        {
            add_entry(&mut scope, "--scope", &target)?;
            continue;
        }
        let path = Path::new(value);
        if !path.is_file() {
            return Err(format!(
                "--scope {value:?}: neither an address, CIDR block or range, nor a readable file"
            ));
        }
        let entries = read_file(path).map_err(|e| format!("--scope {e}"))?;
        for (origin, target) in &entries {
            add_entry(&mut scope, &origin.to_string(), target)?;
        }
        if entries.is_empty() {
            return Err(format!(
                "--scope {}: the file holds no address; an empty scope would refuse everything",
                path.display()
            ));
        }
    }
    Ok(scope)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(s: &str) -> TargetSpec {
        s.parse::<Target>().unwrap().spec
    }

    #[test]
    fn the_table_parses() {
        for (net, why) in SPECIAL_BLOCKS {
            assert!(net.parse::<ipnetwork::IpNetwork>().is_ok(), "{net} ({why})");
        }
        let set = special_blocks();
        for (addr, special) in [
            ("224.0.0.1", true),
            ("239.255.255.255", true),
            ("240.0.0.1", true),
            ("255.255.255.255", true),
            ("0.0.0.0", true),
            ("0.255.255.255", true),
            ("1.0.0.0", false),
            ("223.255.255.255", false),
            ("127.0.0.1", false),
            ("192.0.2.1", false),
            ("ff02::1", true),
            ("::", true),
            ("::1", false),
            ("2001:db8::1", false),
            // IPv6 spellings of IPv4 addresses are special as their IPv4 forms are.
            ("::ffff:0.0.0.0", true),
            ("::ffff:224.0.0.1", true),
            ("::ffff:255.255.255.255", true),
            ("::0.0.0.5", true),
            ("::ffff:127.0.0.1", false),
            ("::ffff:192.0.2.1", false),
        ] {
            assert_eq!(
                set.contains(addr.parse::<IpAddr>().unwrap()),
                special,
                "{addr}"
            );
        }
    }

    #[test]
    fn named_explicitly_means_wholly_inside_one_block() {
        let cases = [
            ("224.0.0.5", true),
            ("224.0.0.0/24", true),
            ("224.0.0.0/4", true),
            ("255.255.255.255", true),
            ("[ff02::1]:25", true),
            ("::ffff:224.0.0.0/120", true),
            ("[::ffff:224.0.0.5]:25", true),
            ("::ffff:0.0.0.0", true),
            ("::ffff:223.255.255.255-::ffff:224.0.0.1", false),
            // Wider than the block, or straddling two: not named explicitly.
            ("192.0.0.0/2", false),
            ("223.255.255.255-224.0.0.1", false),
            ("0.0.0.0/0", false),
            ("192.0.2.1", false),
            ("mx.example.com", false),
        ];
        for (text, want) in cases {
            assert_eq!(inside_one_special_block(&spec(text)), want, "{text}");
        }
    }

    #[test]
    fn scope_from_values_and_files() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("scope.txt");
        std::fs::write(&file, "# rules of engagement\n192.0.2.0/25\n198.51.100.7\n").unwrap();
        let scope = read_scope(&[
            "203.0.113.0/24".into(),
            file.display().to_string(),
            "2001:db8::/120".into(),
            "::ffff:198.51.100.64/123".into(),
        ])
        .unwrap();
        for (addr, inside) in [
            ("203.0.113.9", true),
            ("192.0.2.127", true),
            ("192.0.2.128", false),
            ("198.51.100.7", true),
            ("198.51.100.8", false),
            ("2001:db8::ff", true),
            ("2001:db8::100", false),
            // A scope entry in either spelling covers the address in both.
            ("::ffff:203.0.113.9", true),
            ("::ffff:192.0.2.128", false),
            ("198.51.100.64", true),
            ("198.51.100.95", true),
            ("198.51.100.96", false),
        ] {
            assert_eq!(
                scope.contains(addr.parse::<IpAddr>().unwrap()),
                inside,
                "{addr}"
            );
        }

        let bad = dir.path().join("bad.txt");
        std::fs::write(&bad, "192.0.2.0/24\nmx.example.com\n").unwrap();
        let empty = dir.path().join("empty.txt");
        std::fs::write(&empty, "# nothing\n").unwrap();
        let cases = [
            (
                "192.0.2.0/24:25".to_string(),
                "--scope: \"192.0.2.0/24:25\": a scope is addresses only; drop the port"
                    .to_string(),
            ),
            (
                bad.display().to_string(),
                format!(
                    "{}:2: \"mx.example.com\": a scope is address ranges, not host names",
                    bad.display()
                ),
            ),
            (
                "no-such-file.txt".to_string(),
                "--scope \"no-such-file.txt\": neither an address".to_string(),
            ),
            (
                empty.display().to_string(),
                format!("--scope {}: the file holds no address", empty.display()),
            ),
        ];
        for (value, want) in cases {
            let err = read_scope(std::slice::from_ref(&value)).unwrap_err();
            assert!(err.starts_with(&want), "{value}: {err}");
        }
    }

    #[test]
    fn first_address_outside() {
        let mut scope = RangeSet::new();
        scope.insert_net("192.0.2.0/25".parse().unwrap());
        let inside = address_set(&spec("192.0.2.0/26")).unwrap();
        assert_eq!(first_outside(&inside, &scope), None);
        let wider = address_set(&spec("192.0.2.0/24")).unwrap();
        assert_eq!(
            first_outside(&wider, &scope),
            Some("192.0.2.128".parse().unwrap())
        );
    }

    #[test]
    fn what_the_policy_fetch_may_contact() {
        let mut scope = RangeSet::new();
        scope.insert_net("127.12.0.0/16".parse().unwrap());
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let table = [
            (Some(&scope), "127.12.3.4", true),
            (Some(&scope), "127.0.0.1", false),
            (None, "192.0.2.1", true),
            (None, "224.0.0.1", false),
            (Some(&scope), "0.0.0.0", false),
        ];
        for (scope, addr, want) in table {
            assert_eq!(may_contact(scope, ip(addr)), want, "{addr}");
        }
    }
}
