//! [`LineFramer`]: lines ending in `\n` (or `\r\n`), bounded, skipping
//! overlong ones.

use super::{LineError, LineTooLong};
use crate::{Decoder, Parsed};

/// The line delimiter of the key-value protocol as it is sent: `\r\n`,
/// Twisted's `LineReceiver` default, which the seeds use. A bare `\n` ends
/// a line too when reading, as memcached and the other Torsion servers
/// accept it (`printf 'get k\n' | nc`).
pub const DELIMITER: &[u8] = b"\r\n";

/// Frames lines of at most `max_length` bytes, each ending at `\n`; a `\r`
/// just before the `\n` belongs to the ending, not to the line.
///
/// Unlike [`LineCodec`](crate::codec::LineCodec), whose overlong line is an
/// error that ends the stream, a line protocol that answers `ERROR` and
/// goes on needs to find where the overlong line ends: the framer reports
/// [`LineError::Invalid`] with [`LineTooLong`] once, as soon as it is
/// certain (the delimiter came too far in, or `max_length + 2` bytes came
/// without one), then consumes the rest of that line as
/// [`LineError::Skipped`] without buffering it. Either error says how many
/// bytes to drop. At most [`max_buffered`](LineFramer::max_buffered) bytes
/// are ever left undecided, and the outcome depends only on the stream,
/// never on how it was split into reads.
///
/// # Implementation notes
///
/// The search is `memchr` for `\n`. After [`Parsed::Incomplete`] the framer
/// remembers how far it looked, so a long line arriving a byte at a time is
/// scanned once in all; the caller must then pass the same input, grown.
///
/// # Examples
///
/// ```
/// use torsion_protocols::kv::{LineError, LineFramer, LineTooLong};
/// use torsion_protocols::{Decoder, Parsed};
///
/// let mut framer = LineFramer::new(5);
/// assert_eq!(framer.decode(b"get k\r\n"), Parsed::Complete(&b"get k"[..], 7));
/// // Too long: reported once, then skipped up to its delimiter.
/// let too_long = LineTooLong { limit: 5 };
/// assert_eq!(
///     framer.decode(b"get kkkkk"),
///     Parsed::Error(LineError::Invalid { error: too_long, consumed: 9 })
/// );
/// assert_eq!(
///     framer.decode(b"kk\r\nget k\r\n"),
///     Parsed::Error(LineError::Skipped { consumed: 4 })
/// );
/// assert_eq!(framer.decode(b"get k\r\n"), Parsed::Complete(&b"get k"[..], 7));
/// ```
#[derive(Clone, Debug)]
pub struct LineFramer {
    max_length: usize,
    /// Input before this position holds no delimiter (valid after
    /// `Incomplete`, for the same input grown).
    scanned: usize,
    /// Inside a line already reported too long.
    skipping: bool,
}

impl LineFramer {
    /// Lines of at most `max_length` bytes, delimiter excluded.
    pub fn new(max_length: usize) -> Self {
        LineFramer {
            max_length,
            scanned: 0,
            skipping: false,
        }
    }

    /// The longest line accepted, delimiter excluded.
    pub fn max_length(&self) -> usize {
        self.max_length
    }

    /// The most input bytes `decode` leaves undecided (answering
    /// [`Parsed::Incomplete`]): a longest line and a `\r`.
    pub fn max_buffered(&self) -> usize {
        self.max_length.saturating_add(DELIMITER.len() - 1)
    }

    /// Whether the framer is skipping the rest of an overlong line.
    pub fn is_skipping(&self) -> bool {
        self.skipping
    }

    /// Frames one line and parses it with `parse`: a line that does not
    /// parse is a [`LineError::Invalid`] with `parse`'s error, a line too
    /// long one with `E::from(LineTooLong)`.
    pub(crate) fn decode_with<'a, M, E: From<LineTooLong>>(
        &mut self,
        input: &'a [u8],
        parse: impl FnOnce(&'a [u8]) -> Result<M, E>,
    ) -> Parsed<M, LineError<E>> {
        match self.decode(input) {
            Parsed::Complete(line, consumed) => match parse(line) {
                Ok(message) => Parsed::Complete(message, consumed),
                Err(error) => Parsed::Error(LineError::Invalid { error, consumed }),
            },
            Parsed::Incomplete => Parsed::Incomplete,
            Parsed::Error(error) => Parsed::Error(error.map(E::from)),
        }
    }
}

impl Decoder for LineFramer {
    type Message<'a> = &'a [u8];
    type Error = LineError<LineTooLong>;

    /// Looks for one line at the start of `input`.
    fn decode<'a>(&mut self, input: &'a [u8]) -> Parsed<&'a [u8], LineError<LineTooLong>> {
        let too_long = |consumed| {
            Parsed::Error(LineError::Invalid {
                error: LineTooLong {
                    limit: self.max_length,
                },
                consumed,
            })
        };
        let from = self.scanned.min(input.len());
        match find_delimiter(input, from) {
            Some((end, consumed)) => {
                self.scanned = 0;
                if std::mem::take(&mut self.skipping) {
                    Parsed::Error(LineError::Skipped { consumed })
                } else if end > self.max_length {
                    too_long(consumed)
                } else {
                    Parsed::Complete(&input[..end], consumed)
                }
            }
            None if self.skipping || input.len() > self.max_buffered() => {
                // Drop everything but a last `\r`, which may begin the
                // delimiter that ends this line.
                let keep = usize::from(input.last() == Some(&b'\r'));
                let consumed = input.len() - keep;
                self.scanned = 0;
                if std::mem::replace(&mut self.skipping, true) {
                    if consumed == 0 {
                        Parsed::Incomplete
                    } else {
                        Parsed::Error(LineError::Skipped { consumed })
                    }
                } else {
                    too_long(consumed)
                }
            }
            None => {
                // A delimiter split across reads starts at the last byte.
                self.scanned = input.len().saturating_sub(DELIMITER.len() - 1);
                Parsed::Incomplete
            }
        }
    }

    /// Forgets everything: the next byte starts a line.
    fn reset(&mut self) {
        self.scanned = 0;
        self.skipping = false;
    }
}

/// Where the first line of `input` ends, looking for its `\n` from
/// `from`: the line's length (without a `\r` before the `\n`) and the
/// bytes it takes with its ending.
fn find_delimiter(input: &[u8], from: usize) -> Option<(usize, usize)> {
    let newline = from + memchr::memchr(b'\n', input.get(from..)?)?;
    let end = match newline.checked_sub(1) {
        Some(cr) if input[cr] == b'\r' => cr,
        _ => newline,
    };
    Some((end, newline + 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kv::{Limits, Reply, ReplyDecoder, Request, RequestDecoder};

    /// Feeds `wire`, one line, to `decoder` as one-byte reads would, checking
    /// after each `Incomplete` that its framer (reached through `framer`) will
    /// look again at the last byte only. Returns the first other answer.
    fn a_byte_at_a_time<'w, D: Decoder + 'w>(
        decoder: &mut D,
        framer: impl Fn(&D) -> &LineFramer,
        wire: &'w [u8],
    ) -> Parsed<D::Message<'w>, D::Error> {
        let (outcome, _) = crate::parse::byte_at_a_time(decoder, wire, |decoder, n| {
            assert_eq!(framer(decoder).scanned, n.saturating_sub(1), "after {n} bytes");
        });
        outcome
    }

    /// What a framer bounded to 3 bytes answers for a line too long.
    fn too_long(consumed: usize) -> Parsed<&'static [u8], LineError<LineTooLong>> {
        Parsed::Error(LineError::Invalid {
            error: LineTooLong { limit: 3 },
            consumed,
        })
    }

    /// Frames `input` whole; returns the frames as (kind, bytes) pairs and
    /// the undecided rest.
    fn frames(framer: &mut LineFramer, mut input: &[u8]) -> (Vec<(char, Vec<u8>)>, Vec<u8>) {
        let mut out = Vec::new();
        loop {
            let (kind, consumed) = match framer.decode(input) {
                Parsed::Complete(_, consumed) => ('L', consumed),
                Parsed::Error(LineError::Invalid { consumed, .. }) => ('T', consumed),
                Parsed::Error(LineError::Skipped { consumed }) => ('S', consumed),
                Parsed::Incomplete => return (out, input.to_vec()),
            };
            out.push((kind, input[..consumed].to_vec()));
            input = &input[consumed..];
        }
    }

    #[test]
    fn lines_end_at_crlf_or_a_bare_newline() {
        let (got, rest) = frames(
            &mut LineFramer::new(100),
            b"a\r\n\r\nb\rc\nd\r\n\nset x y\nrest\r",
        );
        let lines: Vec<_> = got.iter().map(|(_, l)| l.clone()).collect();
        assert_eq!(
            lines,
            [
                b"a\r\n".to_vec(),
                b"\r\n".to_vec(),
                b"b\rc\n".to_vec(),
                b"d\r\n".to_vec(),
                b"\n".to_vec(),
                b"set x y\n".to_vec()
            ]
        );
        assert_eq!(rest, b"rest\r");
        // The line itself never holds its ending; a `\r` inside it stays.
        let mut framer = LineFramer::new(100);
        assert_eq!(framer.decode(b"b\rc\n"), Parsed::Complete(&b"b\rc"[..], 4));
        assert_eq!(framer.decode(b"x\r\r\n"), Parsed::Complete(&b"x\r"[..], 4));
        assert_eq!(framer.decode(b"\n"), Parsed::Complete(&b""[..], 1));
    }

    #[test]
    fn a_line_of_exactly_the_bound_is_accepted() {
        let mut framer = LineFramer::new(3);
        assert_eq!(framer.decode(b"abc\r"), Parsed::Incomplete);
        assert_eq!(framer.decode(b"abc\r\n"), Parsed::Complete(&b"abc"[..], 5));
    }

    #[test]
    fn one_byte_more_is_too_long_as_soon_as_certain() {
        let mut framer = LineFramer::new(3);
        assert_eq!(framer.decode(b"abcd"), Parsed::Incomplete);
        assert_eq!(framer.decode(b"abcde"), too_long(5));
        assert!(framer.is_skipping());
        assert_eq!(
            framer.decode(b"fg\r"),
            Parsed::Error(LineError::Skipped { consumed: 2 })
        );
        assert_eq!(framer.decode(b"\r"), Parsed::Incomplete);
        assert_eq!(
            framer.decode(b"\r\nok\r\n"),
            Parsed::Error(LineError::Skipped { consumed: 2 })
        );
        assert_eq!(framer.decode(b"ok\r\n"), Parsed::Complete(&b"ok"[..], 4));
    }

    #[test]
    fn a_long_line_whose_end_is_there_is_one_frame() {
        let (got, rest) = frames(&mut LineFramer::new(3), b"abcdef\r\nxy\r\n");
        assert_eq!(got, [('T', b"abcdef\r\n".to_vec()), ('L', b"xy\r\n".to_vec())]);
        assert!(rest.is_empty());
    }

    #[test]
    fn a_delimiter_split_at_the_bound_is_found() {
        // max 3: "abc\r" is undecided, then "\n" completes a valid line.
        let mut framer = LineFramer::new(3);
        assert_eq!(framer.decode(b"abc\r"), Parsed::Incomplete);
        assert_eq!(
            framer.decode(b"abc\r\n").clone(),
            Parsed::Complete(&b"abc"[..], 5)
        );
    }

    #[test]
    fn lines_fed_a_byte_at_a_time_are_scanned_once() {
        let mut framer = LineFramer::new(100);
        // A `\r` alone is a byte of the line; a `\n` would end it.
        let wire = b"set key a value with \r inside\r\n";
        let outcome = a_byte_at_a_time(&mut framer, |framer| framer, wire);
        assert_eq!(outcome, Parsed::Complete(&wire[..wire.len() - 2], wire.len()));
        assert_eq!(framer.scanned, 0);

        let mut requests = RequestDecoder::new(Limits::default());
        let wire = b"set greeting hello world\r\n";
        let (key, value) = (&b"greeting"[..], &b"hello world"[..]);
        let outcome = a_byte_at_a_time(&mut requests, |decoder| &decoder.framer, wire);
        assert_eq!(outcome, Parsed::Complete(Request::Set { key, value }, wire.len()));

        let mut replies = ReplyDecoder::new(Limits::default());
        let wire = b"VALUE greeting hello world\r\n";
        let outcome = a_byte_at_a_time(&mut replies, |decoder| &decoder.framer, wire);
        assert_eq!(outcome, Parsed::Complete(Reply::Value { key, value }, wire.len()));
    }

    #[test]
    fn byte_by_byte_gives_the_same_frames() {
        let input = b"get a\r\nxxxxxxxxxxxxxx\r\n\r\nset b c\r\nyyyyyyyyyyyyyyyyyyyy\r\r\r\nz\r\n";
        let (whole, _) = frames(&mut LineFramer::new(8), input);
        let mut framer = LineFramer::new(8);
        let mut buf = Vec::new();
        let mut got: Vec<(char, Vec<u8>)> = Vec::new();
        for &b in input.iter() {
            buf.push(b);
            let (mut frames, rest) = frames(&mut framer, &buf);
            got.append(&mut frames);
            buf = rest;
        }
        // Skipped pieces differ in size; compare the kinds of frame and
        // the lines themselves.
        let squash = |v: &[(char, Vec<u8>)]| {
            let mut out: Vec<(char, Vec<u8>)> = Vec::new();
            for (k, bytes) in v {
                match (out.last_mut(), k) {
                    (Some(('T', prev)), 'S') => prev.extend_from_slice(bytes),
                    _ => out.push((*k, bytes.clone())),
                }
            }
            out
        };
        assert_eq!(squash(&got), squash(&whole));
    }
}
