//! [`Command`]: a remote call's name and the types of its arguments and
//! response; [`RemoteError`]: how a call fails on the other side.

use std::fmt;

use super::ampbox::AmpBox;
use super::argument::ArgumentError;
use super::decoder::BoxRef;
use super::wire::{UNHANDLED_ERROR_CODE, UNKNOWN_ERROR_CODE};

/// An AMP command, as a Twisted program declares one:
///
/// ```python
/// class Sum(amp.Command):
///     arguments = [(b'a', amp.Integer()), (b'b', amp.Integer())]
///     response = [(b'total', amp.Integer())]
/// ```
///
/// becomes
///
/// ```
/// use torsion_protocols::amp::{AmpBox, ArgumentError, Arguments, BoxRef, Command};
///
/// struct Sum;
/// struct Operands { a: i64, b: i64 }
/// struct Total { total: i64 }
///
/// impl Command for Sum {
///     const NAME: &'static str = "Sum";
///     type Arguments = Operands;
///     type Response = Total;
/// }
///
/// impl Arguments for Operands {
///     fn to_box(&self, out: &mut AmpBox) {
///         out.put("a", &self.a);
///         out.put("b", &self.b);
///     }
///     fn from_box(b: &BoxRef<'_>) -> Result<Self, ArgumentError> {
///         Ok(Operands { a: b.arg("a")?, b: b.arg("b")? })
///     }
/// }
///
/// impl Arguments for Total {
///     fn to_box(&self, out: &mut AmpBox) {
///         out.put("total", &self.total);
///     }
///     fn from_box(b: &BoxRef<'_>) -> Result<Self, ArgumentError> {
///         Ok(Total { total: b.arg("total")? })
///     }
/// }
/// ```
///
/// Twisted's `errors` mapping has no counterpart here: a responder fails
/// with a [`RemoteError`] carrying the code, and a caller finds it in the
/// failure (`failure.find::<RemoteError>()`) and checks its code.
pub trait Command: 'static {
    /// The command's name on the wire (`_command`); Twisted uses the class
    /// name unless `commandName` says otherwise.
    const NAME: &'static str;
    /// The arguments sent with the command.
    type Arguments: Arguments;
    /// The values of a successful answer (`()` for none).
    type Response: Arguments;
}

/// A command's arguments or response: named, typed values written to and
/// read from a box (Twisted's `arguments` and `response` lists).
///
/// Reading ignores keys it does not know, as Twisted does.
pub trait Arguments: Sized + 'static {
    /// Writes the values into `out`.
    fn to_box(&self, out: &mut AmpBox);

    /// Reads the values from a received box.
    fn from_box(b: &BoxRef<'_>) -> Result<Self, ArgumentError>;
}

/// No values: a response like Twisted's `response = []`.
impl Arguments for () {
    fn to_box(&self, _out: &mut AmpBox) {}

    fn from_box(_b: &BoxRef<'_>) -> Result<Self, ArgumentError> {
        Ok(())
    }
}

/// A call that failed on the other side: the `_error_code` and
/// `_error_description` of an error box. Twisted's `RemoteAmpError`.
///
/// A responder returns one to answer with an error box; a caller's
/// Deferred fails with one when the answer is an error box.
///
/// # Examples
///
/// ```
/// use torsion_protocols::amp::RemoteError;
///
/// let e = RemoteError::new("KEY_NOT_FOUND", "k");
/// assert!(e.is("KEY_NOT_FOUND"));
/// assert_eq!(e.to_string(), "remote error KEY_NOT_FOUND: k");
/// assert!(RemoteError::unhandled("Frobnicate").is_unhandled());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteError {
    /// The error code (`_error_code`), bytes on the wire.
    pub code: Vec<u8>,
    /// The description (`_error_description`), for people.
    pub description: String,
}

impl RemoteError {
    /// An error with `code` and `description`.
    pub fn new(code: impl Into<Vec<u8>>, description: impl Into<String>) -> Self {
        RemoteError {
            code: code.into(),
            description: description.into(),
        }
    }

    /// `UNKNOWN`: a failure the command does not declare.
    pub fn unknown(description: impl Into<String>) -> Self {
        Self::new(UNKNOWN_ERROR_CODE, description)
    }

    /// `UNHANDLED`: no responder for `command`, worded as Twisted words it.
    pub fn unhandled(command: &str) -> Self {
        Self::new(UNHANDLED_ERROR_CODE, format!("Unhandled Command: {command:?}"))
    }

    /// Whether the code is `code`.
    pub fn is(&self, code: &str) -> bool {
        self.code == code.as_bytes()
    }

    /// Whether the peer had no responder for the command.
    pub fn is_unhandled(&self) -> bool {
        self.code == UNHANDLED_ERROR_CODE
    }
}

impl fmt::Display for RemoteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "remote error {}: {}",
            String::from_utf8_lossy(&self.code),
            self.description
        )
    }
}

impl std::error::Error for RemoteError {}
