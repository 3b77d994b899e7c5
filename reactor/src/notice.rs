//! Notices: what a protocol or factory must hear once the current dispatch
//! has returned.
//!
//! While the reactor calls a protocol it has *lent* the protocol out of its
//! slot, which is how the protocol can hold `&mut Reactor` at the same time.
//! So a transport operation never calls a protocol: `abort_connection()`
//! closes the socket at once but only queues [`Notice::Lost`]. The reactor
//! *settles* after every dispatch (see [`Reactor::settle`]): it flushes the
//! buffers the dispatch dirtied, then delivers the notices it caused, in
//! order, each one a dispatch of its own. A protocol's callbacks therefore
//! never nest, and the events it causes arrive right after it returns.

use std::time::Instant;

use crate::id::ConnectionId;
use crate::protocol::{CloseReason, ConnectError, Factory};
use crate::reactor::{Reactor, Soon};
use crate::transport::{Phase, Writing};

/// Something the reactor must tell a protocol or factory once the current
/// dispatch has returned.
pub(crate) enum Notice {
    Pause(ConnectionId),
    Resume(ConnectionId),
    /// The peer sent end-of-file.
    ReadClosed(ConnectionId),
    /// The connection closed: `connection_lost`, then the slot is freed.
    Lost(ConnectionId, CloseReason),
    /// A connect failed before any protocol existed.
    ConnectFailed(ConnectionId, ConnectError),
    /// A listener closed: its factory's `stop` hook.
    ListenerStopped(Box<dyn Factory>),
    /// Run a closure once the current dispatch has returned (an endpoint
    /// fires its connect Deferred this way, right after `connection_made`).
    Call(Soon),
}

impl Reactor {
    /// Delivers one notice: one dispatch, timed like any other.
    pub(crate) fn deliver(&mut self, notice: Notice) {
        match notice {
            Notice::Pause(id) => self.dispatch(id, "pause_producing", |p, ctx| p.pause_producing(ctx)),
            Notice::Resume(id) => self.dispatch(id, "resume_producing", |p, ctx| p.resume_producing(ctx)),
            Notice::ReadClosed(id) => {
                self.dispatch(id, "read_connection_lost", |p, ctx| p.read_connection_lost(ctx));
                // Both directions are now shut: nothing more can happen.
                if self
                    .conn(id)
                    .is_some_and(|c| c.phase == Phase::Open && c.writing == Writing::HalfClosed)
                {
                    self.close_now(id, CloseReason::Done);
                }
            }
            Notice::Lost(id, reason) => self.deliver_lost(id, reason),
            Notice::ConnectFailed(id, error) => self.deliver_connect_failed(id, error),
            Notice::ListenerStopped(mut factory) => {
                let started = Instant::now();
                factory.stop(self);
                self.check_slow(started, || "a factory's stop hook".to_string());
            }
            Notice::Call(call) => {
                let site = call.site;
                self.run_call(call.f, || format!("notice queued at {site}"));
            }
        }
    }
}
