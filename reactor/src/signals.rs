//! SIGINT and SIGTERM, delivered through the loop (signal-hook-mio).
//!
//! The signal handler only writes to a pipe the loop watches, so the
//! reactor's reaction (logging, stopping, running shutdown triggers) happens
//! on the loop thread like every other event, never inside a handler.

use std::io;

use mio::Interest;
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook_mio::v1_0::Signals;

use crate::id::Key;
use crate::reactor::Reactor;
use crate::source::Source;

pub(crate) struct SignalSource {
    signals: Signals,
}

fn name(signal: i32) -> &'static str {
    match signal {
        SIGINT => "SIGINT",
        SIGTERM => "SIGTERM",
        _ => "a signal",
    }
}

impl Reactor {
    /// Makes SIGINT and SIGTERM stop the loop gracefully: the shutdown
    /// triggers run and every connection is closed cleanly (see
    /// [`Reactor::run`]). Servers call this once before `run`.
    pub fn stop_on_signals(&mut self) -> io::Result<()> {
        let mut signals = Signals::new([SIGINT, SIGTERM])?;
        let key = self.sources.next_key();
        self.poll
            .registry()
            .register(&mut signals, key.token(), Interest::READABLE)?;
        self.sources
            .insert(Source::Signals(Box::new(SignalSource { signals })));
        Ok(())
    }

    pub(crate) fn signal_event(&mut self, key: Key) {
        let mut arrived = Vec::new();
        if let Some(Source::Signals(source)) = self.sources.get_mut(key) {
            arrived.extend(source.signals.pending());
        }
        for signal in arrived {
            log::info!("received {}, stopping", name(signal));
            self.stop();
        }
    }
}
