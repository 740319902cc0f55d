//! One (address, port) to probe: what the plan yields and every probe and record starts from.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use serde::{Deserialize, Serialize};

use super::address::canonical;

/// One (address, port) to probe, with the name it was given by, if any.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Endpoint {
    /// In canonical form (`super::address`) when made by the plan or [`Endpoint::new`].
    pub ip: IpAddr,
    pub port: u16,
    /// The host name the user wrote, when the address came from resolving it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl Endpoint {
    /// The endpoint of `ip` in canonical form (`::ffff:192.0.2.1` is probed as 192.0.2.1).
    pub fn new(ip: IpAddr, port: u16) -> Self {
        Endpoint {
            ip: canonical(ip),
            port,
            name: None,
        }
    }

    pub fn socket_addr(&self) -> SocketAddr {
        SocketAddr::new(self.ip, self.port)
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.socket_addr())
    }
}
