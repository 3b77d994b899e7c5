//! Splitting a growing file into lines, a chunk at a time. Sans-I/O.
//!
//! A log writer appends whole lines, but a read can end anywhere: in the
//! middle of a line the writer has not finished. The [`LineAssembler`]
//! keeps that partial line until its `\n` arrives, and bounds it: a line
//! longer than the maximum is reported as [`Piece::TooLong`] and never
//! buffered past the bound (its bytes are counted and dropped).

/// What the assembler hands out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Piece<'a> {
    /// A whole line, without its `\n` (and without a `\r` before it).
    Line(&'a [u8]),
    /// A line longer than the maximum, of this many bytes, was dropped.
    TooLong(usize),
}

/// Joins chunks into lines of at most `max` bytes; see the module docs.
///
/// # Examples
///
/// ```
/// use torsion_servers::weblog::lines::{LineAssembler, Piece};
///
/// let mut lines = LineAssembler::new(10);
/// let mut seen = Vec::new();
/// lines.feed(b"one\ntw", |p| seen.push(format!("{p:?}")));
/// lines.feed(b"o\nlong line here\n", |p| seen.push(format!("{p:?}")));
/// assert_eq!(seen, ["Line([111, 110, 101])", "Line([116, 119, 111])", "TooLong(14)"]);
/// ```
#[derive(Debug)]
pub struct LineAssembler {
    max: usize,
    state: State,
}

#[derive(Debug)]
enum State {
    /// Between lines, or holding the start of one.
    Collecting(Vec<u8>),
    /// Inside a line already known to be too long: this many bytes so far.
    Discarding(usize),
}

impl LineAssembler {
    /// An assembler for lines of at most `max` bytes.
    pub fn new(max: usize) -> Self {
        LineAssembler {
            max,
            state: State::Collecting(Vec::new()),
        }
    }

    /// Bytes of an unfinished line held (at most the maximum).
    pub fn pending(&self) -> usize {
        match &self.state {
            State::Collecting(partial) => partial.len(),
            State::Discarding(_) => 0,
        }
    }

    /// Splits `data`, the next bytes of the stream, calling `emit` for each
    /// line it completes. A line wholly inside `data` is handed out without
    /// being copied.
    pub fn feed(&mut self, data: &[u8], mut emit: impl FnMut(Piece<'_>)) {
        let mut rest = data;
        while let Some(end) = memchr::memchr(b'\n', rest) {
            let segment = &rest[..end];
            rest = &rest[end + 1..];
            match &mut self.state {
                State::Discarding(seen) => emit(Piece::TooLong(*seen + segment.len())),
                State::Collecting(partial) if partial.is_empty() => {
                    if segment.len() > self.max {
                        emit(Piece::TooLong(segment.len()));
                    } else {
                        emit(Piece::Line(strip_cr(segment)));
                    }
                }
                State::Collecting(partial) => {
                    let total = partial.len() + segment.len();
                    if total > self.max {
                        emit(Piece::TooLong(total));
                    } else {
                        partial.extend_from_slice(segment);
                        emit(Piece::Line(strip_cr(partial)));
                    }
                    partial.clear();
                }
            }
            if let State::Discarding(_) = self.state {
                self.state = State::Collecting(Vec::new());
            }
        }
        match &mut self.state {
            State::Discarding(seen) => *seen += rest.len(),
            State::Collecting(partial) => {
                let total = partial.len() + rest.len();
                if total > self.max {
                    self.state = State::Discarding(total);
                } else {
                    partial.extend_from_slice(rest);
                }
            }
        }
    }

    /// The stream ended for good (the file was rotated away): hands out an
    /// unfinished last line as if it had its `\n`.
    pub fn finish(&mut self, mut emit: impl FnMut(Piece<'_>)) {
        match std::mem::replace(&mut self.state, State::Collecting(Vec::new())) {
            State::Collecting(partial) if partial.is_empty() => {}
            State::Collecting(partial) => emit(Piece::Line(strip_cr(&partial))),
            State::Discarding(seen) => emit(Piece::TooLong(seen)),
        }
    }

    /// Drops an unfinished line (the file was truncated under it).
    pub fn reset(&mut self) {
        self.state = State::Collecting(Vec::new());
    }
}

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `chunks` and returns what came out, as strings.
    fn split(max: usize, chunks: &[&[u8]]) -> Vec<String> {
        let mut lines = LineAssembler::new(max);
        let mut out = Vec::new();
        let mut record = |p: Piece<'_>| {
            out.push(match p {
                Piece::Line(l) => String::from_utf8_lossy(l).into_owned(),
                Piece::TooLong(n) => format!("<{n} bytes>"),
            })
        };
        for chunk in chunks {
            lines.feed(chunk, &mut record);
            assert!(lines.pending() <= max);
        }
        lines.finish(&mut record);
        out
    }

    #[test]
    fn lines_in_any_chunks() {
        let stream = b"alpha\r\nbeta\n\ngamma\ndelta";
        let expected = ["alpha", "beta", "", "gamma", "delta"];
        assert_eq!(split(100, &[stream]), expected);
        let bytewise: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(split(100, &bytewise), expected);
        for size in 2..stream.len() {
            let chunks: Vec<&[u8]> = stream.chunks(size).collect();
            assert_eq!(split(100, &chunks), expected, "chunks of {size}");
        }
    }

    #[test]
    fn long_lines_are_counted_not_buffered() {
        let stream = b"ok\n0123456789abc\nfine\n0123456789";
        let expected = ["ok", "<13 bytes>", "fine", "<10 bytes>"];
        for size in 1..=stream.len() {
            let chunks: Vec<&[u8]> = stream.chunks(size).collect();
            assert_eq!(split(8, &chunks), expected, "chunks of {size}");
        }
        // Exactly the maximum is a line.
        assert_eq!(split(8, &[b"12345678\n"]), ["12345678"]);
    }

    #[test]
    fn reset_drops_the_partial_line() {
        let mut lines = LineAssembler::new(100);
        let mut out = Vec::new();
        lines.feed(b"half a li", |_| panic!("nothing is complete"));
        assert_eq!(lines.pending(), 9);
        lines.reset();
        lines.feed(b"new\n", |p| out.push(format!("{p:?}")));
        assert_eq!(out, [format!("{:?}", Piece::Line(b"new"))]);
    }
}
