//! An echo server on Torsion's reactor: every byte received is written back.
//!
//! `echo-torsion [--port 0]` prints `echo-torsion listening on ADDR` and
//! serves until SIGINT or SIGTERM. The protocol is the whole server: one
//! `ctx.write` per `data_received`, which the reactor flushes with one
//! `writev` when the callback returns.

use torsion::{factory_fn, Ctx, Protocol, Reactor};
use torsion_bench::Args;

/// Writes back whatever it receives.
struct Echo;

impl Protocol for Echo {
    fn data_received(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) {
        ctx.write(data);
    }
}

fn main() -> std::io::Result<()> {
    let args = Args::parse("echo-torsion [--port N]");
    let port: u16 = args.get("port", 0);
    let mut reactor = Reactor::new()?;
    reactor.stop_on_signals()?;
    let listener = reactor.listen_tcp(
        ([127, 0, 0, 1], port).into(),
        factory_fn(|_, _| Some(Box::new(Echo) as Box<dyn Protocol>)),
    )?;
    if let Some(addr) = reactor.local_addr(listener) {
        println!("echo-torsion listening on {addr}");
    }
    reactor.run()
}
