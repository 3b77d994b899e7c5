//! The thread pool: defer_to_thread, panics, bounds, cancellation, shutdown,
//! and a loop that stays responsive while the pool works.

mod util;

use std::cell::{Cell, RefCell};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use torsion::defer::gather_results;
use torsion::{defer_to_thread, Deferred, Failure, Panicked, Reactor, ThreadPoolConfig, ThreadPoolError};
use util::*;

fn wait<T: 'static>(reactor: &mut Reactor, d: Deferred<T>) -> Result<T, Failure> {
    let slot = Rc::new(RefCell::new(None));
    let out = slot.clone();
    d.then_both(reactor, move |_, result| {
        *out.borrow_mut() = Some(result);
        Ok(())
    })
    .mark_handled();
    run_until(reactor, |_| slot.borrow().is_some());
    let result = slot.borrow_mut().take();
    result.expect("fired")
}

/// Iterates until the pool's workers have taken every queued job.
fn until_picked_up(reactor: &mut Reactor) {
    run_until(reactor, |r| r.thread_pool_stats().queued == 0);
}

#[test]
fn the_result_arrives_on_the_loop_thread() {
    init_logging();
    let mut reactor = Reactor::new().unwrap();
    let loop_thread = std::thread::current().id();
    let d = defer_to_thread(&mut reactor, || {
        std::thread::sleep(Duration::from_millis(5));
        std::thread::current().id()
    });
    let on_loop = Rc::new(Cell::new(false));
    let flag = on_loop.clone();
    d.add_callback(&mut reactor, move |_, worker| {
        flag.set(std::thread::current().id() == loop_thread);
        Ok(worker)
    });
    let worker = wait(&mut reactor, d).unwrap();
    assert_ne!(worker, loop_thread);
    assert!(on_loop.get());
}

#[test]
fn a_panic_is_a_failure_not_a_crash() {
    init_logging();
    let mut reactor = Reactor::new().unwrap();
    let d = defer_to_thread(&mut reactor, || -> u32 { panic!("kaboom 17") });
    let failure = wait(&mut reactor, d).unwrap_err();
    assert_eq!(
        failure.downcast_ref::<Panicked>().map(|p| p.message.as_str()),
        Some("kaboom 17")
    );
    // The pool still works.
    let d = defer_to_thread(&mut reactor, || 5);
    assert_eq!(wait(&mut reactor, d).unwrap(), 5);
}

#[test]
fn threads_and_queue_are_bounded_and_a_full_queue_fails_at_once() {
    init_logging();
    let mut reactor = Reactor::new().unwrap();
    reactor.set_thread_pool(ThreadPoolConfig {
        max_threads: 2,
        max_queue: 3,
    });
    let (release, gate) = mpsc::channel::<()>();
    let gate = Arc::new(std::sync::Mutex::new(gate));
    let mut ds = Vec::new();
    for i in 0..5 {
        let gate = gate.clone();
        ds.push(defer_to_thread(&mut reactor, move || {
            let _ = gate.lock().map(|g| g.recv());
            i
        }));
        if i == 1 {
            until_picked_up(&mut reactor);
        }
    }
    // 2 running (or about to), 3 queued: the sixth has no room.
    let full = defer_to_thread(&mut reactor, || 99);
    let failure = wait(&mut reactor, full).unwrap_err();
    assert_eq!(
        failure.downcast_ref::<ThreadPoolError>(),
        Some(&ThreadPoolError::QueueFull { limit: 3 })
    );
    assert!(reactor.thread_pool_stats().threads <= 2);
    for _ in 0..5 {
        release.send(()).unwrap();
    }
    let all = gather_results(&mut reactor, ds);
    assert_eq!(wait(&mut reactor, all).unwrap(), vec![0, 1, 2, 3, 4]);
    assert_eq!(reactor.thread_pool_stats().threads, 2);
}

#[test]
fn a_job_cancelled_before_it_started_never_runs() {
    init_logging();
    let mut reactor = Reactor::new().unwrap();
    reactor.set_thread_pool(ThreadPoolConfig {
        max_threads: 1,
        max_queue: 10,
    });
    let (release, gate) = mpsc::channel::<()>();
    let blocker = defer_to_thread(&mut reactor, move || {
        let _ = gate.recv();
    });
    until_picked_up(&mut reactor);
    let ran = Arc::new(AtomicBool::new(false));
    let flag = ran.clone();
    let victim = defer_to_thread(&mut reactor, move || flag.store(true, Ordering::SeqCst));
    assert_eq!(reactor.thread_pool_stats().queued, 1);
    victim.cancel(&mut reactor);
    assert_eq!(
        reactor.thread_pool_stats().queued,
        0,
        "its place in the queue is free"
    );
    let failure = wait(&mut reactor, victim).unwrap_err();
    assert!(failure.is_cancelled());
    release.send(()).unwrap();
    wait(&mut reactor, blocker).unwrap();
    // Give a (wrongly) surviving job every chance to run.
    let after = defer_to_thread(&mut reactor, || ());
    wait(&mut reactor, after).unwrap();
    assert!(!ran.load(Ordering::SeqCst));
}

#[test]
fn the_pool_stops_and_joins_at_shutdown() {
    init_logging();
    let mut reactor = Reactor::new().unwrap();
    reactor.set_thread_pool(ThreadPoolConfig {
        max_threads: 1,
        max_queue: 10,
    });
    let finished = Arc::new(AtomicUsize::new(0));
    let f = finished.clone();
    let running = defer_to_thread(&mut reactor, move || {
        std::thread::sleep(Duration::from_millis(100));
        f.fetch_add(1, Ordering::SeqCst);
        "done"
    });
    let queued = defer_to_thread(&mut reactor, || "never");
    let outcomes = Rc::new(RefCell::new(Vec::new()));
    for d in [running, queued] {
        let o = outcomes.clone();
        d.add_both(&mut reactor, move |_, result| {
            o.borrow_mut()
                .push(result.as_ref().map(|s| s.to_string()).map_err(|f| f.to_string()));
            result
        })
        .mark_handled();
    }
    reactor.call_later(Duration::from_millis(20), |r| r.stop());
    reactor.run().unwrap();
    // The running job finished and was delivered; the queued one failed.
    assert_eq!(finished.load(Ordering::SeqCst), 1);
    let outcomes = outcomes.borrow();
    assert_eq!(outcomes[0], Ok("done".to_string()));
    assert!(outcomes[1].as_ref().unwrap_err().contains("stopped"));
    assert_eq!(reactor.thread_pool_stats().threads, 0);
}

#[test]
fn dropping_the_reactor_joins_the_workers() {
    init_logging();
    let finished = Arc::new(AtomicBool::new(false));
    let started = Arc::new(AtomicBool::new(false));
    {
        let mut reactor = Reactor::new().unwrap();
        let (f, s) = (finished.clone(), started.clone());
        defer_to_thread(&mut reactor, move || {
            s.store(true, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(50));
            f.store(true, Ordering::SeqCst);
        })
        .mark_handled();
        // Wait until a worker has picked it up (a job not started yet is
        // dropped, not waited for).
        let deadline = Instant::now() + TEST_TIMEOUT;
        while !started.load(Ordering::SeqCst) {
            assert!(Instant::now() < deadline, "no worker started the job");
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    assert!(finished.load(Ordering::SeqCst), "drop waited for the running job");
}

/// The seeds' point: blocking work on threads leaves the loop free. A
/// thousand jobs are queued and every worker is blocked in one of them;
/// while they are, a client's pings are answered. Only the client opens
/// the gate the jobs wait at, after its pings came back: a loop that waited
/// for the pool would never answer them (the client's read times out), on
/// a quiet machine or a loaded one alike.
#[test]
fn a_thousand_blocked_jobs_while_the_loop_answers_pings() {
    init_logging();
    let mut reactor = Reactor::new().unwrap();
    let addr = listen_echo(&mut reactor);
    let gate = Arc::new((Mutex::new(false), Condvar::new()));
    let timed_out = Arc::new(AtomicBool::new(false));
    let done = Rc::new(Cell::new(0usize));
    let mut ds = Vec::new();
    for i in 0..1000 {
        let (gate, timed_out) = (gate.clone(), timed_out.clone());
        ds.push(defer_to_thread(&mut reactor, move || {
            let (open, changed) = &*gate;
            let guard = open.lock().unwrap();
            let (guard, wait) = changed
                .wait_timeout_while(guard, TEST_TIMEOUT, |open| !*open)
                .unwrap();
            if wait.timed_out() {
                timed_out.store(true, Ordering::SeqCst);
            }
            drop(guard);
            i
        }));
    }
    let all = gather_results(&mut reactor, ds);
    let d = done.clone();
    all.add_callback(&mut reactor, move |_, values| {
        // Each job's own result, in the order they were queued.
        let in_order = values.iter().enumerate().all(|(i, v)| *v == i);
        d.set(if in_order { values.len() } else { usize::MAX });
        Ok(values)
    });
    // A client on another thread pings the echo server while every worker
    // is blocked, then opens the gate.
    const PINGS: usize = 20;
    let client_gate = gate.clone();
    let client = std::thread::spawn(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_nodelay(true).unwrap();
        s.set_read_timeout(Some(TEST_TIMEOUT)).unwrap();
        let mut worst = Duration::ZERO;
        for _ in 0..PINGS {
            let started = Instant::now();
            s.write_all(b"p").unwrap();
            let mut b = [0u8; 1];
            s.read_exact(&mut b)
                .expect("the loop answers while the pool is blocked");
            worst = worst.max(started.elapsed());
        }
        let (open, changed) = &*client_gate;
        *open.lock().unwrap() = true;
        changed.notify_all();
        worst
    });
    run_until(&mut reactor, |_| client.is_finished());
    let worst = client.join().expect("every ping answered");
    run_until(&mut reactor, |_| done.get() != 0);
    assert_eq!(done.get(), 1000, "every job's result, in order");
    assert!(
        !timed_out.load(Ordering::SeqCst),
        "a job waited for the gate in vain"
    );
    eprintln!("{PINGS} pings answered while the pool was blocked, the slowest in {worst:?}");
}
