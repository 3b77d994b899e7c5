//! [`LineOnlyReceiver`]: lines and nothing else.

use crate::codec::{Codec, LineCodec};
use crate::{FrameHandler, FramedReceiver};

/// Lines only, no raw mode: Twisted's `basic.LineOnlyReceiver`. The
/// handler implements [`FrameHandler<LineCodec>`]; each line (without its
/// delimiter) comes to `frame_received`, and
/// [`FrameCtx::send_line`](crate::FrameCtx::send_line) answers. A line over
/// the bound (16 KiB by default) is a
/// [`FrameError::LineTooLong`](crate::codec::FrameError::LineTooLong).
///
/// Use [`LineReceiver`](crate::LineReceiver) when the protocol switches to
/// raw bytes.
///
/// # Examples
///
/// ```
/// use torsion::testing::StringTransport;
/// use torsion_protocols::codec::LineCodec;
/// use torsion_protocols::{FrameCtx, FrameHandler, LineOnlyReceiver};
///
/// struct Shout;
///
/// impl FrameHandler<LineCodec> for Shout {
///     fn frame_received(&mut self, ctx: &mut FrameCtx<'_, '_, LineCodec>, line: &[u8]) {
///         ctx.send_line(&line.to_ascii_uppercase());
///     }
/// }
///
/// let mut t = StringTransport::new(LineOnlyReceiver::new(Shout).with_delimiter(b"\n"));
/// t.receive(b"hey\nyou\n");
/// assert_eq!(t.value(), b"HEY\nYOU\n");
/// ```
pub type LineOnlyReceiver<H> = FramedReceiver<LineCodec, H>;

impl<H: FrameHandler<LineCodec>> FramedReceiver<LineCodec, H> {
    /// `\r\n`-delimited lines of at most 16 KiB for `handler`.
    pub fn new(handler: H) -> Self {
        Self::with_codec(LineCodec::new(), handler)
    }

    /// Uses `delimiter` to end lines (sent and received).
    ///
    /// # Panics
    ///
    /// If `delimiter` is empty or longer than 255 bytes.
    pub fn with_delimiter(self, delimiter: &[u8]) -> Self {
        let max = self.codec().max_length();
        let mut codec = LineCodec::with_delimiter(delimiter);
        codec.set_max_length(max);
        self.replace_codec(codec)
    }
}
