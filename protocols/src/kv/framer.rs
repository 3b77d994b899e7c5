//! [`LineFramer`]: lines ending in `\n` (or `\r\n`), bounded, skipping
//! overlong ones.

/// The line delimiter of the key-value protocol as it is sent: `\r\n`,
/// Twisted's `LineReceiver` default, which the seeds use. A bare `\n` ends
/// a line too when reading, as memcached and the other Torsion servers
/// accept it (`printf 'get k\n' | nc`).
pub const DELIMITER: &[u8] = b"\r\n";

/// What [`LineFramer::decode`] found at the start of its input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A whole line of at most the bound (without its delimiter); drop
    /// `consumed` bytes.
    Line {
        /// The line, without `\r\n`.
        line: &'a [u8],
        /// The line's length plus the delimiter's.
        consumed: usize,
    },
    /// A line longer than the bound begins here. Drop `consumed` bytes; if
    /// its end was not in the input, the framer skips the rest of it
    /// (reported as [`Frame::Skipped`]) before framing the next line.
    TooLong {
        /// Input bytes to drop.
        consumed: usize,
    },
    /// Bytes of a line already reported too long; drop them.
    Skipped {
        /// Input bytes to drop.
        consumed: usize,
    },
    /// No whole line yet: call again with these bytes and more.
    Incomplete,
}

/// Frames lines of at most `max_length` bytes, each ending at `\n`; a `\r`
/// just before the `\n` belongs to the ending, not to the line.
///
/// Unlike [`LineCodec`](crate::codec::LineCodec), whose overlong line is an
/// error that ends the stream, a line protocol that answers `ERROR` and
/// goes on needs to find where the overlong line ends: the framer reports
/// [`Frame::TooLong`] once, as soon as it is certain (the delimiter came
/// too far in, or `max_length + 2` bytes came without one), then consumes
/// the rest of that line as [`Frame::Skipped`] without buffering it. At
/// most [`max_buffered`](LineFramer::max_buffered) bytes are ever left
/// undecided, and the outcome depends only on the stream, never on how it
/// was split into reads.
///
/// # Implementation notes
///
/// The search is `memchr` for `\n`. After [`Frame::Incomplete`] the framer
/// remembers how far it looked, so a long line arriving a byte at a time is
/// scanned once in all; the caller must then pass the same input, grown.
///
/// # Examples
///
/// ```
/// use torsion_protocols::kv::{Frame, LineFramer};
///
/// let mut framer = LineFramer::new(5);
/// assert_eq!(framer.decode(b"get k\r\n"), Frame::Line { line: b"get k", consumed: 7 });
/// // Too long: reported once, then skipped up to its delimiter.
/// assert_eq!(framer.decode(b"get kkkkk"), Frame::TooLong { consumed: 9 });
/// assert_eq!(framer.decode(b"kk\r\nget k\r\n"), Frame::Skipped { consumed: 4 });
/// assert_eq!(framer.decode(b"get k\r\n"), Frame::Line { line: b"get k", consumed: 7 });
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
    /// [`Frame::Incomplete`]): a longest line and a `\r`.
    pub fn max_buffered(&self) -> usize {
        self.max_length.saturating_add(DELIMITER.len() - 1)
    }

    /// Whether the framer is skipping the rest of an overlong line.
    pub fn is_skipping(&self) -> bool {
        self.skipping
    }

    /// Forgets everything: the next byte starts a line.
    pub fn reset(&mut self) {
        self.scanned = 0;
        self.skipping = false;
    }

    /// Looks for one line at the start of `input`.
    pub fn decode<'a>(&mut self, input: &'a [u8]) -> Frame<'a> {
        let from = self.scanned.min(input.len());
        match find_delimiter(input, from) {
            Some((end, consumed)) => {
                self.scanned = 0;
                if std::mem::take(&mut self.skipping) {
                    Frame::Skipped { consumed }
                } else if end > self.max_length {
                    Frame::TooLong { consumed }
                } else {
                    Frame::Line {
                        line: &input[..end],
                        consumed,
                    }
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
                        Frame::Incomplete
                    } else {
                        Frame::Skipped { consumed }
                    }
                } else {
                    Frame::TooLong { consumed }
                }
            }
            None => {
                // A delimiter split across reads starts at the last byte.
                self.scanned = input.len().saturating_sub(DELIMITER.len() - 1);
                Frame::Incomplete
            }
        }
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

    /// Frames `input` whole; returns the frames as (kind, bytes) pairs and
    /// the undecided rest.
    fn frames(framer: &mut LineFramer, mut input: &[u8]) -> (Vec<(char, Vec<u8>)>, Vec<u8>) {
        let mut out = Vec::new();
        loop {
            let (kind, consumed) = match framer.decode(input) {
                Frame::Line { consumed, .. } => ('L', consumed),
                Frame::TooLong { consumed } => ('T', consumed),
                Frame::Skipped { consumed } => ('S', consumed),
                Frame::Incomplete => return (out, input.to_vec()),
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
        assert_eq!(
            framer.decode(b"b\rc\n"),
            Frame::Line {
                line: b"b\rc",
                consumed: 4
            }
        );
        assert_eq!(
            framer.decode(b"x\r\r\n"),
            Frame::Line {
                line: b"x\r",
                consumed: 4
            }
        );
        assert_eq!(
            framer.decode(b"\n"),
            Frame::Line {
                line: b"",
                consumed: 1
            }
        );
    }

    #[test]
    fn a_line_of_exactly_the_bound_is_accepted() {
        let mut framer = LineFramer::new(3);
        assert_eq!(framer.decode(b"abc\r"), Frame::Incomplete);
        assert_eq!(
            framer.decode(b"abc\r\n"),
            Frame::Line {
                line: b"abc",
                consumed: 5
            }
        );
    }

    #[test]
    fn one_byte_more_is_too_long_as_soon_as_certain() {
        let mut framer = LineFramer::new(3);
        assert_eq!(framer.decode(b"abcd"), Frame::Incomplete);
        assert_eq!(framer.decode(b"abcde"), Frame::TooLong { consumed: 5 });
        assert!(framer.is_skipping());
        assert_eq!(framer.decode(b"fg\r"), Frame::Skipped { consumed: 2 });
        assert_eq!(framer.decode(b"\r"), Frame::Incomplete);
        assert_eq!(framer.decode(b"\r\nok\r\n"), Frame::Skipped { consumed: 2 });
        assert_eq!(
            framer.decode(b"ok\r\n"),
            Frame::Line {
                line: b"ok",
                consumed: 4
            }
        );
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
        assert_eq!(framer.decode(b"abc\r"), Frame::Incomplete);
        assert_eq!(
            framer.decode(b"abc\r\n").clone(),
            Frame::Line {
                line: b"abc",
                consumed: 5
            }
        );
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
