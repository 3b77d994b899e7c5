//! The textbook edge-triggered echo server on plain mio, for comparison with
//! `echo-torsion`.
//!
//! `echo-mio [--port 0]` prints `echo-mio listening on ADDR` and serves until
//! killed. One `Poll`, a `Slab`-free `Vec<Option<Conn>>` of connections, and
//! the rules edge-triggering demands, as mio's own `tcp_server` example
//! follows them: accept until `WouldBlock`; read until `WouldBlock` (no
//! short-read shortcut, which Torsion takes); write back at once, keep what the socket
//! did not take, and register WRITABLE only while bytes are left. While a
//! connection has unsent bytes it is not read (simple backpressure).
//! `TCP_NODELAY` is set, as Torsion and the Twisted script set it.

use std::io::{self, Read, Write};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use torsion_bench::Args;

/// The listener's token; connection `i` is `Token(i)`.
const LISTENER: Token = Token(usize::MAX);

/// One client: its socket and what it has not taken yet.
struct Conn {
    stream: TcpStream,
    /// Bytes read but not yet written back.
    out: Vec<u8>,
}

fn main() -> io::Result<()> {
    let args = Args::parse("echo-mio [--port N]");
    let port: u16 = args.get("port", 0);
    let mut poll = Poll::new()?;
    let mut listener = TcpListener::bind(([127, 0, 0, 1], port).into())?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    println!("echo-mio listening on {}", listener.local_addr()?);

    let mut conns: Vec<Option<Conn>> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    let mut events = Events::with_capacity(1024);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match poll.poll(&mut events, None) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => other?,
        }
        for event in events.iter() {
            if event.token() == LISTENER {
                accept(&poll, &listener, &mut conns, &mut free)?;
                continue;
            }
            let i = event.token().0;
            let Some(conn) = conns.get_mut(i).and_then(Option::as_mut) else {
                continue;
            };
            let alive = if conn.out.is_empty() {
                serve(conn, &mut buf)
            } else {
                flush(conn).and_then(|()| {
                    if conn.out.is_empty() {
                        // Drained: stop asking for WRITABLE, read what waited.
                        poll.registry()
                            .reregister(&mut conn.stream, Token(i), Interest::READABLE)?;
                        serve(conn, &mut buf)
                    } else {
                        Ok(true)
                    }
                })
            };
            match alive {
                Ok(true) => {
                    if !conn.out.is_empty() {
                        poll.registry().reregister(
                            &mut conn.stream,
                            Token(i),
                            Interest::READABLE | Interest::WRITABLE,
                        )?;
                    }
                }
                Ok(false) | Err(_) => {
                    if let Some(mut conn) = conns[i].take() {
                        let _ = poll.registry().deregister(&mut conn.stream);
                    }
                    free.push(i);
                }
            }
        }
    }
}

/// Accepts every pending connection.
fn accept(
    poll: &Poll,
    listener: &TcpListener,
    conns: &mut Vec<Option<Conn>>,
    free: &mut Vec<usize>,
) -> io::Result<()> {
    loop {
        let (mut stream, _) = match listener.accept() {
            Ok(accepted) => accepted,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        stream.set_nodelay(true)?;
        let i = free.pop().unwrap_or_else(|| {
            conns.push(None);
            conns.len() - 1
        });
        poll.registry()
            .register(&mut stream, Token(i), Interest::READABLE)?;
        conns[i] = Some(Conn {
            stream,
            out: Vec::new(),
        });
    }
}

/// Reads until `WouldBlock` and echoes each read at once. `Ok(false)`: the peer
/// closed. Stops reading when the socket does not take a whole echo.
fn serve(conn: &mut Conn, buf: &mut [u8]) -> io::Result<bool> {
    loop {
        let n = match conn.stream.read(buf) {
            Ok(0) => return Ok(false),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(true),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let written = write_some(&mut conn.stream, &buf[..n])?;
        if written < n {
            conn.out.extend_from_slice(&buf[written..n]);
            return Ok(true);
        }
    }
}

/// Writes what the socket takes of `conn.out`.
fn flush(conn: &mut Conn) -> io::Result<()> {
    let written = write_some(&mut conn.stream, &conn.out)?;
    conn.out.drain(..written);
    Ok(())
}

/// Writes as much of `data` as the socket takes now.
fn write_some(stream: &mut TcpStream, data: &[u8]) -> io::Result<usize> {
    let mut done = 0;
    while done < data.len() {
        match stream.write(&data[done..]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}
