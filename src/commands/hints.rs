//! Hints after a scan, for the mistakes the results point at: mail domains scanned on the
//! default port 25 where nothing answered (a lab or a test server listens elsewhere).

use crate::config::ScanSettings;
use crate::target::TargetSpec;

/// The hint for mail domains probed on port 25 alone, without a port of their own, when
/// not one endpoint answered; the first such domain names the example.
pub fn unanswered_domains(
    ports: &[u16],
    first_domain_without_port: Option<&str>,
    probed: u64,
    answered: u64,
) -> Option<String> {
    let domain = first_domain_without_port?;
    (ports == [25] && probed > 0 && answered == 0).then(|| {
        format!(
            "relayscan: hint: no mail host of the domains answered on port 25; if they listen \
             elsewhere, give the port: -d {domain}:PORT (or @{domain}:PORT, or -p PORT)"
        )
    })
}

/// [`unanswered_domains`] for a finished scan.
pub fn after_scan(settings: &ScanSettings, probed: u64, answered: u64) -> Option<String> {
    let domain = settings
        .plan
        .input
        .targets
        .iter()
        .find_map(|(_, t)| match (&t.spec, t.port) {
            (TargetSpec::Domain(name), None) => Some(name.as_str()),
            _ => None,
        });
    unanswered_domains(&settings.plan.ports, domain, probed, answered)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unanswered_domains_table() {
        let d = Some("customer.lab.test");
        // (ports, first domain without a port, probed, answered, hint wanted)
        type Case<'a> = (&'a [u16], Option<&'a str>, u64, u64, bool);
        let table: [Case; 6] = [
            (&[25], d, 1, 0, true),
            (&[25], d, 3, 1, false),
            (&[25], None, 1, 0, false),
            (&[2525], d, 1, 0, false),
            (&[25, 587], d, 2, 0, false),
            (&[25], d, 0, 0, false),
        ];
        for (ports, domain, probed, answered, want) in table {
            let got = unanswered_domains(ports, domain, probed, answered);
            assert_eq!(
                got.is_some(),
                want,
                "{ports:?} {domain:?} {probed} {answered}"
            );
            if let Some(text) = got {
                assert!(text.contains("-d customer.lab.test:PORT"), "{text}");
                assert!(text.contains("@customer.lab.test:PORT") && text.contains("-p PORT"));
            }
        }
    }
}
