//! The bounds of the key-value protocols (design rule 6).

use super::framer::DELIMITER;

/// The longest key accepted unless configured otherwise: 250 bytes, as
/// memcached.
pub const DEFAULT_MAX_KEY_LENGTH: usize = 250;

/// The longest value accepted unless configured otherwise: 65,535 bytes, the
/// most an AMP value can hold, so that whatever the line protocol stores an
/// AMP `Get` can return.
pub const DEFAULT_MAX_VALUE_LENGTH: usize = 65_535;

/// The key and value bounds, and the line bound they imply.
///
/// # Examples
///
/// ```
/// use torsion_protocols::kv::Limits;
///
/// let limits = Limits::default();
/// // "VALUE " + key + " " + value, the longest line either side sends
/// assert_eq!(limits.max_line_length(), 6 + 250 + 1 + 65_535);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The longest key, in bytes.
    pub max_key_length: usize,
    /// The longest value, in bytes.
    pub max_value_length: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_key_length: DEFAULT_MAX_KEY_LENGTH,
            max_value_length: DEFAULT_MAX_VALUE_LENGTH,
        }
    }
}

impl Limits {
    /// The longest line either side needs, delimiter excluded: a `set` or a
    /// `VALUE` reply with the longest key and value (`VALUE ` is one byte
    /// longer than `set `).
    pub fn max_line_length(&self) -> usize {
        b"VALUE "
            .len()
            .saturating_add(self.max_key_length)
            .saturating_add(1)
            .saturating_add(self.max_value_length)
    }

    /// The most bytes a decoder may hold undecided: a longest line and
    /// the first byte of its delimiter.
    pub fn max_buffered(&self) -> usize {
        self.max_line_length().saturating_add(DELIMITER.len() - 1)
    }
}
