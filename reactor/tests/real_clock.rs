//! Timers against the real monotonic clock. In a test binary of its own so
//! no other test of this crate competes for the CPU while it measures.

mod util;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use torsion::Reactor;
use util::*;

#[test]
fn a_50_ms_timer_fires_within_a_few_ms() {
    init_logging();
    let delay = Duration::from_millis(50);
    let mut lateness = Vec::new();
    // The best of ten: scheduler noise on a busy machine delays some runs,
    // a missed or rounded-up wakeup would delay all of them.
    for _ in 0..10 {
        let mut reactor = Reactor::new().unwrap();
        let fired: Rc<RefCell<Option<Instant>>> = Default::default();
        let slot = fired.clone();
        let start = Instant::now();
        reactor.call_later(delay, move |r| {
            *slot.borrow_mut() = Some(Instant::now());
            r.stop();
        });
        // No I/O at all: only the poll timeout can wake the loop.
        reactor.run().unwrap();
        let elapsed = fired.borrow().expect("the timer fired") - start;
        assert!(elapsed >= delay, "fired early, after {elapsed:?}");
        lateness.push(elapsed - delay);
    }
    let best = lateness.iter().min().unwrap();
    assert!(
        *best < Duration::from_millis(5),
        "lateness of ten runs: {lateness:?}"
    );
}
