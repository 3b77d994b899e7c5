//! AMP, Twisted's Asynchronous Messaging Protocol: request/response pairs
//! of typed key/value boxes over one connection, both ways at once.
//!
//! # The wire
//!
//! A box is key/value pairs, each string prefixed with its 16-bit
//! big-endian length, ended by an empty key (two zero bytes). Keys are 1 to
//! 255 bytes, values up to 65,535. Twisted's documentation writes boxes one
//! pair a line:
//!
//! ```text
//! C: _command: Sum          \x00\x08_command\x00\x03Sum
//! C: _ask: 1                \x00\x04_ask\x00\x011
//! C: a: 13                  \x00\x01a\x00\x0213
//! C: b: 81                  \x00\x01b\x00\x0281
//! C:                        \x00\x00
//!
//! S: _answer: 1
//! S: total: 94
//!
//! (or)  S: _error: 1
//!       S: _error_code: ZERO_DIVISION
//!       S: _error_description: division by zero
//! ```
//!
//! `_ask` tags a request that wants an answer; `_answer` or `_error`
//! carries the tag back. A command nobody answers gets the error code
//! `UNHANDLED`, an undeclared failure `UNKNOWN`.
//!
//! # The pieces
//!
//! - Sans-I/O: [`AmpBox`] (a box to send, written in key order as Twisted
//!   writes it), [`BoxDecoder`] and [`BoxRef`] (boxes read in place from
//!   the stream, bounded), [`Message`] (what a box means), [`Argument`]
//!   (the typed values: `String`, `Unicode`, `Integer`, `Boolean`,
//!   `Float`), [`Command`] and [`Arguments`] (a command's name and
//!   signature).
//! - On the reactor: [`Amp`], the protocol of one connection; it answers
//!   with its [`Responders`] and delivers the answers to calls made through
//!   its [`Remote`]. [`AmpFactory`] serves; [`connect`] connects.
//!
//! # Examples
//!
//! A server answering `Sum`, and a client calling it, on one reactor:
//!
//! ```
//! use std::rc::Rc;
//! use torsion::{endpoint::ClientEndpoint, Reactor};
//! use torsion_protocols::amp::{self, AmpBox, AmpFactory, ArgumentError, Arguments, BoxRef, Command, Responders};
//!
//! struct Sum;
//! struct Operands { a: i64, b: i64 }
//! struct Total { total: i64 }
//! impl Command for Sum {
//!     const NAME: &'static str = "Sum";
//!     type Arguments = Operands;
//!     type Response = Total;
//! }
//! impl Arguments for Operands {
//!     fn to_box(&self, out: &mut AmpBox) { out.put("a", &self.a); out.put("b", &self.b); }
//!     fn from_box(b: &BoxRef<'_>) -> Result<Self, ArgumentError> {
//!         Ok(Operands { a: b.arg("a")?, b: b.arg("b")? })
//!     }
//! }
//! impl Arguments for Total {
//!     fn to_box(&self, out: &mut AmpBox) { out.put("total", &self.total); }
//!     fn from_box(b: &BoxRef<'_>) -> Result<Self, ArgumentError> { Ok(Total { total: b.arg("total")? }) }
//! }
//!
//! let mut reactor = Reactor::new()?;
//! let responders = Responders::new().on::<Sum, _>(|_, args| Ok(Total { total: args.a + args.b }));
//! let listener = reactor.listen_tcp("127.0.0.1:0".parse().unwrap(), AmpFactory::new(Rc::new(responders)))?;
//! let port = reactor.local_addr(listener).and_then(|a| a.as_socket_addr()).unwrap().port();
//!
//! let endpoint = ClientEndpoint::tcp("127.0.0.1", port);
//! let total = amp::connect(&mut reactor, &endpoint, Rc::new(Responders::new()))
//!     .then(&mut reactor, |r, remote| remote.call::<Sum>(r, &Operands { a: 13, b: 81 }))
//!     .then(&mut reactor, |_, total: Total| Ok(total.total));
//! assert_eq!(reactor.run_until_complete(total)?.ok(), Some(94));
//! # Ok::<(), std::io::Error>(())
//! ```

mod ampbox;
mod argument;
mod command;
mod decoder;
mod message;
mod protocol;
mod remote;
mod responders;
mod wire;

pub use ampbox::{AmpBox, EncodeError};
pub use argument::{Argument, ArgumentError, ArgumentErrorKind};
pub use command::{Arguments, Command, RemoteError};
pub use decoder::{BoxDecoder, BoxRef, DecodeError, Pairs};
pub use message::{Message, NotAMessage};
pub use protocol::{connect, Amp, AmpFactory};
pub use remote::{CallError, Remote, DEFAULT_MAX_PENDING};
pub use responders::{Reply, Responders};
pub use wire::{
    ANSWER, ASK, COMMAND, DEFAULT_MAX_BOX_SIZE, ERROR, ERROR_CODE, ERROR_DESCRIPTION, MAX_KEY_LENGTH,
    MAX_VALUE_LENGTH, UNHANDLED_ERROR_CODE, UNKNOWN_ERROR_CODE,
};
