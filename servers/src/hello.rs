//! torsion-hello: the seeds' first server. It prints every byte any client
//! sends to its standard output, and serves many clients at once.

use std::io::Write;

use torsion::{factory_fn, Ctx, Protocol};

/// The seeds' port.
pub const DEFAULT_PORT: u16 = 8000;

/// Copies what a client sends to standard output.
pub struct Hello;

impl Protocol for Hello {
    fn connection_made(&mut self, ctx: &mut Ctx<'_>) {
        log::info!(
            "{}: connected from {}",
            ctx.id(),
            ctx.peer().map_or("?".into(), |p| p.to_string())
        );
    }

    fn data_received(&mut self, _ctx: &mut Ctx<'_>, data: &[u8]) {
        let mut out = std::io::stdout().lock();
        if let Err(e) = out.write_all(data).and_then(|_| out.flush()) {
            log::warn!("cannot write to stdout: {e}");
        }
    }

    fn connection_lost(&mut self, ctx: &mut Ctx<'_>, reason: torsion::CloseReason) {
        log::info!("{}: {reason}", ctx.id());
    }
}

/// The factory: one [`Hello`] per connection.
pub fn factory() -> impl torsion::Factory {
    factory_fn(|_, _| Some(Box::new(Hello) as Box<dyn Protocol>))
}
