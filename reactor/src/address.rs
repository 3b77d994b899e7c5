//! Addresses of the two ends of a connection.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Where one end of a connection is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Address {
    /// A TCP (or UDP) socket address.
    Tcp(SocketAddr),
    /// A Unix domain socket; `None` for an unnamed (unbound) client socket.
    Unix(Option<PathBuf>),
    /// The in-memory transport used by [`crate::testing::StringTransport`].
    Memory,
}

impl Address {
    /// The socket address, if this is a TCP address.
    pub fn as_socket_addr(&self) -> Option<SocketAddr> {
        match self {
            Address::Tcp(addr) => Some(*addr),
            _ => None,
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Tcp(addr) => write!(f, "{addr}"),
            Address::Unix(Some(path)) => write!(f, "unix:{}", path.display()),
            Address::Unix(None) => f.write_str("unix:(unnamed)"),
            Address::Memory => f.write_str("memory"),
        }
    }
}

impl From<SocketAddr> for Address {
    fn from(addr: SocketAddr) -> Self {
        Address::Tcp(addr)
    }
}

pub(crate) fn from_unix(addr: &std::os::unix::net::SocketAddr) -> Address {
    Address::Unix(addr.as_pathname().map(|p| p.to_path_buf()))
}
