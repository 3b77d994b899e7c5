//! A boxed protocol as a `Protocol`, so that the generic wrappers can wrap
//! what a factory builds.

use torsion::{CloseReason, Ctx, Protocol};

/// Forwards every event to the boxed protocol.
pub(crate) struct Boxed(pub(crate) Box<dyn Protocol>);

impl Protocol for Boxed {
    fn connection_made(&mut self, ctx: &mut Ctx<'_>) {
        self.0.connection_made(ctx);
    }

    fn data_received(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) {
        self.0.data_received(ctx, data);
    }

    fn read_connection_lost(&mut self, ctx: &mut Ctx<'_>) {
        self.0.read_connection_lost(ctx);
    }

    fn connection_lost(&mut self, ctx: &mut Ctx<'_>, reason: CloseReason) {
        self.0.connection_lost(ctx, reason);
    }

    fn pause_producing(&mut self, ctx: &mut Ctx<'_>) {
        self.0.pause_producing(ctx);
    }

    fn resume_producing(&mut self, ctx: &mut Ctx<'_>) {
        self.0.resume_producing(ctx);
    }

    fn name(&self) -> &'static str {
        self.0.name()
    }
}
