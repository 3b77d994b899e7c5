//! [`Config`]: a reactor's limits and timings.

use std::time::Duration;

/// Tunable limits and timings of a reactor. Every field has a sensible default.
#[derive(Clone, Debug)]
pub struct Config {
    /// A dispatch that runs longer than this is logged as a slow callback.
    pub slow_callback_threshold: Duration,
    /// How long [`Reactor::run`](crate::Reactor::run) waits, after a stop, for connections to close
    /// cleanly before aborting them.
    pub shutdown_grace: Duration,
    /// How long a cleanly closed connection keeps draining what the peer still
    /// sends (so the kernel does not answer it with RST). Zero closes at once.
    pub linger: Duration,
    /// Bytes read from a socket per `read` call (one buffer shared by all
    /// connections: idle connections cost no read buffer).
    pub read_chunk: usize,
    /// Bytes read from one connection per readiness event before other
    /// sources get a turn.
    pub read_budget: usize,
    /// A connection whose write buffer would grow past this is aborted: its
    /// protocol ignored `pause_producing`.
    pub max_write_buffer: usize,
    /// Drained write buffers kept for the next connections that write
    /// (a connection holds one only while the socket has not taken its
    /// bytes). 0 keeps none: every reply then allocates its buffer.
    pub write_pool: usize,
    /// Readiness events fetched per poll.
    pub events_capacity: usize,
    /// Notice child exits through pidfds (Linux 5.3 and later); when false or
    /// unavailable, children are polled every [`crate::process::EXIT_POLL`].
    pub pidfd: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            slow_callback_threshold: Duration::from_millis(100),
            shutdown_grace: Duration::from_secs(5),
            linger: Duration::from_secs(2),
            read_chunk: 64 * 1024,
            read_budget: 1024 * 1024,
            max_write_buffer: 64 * 1024 * 1024,
            write_pool: crate::buffer::POOL_BUFFERS,
            events_capacity: 1024,
            pidfd: true,
        }
    }
}
