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
//! memcached numbers each line by file descriptor; Torsion by a serial
//! number given when the listener or connection is registered (listeners
//! first, so they come first as in memcached). The connection layer keeps the
//! table up to date; the table is bounded by the connection limit.

use std::collections::BTreeMap;

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

/// One row of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Row {
    addr: String,
    /// The listener a client came through (`None` for a listener).
    listen_addr: Option<String>,
    state: ConnState,
    /// Unix time of the last command (of the registration for a listener).
    last_cmd: u32,
}

/// The table behind `stats conns` (see the module docs).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnTable {
    rows: BTreeMap<u64, Row>,
    next_id: u64,
}

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
    pub fn add_listener(&mut self, addr: String, now: u32) -> u64 {
        self.insert(Row {
            addr,
            listen_addr: None,
            state: ConnState::Listening,
            last_cmd: now,
        })
    }

    /// Adds a client connection from `addr` that came through `listen_addr`;
    /// returns its id.
    pub fn add_client(&mut self, addr: String, listen_addr: String, now: u32) -> u64 {
        self.insert(Row {
            addr,
            listen_addr: Some(listen_addr),
            state: ConnState::Read,
            last_cmd: now,
        })
    }

    /// The listen address of the first listener (what a client of a single
    /// listener came through).
    pub fn first_listener(&self) -> Option<&str> {
        self.rows
            .values()
            .find(|r| r.state == ConnState::Listening)
            .map(|r| r.addr.as_str())
    }

    /// Connection `id` is now in `state`; with `command`, it just received one.
    pub fn update(&mut self, id: u64, state: ConnState, command_at: Option<u32>) {
        if let Some(row) = self.rows.get_mut(&id) {
            row.state = state;
            if let Some(now) = command_at {
                row.last_cmd = now;
            }
        }
    }

    /// Connection `id` is gone.
    pub fn remove(&mut self, id: u64) {
        self.rows.remove(&id);
    }

    /// Emits the table, `now` giving `secs_since_last_cmd`.
    pub fn write(&self, now: u32, sink: &mut dyn StatSink) {
        for (id, row) in &self.rows {
            sink.stat(&format!("{id}:addr"), &row.addr);
            if let Some(listen) = &row.listen_addr {
                sink.stat(&format!("{id}:listen_addr"), listen);
            }
            sink.stat(&format!("{id}:state"), &row.state.name());
            sink.stat(
                &format!("{id}:secs_since_last_cmd"),
                &now.saturating_sub(row.last_cmd),
            );
        }
    }

    fn insert(&mut self, row: Row) -> u64 {
        self.next_id += 1;
        self.rows.insert(self.next_id, row);
        self.next_id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listeners_then_clients_in_memcacheds_words() {
        let mut t = ConnTable::default();
        let l = t.add_listener(address_name(&Address::Unix(Some("/tmp/s".into())), false), 100);
        let c = t.add_client("unix:".into(), t.first_listener().unwrap().to_string(), 100);
        let d = t.add_client("tcp:127.0.0.1:5000".into(), "tcp:127.0.0.1:11211".into(), 101);
        t.update(c, ConnState::NRead, None);
        t.update(d, ConnState::ParseCmd, Some(103));
        let mut out = Vec::new();
        t.write(103, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!(
                "STAT {l}:addr unix:/tmp/s\r\nSTAT {l}:state conn_listening\r\nSTAT {l}:secs_since_last_cmd 3\r\n\
STAT {c}:addr unix:\r\nSTAT {c}:listen_addr unix:/tmp/s\r\nSTAT {c}:state conn_nread\r\nSTAT {c}:secs_since_last_cmd 3\r\n\
STAT {d}:addr tcp:127.0.0.1:5000\r\nSTAT {d}:listen_addr tcp:127.0.0.1:11211\r\nSTAT {d}:state conn_parse_cmd\r\nSTAT {d}:secs_since_last_cmd 0\r\n"
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
}
