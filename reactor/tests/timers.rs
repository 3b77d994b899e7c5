//! Timers through the reactor: call_later, DelayedCall, LoopingCall, with the
//! manual clock and once with the real one.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use torsion::testing::Clock;
use torsion::timer::{CallState, TimerError};
use torsion::{LoopingCall, Reactor};

fn manual() -> (Clock, Reactor) {
    let clock = Clock::new();
    let reactor = Reactor::with_clock(clock.clone()).unwrap();
    (clock, reactor)
}

fn step(clock: &Clock, reactor: &mut Reactor, by: Duration) {
    clock.advance(by);
    reactor.iterate(Some(Duration::ZERO)).unwrap();
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn calls_run_in_deadline_order_and_same_deadline_in_scheduling_order() {
    let (clock, mut reactor) = manual();
    let log: Rc<RefCell<Vec<&str>>> = Default::default();
    for (delay, name) in [
        (30, "c"),
        (10, "a"),
        (20, "b1"),
        (20, "b2"),
        (20, "b3"),
        (5000, "late"),
    ] {
        let log = log.clone();
        reactor.call_later(ms(delay), move |_| log.borrow_mut().push(name));
    }
    step(&clock, &mut reactor, ms(9));
    assert!(log.borrow().is_empty(), "nothing is due before 10 ms");
    // One big jump runs everything due, still in order.
    step(&clock, &mut reactor, ms(100));
    assert_eq!(*log.borrow(), ["a", "b1", "b2", "b3", "c"]);
    step(&clock, &mut reactor, ms(5000));
    assert_eq!(log.borrow().last(), Some(&"late"));
}

#[test]
fn a_call_scheduled_while_timers_run_waits_for_the_next_pass() {
    let (clock, mut reactor) = manual();
    let log: Rc<RefCell<Vec<&str>>> = Default::default();
    let inner = log.clone();
    reactor.call_later(ms(10), move |r| {
        inner.borrow_mut().push("first");
        let inner = inner.clone();
        r.call_later(Duration::ZERO, move |_| inner.borrow_mut().push("second"));
    });
    step(&clock, &mut reactor, ms(10));
    assert_eq!(*log.borrow(), ["first"]);
    reactor.iterate(Some(Duration::ZERO)).unwrap();
    assert_eq!(*log.borrow(), ["first", "second"]);
}

#[test]
fn cancel_reset_and_delay_with_their_errors() {
    let (clock, mut reactor) = manual();
    let fired: Rc<RefCell<Vec<u64>>> = Default::default();
    let record = |tag: u64| {
        let fired = fired.clone();
        move |r: &mut Reactor| {
            fired
                .borrow_mut()
                .push(tag * 1_000_000 + r.now().as_millis() as u64)
        }
    };

    let cancelled = reactor.call_later(ms(100), record(1));
    cancelled.cancel(&mut reactor).unwrap();
    assert_eq!(cancelled.state(), CallState::Cancelled);
    assert_eq!(cancelled.cancel(&mut reactor), Err(TimerError::AlreadyCancelled));
    assert_eq!(
        cancelled.reset(&mut reactor, ms(5)),
        Err(TimerError::AlreadyCancelled)
    );
    assert_eq!(
        cancelled.delay(&mut reactor, ms(5)),
        Err(TimerError::AlreadyCancelled)
    );

    let reset = reactor.call_later(ms(100), record(2));
    step(&clock, &mut reactor, ms(50));
    reset.reset(&mut reactor, ms(100)).unwrap(); // now due at 150
    assert_eq!(reset.time(&reactor), Some(ms(150)));

    let delayed = reactor.call_later(ms(60), record(3)); // due at 110
    delayed.delay(&mut reactor, ms(20)).unwrap(); // due at 130
    assert_eq!(delayed.time(&reactor), Some(ms(130)));

    step(&clock, &mut reactor, ms(79)); // 129
    assert!(fired.borrow().is_empty());
    step(&clock, &mut reactor, ms(1)); // 130
    assert_eq!(*fired.borrow(), [3_000_130]);
    step(&clock, &mut reactor, ms(20)); // 150
    assert_eq!(*fired.borrow(), [3_000_130, 2_000_150]);

    assert!(!reset.active());
    assert_eq!(reset.cancel(&mut reactor), Err(TimerError::AlreadyCalled));
    assert_eq!(reset.reset(&mut reactor, ms(1)), Err(TimerError::AlreadyCalled));
    assert_eq!(delayed.delay(&mut reactor, ms(1)), Err(TimerError::AlreadyCalled));
    assert_eq!(reset.time(&reactor), None);
}

#[test]
fn a_hundred_thousand_timers_across_every_level_fire_once_at_their_tick() {
    let (clock, mut reactor) = manual();
    let fired: Rc<RefCell<Vec<(u64, u64)>>> = Default::default();
    const N: u64 = 100_000;
    let mut deadlines = Vec::new();
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    for i in 0..N {
        // Spread over ~4 days: every level of a 64-slot, 1 ms wheel is used.
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let level = i % 6;
        let delay = 1 + x % 64u64.pow(level as u32 + 1).min(4 * 24 * 3600 * 1000);
        deadlines.push(delay);
        let fired = fired.clone();
        reactor.call_later(ms(delay), move |r| {
            fired.borrow_mut().push((i, r.now().as_millis() as u64))
        });
    }
    assert_eq!(reactor.counters().timers_pending, N);
    // Advance in irregular steps, each timer must fire at the first step
    // that reaches its deadline.
    let mut now = 0u64;
    let mut steps = 0u64;
    while (fired.borrow().len() as u64) < N {
        let by = [1, 7, 63, 64, 65, 4095, 4097, 262_145, 16_777_217][(steps % 9) as usize];
        steps += 1;
        let before = fired.borrow().len();
        step(&clock, &mut reactor, ms(by));
        now += by;
        for &(i, at) in &fired.borrow()[before..] {
            let deadline = deadlines[i as usize];
            assert_eq!(at, now);
            assert!(
                deadline <= now && deadline > now - by,
                "timer {i} due {deadline} fired at {now}"
            );
        }
    }
    let mut ids: Vec<u64> = fired.borrow().iter().map(|(i, _)| *i).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len() as u64, N, "a timer fired twice or never");
    assert_eq!(reactor.counters().timers_pending, 0);
}

#[test]
fn looping_call_skips_missed_ticks_and_can_stop_itself() {
    let (clock, mut reactor) = manual();
    let runs: Rc<RefCell<Vec<u64>>> = Default::default();
    let seen = runs.clone();
    let looping = LoopingCall::new(move |r| seen.borrow_mut().push(r.now().as_millis() as u64));
    looping.start(&mut reactor, ms(100), false);
    step(&clock, &mut reactor, ms(100));
    step(&clock, &mut reactor, ms(100));
    // The loop was blocked for 350 ms: ticks at 300, 400 and 500 are missed
    // and skipped; the next run is at 550's next tick, 600.
    step(&clock, &mut reactor, ms(350));
    assert_eq!(*runs.borrow(), [100, 200, 550]);
    step(&clock, &mut reactor, ms(49));
    assert_eq!(runs.borrow().len(), 3);
    step(&clock, &mut reactor, ms(1));
    assert_eq!(*runs.borrow(), [100, 200, 550, 600]);
    assert_eq!(looping.missed(), 2);

    // A loop that stops itself on its third run.
    let count = Rc::new(RefCell::new(0));
    let c = count.clone();
    let holder: Rc<RefCell<Option<LoopingCall>>> = Default::default();
    let h = holder.clone();
    let selfstop = LoopingCall::new(move |r| {
        *c.borrow_mut() += 1;
        if *c.borrow() == 3 {
            if let Some(lc) = h.borrow().as_ref() {
                lc.stop(r);
            }
        }
    });
    *holder.borrow_mut() = Some(selfstop.clone());
    selfstop.start(&mut reactor, ms(10), true);
    for _ in 0..10 {
        step(&clock, &mut reactor, ms(10));
    }
    assert_eq!(*count.borrow(), 3);
    assert!(!selfstop.running());
    looping.stop(&mut reactor);
}
