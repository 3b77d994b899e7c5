//! The protocol of one connection: frames replies and hands them to the
//! client's queue.

use std::cell::RefCell;
use std::rc::Weak;

use bytes::{Bytes, BytesMut};
use torsion::{CloseReason, Ctx, Protocol};
use torsion_protocols::memcache::text::{Expect, ResponseDecoder};
use torsion_protocols::{Decoder, Parsed};

use super::Core;
use crate::memcache::error::MemcacheError;
use crate::memcache::value::Decoded;

/// Writes of at least this size are queued by reference instead of copied.
const LARGE_WRITE: usize = 16 * 1024;

/// What the connection's protocol should do with the bytes it has.
pub(super) enum Head {
    /// The next reply answers a request that expects this.
    Expect(Expect),
    /// Nothing is pending: any byte now is unsolicited.
    Idle,
    /// This connection is no longer the client's.
    Stale,
}

/// Queues `bytes` on a connection, by reference when large.
pub(super) fn write(ctx: &mut Ctx<'_>, bytes: Bytes) {
    if bytes.len() >= LARGE_WRITE {
        ctx.write_bytes(bytes);
    } else {
        ctx.write(&bytes);
    }
}

/// One connection's protocol: frames replies and hands them to the core.
pub(super) struct ClientProtocol {
    core: Weak<RefCell<Core>>,
    /// The attempt this connection came from.
    generation: u64,
    /// Received bytes, from the start of the reply being decoded.
    buf: BytesMut,
    decoder: ResponseDecoder,
}

impl ClientProtocol {
    /// The protocol of attempt `generation` of `core`'s client.
    pub(super) fn new(core: Weak<RefCell<Core>>, generation: u64, max_reply: usize) -> Self {
        ClientProtocol {
            core,
            generation,
            buf: BytesMut::new(),
            decoder: ResponseDecoder::new(max_reply),
        }
    }
}

impl Protocol for ClientProtocol {
    fn connection_made(&mut self, ctx: &mut Ctx<'_>) {
        match self.core.upgrade() {
            Some(shared) => Core::connected(&shared, ctx, self.generation),
            None => ctx.lose_connection(),
        }
    }

    fn data_received(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) {
        let Some(shared) = self.core.upgrade() else {
            ctx.abort_connection();
            return;
        };
        self.buf.extend_from_slice(data);
        while !ctx.is_closing() && !self.buf.is_empty() {
            let head = shared.borrow().head(self.generation);
            let expect = match head {
                Head::Expect(expect) => expect,
                Head::Idle => {
                    let error =
                        MemcacheError::Protocol("bytes from the server with no request pending".into());
                    Core::broken(&shared, ctx, self.generation, error);
                    return;
                }
                Head::Stale => {
                    ctx.abort_connection();
                    return;
                }
            };
            self.decoder.expect(expect);
            let (decoded, used) = match self.decoder.decode(&self.buf) {
                Parsed::Complete(response, used) => (Decoded::of(response), used),
                Parsed::Incomplete => return,
                Parsed::Error(e) => {
                    Core::broken(&shared, ctx, self.generation, e.into());
                    return;
                }
            };
            let reply = decoded.take(&mut self.buf, used);
            Core::replied(&shared, ctx, self.generation, reply);
        }
    }

    fn connection_lost(&mut self, ctx: &mut Ctx<'_>, reason: CloseReason) {
        if let Some(shared) = self.core.upgrade() {
            Core::lost(&shared, ctx, self.generation, &reason);
        }
    }

    /// Our requests are not being read fast enough: keep reading replies
    /// all the same (pausing would stall the server, which then stops
    /// reading too). `max_pending` bounds what we queue.
    fn pause_producing(&mut self, _ctx: &mut Ctx<'_>) {}

    fn resume_producing(&mut self, _ctx: &mut Ctx<'_>) {}

    fn name(&self) -> &'static str {
        "memcache client"
    }
}
