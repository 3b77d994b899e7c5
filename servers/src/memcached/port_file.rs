//! The port file: with the `MEMCACHED_PORT_FILENAME` environment variable
//! set, memcached writes the ports it listens on there, so that a test that
//! asked for ephemeral ports (`-p -1`, `-U -1`) can find them. One line per
//! socket, `TCP INET: <port>` or `UDP INET: <port>` (`INET6` for IPv6).
//!
//! Like memcached, the lines are written to `<file>.lck` and the file is
//! then renamed into place, so a reader never sees half of it; the file is
//! written (empty if need be) only when the server listens on the network,
//! not on a Unix socket.
//!
//! # Examples
//!
//! ```
//! use torsion_servers::memcached::port_file::port_lines;
//!
//! let tcp = ["127.0.0.1:11211".parse().unwrap()];
//! assert_eq!(port_lines(&tcp, &[]), "TCP INET: 11211\n");
//! let udp = ["[::1]:5000".parse().unwrap()];
//! assert_eq!(port_lines(&[], &udp), "UDP INET6: 5000\n");
//! ```

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The environment variable naming the port file.
pub const PORT_FILE_ENV: &str = "MEMCACHED_PORT_FILENAME";

/// The port file's text for these TCP and UDP sockets.
pub fn port_lines(tcp: &[SocketAddr], udp: &[SocketAddr]) -> String {
    let mut text = String::new();
    for (kind, addrs) in [("TCP", tcp), ("UDP", udp)] {
        for addr in addrs {
            let family = if addr.is_ipv4() { "INET" } else { "INET6" };
            // Writing into a String cannot fail.
            let _ = writeln!(text, "{kind} {family}: {}", addr.port());
        }
    }
    text
}

/// Writes the port file at `path` (through `<path>.lck`, renamed into place).
pub fn write_port_file(path: &Path, tcp: &[SocketAddr], udp: &[SocketAddr]) -> std::io::Result<()> {
    let mut lock = PathBuf::from(path.as_os_str().to_owned());
    lock.as_mut_os_string().push(".lck");
    std::fs::write(&lock, port_lines(tcp, udp))?;
    std::fs::rename(&lock, path)
}

/// Writes the port file if [`PORT_FILE_ENV`] names one; the UDP engineer's
/// listener passes its port in `udp`. An error is returned as a message.
pub fn write_from_env(tcp: &[SocketAddr], udp: &[SocketAddr]) -> Result<(), String> {
    match std::env::var_os(PORT_FILE_ENV) {
        Some(path) if !path.is_empty() => {
            let path = PathBuf::from(path);
            write_port_file(&path, tcp, udp)
                .map_err(|e| format!("cannot write the port file {}: {e}", path.display()))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_as_memcached_writes_them() {
        let tcp: Vec<SocketAddr> = vec!["0.0.0.0:11211".parse().unwrap(), "[::]:11211".parse().unwrap()];
        let udp: Vec<SocketAddr> = vec!["127.0.0.1:11222".parse().unwrap()];
        assert_eq!(
            port_lines(&tcp, &udp),
            "TCP INET: 11211\nTCP INET6: 11211\nUDP INET: 11222\n"
        );
        assert_eq!(port_lines(&[], &[]), "");
    }

    #[test]
    fn written_through_a_lock_file() {
        let dir = std::env::temp_dir().join(format!("torsion-portfile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("ports");
        write_port_file(&path, &["127.0.0.1:4000".parse().unwrap()], &[]).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "TCP INET: 4000\n");
        assert!(!dir.join("ports.lck").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
