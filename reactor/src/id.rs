//! Handles: small `Copy` names for the things a reactor owns.
//!
//! Every listener, connection and datagram socket lives in one slot of the
//! reactor's source table. A handle is that slot's index plus a generation
//! number taken from a counter that only grows, so a handle that outlived its
//! source can never reach whatever reuses the slot later: the reactor compares
//! both halves on every lookup, and a stale handle simply finds nothing.
//!
//! The same pair is the mio [`Token`] of the registration (generation in the
//! high 32 bits), so an event that was already in flight when its source closed
//! is recognised as stale too.

use std::fmt;

use mio::Token;

#[cfg(not(target_pointer_width = "64"))]
compile_error!("torsion packs a slot index and a generation into a mio Token and needs 64-bit usize");

/// A slot index and the generation of its current occupant.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) struct Key {
    pub(crate) index: u32,
    pub(crate) generation: u32,
}

impl Key {
    /// The mio token registered for this source.
    pub(crate) fn token(self) -> Token {
        Token(((self.generation as usize) << 32) | self.index as usize)
    }

    /// The key a token was made from.
    pub(crate) fn from_token(token: Token) -> Key {
        Key {
            index: token.0 as u32,
            generation: (token.0 >> 32) as u32,
        }
    }
}

macro_rules! handle {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $name(pub(crate) Key);

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(self, f)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($prefix, "#{}.{}"), self.0.index, self.0.generation)
            }
        }
    };
}

handle!(
    /// Names one stream connection (TCP, Unix, or in-memory) owned by a reactor.
    ConnectionId,
    "conn"
);
handle!(
    /// Names one listening socket owned by a reactor.
    ListenerId,
    "listener"
);
handle!(
    /// Names one datagram (UDP) socket owned by a reactor.
    DatagramId,
    "udp"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_round_trip() {
        let key = Key {
            index: 7,
            generation: u32::MAX,
        };
        assert_eq!(Key::from_token(key.token()), key);
    }

    #[test]
    fn display_names_slot_and_generation() {
        let id = ConnectionId(Key {
            index: 3,
            generation: 9,
        });
        assert_eq!(id.to_string(), "conn#3.9");
    }
}
