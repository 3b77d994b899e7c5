//! Signals, delivered through the loop (signal-hook-mio): SIGINT and SIGTERM
//! stop it, and a server may react to others (memcached's SIGUSR1).
//!
//! The signal handler only writes to a pipe the loop watches, so the
//! reactor's reaction (logging, stopping, running shutdown triggers, a
//! server's callback) happens on the loop thread like every other event,
//! never inside a handler.

use std::io;

use mio::Interest;
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook_mio::v1_0::Signals;

use crate::id::Key;
use crate::reactor::Reactor;
use crate::source::Source;

/// What a watched signal runs on the loop thread.
type OnSignal = Box<dyn FnMut(&mut Reactor, i32)>;

pub(crate) struct SignalSource {
    signals: Signals,
    /// `None`: stop the loop (SIGINT and SIGTERM).
    react: Option<OnSignal>,
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
        self.watch_signals(&[SIGINT, SIGTERM], None)
    }

    /// Runs `react` on the loop thread, with the signal's number, each time
    /// one of `signals` arrives (e.g. memcached's SIGUSR1, a graceful stop).
    pub fn on_signals(
        &mut self,
        signals: &[i32],
        react: impl FnMut(&mut Reactor, i32) + 'static,
    ) -> io::Result<()> {
        self.watch_signals(signals, Some(Box::new(react)))
    }

    fn watch_signals(&mut self, signals: &[i32], react: Option<OnSignal>) -> io::Result<()> {
        let mut signals = Signals::new(signals)?;
        let key = self.sources.next_key();
        self.poll
            .registry()
            .register(&mut signals, key.token(), Interest::READABLE)?;
        self.sources
            .insert(Source::Signals(Box::new(SignalSource { signals, react })));
        Ok(())
    }

    pub(crate) fn signal_event(&mut self, key: Key) {
        let mut arrived = Vec::new();
        let mut react = None;
        if let Some(Source::Signals(source)) = self.sources.get_mut(key) {
            arrived.extend(source.signals.pending());
            react = source.react.take();
        }
        let Some(mut react) = react else {
            for signal in arrived {
                log::info!("received {}, stopping", name(signal));
                self.stop();
            }
            return;
        };
        for signal in arrived {
            react(self, signal);
        }
        if let Some(Source::Signals(source)) = self.sources.get_mut(key) {
            source.react = Some(react);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use signal_hook::consts::SIGUSR2;
    use std::cell::RefCell;
    use std::rc::Rc;
    use std::time::Duration;

    #[test]
    fn a_watched_signal_runs_its_callback_on_the_loop() {
        let mut reactor = Reactor::new().unwrap();
        let seen = Rc::new(RefCell::new(Vec::new()));
        let log = seen.clone();
        reactor
            .on_signals(&[SIGUSR2], move |r, signal| {
                log.borrow_mut().push(signal);
                r.stop();
            })
            .unwrap();
        // A bound, should the signal never arrive.
        reactor.call_later(Duration::from_secs(30), |r| r.stop());
        signal_hook::low_level::raise(SIGUSR2).unwrap();
        reactor.run().unwrap();
        assert_eq!(*seen.borrow(), [SIGUSR2]);
    }
}
