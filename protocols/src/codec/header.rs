//! A frame header built on the stack.

/// The bytes a [`Codec`](super::Codec) sends before a payload: at most
/// [`Header::CAPACITY`] of them, kept inline so sending never allocates.
///
/// # Examples
///
/// ```
/// use torsion_protocols::codec::Header;
///
/// let header = Header::from_slice(b"5:").unwrap();
/// assert_eq!(header.as_bytes(), b"5:");
/// assert!(Header::from_slice(&[0; 40]).is_none());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Header {
    bytes: [u8; Header::CAPACITY],
    len: usize,
}

impl Header {
    /// The longest header: enough for a 20-digit netstring length and `:`.
    pub const CAPACITY: usize = 24;

    /// An empty header.
    pub fn empty() -> Self {
        Self::default()
    }

    /// A header holding `bytes`, or `None` if they do not fit.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        let mut header = Header::empty();
        header.bytes.get_mut(..bytes.len())?.copy_from_slice(bytes);
        header.len = bytes.len();
        Some(header)
    }

    /// The header's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}
