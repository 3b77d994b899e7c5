//! How a key-value call fails.

use std::fmt;

use torsion::CloseReason;

/// The key is not in the store: the seeds' `KeyError(key)`, from `get`
/// (`GET_NOT_FOUND`, AMP's `KEY_NOT_FOUND`) and `delete` (`DEL_NOT_FOUND`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyNotFound {
    /// The key asked for.
    pub key: Vec<u8>,
}

impl fmt::Display for KeyNotFound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "key not found: {}", String::from_utf8_lossy(&self.key))
    }
}

impl std::error::Error for KeyNotFound {}

/// Any other failure of a key-value call.
#[derive(Clone, Debug)]
pub enum KvError {
    /// The key cannot be sent: empty, too long, or (on the line protocol)
    /// holding whitespace, which would split it.
    InvalidKey(String),
    /// The value cannot be sent: too long, or (on the line protocol)
    /// holding a line break, which would end the line.
    InvalidValue(String),
    /// The server answered `ERROR <reason>`.
    Server(String),
    /// Too many requests are waiting for their replies.
    TooManyPending {
        /// The bound.
        limit: usize,
    },
    /// The connection is not open yet.
    NotConnected,
    /// The connection closed before the reply came (or before the request).
    ConnectionLost(CloseReason),
    /// The server's reply makes no sense here; the connection was closed.
    Protocol(String),
}

impl fmt::Display for KvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KvError::InvalidKey(why) => write!(f, "invalid key: {why}"),
            KvError::InvalidValue(why) => write!(f, "invalid value: {why}"),
            KvError::Server(reason) => write!(f, "the server answered ERROR {reason}"),
            KvError::TooManyPending { limit } => {
                write!(f, "{limit} requests are already waiting for replies")
            }
            KvError::NotConnected => f.write_str("not connected"),
            KvError::ConnectionLost(reason) => write!(f, "the connection closed: {reason}"),
            KvError::Protocol(why) => write!(f, "the server broke the protocol: {why}"),
        }
    }
}

impl std::error::Error for KvError {}
