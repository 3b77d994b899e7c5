//! The text connection's framing: one command line at a time, shared by the
//! classic commands ([`super::text`]) and the meta commands ([`super::meta`]).
//!
//! memcached's `try_read_command_ascii` rules, which both kinds of command
//! meet before they are told apart:
//!
//! - a line ends at `\n`; a `\r` before it is dropped (only when the line
//!   holds more than that `\r`, as memcached checks `el - rcurr > 1`), and so
//!   is anything after a NUL byte, as `strlen` ends the command there;
//! - with no `\n` in the first [`MAX_LINE_LEN`] bytes the connection must
//!   close ([`LineTooLong`]), unless the line starts (after at most 100
//!   spaces) with `get ` or `gets `: memcached then keeps reading ("This
//!   _has_ to be a large multiget"), and so do we, up to [`MAX_GET_LINE`].
//!
//! [`Lines`] is a [`Decoder`]: it remembers how far it looked for the `\n`,
//! so a line arriving a byte at a time is scanned once, not once per byte.
//! A [`LineDecoder`] frames lines with it and hands each to a [`LineParser`]:
//! the classic commands' ([`super::text::RequestDecoder`]), or the classic
//! and the meta commands, mixed on one connection
//! ([`super::ascii::RequestDecoder`]).
//!
//! # Examples
//!
//! ```
//! use torsion_protocols::memcache::line::Lines;
//! use torsion_protocols::{Decoder, Parsed};
//!
//! let mut lines = Lines::default();
//! assert_eq!(lines.decode(b"get a"), Parsed::Incomplete);
//! assert_eq!(lines.decode(b"get a b\r\nset"), Parsed::Complete(&b"get a b"[..], 9));
//! ```

use std::marker::PhantomData;

use crate::{Decoder, Parsed};

/// Without a `\n` in this many bytes, a line that is not a `get`/`gets` closes the
/// connection (memcached's `try_read_command_ascii`).
pub const MAX_LINE_LEN: usize = 2048;

/// Our bound on a multi-key `get`/`gets` line (design rule 6). memcached grows its
/// buffer without a limit; 4 MiB holds over 16,000 keys of 250 bytes.
pub const MAX_GET_LINE: usize = 4 << 20;

/// No `\n` within [`MAX_LINE_LEN`] bytes (or [`MAX_GET_LINE`] for a `get`): the
/// connection must close, without a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineTooLong;

/// A refused command line: why, and how many bytes the line used (skip them
/// and go on), or 0 when the connection must close.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineError<E> {
    /// What was wrong.
    pub error: E,
    /// Bytes of input used by the line, its `\n` included.
    pub consumed: usize,
}

/// Finds command lines, remembering how far it has looked (see the module docs).
#[derive(Debug, Clone, Default)]
pub struct Lines {
    /// Bytes at the start of the input already searched for a `\n`, in vain.
    scanned: usize,
    /// Every byte searched so far, for the tests that check the scan is linear.
    #[cfg(test)]
    pub(crate) examined: usize,
}

impl Decoder for Lines {
    type Message<'a> = &'a [u8];
    type Error = LineTooLong;

    fn decode<'a>(&mut self, input: &'a [u8]) -> Parsed<&'a [u8], LineTooLong> {
        let from = self.scanned.min(input.len());
        #[cfg(test)]
        {
            self.examined += input.len() - from;
        }
        let Some(newline) = memchr::memchr(b'\n', &input[from..]).map(|at| from + at) else {
            if input.len() > MAX_LINE_LEN && !long_get(input) {
                self.scanned = 0;
                return Parsed::Error(LineTooLong);
            }
            self.scanned = input.len();
            return Parsed::Incomplete;
        };
        self.scanned = 0;
        let mut line = &input[..newline];
        if newline > 1 && line[newline - 1] == b'\r' {
            line = &line[..newline - 1];
        }
        if let Some(nul) = memchr::memchr(0, line) {
            line = &line[..nul];
        }
        Parsed::Complete(line, newline + 1)
    }

    fn reset(&mut self) {
        self.scanned = 0;
    }
}

/// What the lines of a text connection mean: the parser a [`LineDecoder`]
/// runs on each line it frames.
pub trait LineParser {
    /// A parsed line.
    type Request<'a>;
    /// Why a line is refused; a line too long closes the connection.
    type Error: From<LineTooLong>;

    /// Parses one line, framed by [`Lines`].
    fn parse(line: &[u8]) -> Result<Self::Request<'_>, Self::Error>;
}

/// Requests of a text connection: [`Lines`] frames them, `P` parses them.
pub struct LineDecoder<P> {
    lines: Lines,
    parser: PhantomData<fn() -> P>,
}

impl<P> LineDecoder<P> {
    /// Every byte searched so far, for the tests that check the scan is linear.
    #[cfg(test)]
    pub(crate) fn examined(&self) -> usize {
        self.lines.examined
    }
}

impl<P> Default for LineDecoder<P> {
    fn default() -> Self {
        LineDecoder {
            lines: Lines::default(),
            parser: PhantomData,
        }
    }
}

impl<P> Clone for LineDecoder<P> {
    fn clone(&self) -> Self {
        LineDecoder {
            lines: self.lines.clone(),
            parser: PhantomData,
        }
    }
}

impl<P> std::fmt::Debug for LineDecoder<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LineDecoder").field("lines", &self.lines).finish()
    }
}

impl<P: LineParser> Decoder for LineDecoder<P> {
    type Message<'a>
        = P::Request<'a>
    where
        Self: 'a;
    type Error = LineError<P::Error>;

    fn decode<'a>(&mut self, input: &'a [u8]) -> Parsed<P::Request<'a>, LineError<P::Error>> {
        match self.lines.decode(input) {
            Parsed::Incomplete => Parsed::Incomplete,
            Parsed::Error(too_long) => Parsed::Error(LineError {
                error: too_long.into(),
                consumed: 0,
            }),
            Parsed::Complete(line, consumed) => match P::parse(line) {
                Ok(request) => Parsed::Complete(request, consumed),
                Err(error) => Parsed::Error(LineError { error, consumed }),
            },
        }
    }

    fn reset(&mut self) {
        self.lines.reset();
    }
}

/// Whether a line with no `\n` yet may keep growing: a multi-key `get`.
fn long_get(input: &[u8]) -> bool {
    let spaces = input.iter().take_while(|&&b| b == b' ').count();
    let rest = &input[spaces..];
    let is_get = rest.starts_with(b"get ") || rest.starts_with(b"gets ");
    spaces <= 100 && is_get && input.len() <= MAX_GET_LINE
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(input: &[u8]) -> Parsed<&[u8], LineTooLong> {
        Lines::default().decode(input)
    }

    #[test]
    fn carriage_returns_and_nul_bytes() {
        assert_eq!(line(b"a b\r\n"), Parsed::Complete(&b"a b"[..], 5));
        assert_eq!(line(b"a b\n"), Parsed::Complete(&b"a b"[..], 4));
        // A lone `\r` is kept, as memcached keeps it.
        assert_eq!(line(b"\r\n"), Parsed::Complete(&b"\r"[..], 2));
        assert_eq!(line(b"\n"), Parsed::Complete(&b""[..], 1));
        assert_eq!(line(b"get a\0 b\r\n"), Parsed::Complete(&b"get a"[..], 10));
    }

    #[test]
    fn long_lines() {
        let junk = vec![b'x'; MAX_LINE_LEN];
        assert_eq!(line(&junk), Parsed::Incomplete);
        let junk = vec![b'x'; MAX_LINE_LEN + 1];
        assert_eq!(line(&junk), Parsed::Error(LineTooLong));
        let mut gets = vec![b' '; 50];
        gets.extend_from_slice(b"gets ");
        gets.resize(MAX_LINE_LEN + 10, b'k');
        assert_eq!(line(&gets), Parsed::Incomplete);
        let mut spaced = vec![b' '; 101];
        spaced.extend_from_slice(b"get ");
        spaced.resize(MAX_LINE_LEN + 10, b'k');
        assert_eq!(line(&spaced), Parsed::Error(LineTooLong));
        let mut huge = b"get ".to_vec();
        huge.resize(MAX_GET_LINE + 1, b'k');
        assert_eq!(line(&huge), Parsed::Error(LineTooLong));
        // A long line that arrives whole is a line.
        let mut set = b"set k 0 0 1".to_vec();
        set.resize(3000, b' ');
        set.extend_from_slice(b"\r\n");
        assert!(matches!(line(&set), Parsed::Complete(_, 3002)));
    }

    #[test]
    fn a_line_arriving_a_byte_at_a_time_is_scanned_once() {
        let mut wire = b"get".to_vec();
        for i in 0..20_000 {
            wire.extend_from_slice(format!(" key:{i}").as_bytes());
        }
        wire.extend_from_slice(b"\r\nget x\r\n");
        let end = wire.len() - 7;
        let mut lines = Lines::default();
        for n in 0..end {
            assert_eq!(lines.decode(&wire[..n]), Parsed::Incomplete);
        }
        assert_eq!(
            lines.decode(&wire[..end]),
            Parsed::Complete(&wire[..end - 2], end)
        );
        assert!(
            lines.examined <= end,
            "{} bytes examined for {end}",
            lines.examined
        );
        // After a whole line the next one is looked for from its own start.
        assert_eq!(lines.decode(&wire[end..]), Parsed::Complete(&b"get x"[..], 7));
    }
}
