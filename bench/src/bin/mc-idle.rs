//! Opens N connections to a memcached server and holds them, idle.
//!
//! ```text
//! mc-idle --addr 127.0.0.1:PORT --count 10000 [--request 0|1]
//! ```
//!
//! Connects `count` times (blocking connects, one after another). With
//! `--request 1`, each connection then sends `version\r\n` and reads the
//! reply, so the server has served one request on every connection.
//! Prints `ready N` once every connection is set up, then holds them until
//! its standard input closes or reaches a line, and exits (closing them all).
//! The caller raises the descriptor limit (`ulimit -n`) first.

use std::io::{self, BufRead, Read, Write};
use std::net::TcpStream;

use torsion_bench::Args;

fn main() -> io::Result<()> {
    let args = Args::parse("mc-idle --addr ADDR --count N [--request 0|1]");
    let addr = args.addr("addr");
    let count: usize = args.get("count", 10_000);
    let request: u8 = args.get("request", 0);

    let mut conns = Vec::with_capacity(count);
    for _ in 0..count {
        conns.push(TcpStream::connect(addr)?);
    }
    if request == 1 {
        for conn in &mut conns {
            conn.write_all(b"version\r\n")?;
        }
        let mut reply = [0u8; 128];
        for conn in &mut conns {
            // `VERSION x.y.z\r\n` arrives in one segment on loopback; read
            // until the line ends to be sure.
            let mut got = Vec::new();
            while !got.ends_with(b"\r\n") {
                let n = conn.read(&mut reply)?;
                if n == 0 {
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
                got.extend_from_slice(&reply[..n]);
            }
        }
    }
    println!("ready {}", conns.len());
    io::stdout().flush()?;
    let mut line = String::new();
    io::stdin().lock().read_line(&mut line)?;
    drop(conns);
    Ok(())
}
