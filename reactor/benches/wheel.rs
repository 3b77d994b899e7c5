//! The timing wheel against `std::collections::BinaryHeap`, per operation,
//! with 10,000, 100,000 and 1,000,000 timers pending.
//!
//! Run with `cargo bench -p torsion --bench wheel` (add `-- --quick` for a
//! short run). Deadlines are random, spread over one minute (1 tick = 1 ms).
//! The payload is a `u64`, which makes a wheel entry the same 40 bytes as a
//! boxed callback.
//!
//! - `schedule_cancel/{wheel,heap}/N`: the clock stands still with N timers
//!   pending. One iteration schedules a timer at a random deadline, then
//!   cancels it.
//!   - The wheel's cancel is `remove`, O(1).
//!   - The heap's cancel is the usual lazy deletion: mark the timer
//!     cancelled, and skip it when it is popped. To keep the heap bounded
//!     while nothing is popped, the heap is rebuilt without its cancelled
//!     entries when more than half of it is cancelled. That is Twisted's own
//!     rule in `ReactorBase`. The rebuild is timed, so the heap's figure is
//!     its amortized cost.
//! - `schedule_fire/{wheel,heap}/N`: a steady state with N timers pending.
//!   One iteration schedules a timer up to a minute ahead, then moves the
//!   clock on just far enough that one timer fires on average, and pops
//!   whatever is due. That is `advance` + `pop_ready` for the wheel, and
//!   `pop` while the top is due for the heap.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use torsion::timer::Wheel;

/// Deadlines are spread over this many ticks (one minute).
const WINDOW: u64 = 60_000;

/// How many timers are pending while each operation is measured.
const SIZES: [usize; 3] = [10_000, 100_000, 1_000_000];

/// A small deterministic generator (xorshift64*), the same for both sides.
struct Rng(u64);

impl Rng {
    fn new() -> Rng {
        Rng(0x9E37_79B9_7F4A_7C15)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A delay for a newly scheduled timer: uniform in `1..=WINDOW`.
    fn fresh_delay(&mut self) -> u64 {
        1 + self.next() % WINDOW
    }

    /// The time left on a timer found pending in the steady state. Fresh
    /// delays are uniform, so the time left has density proportional to
    /// `WINDOW - r`.
    fn pending_delay(&mut self) -> u64 {
        let unit = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        1 + ((WINDOW - 1) as f64 * (1.0 - unit.sqrt())) as u64
    }
}

/// A clock that moves a fraction of a tick per iteration.
struct Clock {
    /// Thousandths of a tick.
    milli: u64,
    /// Thousandths of a tick per step.
    step: u64,
}

impl Clock {
    /// A clock whose steps fire one timer per step, on average, when `n` are
    /// pending. A fresh timer lives `WINDOW / 2` ticks on average, so one
    /// arrival per step keeps `n` pending if a step is `WINDOW / 2 / n` ticks.
    fn for_pending(n: usize) -> Clock {
        Clock {
            milli: 0,
            step: WINDOW / 2 * 1000 / n as u64,
        }
    }

    fn now(&self) -> u64 {
        self.milli / 1000
    }

    fn tick(&mut self) -> u64 {
        self.milli += self.step;
        self.now()
    }
}

/// A binary heap of timers with lazy cancellation, as Twisted's reactor keeps them.
struct LazyHeap {
    /// `(deadline, insertion sequence, id)`, earliest first; the sequence
    /// gives same-deadline FIFO order, as the wheel does.
    heap: BinaryHeap<Reverse<(u64, u64, u32)>>,
    /// Per id: cancelled but still in the heap.
    cancelled: Vec<bool>,
    /// Ids whose entries have left the heap.
    free_ids: Vec<u32>,
    /// Cancelled entries still in the heap.
    cancellations: usize,
    seq: u64,
}

impl LazyHeap {
    fn with_capacity(n: usize) -> LazyHeap {
        LazyHeap {
            heap: BinaryHeap::with_capacity(n),
            cancelled: Vec::with_capacity(n),
            free_ids: Vec::new(),
            cancellations: 0,
            seq: 0,
        }
    }

    fn schedule(&mut self, deadline: u64) -> u32 {
        let id = self.free_ids.pop().unwrap_or_else(|| {
            self.cancelled.push(false);
            (self.cancelled.len() - 1) as u32
        });
        self.seq += 1;
        self.heap.push(Reverse((deadline, self.seq, id)));
        id
    }

    /// Marks `id` cancelled. Like Twisted, rebuilds the heap once more than
    /// half of it (and more than 50 entries) is cancelled.
    fn cancel(&mut self, id: u32) {
        self.cancelled[id as usize] = true;
        self.cancellations += 1;
        if self.cancellations > 50 && self.cancellations > self.heap.len() / 2 {
            self.compact();
        }
    }

    fn compact(&mut self) {
        let LazyHeap {
            heap,
            cancelled,
            free_ids,
            ..
        } = self;
        heap.retain(|&Reverse((_, _, id))| {
            let keep = !cancelled[id as usize];
            if !keep {
                cancelled[id as usize] = false;
                free_ids.push(id);
            }
            keep
        });
        self.cancellations = 0;
    }

    /// Pops the earliest live timer due at `now`, skipping cancelled ones.
    fn pop_due(&mut self, now: u64) -> Option<u32> {
        while let Some(&Reverse((deadline, _, id))) = self.heap.peek() {
            if deadline > now {
                return None;
            }
            self.heap.pop();
            self.free_ids.push(id);
            if std::mem::take(&mut self.cancelled[id as usize]) {
                self.cancellations -= 1;
                continue;
            }
            return Some(id);
        }
        None
    }
}

fn pending_wheel(n: usize, rng: &mut Rng) -> Wheel<u64> {
    let mut wheel = Wheel::with_capacity(n + 1);
    for i in 0..n {
        wheel.insert(rng.pending_delay(), i as u64);
    }
    wheel
}

fn pending_heap(n: usize, rng: &mut Rng) -> LazyHeap {
    let mut heap = LazyHeap::with_capacity(n + n / 2 + 64);
    for _ in 0..n {
        heap.schedule(rng.pending_delay());
    }
    heap
}

fn schedule_cancel(c: &mut Criterion) {
    let mut group = c.benchmark_group("schedule_cancel");
    configure(&mut group);
    for n in SIZES {
        let mut rng = Rng::new();
        let mut wheel = pending_wheel(n, &mut rng);
        group.bench_function(BenchmarkId::new("wheel", n), |b| {
            b.iter(|| {
                let key = wheel.insert(wheel.elapsed() + rng.fresh_delay(), 0);
                black_box(wheel.remove(key))
            })
        });
        drop(wheel);

        let mut rng = Rng::new();
        let mut heap = pending_heap(n, &mut rng);
        group.bench_function(BenchmarkId::new("heap", n), |b| {
            b.iter(|| {
                let id = heap.schedule(rng.fresh_delay());
                heap.cancel(black_box(id));
            })
        });
    }
    group.finish();
}

fn schedule_fire(c: &mut Criterion) {
    let mut group = c.benchmark_group("schedule_fire");
    configure(&mut group);
    for n in SIZES {
        let mut rng = Rng::new();
        let mut wheel = pending_wheel(n, &mut rng);
        let mut clock = Clock::for_pending(n);
        group.bench_function(BenchmarkId::new("wheel", n), |b| {
            b.iter(|| {
                wheel.insert(clock.now() + rng.fresh_delay(), 0);
                wheel.advance(clock.tick());
                while let Some(fired) = wheel.pop_ready() {
                    black_box(fired);
                }
            })
        });
        let drift = wheel.len().abs_diff(n);
        assert!(drift < n / 4 + 64, "wheel drifted from {n} by {drift}");
        drop(wheel);

        let mut rng = Rng::new();
        let mut heap = pending_heap(n, &mut rng);
        let mut clock = Clock::for_pending(n);
        group.bench_function(BenchmarkId::new("heap", n), |b| {
            b.iter(|| {
                heap.schedule(clock.now() + rng.fresh_delay());
                let now = clock.tick();
                while let Some(fired) = heap.pop_due(now) {
                    black_box(fired);
                }
            })
        });
    }
    group.finish();
}

/// Short runs: these machines have 2 cores and are noisy, and 12 benches
/// run back to back.
fn configure(group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
}

criterion_group!(benches, schedule_cancel, schedule_fire);
criterion_main!(benches);
