//! The key-value store's AMP commands, declared as a Twisted program
//! declares them, so that any AMP peer can call them:
//!
//! ```python
//! class Get(amp.Command):
//!     arguments = [(b'key', amp.String())]
//!     response = [(b'value', amp.String())]
//!     errors = {KeyError: b'KEY_NOT_FOUND'}
//!
//! class Set(amp.Command):
//!     arguments = [(b'key', amp.String()), (b'value', amp.String())]
//!     response = []
//!
//! class Delete(amp.Command):
//!     arguments = [(b'key', amp.String())]
//!     response = []
//!     errors = {KeyError: b'KEY_NOT_FOUND'}
//! ```
//!
//! `String` is AMP's byte string: keys and values are bytes, up to the
//! store's bounds (and AMP's 65,535 bytes). A key the store cannot hold
//! fails `Set` with [`INVALID_KEY`] or [`VALUE_TOO_LONG`].

use crate::amp::{AmpBox, ArgumentError, Arguments, BoxRef, Command};

/// The error code of `Get` and `Delete` for a key that is not there (the
/// seeds' `KeyError`).
pub const KEY_NOT_FOUND: &str = "KEY_NOT_FOUND";
/// The error code of `Set` for a key that is empty or longer than the
/// store's bound.
pub const INVALID_KEY: &str = "INVALID_KEY";
/// The error code of `Set` for a value longer than the store's bound.
pub const VALUE_TOO_LONG: &str = "VALUE_TOO_LONG";

/// `Get(key: String) -> (value: String)`; fails with [`KEY_NOT_FOUND`].
#[derive(Clone, Copy, Debug)]
pub struct Get;

/// `Set(key: String, value: String) -> ()`.
#[derive(Clone, Copy, Debug)]
pub struct Set;

/// `Delete(key: String) -> ()`; fails with [`KEY_NOT_FOUND`].
#[derive(Clone, Copy, Debug)]
pub struct Delete;

/// The arguments of `Get` and `Delete`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Key {
    /// The key.
    pub key: Vec<u8>,
}

/// The arguments of `Set`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyValue {
    /// The key.
    pub key: Vec<u8>,
    /// The value.
    pub value: Vec<u8>,
}

/// The response of `Get`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Value {
    /// The value.
    pub value: Vec<u8>,
}

impl Command for Get {
    const NAME: &'static str = "Get";
    type Arguments = Key;
    type Response = Value;
}

impl Command for Set {
    const NAME: &'static str = "Set";
    type Arguments = KeyValue;
    type Response = ();
}

impl Command for Delete {
    const NAME: &'static str = "Delete";
    type Arguments = Key;
    type Response = ();
}

impl Arguments for Key {
    fn to_box(&self, out: &mut AmpBox) {
        out.put("key", &self.key);
    }

    fn from_box(b: &BoxRef<'_>) -> Result<Self, ArgumentError> {
        Ok(Key { key: b.arg("key")? })
    }
}

impl Arguments for KeyValue {
    fn to_box(&self, out: &mut AmpBox) {
        out.put("key", &self.key);
        out.put("value", &self.value);
    }

    fn from_box(b: &BoxRef<'_>) -> Result<Self, ArgumentError> {
        Ok(KeyValue {
            key: b.arg("key")?,
            value: b.arg("value")?,
        })
    }
}

impl Arguments for Value {
    fn to_box(&self, out: &mut AmpBox) {
        out.put("value", &self.value);
    }

    fn from_box(b: &BoxRef<'_>) -> Result<Self, ArgumentError> {
        Ok(Value {
            value: b.arg("value")?,
        })
    }
}
