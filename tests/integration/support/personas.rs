//! The records of one scan of a lab, looked up by the persona on each host.

use std::net::IpAddr;
use std::path::Path;

use relayscan::report::ScanRecord;
use relayscan_lab::Persona;

use super::LabProcess;
use super::nets::Net;

/// Starts a lab of `personas`, in that order from .1, on `net` with `extra` lab flags.
pub fn start_lab(net: Net, dir: &Path, personas: &[Persona], extra: &[&str]) -> LabProcess {
    let mut args: Vec<&str> = personas
        .iter()
        .flat_map(|p| ["--persona", p.name()])
        .collect();
    args.extend(extra);
    LabProcess::start(net.lab_network(), dir, &args)
}

/// A scan's records and the lab's hosts, which hold `personas` in order from .1 (the lab
/// places the personas it is given that way). Holds no process: the lab may be gone.
pub struct PersonaRecords {
    hosts: Vec<(Persona, IpAddr)>,
    pub records: Vec<ScanRecord>,
}

impl PersonaRecords {
    pub fn new(lab: &LabProcess, personas: &[Persona], records: Vec<ScanRecord>) -> Self {
        let hosts = personas
            .iter()
            .enumerate()
            .map(|(n, &p)| (p, lab.addr(n)))
            .collect();
        PersonaRecords { hosts, records }
    }

    /// The address of the host playing `p`.
    pub fn addr(&self, p: Persona) -> IpAddr {
        self.hosts
            .iter()
            .find(|&&(q, _)| q == p)
            .map(|&(_, ip)| ip)
            .unwrap_or_else(|| panic!("{} is not in the lab", p.name()))
    }

    /// Every host's address, in lab order.
    pub fn addrs(&self) -> impl Iterator<Item = IpAddr> + '_ {
        self.hosts.iter().map(|&(_, ip)| ip)
    }

    /// The record of the host playing `p` on `port` (of its only record when `None`).
    pub fn on(&self, p: Persona, port: Option<u16>) -> &ScanRecord {
        let ip = self.addr(p);
        self.records
            .iter()
            .find(|r| r.ip == ip && port.is_none_or(|port| r.port == port))
            .unwrap_or_else(|| panic!("no record for {} ({ip}, port {port:?})", p.name()))
    }

    /// The record of the host playing `p`.
    pub fn of(&self, p: Persona) -> &ScanRecord {
        self.on(p, None)
    }
}
