//! The dialect negotiation that opens every Banana connection.
//!
//! ```text
//! server: ["pb", "none"]     02 80 02 82 70 62 04 82 6e 6f 6e 65
//! client: "pb"               02 82 70 62
//! ```
//!
//! The server offers the dialects it knows, most preferred first; the
//! client picks the first of them it knows too and sends its name; both
//! then speak it ([`BananaDecoder::set_dialect`](super::BananaDecoder::set_dialect)).
//! Both messages are written in the plain dialect. A client that knows
//! none of the offered dialects, or a server that gets a choice it did not
//! offer, closes the connection, as Twisted does.

use std::fmt;

use super::Item;

/// A Banana dialect.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// `pb`: vocabulary words go as numbers (what PB speaks).
    Pb,
    /// `none` on the wire: every string goes as a string.
    Plain,
}

/// The dialects Torsion knows, most preferred first, as Twisted's
/// `Banana.knownDialects`.
pub const KNOWN: [Dialect; 2] = [Dialect::Pb, Dialect::Plain];

impl Dialect {
    /// Its name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Pb => "pb",
            Dialect::Plain => "none",
        }
    }

    /// The dialect named `name`, if Torsion knows it.
    pub fn from_name(name: &[u8]) -> Option<Dialect> {
        KNOWN.into_iter().find(|d| d.name().as_bytes() == name)
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The negotiation went wrong: the connection should close.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NegotiationError {
    /// The server's first expression is not a list of names.
    NotAnOffer(String),
    /// The server offers no dialect Torsion knows.
    NothingKnown(String),
    /// The client's first expression is not the name of a dialect the
    /// server offered.
    NotOffered(String),
}

impl fmt::Display for NegotiationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NegotiationError::NotAnOffer(got) => {
                write!(
                    f,
                    "the server's first message is {got}, not a list of Banana dialects"
                )
            }
            NegotiationError::NothingKnown(offer) => {
                write!(
                    f,
                    "the server offers the Banana dialects {offer}, none of which Torsion speaks"
                )
            }
            NegotiationError::NotOffered(got) => {
                write!(
                    f,
                    "the client chose the Banana dialect {got}, which was not offered"
                )
            }
        }
    }
}

impl std::error::Error for NegotiationError {}

/// The server's first expression: the names of the dialects it knows.
///
/// ```
/// use torsion_protocols::banana::{dialect, encoded, Dialect};
///
/// assert_eq!(encoded(&dialect::offer(), Dialect::Plain).unwrap(), b"\x02\x80\x02\x82pb\x04\x82none");
/// ```
pub fn offer() -> Item<'static> {
    Item::list(KNOWN.iter().map(|d| Item::string(d.name())).collect())
}

/// The client's pick from the server's `offer`: the first offered dialect
/// Torsion knows. Send [`choice`] of it, then speak it.
///
/// ```
/// use torsion_protocols::banana::{dialect, Dialect, Item};
///
/// let offer = Item::list(vec![Item::string("xyzzy"), Item::string("none"), Item::string("pb")]);
/// assert_eq!(dialect::choose(&offer), Ok(Dialect::Plain));
/// assert!(dialect::choose(&Item::Int(6)).is_err());
/// ```
pub fn choose(offer: &Item<'_>) -> Result<Dialect, NegotiationError> {
    let names = offer
        .as_list()
        .ok_or_else(|| NegotiationError::NotAnOffer(offer.to_string()))?;
    names
        .iter()
        .find_map(|name| name.as_bytes().and_then(Dialect::from_name))
        .ok_or_else(|| NegotiationError::NothingKnown(offer.to_string()))
}

/// The client's answer naming `dialect`.
pub fn choice(dialect: Dialect) -> Item<'static> {
    Item::string(dialect.name())
}

/// The server's reading of the client's answer: a dialect it offered.
///
/// ```
/// use torsion_protocols::banana::{dialect, Dialect, Item};
///
/// assert_eq!(dialect::accept(&Item::string("pb")), Ok(Dialect::Pb));
/// assert!(dialect::accept(&Item::string("json")).is_err());
/// ```
pub fn accept(choice: &Item<'_>) -> Result<Dialect, NegotiationError> {
    choice
        .as_bytes()
        .and_then(Dialect::from_name)
        .ok_or_else(|| NegotiationError::NotOffered(choice.to_string()))
}
