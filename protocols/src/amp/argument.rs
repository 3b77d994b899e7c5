//! [`Argument`]: AMP's typed values, and how each is written as bytes.
//!
//! | AMP type (Twisted) | Rust type | on the wire |
//! | --- | --- | --- |
//! | `String` | `Vec<u8>`, `bytes::Bytes` | the bytes as they are |
//! | `Unicode` | `String` | UTF-8 |
//! | `Integer` | `i64`, `i32`, `u64`, `u32`, `u16`, `u8`, `usize` | decimal, `-` for negatives: `b"%d"` |
//! | `Boolean` | `bool` | `True` or `False` |
//! | `Float` | `f64` | shortest round-trip decimal; `inf`, `-inf`, `nan` |

use std::fmt;

use bytes::Bytes;

/// A value type AMP knows how to carry: Twisted's `Argument` subclasses,
/// reduced to their `toString` / `fromString` pair.
pub trait Argument: Sized {
    /// The AMP type's name, as Twisted spells it (`String`, `Integer`, ...).
    const AMP_TYPE: &'static str;

    /// Appends the wire form of `self` to `out`.
    fn write(&self, out: &mut Vec<u8>);

    /// Reads a value from its wire form; the error says why not.
    fn read(bytes: &[u8]) -> Result<Self, String>;
}

/// An argument that is missing, or whose bytes are not its type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArgumentError {
    /// The argument's name.
    pub name: String,
    /// What is wrong.
    pub kind: ArgumentErrorKind,
}

/// What is wrong with an argument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArgumentErrorKind {
    /// The box does not hold it.
    Missing,
    /// Its bytes do not read as its type.
    Invalid {
        /// The AMP type expected.
        amp_type: &'static str,
        /// Why not.
        reason: String,
    },
}

impl ArgumentError {
    /// `name` is missing.
    pub fn missing(name: &str) -> Self {
        ArgumentError {
            name: name.to_string(),
            kind: ArgumentErrorKind::Missing,
        }
    }

    /// `name` does not read as an `A`.
    pub fn invalid<A: Argument>(name: &str, reason: String) -> Self {
        ArgumentError {
            name: name.to_string(),
            kind: ArgumentErrorKind::Invalid {
                amp_type: A::AMP_TYPE,
                reason,
            },
        }
    }
}

impl fmt::Display for ArgumentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ArgumentErrorKind::Missing => write!(f, "missing argument {:?}", self.name),
            ArgumentErrorKind::Invalid { amp_type, reason } => {
                write!(f, "argument {:?} is not a valid {amp_type}: {reason}", self.name)
            }
        }
    }
}

impl std::error::Error for ArgumentError {}

impl Argument for Vec<u8> {
    const AMP_TYPE: &'static str = "String";

    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self);
    }

    fn read(bytes: &[u8]) -> Result<Self, String> {
        Ok(bytes.to_vec())
    }
}

impl Argument for Bytes {
    const AMP_TYPE: &'static str = "String";

    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self);
    }

    fn read(bytes: &[u8]) -> Result<Self, String> {
        Ok(Bytes::copy_from_slice(bytes))
    }
}

impl Argument for String {
    const AMP_TYPE: &'static str = "Unicode";

    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.as_bytes());
    }

    fn read(bytes: &[u8]) -> Result<Self, String> {
        String::from_utf8(bytes.to_vec()).map_err(|e| e.to_string())
    }
}

impl Argument for bool {
    const AMP_TYPE: &'static str = "Boolean";

    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(if *self { b"True" } else { b"False" });
    }

    fn read(bytes: &[u8]) -> Result<Self, String> {
        match bytes {
            b"True" => Ok(true),
            b"False" => Ok(false),
            _ => Err("expected True or False".into()),
        }
    }
}

impl Argument for f64 {
    const AMP_TYPE: &'static str = "Float";

    /// Rust's `Debug` form is the shortest that reads back exactly (`0.1`,
    /// `1e100`, `inf`, `NaN`); Python's `float()` reads all of them.
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(format!("{self:?}").as_bytes());
    }

    /// Reads what Python's `str(float)` writes (`1.5`, `1e+100`, `inf`,
    /// `nan`), as Python's `float()` would, surrounding whitespace aside.
    fn read(bytes: &[u8]) -> Result<Self, String> {
        let text = std::str::from_utf8(bytes).map_err(|e| e.to_string())?;
        text.parse::<f64>().map_err(|e| format!("{text:?}: {e}"))
    }
}

/// Integers: written as `b"%d"` is, read as strict decimal (an optional
/// sign and digits). Python's `int()` also takes whitespace and `_`, which
/// no AMP peer sends.
macro_rules! integer_argument {
    ($($t:ty),*) => {$(
        impl Argument for $t {
            const AMP_TYPE: &'static str = "Integer";

            fn write(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(self.to_string().as_bytes());
            }

            fn read(bytes: &[u8]) -> Result<Self, String> {
                let text = std::str::from_utf8(bytes).map_err(|e| e.to_string())?;
                text.parse::<$t>().map_err(|e| format!("{text:?}: {e}"))
            }
        }
    )*};
}

integer_argument!(i64, i32, u64, u32, u16, u8, usize);

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<A: Argument + PartialEq + fmt::Debug>(value: A, wire: &[u8]) {
        let mut out = Vec::new();
        value.write(&mut out);
        assert_eq!(out, wire);
        assert_eq!(A::read(wire).unwrap(), value);
    }

    #[test]
    fn every_type_round_trips_as_twisted_writes_it() {
        round_trip(b"a\x00b".to_vec(), b"a\x00b");
        round_trip(Bytes::from_static(b"x"), b"x");
        round_trip("h\u{e9}".to_string(), "h\u{e9}".as_bytes());
        round_trip(-42i64, b"-42");
        round_trip(u64::MAX, b"18446744073709551615");
        round_trip(true, b"True");
        round_trip(false, b"False");
        round_trip(1.5f64, b"1.5");
        round_trip(0.1f64, b"0.1");
        round_trip(f64::INFINITY, b"inf");
    }

    #[test]
    fn what_python_writes_reads() {
        assert_eq!(f64::read(b"1e+100").unwrap(), 1e100);
        assert!(f64::read(b"nan").unwrap().is_nan());
        assert_eq!(f64::read(b"-inf").unwrap(), f64::NEG_INFINITY);
        assert_eq!(i64::read(b"+7").unwrap(), 7);
    }

    #[test]
    fn bad_bytes_are_errors() {
        assert!(i64::read(b"12x").is_err());
        assert!(i64::read(b"").is_err());
        assert!(u8::read(b"256").is_err());
        assert!(bool::read(b"true").is_err());
        assert!(String::read(b"\xff").is_err());
        assert!(f64::read(b"one").is_err());
        let e = ArgumentError::invalid::<i64>("a", "bad".into());
        assert_eq!(e.to_string(), "argument \"a\" is not a valid Integer: bad");
    }
}
