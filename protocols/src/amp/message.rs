//! [`Message`]: what a received box means (a request, an answer, an error).

use std::fmt;

use super::decoder::BoxRef;
use super::wire::{ANSWER, ASK, COMMAND, ERROR, ERROR_CODE, ERROR_DESCRIPTION, UNKNOWN_ERROR_CODE};

/// A received box, classified as Twisted's `BoxDispatcher.ampBoxReceived`
/// does: `_answer` first, then `_error`, then `_command`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Message<'a> {
    /// A command: `_command`, with `_ask` when an answer is wanted. The
    /// arguments are read from `arguments` (the whole box; reserved keys
    /// are ignored by [`Arguments::from_box`](super::Arguments::from_box)).
    Command {
        /// The command's name.
        name: &'a [u8],
        /// The tag to answer with; `None`: no answer wanted.
        ask: Option<&'a [u8]>,
        /// The box.
        arguments: BoxRef<'a>,
    },
    /// A successful answer to the request tagged `tag`.
    Answer {
        /// The request's tag.
        tag: &'a [u8],
        /// The box (the response's values, and `_answer`).
        values: BoxRef<'a>,
    },
    /// A failed answer to the request tagged `tag`.
    Error {
        /// The request's tag.
        tag: &'a [u8],
        /// `_error_code` (`UNKNOWN` if absent).
        code: &'a [u8],
        /// `_error_description` (empty if absent).
        description: &'a [u8],
    },
}

/// A box that is neither a command, an answer nor an error (Twisted raises
/// `NoEmptyBoxes` and drops the connection).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotAMessage;

impl fmt::Display for NotAMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an AMP box with no _command, _answer or _error")
    }
}

impl std::error::Error for NotAMessage {}

impl<'a> Message<'a> {
    /// Classifies a received box.
    ///
    /// # Examples
    ///
    /// ```
    /// use torsion_protocols::amp::{AmpBox, BoxDecoder, Message};
    /// use torsion_protocols::{Decoder, Parsed};
    ///
    /// let wire: AmpBox = [("_command", "Get"), ("_ask", "1"), ("key", "k")].into_iter().collect();
    /// let wire = wire.to_bytes().unwrap();
    /// let Parsed::Complete(frame, _) = BoxDecoder::new().decode(&wire) else { panic!() };
    /// let Ok(Message::Command { name, ask, .. }) = Message::classify(frame) else { panic!() };
    /// assert_eq!((name, ask), (&b"Get"[..], Some(&b"1"[..])));
    /// ```
    pub fn classify(b: BoxRef<'a>) -> Result<Self, NotAMessage> {
        if let Some(tag) = b.get(ANSWER) {
            return Ok(Message::Answer { tag, values: b });
        }
        if let Some(tag) = b.get(ERROR) {
            return Ok(Message::Error {
                tag,
                code: b.get(ERROR_CODE).unwrap_or(UNKNOWN_ERROR_CODE),
                description: b.get(ERROR_DESCRIPTION).unwrap_or_default(),
            });
        }
        if let Some(name) = b.get(COMMAND) {
            return Ok(Message::Command {
                name,
                ask: b.get(ASK),
                arguments: b,
            });
        }
        Err(NotAMessage)
    }
}
