//! `stats conns`: the listeners and client connections, one block of lines
//! each, as memcached prints them.
//!
//! ```text
//! STAT <id>:addr tcp:127.0.0.1:11211          a listener
//! STAT <id>:state conn_listening
//! STAT <id>:secs_since_last_cmd <n>
//! STAT <id>:addr tcp:127.0.0.1:50122          a client
//! STAT <id>:listen_addr tcp:127.0.0.1:11211
//! STAT <id>:state conn_parse_cmd
//! STAT <id>:secs_since_last_cmd <n>
//! END
//! ```
//!
//! memcached numbers each line by file descriptor, and reuses a number once
//! its descriptor is closed; Torsion numbers it by its slot in the table
//! (plus one), reused the same way. Listeners are registered first, so they
//! come first, as in memcached. The connection layer keeps the table up to
//! date; the table is bounded by the connection limit.
//!
//! # Cost
//!
//! Every open connection holds a row, so a row is kept small
//! ([`ROW_BYTES`]): a client's address is kept as its IPv4 address and port
//! (any other address is boxed) and formatted only when `stats conns`
//! asks; its `listen_addr` is not stored at all (a client came through the
//! first listener, as in the rest of the server). Insert, update and remove
//! are O(1): the rows are a slab, indexed by id.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};

use slab::Slab;
use torsion::Address;

use super::exec::StatSink;

/// What a connection is doing, with memcached's state names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnState {
    /// A listening socket.
    Listening,
    /// Waiting for (reading) the next request.
    Read,
    /// Executing a request (the connection asking for `stats conns`).
    ParseCmd,
    /// Waiting for the rest of a value.
    NRead,
    /// Discarding a refused value.
    Swallow,
}

impl ConnState {
    /// memcached's name for the state.
    pub fn name(self) -> &'static str {
        match self {
            ConnState::Listening => "conn_listening",
            ConnState::Read => "conn_read",
            ConnState::ParseCmd => "conn_parse_cmd",
            ConnState::NRead => "conn_nread",
            ConnState::Swallow => "conn_swallow",
        }
    }
}

/// A row's address, kept unformatted until `stats conns` prints it, in 16
/// bytes: an IPv4 peer inline, anything else (rarer) boxed.
#[derive(Debug, Clone, PartialEq, Eq)]
enum RowAddr {
    /// A TCP client over IPv4: `tcp:IP:PORT`.
    V4([u8; 4], u16),
    /// Any other TCP client: `tcp:[IP]:PORT`.
    Tcp(Box<SocketAddr>),
    /// An unnamed Unix client: `unix:`.
    UnixUnnamed,
    /// The test transport: `memory`.
    Memory,
    /// No address: `unknown`.
    Unknown,
    /// Spelled out once: a listener, a named Unix client. (A thin box: a
    /// `String` or `Box<str>` here would make every row 8 bytes larger.)
    #[allow(clippy::box_collection)]
    Named(Box<String>),
}

impl RowAddr {
    fn of_peer(addr: Option<&Address>) -> Self {
        match addr {
            Some(Address::Tcp(SocketAddr::V4(a))) => RowAddr::V4(a.ip().octets(), a.port()),
            Some(Address::Tcp(a)) => RowAddr::Tcp(Box::new(*a)),
            Some(Address::Unix(None)) => RowAddr::UnixUnnamed,
            Some(Address::Memory) => RowAddr::Memory,
            Some(named @ Address::Unix(Some(_))) => RowAddr::Named(Box::new(address_name(named, false))),
            None => RowAddr::Unknown,
        }
    }
}

impl fmt::Display for RowAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RowAddr::V4(ip, port) => write!(f, "tcp:{}:{port}", Ipv4Addr::from(*ip)),
            RowAddr::Tcp(a) => write!(f, "tcp:{a}"),
            RowAddr::UnixUnnamed => f.write_str("unix:"),
            RowAddr::Memory => f.write_str("memory"),
            RowAddr::Unknown => f.write_str("unknown"),
            RowAddr::Named(name) => f.write_str(name),
        }
    }
}

/// One row of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Row {
    addr: RowAddr,
    /// Unix time of the last command (of the registration for a listener).
    last_cmd: u32,
    state: ConnState,
}

/// Bytes of one row, and of its slot in the slab (whose tag fits in the
/// state's spare values): what every open connection costs the table. The
/// address is 16 bytes; the time and the state fill the next word.
pub const ROW_BYTES: usize = 24;

const _: () = assert!(std::mem::size_of::<Row>() <= ROW_BYTES);

/// The table behind `stats conns` (see the module docs).
#[derive(Debug, Clone, Default)]
pub struct ConnTable {
    rows: Slab<Row>,
    /// The row of the first listener: every client's `listen_addr`.
    first_listener: Option<usize>,
}

impl PartialEq for ConnTable {
    fn eq(&self, other: &Self) -> bool {
        self.first_listener == other.first_listener && self.rows.iter().eq(other.rows.iter())
    }
}

impl Eq for ConnTable {}

/// memcached's spelling of an address: `tcp:IP:PORT`, `udp:IP:PORT`, `unix:PATH`.
pub fn address_name(addr: &Address, udp: bool) -> String {
    match addr {
        Address::Tcp(a) if udp => format!("udp:{a}"),
        Address::Tcp(a) => format!("tcp:{a}"),
        Address::Unix(Some(path)) => format!("unix:{}", path.display()),
        Address::Unix(None) => "unix:".to_string(),
        Address::Memory => "memory".to_string(),
    }
}

impl ConnTable {
    /// Adds a listening socket at `addr` (as [`address_name`] spells it);
    /// returns its id.
    pub fn add_listener(&mut self, addr: String, now: u32) -> u32 {
        let key = self.rows.insert(Row {
            addr: RowAddr::Named(Box::new(addr)),
            last_cmd: now,
            state: ConnState::Listening,
        });
        self.first_listener.get_or_insert(key);
        id_of(key)
    }

    /// Adds a client connection from `peer` (`None`: unknown); returns its
    /// id, never 0. Its `listen_addr` is the first listener's (`unknown`
    /// without one).
    pub fn add_client(&mut self, peer: Option<&Address>, now: u32) -> u32 {
        id_of(self.rows.insert(Row {
            addr: RowAddr::of_peer(peer),
            last_cmd: now,
            state: ConnState::Read,
        }))
    }

    /// Connection `id` is now in `state`; with `command`, it just received one.
    pub fn update(&mut self, id: u32, state: ConnState, command_at: Option<u32>) {
        if let Some(row) = self.rows.get_mut(key_of(id)) {
            row.state = state;
            if let Some(now) = command_at {
                row.last_cmd = now;
            }
        }
    }

    /// Connection `id` is gone (its id may be given again).
    pub fn remove(&mut self, id: u32) {
        let key = key_of(id);
        if self.rows.contains(key) {
            self.rows.remove(key);
        }
    }

    /// Rows in the table.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the table has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Emits the table, `now` giving `secs_since_last_cmd`.
    pub fn write(&self, now: u32, sink: &mut dyn StatSink) {
        let listen = self
            .first_listener
            .and_then(|key| self.rows.get(key))
            .map(|row| &row.addr);
        for (key, row) in &self.rows {
            let id = id_of(key);
            sink.stat(&format!("{id}:addr"), &row.addr);
            if row.state != ConnState::Listening {
                match listen {
                    Some(listen) => sink.stat(&format!("{id}:listen_addr"), listen),
                    None => sink.stat(&format!("{id}:listen_addr"), &"unknown"),
                }
            }
            sink.stat(&format!("{id}:state"), &row.state.name());
            sink.stat(
                &format!("{id}:secs_since_last_cmd"),
                &now.saturating_sub(row.last_cmd),
            );
        }
    }
}

/// The id printed for the row in slot `key` (ids start at 1).
fn id_of(key: usize) -> u32 {
    u32::try_from(key).map_or(u32::MAX, |k| k.saturating_add(1))
}

/// The slot of the row with id `id`.
fn key_of(id: u32) -> usize {
    (id as usize).wrapping_sub(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listeners_then_clients_in_memcacheds_words() {
        let mut t = ConnTable::default();
        let l = t.add_listener(address_name(&Address::Unix(Some("/tmp/s".into())), false), 100);
        let c = t.add_client(Some(&Address::Unix(None)), 100);
        let d = t.add_client(Some(&Address::Tcp("127.0.0.1:5000".parse().unwrap())), 101);
        t.update(c, ConnState::NRead, None);
        t.update(d, ConnState::ParseCmd, Some(103));
        let mut out = Vec::new();
        t.write(103, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!(
                "STAT {l}:addr unix:/tmp/s\r\nSTAT {l}:state conn_listening\r\nSTAT {l}:secs_since_last_cmd 3\r\n\
STAT {c}:addr unix:\r\nSTAT {c}:listen_addr unix:/tmp/s\r\nSTAT {c}:state conn_nread\r\nSTAT {c}:secs_since_last_cmd 3\r\n\
STAT {d}:addr tcp:127.0.0.1:5000\r\nSTAT {d}:listen_addr unix:/tmp/s\r\nSTAT {d}:state conn_parse_cmd\r\nSTAT {d}:secs_since_last_cmd 0\r\n"
            )
        );
        t.remove(c);
        let mut out = Vec::new();
        t.write(103, &mut out);
        assert!(!String::from_utf8(out).unwrap().contains("conn_nread"));
        assert_eq!(
            address_name(&Address::Tcp("0.0.0.0:11211".parse().unwrap()), true),
            "udp:0.0.0.0:11211"
        );
    }

    #[test]
    fn ids_are_reused_like_descriptors_and_stale_ones_change_nothing() {
        let mut t = ConnTable::default();
        let l = t.add_listener("tcp:127.0.0.1:11211".into(), 0);
        let peer = Address::Tcp("127.0.0.1:5000".parse().unwrap());
        let a = t.add_client(Some(&peer), 0);
        let b = t.add_client(Some(&peer), 0);
        t.remove(a);
        assert_eq!(
            t.add_client(Some(&peer), 0),
            a,
            "a freed id is given again, as a descriptor"
        );
        // Ids out of range (0, or past the table) are ignored.
        t.update(0, ConnState::NRead, None);
        t.update(u32::MAX, ConnState::NRead, None);
        t.remove(0);
        t.remove(u32::MAX);
        assert_eq!((t.len(), l < a && a < b), (3, true));
    }

    #[test]
    fn every_kind_of_peer_is_spelled_as_memcached_does() {
        let mut t = ConnTable::default();
        let v6 = t.add_client(Some(&Address::Tcp("[::1]:6000".parse().unwrap())), 0);
        let named = t.add_client(Some(&Address::Unix(Some("/tmp/c".into()))), 0);
        let none = t.add_client(None, 0);
        let mut out = Vec::new();
        t.write(0, &mut out);
        let text = String::from_utf8(out).unwrap();
        for line in [
            format!("STAT {v6}:addr tcp:[::1]:6000\r\n"),
            format!("STAT {named}:addr unix:/tmp/c\r\n"),
            format!("STAT {none}:addr unknown\r\n"),
        ] {
            assert!(text.contains(&line), "{line:?} in {text:?}");
        }
    }

    #[test]
    fn without_a_listener_a_client_says_unknown() {
        let mut t = ConnTable::default();
        let c = t.add_client(Some(&Address::Memory), 7);
        let mut out = Vec::new();
        t.write(7, &mut out);
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains(&format!(
            "STAT {c}:addr memory\r\nSTAT {c}:listen_addr unknown\r\n"
        )));
    }
}
