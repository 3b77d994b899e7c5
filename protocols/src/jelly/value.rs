//! [`Value`]: what a jelly expression means; [`ObjectId`]: how PB names
//! an object.

use std::fmt;

use num_bigint::BigInt;

use super::failure::RemoteFailure;
use super::repr::{bytes_repr, str_repr};

/// How a broker names one of its objects: a number it gave out
/// (`registerReference`), or a name (the root object is `b"root"`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ObjectId {
    /// A number the owner gave out when it published the object.
    Number(i64),
    /// A name every connection knows (`root`).
    Name(Vec<u8>),
}

impl ObjectId {
    /// The root object every PB server publishes (`b"root"`).
    pub fn root() -> Self {
        ObjectId::Name(b"root".to_vec())
    }
}

impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ObjectId::Number(n) => write!(f, "{n}"),
            ObjectId::Name(name) => f.write_str(&bytes_repr(name)),
        }
    }
}

/// A value PB carries (see the [module docs](super) for the jelly of each).
///
/// Build one with the variants or the `From` conversions (`&str` and
/// `String` make [`Value::Str`], `&[u8]` and `Vec<u8>` [`Value::Bytes`]);
/// [`Display`](fmt::Display) writes it as Python's `repr` would.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `None`.
    None,
    /// `True` or `False`.
    Bool(bool),
    /// An integer that fits an `i64`.
    Int(i64),
    /// An integer that does not fit an `i64` (jelly's longs go up to 448
    /// bits, Banana's bound).
    Long(BigInt),
    /// A float.
    Float(f64),
    /// `bytes`.
    Bytes(Vec<u8>),
    /// `str`.
    Str(String),
    /// A `list`.
    List(Vec<Value>),
    /// A `tuple`.
    Tuple(Vec<Value>),
    /// A `dict`, its pairs in the order they were sent.
    Dict(Vec<(Value, Value)>),
    /// `["remote", id]`: an object the sender publishes, which the
    /// receiver may call (a `pb.Referenceable` on the Python side).
    Remote(ObjectId),
    /// `["local", id]`: one of the receiver's own published objects, sent
    /// back to it (a `RemoteReference` going home).
    Local(ObjectId),
    /// A failure (`pb.CopyableFailure`), as a remote method's exception
    /// travels.
    Failure(RemoteFailure),
    /// `["unpersistable", why]`: something the sender could not
    /// serialize (Twisted sends it for an instance of a class it may not
    /// copy).
    Unpersistable(String),
}

impl Value {
    /// An integer, as [`Value::Int`] when it fits an `i64`.
    pub fn integer(value: BigInt) -> Self {
        match i64::try_from(&value) {
            Ok(small) => Value::Int(small),
            Err(_) => Value::Long(value),
        }
    }

    /// The bytes of a string: a `bytes` value's, or a `str`'s in UTF-8.
    pub fn string_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Bytes(bytes) => Some(bytes),
            Value::Str(text) => Some(text.as_bytes()),
            _ => None,
        }
    }

    /// The text of a `str`.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(text) => Some(text),
            _ => None,
        }
    }

    /// The integer, if this is one that fits an `i64`.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(n) => Some(*n),
            _ => None,
        }
    }

    /// Python's name for the type (`str`, `bytes`, `int`...), for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::None => "NoneType",
            Value::Bool(_) => "bool",
            Value::Int(_) | Value::Long(_) => "int",
            Value::Float(_) => "float",
            Value::Bytes(_) => "bytes",
            Value::Str(_) => "str",
            Value::List(_) => "list",
            Value::Tuple(_) => "tuple",
            Value::Dict(_) => "dict",
            Value::Remote(_) | Value::Local(_) => "RemoteReference",
            Value::Failure(_) => "CopiedFailure",
            Value::Unpersistable(_) => "Unpersistable",
        }
    }
}

impl From<&str> for Value {
    fn from(text: &str) -> Self {
        Value::Str(text.to_owned())
    }
}

impl From<String> for Value {
    fn from(text: String) -> Self {
        Value::Str(text)
    }
}

impl From<&[u8]> for Value {
    fn from(bytes: &[u8]) -> Self {
        Value::Bytes(bytes.to_vec())
    }
}

impl From<Vec<u8>> for Value {
    fn from(bytes: Vec<u8>) -> Self {
        Value::Bytes(bytes)
    }
}

impl From<i64> for Value {
    fn from(n: i64) -> Self {
        Value::Int(n)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<f64> for Value {
    fn from(x: f64) -> Self {
        Value::Float(x)
    }
}

impl From<RemoteFailure> for Value {
    fn from(failure: RemoteFailure) -> Self {
        Value::Failure(failure)
    }
}

/// Python's `repr`, near enough: `None`, `True`, `'text'`, `b'bytes'`,
/// `[1, 2]`, `(1,)`, `{'k': 'v'}`.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn sequence(f: &mut fmt::Formatter<'_>, items: &[Value]) -> fmt::Result {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{item}")?;
            }
            Ok(())
        }
        match self {
            Value::None => f.write_str("None"),
            Value::Bool(true) => f.write_str("True"),
            Value::Bool(false) => f.write_str("False"),
            Value::Int(n) => write!(f, "{n}"),
            Value::Long(n) => write!(f, "{n}"),
            Value::Float(x) if x.is_nan() => f.write_str("nan"),
            Value::Float(x) if x.is_infinite() => f.write_str(if *x > 0.0 { "inf" } else { "-inf" }),
            Value::Float(x) => write!(f, "{x:?}"),
            Value::Bytes(bytes) => f.write_str(&bytes_repr(bytes)),
            Value::Str(text) => f.write_str(&str_repr(text)),
            Value::List(items) => {
                f.write_str("[")?;
                sequence(f, items)?;
                f.write_str("]")
            }
            Value::Tuple(items) => {
                f.write_str("(")?;
                sequence(f, items)?;
                f.write_str(if items.len() == 1 { ",)" } else { ")" })
            }
            Value::Dict(pairs) => {
                f.write_str("{")?;
                for (i, (key, value)) in pairs.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{key}: {value}")?;
                }
                f.write_str("}")
            }
            Value::Remote(id) => write!(f, "<RemoteReference {id}>"),
            Value::Local(id) => write!(f, "<local object {id}>"),
            Value::Failure(failure) => write!(f, "<{failure}>"),
            Value::Unpersistable(why) => write!(f, "Unpersistable({})", str_repr(why)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_pythons_repr() {
        let value = Value::List(vec![
            Value::None,
            Value::Bool(true),
            Value::Int(-3),
            Value::Float(1.5),
            Value::from("it's"),
            Value::from(&b"\x00"[..]),
            Value::Tuple(vec![Value::Int(1)]),
            Value::Tuple(vec![]),
            Value::Dict(vec![(Value::from("k"), Value::Float(f64::INFINITY))]),
        ]);
        assert_eq!(
            value.to_string(),
            "[None, True, -3, 1.5, \"it's\", b'\\x00', (1,), (), {'k': inf}]"
        );
    }

    #[test]
    fn integer_takes_the_small_form_when_it_fits() {
        assert_eq!(Value::integer(BigInt::from(7u8)), Value::Int(7));
        let big = BigInt::from(u64::MAX);
        assert_eq!(Value::integer(big.clone()), Value::Long(big));
    }
}
