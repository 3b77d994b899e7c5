//! Jelly, Twisted's serialization of values as Banana s-expressions
//! (`twisted.spread.jelly`), for what Perspective Broker carries.
//!
//! A value is an atom or a list whose first element names its type:
//!
//! | Python | jelly | [`Value`] |
//! | --- | --- | --- |
//! | `None` | `["None"]` | [`Value::None`] |
//! | `True` | `["boolean", "true"]` | [`Value::Bool`] |
//! | `1`, `2**70` | `1`, `1180591620717411303424` | [`Value::Int`], [`Value::Long`] |
//! | `1.5` | `1.5` | [`Value::Float`] |
//! | `b"k"` | `"k"` (a plain Banana string) | [`Value::Bytes`] |
//! | `"é"` | `["unicode", "\xc3\xa9"]` | [`Value::Str`] |
//! | `[1, "a"]` | `["list", 1, ["unicode", "a"]]` | [`Value::List`] |
//! | `(1, 2)` | `["tuple", 1, 2]` | [`Value::Tuple`] |
//! | `{"a": 1}` | `["dictionary", [["unicode", "a"], 1]]` | [`Value::Dict`] |
//! | a `pb.Referenceable` | `["remote", 3]` | [`Value::Remote`] |
//! | a `RemoteReference` sent home | `["local", 3]` | [`Value::Local`] |
//! | a `CopyableFailure` | `["twisted.spread.pb.CopyableFailure", ["dictionary", ...]]` | [`Value::Failure`] |
//! | what Twisted would not send | `["unpersistable", "why"]` | [`Value::Unpersistable`] |
//!
//! A structure that appears twice in one value (the same list object in
//! two places) is sent once inside `["reference", n, ...]` and then as
//! `["dereference", n]`; [`unjelly`] copies it into each place. A
//! structure that contains itself cannot be a [`Value`] and is refused.
//!
//! # What is refused
//!
//! Twisted's jelly can rebuild class instances, classes, modules and
//! functions, which runs code chosen by the sender; [`unjelly`] never
//! does: any type not in the table above (`set`, `datetime`, a class
//! name...) is refused with a [`JellyError`] that names it. Copies of
//! values are bounded too (a few kilobytes of references can otherwise
//! ask for gigabytes of copies): see [`Unjellier`].
//!
//! # Examples
//!
//! ```
//! use torsion_protocols::banana::{encoded, Dialect, Item};
//! use torsion_protocols::jelly::{self, Value};
//!
//! let value = Value::Dict(vec![(Value::from("k"), Value::List(vec![Value::None, Value::from(&b"v"[..])]))]);
//! let item = jelly::jelly(&value);
//! assert_eq!(item.to_string(), "(dictionary ((unicode k) (list (None) v)))");
//! assert_eq!(jelly::unjelly(&item).unwrap(), value);
//! assert_eq!(value.to_string(), "{'k': [None, b'v']}");
//! # let _ = (encoded, Dialect::Pb, Item::Int(0));
//! ```

mod decode;
mod encode;
mod error;
mod failure;
mod repr;
mod value;

pub use decode::{unjelly, Unjellier, DEFAULT_MAX_WEIGHT};
pub use encode::jelly;
pub use error::JellyError;
pub use failure::{RemoteFailure, COPYABLE_FAILURE};
pub use repr::{bytes_repr, str_repr};
pub use value::{ObjectId, Value};

/// The type names jelly writes as the first element of a list.
pub mod atoms {
    /// `None`.
    pub const NONE: &[u8] = b"None";
    /// `True` and `False`.
    pub const BOOLEAN: &[u8] = b"boolean";
    /// A `str`.
    pub const UNICODE: &[u8] = b"unicode";
    /// A `list`.
    pub const LIST: &[u8] = b"list";
    /// A `tuple`.
    pub const TUPLE: &[u8] = b"tuple";
    /// A `dict`.
    pub const DICTIONARY: &[u8] = b"dictionary";
    /// The first appearance of a structure that appears again.
    pub const REFERENCE: &[u8] = b"reference";
    /// A later appearance of a structure.
    pub const DEREFERENCE: &[u8] = b"dereference";
    /// An object the sender publishes: the receiver may call it.
    pub const REMOTE: &[u8] = b"remote";
    /// One of the receiver's own objects, sent back to it.
    pub const LOCAL: &[u8] = b"local";
    /// Something the sender could not serialize, and why.
    pub const UNPERSISTABLE: &[u8] = b"unpersistable";
}
