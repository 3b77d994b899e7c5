//! What a [`LineReceiver`](super::LineReceiver) calls.

use torsion::CloseReason;

use super::LineCtx;

/// The callbacks of a line protocol, run by a [`LineReceiver`](super::LineReceiver).
///
/// Only [`line_received`](LineHandler::line_received) must be written.
/// Every callback gets a [`LineCtx`]: it sends lines, switches between line
/// and raw mode, pauses delivery, and derefs to the connection's
/// [`Ctx`](torsion::Ctx) (and through it to the reactor).
///
/// # Examples
///
/// An echo server that answers `quit` by closing:
///
/// ```
/// use torsion_protocols::{LineCtx, LineHandler, LineReceiver};
/// use torsion::testing::StringTransport;
///
/// struct Echo;
///
/// impl LineHandler for Echo {
///     fn line_received(&mut self, ctx: &mut LineCtx<'_, '_>, line: &[u8]) {
///         if line == b"quit" {
///             ctx.lose_connection();
///         } else {
///             ctx.send_line(line);
///         }
///     }
/// }
///
/// let mut t = StringTransport::new(LineReceiver::new(Echo));
/// t.receive_bytewise(b"hello\r\nquit\r\nignored\r\n");
/// assert_eq!(t.value(), b"hello\r\n");
/// assert!(t.disconnected());
/// ```
pub trait LineHandler: 'static {
    /// The connection is open.
    fn connection_made(&mut self, ctx: &mut LineCtx<'_, '_>) {
        let _ = ctx;
    }

    /// A whole line arrived; `line` excludes the delimiter.
    fn line_received(&mut self, ctx: &mut LineCtx<'_, '_>, line: &[u8]);

    /// Bytes arrived in raw mode (after [`LineCtx::set_raw_mode`]). They
    /// come in chunks of any size. To return to lines, call
    /// [`LineCtx::set_line_mode`] with the bytes not used; passing a
    /// sub-slice of `data` (`&data[used..]`) costs no copy.
    ///
    /// The default warns and closes the connection: a handler that enters
    /// raw mode must say what to do with the bytes.
    fn raw_data_received(&mut self, ctx: &mut LineCtx<'_, '_>, data: &[u8]) {
        log::warn!(
            "{}: {} raw bytes and no raw_data_received; closing",
            ctx.id(),
            data.len()
        );
        ctx.lose_connection();
    }

    /// A line grew past the maximum line length. `buffered` is what was
    /// buffered when that became certain (the start of the long line and
    /// anything after it); the receiver drops it all after this call, and
    /// parses whatever arrives next afresh.
    ///
    /// The default closes the connection.
    fn line_length_exceeded(&mut self, ctx: &mut LineCtx<'_, '_>, buffered: &[u8]) {
        log::debug!(
            "{}: line longer than {} bytes ({} buffered); closing",
            ctx.id(),
            ctx.max_line_length(),
            buffered.len()
        );
        ctx.lose_connection();
    }

    /// The peer will send nothing more. `rest` holds the bytes after the
    /// last complete line (a final line without its delimiter), usually
    /// empty. If delivery is paused, this waits until it resumes and the
    /// buffered lines are delivered.
    ///
    /// The default closes our side too once everything written is sent.
    fn read_connection_lost(&mut self, ctx: &mut LineCtx<'_, '_>, rest: &[u8]) {
        let _ = rest;
        ctx.lose_connection();
    }

    /// The connection closed; `reason` says how. The last call.
    fn connection_lost(&mut self, ctx: &mut LineCtx<'_, '_>, reason: CloseReason) {
        let _ = (ctx, reason);
    }

    /// The write buffer is above its high-water mark; the default stops
    /// reading (see [`torsion::Protocol::pause_producing`]).
    fn pause_producing(&mut self, ctx: &mut LineCtx<'_, '_>) {
        ctx.pause_reading();
    }

    /// The write buffer drained below its low-water mark; the default
    /// reads again unless delivery is paused.
    fn resume_producing(&mut self, ctx: &mut LineCtx<'_, '_>) {
        if !ctx.is_delivery_paused() {
            ctx.resume_reading();
        }
    }
}
