//! [`LineError`]: a line that gave no message, and how much input to drop.

use std::fmt;

/// Why a key-value decoder handed out no message, and how many input bytes
/// to drop before decoding on.
///
/// Every error of the line protocol is recoverable: a server answers
/// `ERROR <reason>` and reads the next line; a line too long is skipped up
/// to its `\r\n` without being buffered. So, unlike most errors of this
/// crate's decoders, this one says where the next message starts:
/// [`consumed`](LineError::consumed) bytes further on.
///
/// # Examples
///
/// ```
/// use torsion_protocols::kv::{LineError, Limits, RequestDecoder, RequestError};
/// use torsion_protocols::{Decoder, Parsed};
///
/// let mut decoder = RequestDecoder::new(Limits::default());
/// let Parsed::Error(error) = decoder.decode(b"GET k\r\nget k\r\n") else { panic!() };
/// assert_eq!(error, LineError::Invalid { error: RequestError::UnknownCommand, consumed: 7 });
/// assert_eq!(error.consumed(), 7);
/// assert_eq!(error.to_string(), "unknown command");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LineError<E> {
    /// A whole line that is not a valid message, or the start of a line
    /// longer than the bound: answer or report `error`, drop `consumed`
    /// bytes and go on.
    Invalid {
        /// What is wrong with the line.
        error: E,
        /// Input bytes to drop.
        consumed: usize,
    },
    /// More bytes of a line already reported too long: drop `consumed`
    /// bytes, nothing to answer.
    Skipped {
        /// Input bytes to drop.
        consumed: usize,
    },
}

impl<E> LineError<E> {
    /// The input bytes to drop before decoding on.
    pub fn consumed(&self) -> usize {
        match *self {
            LineError::Invalid { consumed, .. } | LineError::Skipped { consumed } => consumed,
        }
    }

    /// What to answer or report: `None` for [`LineError::Skipped`].
    pub fn error(&self) -> Option<&E> {
        match self {
            LineError::Invalid { error, .. } => Some(error),
            LineError::Skipped { .. } => None,
        }
    }

    /// Maps the error of a [`LineError::Invalid`], keeping the byte count.
    pub fn map<F>(self, f: impl FnOnce(E) -> F) -> LineError<F> {
        match self {
            LineError::Invalid { error, consumed } => LineError::Invalid {
                error: f(error),
                consumed,
            },
            LineError::Skipped { consumed } => LineError::Skipped { consumed },
        }
    }
}

impl<E: fmt::Display> fmt::Display for LineError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LineError::Invalid { error, .. } => error.fmt(f),
            LineError::Skipped { consumed } => {
                write!(f, "{consumed} more bytes of a line too long")
            }
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for LineError<E> {}

/// What a [`LineFramer`](super::LineFramer) reports a line longer than its
/// bound as (in a [`LineError::Invalid`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineTooLong {
    /// The longest line accepted, delimiter excluded.
    pub limit: usize,
}

impl fmt::Display for LineTooLong {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line longer than {} bytes", self.limit)
    }
}

impl std::error::Error for LineTooLong {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_kinds_say_what_to_drop() {
        let invalid = LineError::Invalid {
            error: LineTooLong { limit: 3 },
            consumed: 9,
        };
        assert_eq!(invalid.consumed(), 9);
        assert_eq!(invalid.error(), Some(&LineTooLong { limit: 3 }));
        assert_eq!(invalid.to_string(), "line longer than 3 bytes");
        assert_eq!(
            invalid.map(|e| e.limit),
            LineError::Invalid {
                error: 3,
                consumed: 9
            }
        );

        let skipped = LineError::<LineTooLong>::Skipped { consumed: 4 };
        assert_eq!((skipped.consumed(), skipped.error()), (4, None));
        assert_eq!(skipped.map(|e| e.limit), LineError::Skipped { consumed: 4 });
    }
}
