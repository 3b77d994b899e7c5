//! DeferredList options, gather_results, race; awaiting Deferreds on the
//! local executor, and waking it from another thread.

mod util;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use torsion::defer::{
    gather_results, race, sleep, succeed, DeferredList, FailureGroup, FirstError, ListResult,
};
use torsion::testing::Clock;
use torsion::{defer_to_thread, Deferred, Failure, Reactor};
use util::*;

fn take<T: 'static>(r: &mut Reactor, d: Deferred<T>) -> Rc<RefCell<Option<Result<T, Failure>>>> {
    let slot = Rc::new(RefCell::new(None));
    let out = slot.clone();
    d.then_both(r, move |_, res| {
        *out.borrow_mut() = Some(res);
        Ok(())
    })
    .mark_handled();
    slot
}

#[test]
fn a_list_fires_when_all_have_fired_in_the_order_given() {
    capture_logs();
    let mut r = Reactor::new().unwrap();
    let ds: Vec<Deferred<u32>> = (0..3).map(|_| Deferred::new()).collect();
    let list = DeferredList::new(ds.clone()).consume_errors(true).start(&mut r);
    let got = take(&mut r, list);
    ds[2].callback(&mut r, 2).unwrap();
    ds[0].errback(&mut r, Failure::msg("zero-3131")).unwrap();
    assert!(got.borrow().is_none());
    ds[1].callback(&mut r, 1).unwrap();
    let Some(Ok(ListResult::All(results))) = got.borrow_mut().take() else {
        panic!()
    };
    assert!(results[0].is_err());
    assert_eq!(results[1].as_ref().ok(), Some(&1));
    assert_eq!(results[2].as_ref().ok(), Some(&2));
    assert!(logged(log::Level::Error, "zero-3131").is_empty(), "consumed");
}

#[test]
fn without_consume_errors_a_member_failure_is_still_reported() {
    capture_logs();
    let mut r = Reactor::new().unwrap();
    let d: Deferred<u32> = Deferred::new();
    let list = DeferredList::new([d.clone()]).start(&mut r);
    let got = take(&mut r, list);
    d.errback(&mut r, Failure::msg("unconsumed-8282")).unwrap();
    assert!(got.borrow().is_some());
    assert_eq!(logged(log::Level::Error, "unconsumed-8282").len(), 1);
}

#[test]
fn fire_on_one_callback_and_fire_on_one_errback() {
    let mut r = Reactor::new().unwrap();
    let ds: Vec<Deferred<u32>> = (0..3).map(|_| Deferred::new()).collect();
    let first = DeferredList::new(ds.clone())
        .fire_on_one_callback(true)
        .start(&mut r);
    let got = take(&mut r, first);
    ds[1].callback(&mut r, 10).unwrap();
    assert!(matches!(
        got.borrow_mut().take(),
        Some(Ok(ListResult::First { index: 1, value: 10 }))
    ));

    let ds: Vec<Deferred<u32>> = (0..3).map(|_| Deferred::new()).collect();
    let first_err = DeferredList::new(ds.clone())
        .fire_on_one_errback(true)
        .consume_errors(true)
        .start(&mut r);
    let got = take(&mut r, first_err);
    ds[0].callback(&mut r, 1).unwrap();
    ds[2].errback(&mut r, Failure::msg("two")).unwrap();
    let failure = got.borrow_mut().take().unwrap().unwrap_err();
    let first = failure.downcast_ref::<FirstError>().unwrap();
    assert_eq!((first.index, first.failure.to_string()), (2, "two".to_string()));
}

#[test]
fn cancelling_a_list_cancels_its_members() {
    let mut r = Reactor::new().unwrap();
    let ds: Vec<Deferred<u32>> = (0..2).map(|_| Deferred::new()).collect();
    let list = DeferredList::new(ds.clone()).start(&mut r);
    list.mark_handled();
    list.cancel(&mut r);
    assert!(ds.iter().all(|d| d.called()));
}

#[test]
fn gather_and_race() {
    let mut r = Reactor::new().unwrap();
    let x = gather_results(&mut r, [succeed(1), succeed(2), succeed(3)]);
    let got = take(&mut r, x);
    assert_eq!(got.borrow_mut().take().unwrap().unwrap(), vec![1, 2, 3]);

    let (a, b): (Deferred<u32>, Deferred<u32>) = (Deferred::new(), Deferred::new());
    let x = race(&mut r, [a.clone(), b.clone()]);
    let winner = take(&mut r, x);
    a.callback(&mut r, 7).unwrap();
    assert_eq!(winner.borrow_mut().take().unwrap().unwrap(), (0, 7));
    assert!(b.called(), "the loser was cancelled");

    let (a, b): (Deferred<u32>, Deferred<u32>) = (Deferred::new(), Deferred::new());
    let x = race(&mut r, [a.clone(), b.clone()]);
    let none = take(&mut r, x);
    a.errback(&mut r, Failure::msg("a")).unwrap();
    b.errback(&mut r, Failure::msg("b")).unwrap();
    let failure = none.borrow_mut().take().unwrap().unwrap_err();
    assert_eq!(failure.downcast_ref::<FailureGroup>().unwrap().failures.len(), 2);
}

#[test]
fn async_code_awaits_deferreds_and_reaches_the_reactor_through_a_local_handle() {
    let clock = Clock::new();
    let mut r = Reactor::with_clock(clock.clone()).unwrap();
    let h = r.local_handle();
    let trace = Rc::new(RefCell::new(Vec::new()));
    let t = trace.clone();
    let task = r.spawn_local(async move {
        t.borrow_mut().push("start");
        h.sleep(Duration::from_secs(5)).await.unwrap();
        t.borrow_mut().push("slept");
        let n: u32 = h.call(|r| Ok(r.now().as_secs() as u32)).await.unwrap();
        n
    });
    let result = take(&mut r, task);
    r.iterate(Some(Duration::ZERO)).unwrap();
    r.iterate(Some(Duration::ZERO)).unwrap();
    assert_eq!(*trace.borrow(), ["start"]);
    clock.advance(Duration::from_secs(5));
    for _ in 0..3 {
        r.iterate(Some(Duration::ZERO)).unwrap();
    }
    assert_eq!(*trace.borrow(), ["start", "slept"]);
    assert_eq!(result.borrow_mut().take().unwrap().unwrap(), 5);
}

#[test]
fn cancelling_a_task_drops_its_future() {
    let mut r = Reactor::new().unwrap();
    struct Flag(Rc<Cell<bool>>);
    impl Drop for Flag {
        fn drop(&mut self) {
            self.0.set(true);
        }
    }
    let dropped = Rc::new(Cell::new(false));
    let flag = Flag(dropped.clone());
    let never: Deferred<()> = Deferred::new();
    let task = r.spawn_local(async move {
        let _flag = flag;
        let _ = never.await;
    });
    r.iterate(Some(Duration::ZERO)).unwrap();
    assert!(!dropped.get());
    task.mark_handled();
    task.cancel(&mut r);
    assert!(dropped.get());
}

#[test]
fn a_result_from_another_thread_wakes_the_loop() {
    let mut r = Reactor::new().unwrap();
    let d = defer_to_thread(&mut r, || {
        std::thread::sleep(Duration::from_millis(20));
        6 * 7
    });
    // run_until_complete blocks in poll with no timeout: only the pool's
    // wakeup through the mio Waker can bring the answer.
    let answer = r.run_until_complete(async move { d.await.unwrap() }).unwrap();
    assert_eq!(answer, 42);
}

#[test]
fn run_until_complete_with_a_timer_and_callbacks_mixed() {
    let mut r = Reactor::new().unwrap();
    let d = sleep(&mut r, Duration::from_millis(10));
    let seen = Rc::new(Cell::new(false));
    let s = seen.clone();
    d.add_callback(&mut r, move |_, ()| {
        s.set(true);
        Ok(())
    });
    r.run_until_complete(d).unwrap().unwrap();
    assert!(seen.get(), "callbacks run before the await takes the result");
}
