//! What the loop has done, for servers to report (memcached `stats`, a status page).

/// A snapshot of a reactor's counters, from [`crate::Reactor::counters`].
///
/// Counters only grow, except the gauges (`connections_open`,
/// `timers_pending`), which say how many exist right now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Loop iterations run (each is one poll for readiness).
    pub iterations: u64,
    /// Readiness events dispatched (I/O events, timers and queued calls).
    pub events: u64,
    /// Stream connections open now.
    pub connections_open: u64,
    /// Stream connections ever established (accepted or connected).
    pub connections_total: u64,
    /// Connections refused: by a factory, or past a listener's limit.
    pub connections_refused: u64,
    /// Timers scheduled and not yet run or cancelled.
    pub timers_pending: u64,
    /// Bytes read from sockets.
    pub bytes_read: u64,
    /// Bytes written to sockets.
    pub bytes_written: u64,
    /// Dispatches that kept the loop busy longer than the slow-callback threshold.
    pub slow_callbacks: u64,
    /// Times a listener stopped accepting because descriptors ran out.
    pub accept_pauses: u64,
}
