//! A closed-loop load generator for echo servers.
//!
//! ```text
//! echo-load --addr 127.0.0.1:PORT [--connections 32] [--size 1024]
//!           [--seconds 4] [--warmup 1]
//! ```
//!
//! Opens `connections` connections; each sends a `size`-byte message, waits
//! until the whole echo is back, checks it, and sends the next: one request
//! outstanding per connection. After `warmup` seconds, it counts for
//! `seconds` and prints one line:
//!
//! ```text
//! requests=412345 rps=103086 p50_us=290 p90_us=340 p99_us=520 p999_us=900 max_us=2400
//! ```
//!
//! One thread and one mio `Poll`, so it needs a single CPU (pin it with
//! `taskset`). Latency is measured from just before the write of a request to
//! the read that completes its echo, so it includes the generator's own
//! queueing: the same for every server it drives.

use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use torsion_bench::{percentile, Args};

/// One connection's state.
struct Client {
    stream: TcpStream,
    /// Bytes of the current request written so far.
    written: usize,
    /// Bytes of its echo read so far.
    read: usize,
    /// When the current request started.
    started: Instant,
}

fn main() -> io::Result<()> {
    let args =
        Args::parse("echo-load --addr ADDR [--connections N] [--size BYTES] [--seconds S] [--warmup S]");
    let addr = args.addr("addr");
    let connections: usize = args.get("connections", 32);
    let size: usize = args.get("size", 1024);
    let seconds: f64 = args.get("seconds", 4.0);
    let warmup: f64 = args.get("warmup", 1.0);

    let message: Vec<u8> = (0..size).map(|i| b'a' + (i % 26) as u8).collect();
    let mut echo = vec![0u8; size.max(64 * 1024)];
    let mut poll = Poll::new()?;
    let mut clients = Vec::with_capacity(connections);
    for i in 0..connections {
        let std_stream = std::net::TcpStream::connect(addr)?;
        std_stream.set_nodelay(true)?;
        std_stream.set_nonblocking(true)?;
        let mut stream = TcpStream::from_std(std_stream);
        poll.registry()
            .register(&mut stream, Token(i), Interest::READABLE | Interest::WRITABLE)?;
        clients.push(Client {
            stream,
            written: 0,
            read: 0,
            started: Instant::now(),
        });
    }

    let begin = Instant::now();
    let measure_from = begin + Duration::from_secs_f64(warmup);
    let end = measure_from + Duration::from_secs_f64(seconds);
    let mut latencies: Vec<u32> = Vec::with_capacity(1 << 20);
    let mut events = Events::with_capacity(1024);
    for client in &mut clients {
        send(client, &message)?;
    }
    loop {
        let now = Instant::now();
        if now >= end {
            break;
        }
        match poll.poll(&mut events, Some(end - now)) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => other?,
        }
        for event in events.iter() {
            let client = &mut clients[event.token().0];
            if client.written < size {
                send(client, &message)?;
            }
            // Read until the echo is whole or the socket is drained.
            while client.written == size && client.read < size {
                match client.stream.read(&mut echo[..size - client.read]) {
                    Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                    Ok(n) => {
                        if echo[..n] != message[client.read..client.read + n] {
                            return Err(io::Error::other("the echo differs from the request"));
                        }
                        client.read += n;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                }
            }
            if client.read == size {
                let done = Instant::now();
                if done >= measure_from && done < end {
                    let micros = done.duration_since(client.started).as_micros();
                    latencies.push(u32::try_from(micros).unwrap_or(u32::MAX));
                }
                client.written = 0;
                client.read = 0;
                send(client, &message)?;
            }
        }
    }

    latencies.sort_unstable();
    let requests = latencies.len();
    println!(
        "requests={requests} rps={:.0} p50_us={} p90_us={} p99_us={} p999_us={} max_us={}",
        requests as f64 / seconds,
        percentile(&latencies, 50.0),
        percentile(&latencies, 90.0),
        percentile(&latencies, 99.0),
        percentile(&latencies, 99.9),
        latencies.last().copied().unwrap_or(0),
    );
    Ok(())
}

/// Starts (or continues) writing the current request.
fn send(client: &mut Client, message: &[u8]) -> io::Result<()> {
    if client.written == 0 {
        client.started = Instant::now();
    }
    while client.written < message.len() {
        match client.stream.write(&message[client.written..]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => client.written += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
