//! Deferred: the callback chain, errors, nesting, cancellation, timeouts.

mod util;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use torsion::defer::{
    fail, maybe_deferred, succeed, AlreadyCalled, Cancelled, ChainedToItself, DeferredState, Step, TimedOut,
};
use torsion::testing::Clock;
use torsion::{Deferred, Failure, Reactor};
use util::*;

fn reactor() -> Reactor {
    capture_logs();
    Reactor::new().unwrap()
}

#[derive(Debug)]
struct Boom(&'static str);
impl std::fmt::Display for Boom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "boom: {}", self.0)
    }
}
impl std::error::Error for Boom {}

/// Records what a chain saw.
fn recorder() -> (Rc<RefCell<Vec<String>>>, impl Fn(String) + Clone) {
    let log = Rc::new(RefCell::new(Vec::new()));
    let l = log.clone();
    (log, move |s: String| l.borrow_mut().push(s))
}

#[test]
fn callbacks_run_in_order_each_getting_the_last_result() {
    let mut r = reactor();
    let (log, rec) = recorder();
    let d: Deferred<i32> = Deferred::new();
    let rec2 = rec.clone();
    d.add_callback(&mut r, |_, v| Ok(v + 1))
        .add_callback(&mut r, move |_, v| {
            rec2(format!("second {v}"));
            Ok(v * 10)
        })
        .add_callback(&mut r, move |_, v| {
            rec(format!("third {v}"));
            Ok(v)
        });
    assert!(log.borrow().is_empty(), "nothing runs before the Deferred fires");
    d.callback(&mut r, 1).unwrap();
    assert_eq!(*log.borrow(), ["second 2", "third 20"]);
    assert_eq!(d.state(), DeferredState::Succeeded);
}

#[test]
fn firing_twice_is_an_error_not_a_panic() {
    let mut r = reactor();
    let d: Deferred<i32> = Deferred::new();
    assert_eq!(d.callback(&mut r, 1), Ok(()));
    assert_eq!(d.callback(&mut r, 2), Err(AlreadyCalled));
    assert_eq!(d.errback(&mut r, Boom("late")), Err(AlreadyCalled));
}

#[test]
fn a_failing_callback_switches_to_errbacks_and_a_recovering_errback_switches_back() {
    let mut r = reactor();
    let (log, rec) = recorder();
    let d: Deferred<i32> = Deferred::new();
    let (r1, r2, r3) = (rec.clone(), rec.clone(), rec.clone());
    d.add_callback(&mut r, |_, _| Err(Failure::new(Boom("in callback"))))
        .add_callback(&mut r, move |_, v| {
            r1(format!("skipped {v}"));
            Ok(v)
        })
        .add_errback(&mut r, move |_, f| {
            r2(format!("errback saw {f}"));
            Ok(-1)
        })
        .add_callback(&mut r, move |_, v| {
            r3(format!("back on track with {v}"));
            Ok(v)
        });
    d.callback(&mut r, 5).unwrap();
    assert_eq!(
        *log.borrow(),
        ["errback saw boom: in callback", "back on track with -1"]
    );
}

#[test]
fn question_mark_in_a_callback_fails_the_chain_with_the_typed_error() {
    let mut r = reactor();
    let seen = Rc::new(Cell::new(false));
    let s = seen.clone();
    let d = succeed("x12".to_string());
    d.add_callback(&mut r, |_, s| Ok(s.parse::<i32>().map(|_| s)?))
        .add_errback(&mut r, move |_, f| {
            s.set(f.downcast_ref::<std::num::ParseIntError>().is_some());
            Ok(String::new())
        });
    assert!(seen.get());
}

#[test]
fn a_callback_added_after_firing_runs_at_once() {
    let mut r = reactor();
    let d = succeed(3);
    let got = Rc::new(Cell::new(0));
    let g = got.clone();
    d.add_callback(&mut r, move |_, v| {
        g.set(v);
        Ok(v)
    });
    assert_eq!(got.get(), 3);
}

#[test]
fn a_callback_returning_a_deferred_pauses_the_chain_until_it_fires() {
    let mut r = reactor();
    let (log, rec) = recorder();
    let inner: Deferred<String> = Deferred::new();
    let outer: Deferred<String> = Deferred::new();
    let i = inner.clone();
    let rec2 = rec.clone();
    outer
        .add_callback(&mut r, move |_, url| {
            rec2(format!("got_protocol {url}"));
            Step::Wait(i)
        })
        .add_callback(&mut r, move |_, value| {
            rec(format!("got_value {value}"));
            Ok(value)
        });
    outer.callback(&mut r, "key".into()).unwrap();
    assert_eq!(*log.borrow(), ["got_protocol key"]);
    assert_eq!(outer.state(), DeferredState::Waiting);
    inner.callback(&mut r, "VALUE".into()).unwrap();
    assert_eq!(*log.borrow(), ["got_protocol key", "got_value VALUE"]);
    assert_eq!(inner.state(), DeferredState::HandedOn);
}

#[test]
fn a_callback_returning_its_own_deferred_fails_instead_of_hanging() {
    let mut r = reactor();
    let d: Deferred<i32> = Deferred::new();
    let me = d.clone();
    let saw = Rc::new(Cell::new(false));
    let s = saw.clone();
    d.add_callback(&mut r, move |_, _| me)
        .add_errback(&mut r, move |_, f| {
            s.set(f.is::<ChainedToItself>());
            Ok(0)
        });
    d.callback(&mut r, 1).unwrap();
    assert!(saw.get());
}

#[test]
fn a_hundred_thousand_chained_callbacks_run_without_recursion() {
    let mut r = reactor();
    let d: Deferred<u64> = Deferred::new();
    for _ in 0..100_000 {
        d.add_callback(&mut r, |_, v| Ok(v + 1));
    }
    // And as many type-changing steps, each a new Deferred.
    let mut last = d.then(&mut r, |_, v| Ok(v));
    for _ in 0..100_000 {
        last = last.then(&mut r, |_, v: u64| Ok(v + 1));
    }
    let got = Rc::new(Cell::new(0));
    let g = got.clone();
    last.add_callback(&mut r, move |_, v| {
        g.set(v);
        Ok(v)
    });
    d.callback(&mut r, 0).unwrap();
    assert_eq!(got.get(), 200_000);
}

#[test]
fn a_hundred_thousand_nested_deferreds_run_without_recursion() {
    const N: usize = 100_000;
    let mut r = reactor();
    let ds: Vec<Deferred<u64>> = (0..=N).map(|_| Deferred::new()).collect();
    // Each one's callback returns the next: d0 waits on d1, which waits on d2...
    for i in 0..N {
        let next = ds[i + 1].clone();
        ds[i].add_callback(&mut r, move |_, _| next);
    }
    let got = Rc::new(Cell::new(0));
    let g = got.clone();
    ds[0].add_callback(&mut r, move |_, v| {
        g.set(v);
        Ok(v)
    });
    for d in &ds[..N] {
        d.callback(&mut r, 0).unwrap();
    }
    assert_eq!(ds[0].state(), DeferredState::Waiting);
    ds[N].callback(&mut r, 42).unwrap();
    assert_eq!(got.get(), 42);

    // And nested the other way: each callback returns an already-fired
    // Deferred whose own callback returns another one.
    let mut d = succeed(0u64);
    for _ in 0..N {
        let inner = d;
        d = succeed(0u64);
        d.add_callback(&mut r, move |_, _| inner);
    }
    let got = Rc::new(Cell::new(1));
    let g = got.clone();
    d.add_callback(&mut r, move |_, v| {
        g.set(v);
        Ok(v)
    });
    assert_eq!(got.get(), 0);
}

#[test]
fn an_unhandled_failure_is_logged_when_the_chain_ends_not_at_drop() {
    let mut r = reactor();
    let d: Deferred<i32> = Deferred::new();
    d.add_callback(&mut r, |_, v| Ok(v));
    d.errback(&mut r, Boom("nobody-handles-me-7731")).unwrap();
    let lines = logged(log::Level::Error, "nobody-handles-me-7731");
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("Unhandled error"));
    assert!(
        lines[0].contains("tests/deferred.rs"),
        "names the origin: {}",
        lines[0]
    );
    // The Deferred is still alive: it was reported at chain end.
    assert_eq!(d.state(), DeferredState::Failed);
    drop(d);
    assert_eq!(
        logged(log::Level::Error, "nobody-handles-me-7731").len(),
        1,
        "not again at drop"
    );
}

#[test]
fn a_handled_or_marked_failure_is_not_logged() {
    let mut r = reactor();
    let d: Deferred<i32> = fail(Boom("handled-5521"));
    d.add_errback(&mut r, |_, _| Ok(0));
    let marked: Deferred<i32> = Deferred::new();
    marked.mark_handled();
    marked.errback(&mut r, Boom("marked-5521")).unwrap();
    drop(marked);
    assert!(logged(log::Level::Error, "5521").is_empty());
}

#[test]
fn a_failed_deferred_dropped_without_a_chain_is_logged_at_drop() {
    let _r = reactor();
    let d: Deferred<i32> = fail(Boom("dropped-9090"));
    assert!(logged(log::Level::Error, "dropped-9090").is_empty());
    drop(d);
    assert_eq!(logged(log::Level::Error, "dropped-9090").len(), 1);
}

#[test]
fn the_log_line_shows_the_cause_chain() {
    let mut r = reactor();
    #[derive(Debug)]
    struct Wrapper(Boom);
    impl std::fmt::Display for Wrapper {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("fetching failed")
        }
    }
    impl std::error::Error for Wrapper {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }
    let d: Deferred<()> = Deferred::new();
    d.add_callback(&mut r, |_, ()| Ok(()));
    d.errback(&mut r, Wrapper(Boom("cause-4242"))).unwrap();
    let lines = logged(log::Level::Error, "cause-4242");
    assert!(
        lines[0].contains("fetching failed: boom: cause-4242"),
        "{lines:?}"
    );
}

#[test]
fn cancel_runs_the_canceller_and_fails_with_cancelled() {
    let mut r = reactor();
    let ran = Rc::new(Cell::new(false));
    let flag = ran.clone();
    let d: Deferred<i32> = Deferred::with_canceller(move |_, _| flag.set(true));
    let saw = Rc::new(Cell::new(false));
    let s = saw.clone();
    d.add_errback(&mut r, move |_, f| {
        s.set(f.is::<Cancelled>());
        Ok(0)
    });
    d.cancel(&mut r);
    assert!(ran.get() && saw.get());
    // The source's late result is ignored once, not an error...
    assert_eq!(d.callback(&mut r, 1), Ok(()));
    // ...but a second one is.
    assert_eq!(d.callback(&mut r, 2), Err(AlreadyCalled));
}

#[test]
fn a_canceller_may_fire_the_deferred_itself() {
    let mut r = reactor();
    let d: Deferred<i32> = Deferred::with_canceller(|r, d| {
        let _ = d.callback(r, 99);
    });
    d.cancel(&mut r);
    let got = Rc::new(Cell::new(0));
    let g = got.clone();
    d.add_callback(&mut r, move |_, v| {
        g.set(v);
        Ok(v)
    });
    assert_eq!(got.get(), 99);
}

#[test]
fn cancelling_a_deferred_waiting_on_another_cancels_that_one() {
    let mut r = reactor();
    let inner_cancelled = Rc::new(Cell::new(false));
    let flag = inner_cancelled.clone();
    let inner: Deferred<i32> = Deferred::with_canceller(move |_, _| flag.set(true));
    let outer = succeed(1);
    let i = inner.clone();
    outer.add_callback(&mut r, move |_, _| i);
    assert_eq!(outer.state(), DeferredState::Waiting);
    let saw = Rc::new(Cell::new(false));
    let s = saw.clone();
    outer.add_errback(&mut r, move |_, f| {
        s.set(f.is_cancelled());
        Ok(0)
    });
    outer.cancel(&mut r);
    assert!(inner_cancelled.get(), "the inner Deferred's canceller ran");
    assert!(saw.get(), "the outer chain went on with the cancellation");
}

#[test]
fn cancelling_a_then_child_cancels_its_parent() {
    let mut r = reactor();
    let parent_cancelled = Rc::new(Cell::new(false));
    let flag = parent_cancelled.clone();
    let parent: Deferred<i32> = Deferred::with_canceller(move |_, _| flag.set(true));
    let child = parent.then(&mut r, |_, v| Ok(v.to_string()));
    child.add_errback(&mut r, |_, _| Ok(String::new()));
    child.cancel(&mut r);
    assert!(parent_cancelled.get());
    assert_eq!(child.state(), DeferredState::Succeeded);
}

#[test]
fn add_timeout_fails_with_a_timeout_error_on_the_manual_clock() {
    capture_logs();
    let clock = Clock::new();
    let mut r = Reactor::with_clock(clock.clone()).unwrap();
    let cancelled = Rc::new(Cell::new(false));
    let flag = cancelled.clone();
    let d: Deferred<i32> = Deferred::with_canceller(move |_, _| flag.set(true));
    let outcome = Rc::new(RefCell::new(None));
    let o = outcome.clone();
    d.add_timeout(&mut r, Duration::from_secs(30))
        .add_both(&mut r, move |_, res| {
            *o.borrow_mut() = Some(res.as_ref().err().map(|f| f.downcast_ref::<TimedOut>().copied()));
            Ok(0)
        });
    clock.advance(Duration::from_secs(29));
    r.iterate(Some(Duration::ZERO)).unwrap();
    assert!(outcome.borrow().is_none());
    clock.advance(Duration::from_secs(1));
    r.iterate(Some(Duration::ZERO)).unwrap();
    assert!(cancelled.get());
    assert_eq!(
        *outcome.borrow(),
        Some(Some(Some(TimedOut {
            after: Duration::from_secs(30)
        })))
    );
}

#[test]
fn firing_in_time_cancels_the_timeout() {
    capture_logs();
    let clock = Clock::new();
    let mut r = Reactor::with_clock(clock.clone()).unwrap();
    let d: Deferred<i32> = Deferred::new();
    d.add_timeout(&mut r, Duration::from_secs(5));
    assert_eq!(r.counters().timers_pending, 1);
    d.callback(&mut r, 1).unwrap();
    assert_eq!(r.counters().timers_pending, 0);
    clock.advance(Duration::from_secs(10));
    r.iterate(Some(Duration::ZERO)).unwrap();
    assert_eq!(d.state(), DeferredState::Succeeded);
}

#[test]
fn pause_holds_the_chain_until_unpaused() {
    let mut r = reactor();
    let count = Rc::new(Cell::new(0));
    let c = count.clone();
    let d = succeed(1);
    d.pause();
    d.add_callback(&mut r, move |_, v| {
        c.set(c.get() + 1);
        Ok(v)
    });
    assert_eq!(count.get(), 0);
    d.pause();
    d.unpause(&mut r);
    assert_eq!(count.get(), 0, "pauses nest");
    d.unpause(&mut r);
    assert_eq!(count.get(), 1);
}

#[test]
fn maybe_deferred_wraps_values_failures_and_deferreds() {
    let mut r = reactor();
    let a: Deferred<i32> = maybe_deferred(&mut r, |_| Ok(1));
    let b: Deferred<i32> = maybe_deferred(&mut r, |_| Err(Failure::msg("no")));
    let pending: Deferred<i32> = Deferred::new();
    let p = pending.clone();
    let c: Deferred<i32> = maybe_deferred(&mut r, move |_| p);
    assert_eq!(a.state(), DeferredState::Succeeded);
    assert_eq!(b.state(), DeferredState::Failed);
    b.mark_handled();
    assert!(c.same_as(&pending));
}

#[test]
fn callbacks_can_use_the_reactor() {
    capture_logs();
    let clock = Clock::new();
    let mut r = Reactor::with_clock(clock.clone()).unwrap();
    let fired = Rc::new(Cell::new(false));
    let f = fired.clone();
    succeed(()).add_callback(&mut r, move |r, ()| {
        r.call_later(Duration::from_secs(1), move |_| f.set(true));
        Ok(())
    });
    clock.advance(Duration::from_secs(1));
    r.iterate(Some(Duration::ZERO)).unwrap();
    assert!(fired.get());
}

#[test]
fn a_slow_callback_is_reported_with_where_it_was_added() {
    let mut r = reactor();
    r.set_slow_callback_threshold(Duration::from_millis(20));
    let d: Deferred<()> = Deferred::new();
    let line = line!() + 1;
    d.add_callback(&mut r, |_, ()| {
        std::thread::sleep(Duration::from_millis(30));
        Ok(())
    });
    d.callback(&mut r, ()).unwrap();
    let needle = format!("Deferred callback added at reactor/tests/deferred.rs:{line}");
    assert_eq!(
        logged(log::Level::Warn, &needle).len(),
        1,
        "{:?}",
        logged(log::Level::Warn, "slow")
    );
    assert_eq!(r.counters().slow_callbacks, 1);
}

#[test]
fn callbacks_added_after_the_result_was_handed_on_never_run_and_say_so() {
    let mut r = reactor();
    let d = succeed(1);
    let _child = d.then(&mut r, |_, v| Ok(v + 1));
    let ran = Rc::new(Cell::new(false));
    let f = ran.clone();
    d.add_callback(&mut r, move |_, v| {
        f.set(true);
        Ok(v)
    });
    assert!(!ran.get());
    assert!(!logged(log::Level::Error, "will never run").is_empty());
}

#[test]
fn a_failure_before_any_callback_is_attached_waits_for_the_chain() {
    let mut r = reactor();
    // gather_results over an already-failed Deferred fails while it is being
    // built, before the caller could add an errback: that is not unhandled.
    let d = torsion::defer::gather_results(&mut r, [succeed(1), fail(Boom("early-6161"))]);
    d.add_errback(&mut r, |_, f| {
        assert!(f.find::<Boom>().is_some());
        Ok(vec![])
    });
    drop(d);
    assert!(logged(log::Level::Error, "early-6161").is_empty());
}

#[test]
fn a_timeout_alone_does_not_make_a_failure_unhandled() {
    let mut r = reactor();
    // A Deferred with only a timeout attached fails, and is awaited after:
    // the owner handles the failure, so nothing is logged as unhandled.
    let d: Deferred<i32> = Deferred::new();
    d.add_timeout(&mut r, std::time::Duration::from_secs(60));
    d.errback(&mut r, Boom("awaited-later-4242")).unwrap();
    let result = r.run_until_complete(d).unwrap();
    assert!(result.is_err());
    assert!(logged(log::Level::Error, "awaited-later-4242").is_empty());
}
