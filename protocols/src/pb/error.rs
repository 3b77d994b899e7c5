//! [`CallError`]: why a call failed on this side of the connection.

use std::fmt;

use torsion::CloseReason;

use crate::jelly::JellyError;

/// Why a call failed on this side. A failure the other side sent is a
/// [`RemoteFailure`](crate::jelly::RemoteFailure) instead.
#[derive(Clone, Debug)]
pub enum CallError {
    /// The connection closed before the answer came, or before the call
    /// (Twisted's `PBConnectionLost`, or `DeadReferenceError` for a call
    /// on a closed connection).
    ConnectionLost(CloseReason),
    /// The peer broke the protocol; the connection was closed.
    Protocol(String),
    /// Too many calls are waiting for their answers on this connection.
    TooManyPending {
        /// The bound.
        limit: usize,
    },
    /// The arguments cannot be sent (too large for Banana, nested too
    /// deep, or naming an object that is not published here).
    Encode(String),
    /// The answer could not be read (a type Torsion refuses to build).
    BadAnswer(JellyError),
    /// Too many objects are published on this connection (Twisted's
    /// `MAX_BROKER_REFS`).
    TooManyReferences {
        /// The bound.
        limit: usize,
    },
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::ConnectionLost(reason) => {
                write!(f, "the PB connection closed before the answer came ({reason})")
            }
            CallError::Protocol(why) => write!(f, "the PB peer broke the protocol: {why}"),
            CallError::TooManyPending { limit } => {
                write!(f, "{limit} PB calls are already waiting for their answers")
            }
            CallError::Encode(why) => write!(f, "cannot send the PB call: {why}"),
            CallError::BadAnswer(e) => write!(f, "cannot read the PB answer: {e}"),
            CallError::TooManyReferences { limit } => {
                write!(f, "{limit} objects are already published on this PB connection")
            }
        }
    }
}

impl std::error::Error for CallError {}
