//! The reserved keys, error codes and bounds of AMP's wire format, named as
//! in Twisted's `twisted.protocols.amp`.

/// The key of a request's tag: the box asks for an answer.
pub const ASK: &[u8] = b"_ask";
/// The key holding the tag of the request a box answers.
pub const ANSWER: &[u8] = b"_answer";
/// The key naming the command a box invokes.
pub const COMMAND: &[u8] = b"_command";
/// The key holding the tag of the request an error box answers.
pub const ERROR: &[u8] = b"_error";
/// The key of an error box's code (`KEY_NOT_FOUND`, `UNHANDLED`, ...).
pub const ERROR_CODE: &[u8] = b"_error_code";
/// The key of an error box's description, text for people.
pub const ERROR_DESCRIPTION: &[u8] = b"_error_description";

/// The error code of a failure the responder did not declare.
pub const UNKNOWN_ERROR_CODE: &[u8] = b"UNKNOWN";
/// The error code of a command the peer has no responder for.
pub const UNHANDLED_ERROR_CODE: &[u8] = b"UNHANDLED";

/// The longest key: 255 bytes (its 16-bit length's first byte is zero).
pub const MAX_KEY_LENGTH: usize = 0xff;
/// The longest value: 65,535 bytes, what a 16-bit length can say.
pub const MAX_VALUE_LENGTH: usize = 0xffff;

/// Our bound on a whole box, framing included, unless configured otherwise
/// (design rule 6): 1 MiB. Twisted has none; a box of sixteen maximal
/// values fits.
pub const DEFAULT_MAX_BOX_SIZE: usize = 1 << 20;
