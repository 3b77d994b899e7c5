//! Stores N items into a memcached server, pipelined.
//!
//! ```text
//! mc-fill --addr 127.0.0.1:PORT [--items 1000000] [--value 100] [--batch 512]
//! ```
//!
//! Keys are `key:%08d` (12 bytes), values `value` bytes of `x`, flags 0, no
//! expiry. Sends `batch` `set` commands per write, then reads the `batch`
//! `STORED` replies; any other reply is an error. Prints
//! `stored N in S seconds`.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Instant;

use torsion_bench::Args;

const STORED: &[u8] = b"STORED\r\n";

fn main() -> io::Result<()> {
    let args = Args::parse("mc-fill --addr ADDR [--items N] [--value BYTES] [--batch N]");
    let addr = args.addr("addr");
    let items: usize = args.get("items", 1_000_000);
    let value: usize = args.get("value", 100);
    let batch: usize = args.get("batch", 512).max(1);

    let mut conn = TcpStream::connect(addr)?;
    conn.set_nodelay(true)?;
    let data = vec![b'x'; value];
    let mut out = Vec::with_capacity(batch * (value + 40));
    let mut replies = vec![0u8; batch * STORED.len()];
    let started = Instant::now();
    let mut next = 0;
    while next < items {
        let n = batch.min(items - next);
        out.clear();
        for i in next..next + n {
            write!(out, "set key:{i:08} 0 0 {value}\r\n")?;
            out.extend_from_slice(&data);
            out.extend_from_slice(b"\r\n");
        }
        conn.write_all(&out)?;
        let want = &mut replies[..n * STORED.len()];
        conn.read_exact(want)?;
        if want.chunks(STORED.len()).any(|r| r != STORED) {
            let text = String::from_utf8_lossy(want);
            return Err(io::Error::other(format!("unexpected reply: {text:.80}")));
        }
        next += n;
    }
    println!("stored {items} in {:.2} seconds", started.elapsed().as_secs_f64());
    Ok(())
}
