//! [`RemoteFailure`]: an exception as Perspective Broker sends it (a
//! `pb.CopyableFailure`).

use std::fmt;

use super::error::JellyError;
use super::repr::str_repr;
use super::value::Value;

/// The class name a failure is sent under (its jelly type).
pub const COPYABLE_FAILURE: &str = "twisted.spread.pb.CopyableFailure";

/// The classes every exception derives from, as `reflect.qual` names them.
const EXCEPTION: [&str; 3] = ["builtins.Exception", "builtins.BaseException", "builtins.object"];

/// The traceback Twisted sends unless told to send the real one.
const NO_TRACEBACK: &str = "Traceback unavailable\n";

/// A remote method's exception, as PB carries it: the exception's class
/// (by its full name), its `str()`, the classes it derives from, and a
/// traceback (Twisted sends `"Traceback unavailable\n"` unless its factory
/// has `unsafeTracebacks`).
///
/// On the Python side it becomes a `CopiedFailure`, whose `check(KeyError)`
/// works because [`parents`](RemoteFailure::parents) names
/// `builtins.KeyError`. Here, [`check`](RemoteFailure::check) does the
/// same.
///
/// # Examples
///
/// ```
/// use torsion_protocols::jelly::{RemoteFailure, Value};
///
/// let failure = RemoteFailure::key_error(&Value::from("missing"));
/// assert_eq!(failure.to_string(), "builtins.KeyError: 'missing'");
/// assert!(failure.check("builtins.LookupError"));
/// assert!(failure.is_key_error());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteFailure {
    /// The exception's class, fully named: `builtins.KeyError`.
    pub type_name: String,
    /// Its `str()`: for a `KeyError`, the `repr` of the key (`'missing'`).
    pub value: String,
    /// The classes it is an instance of, itself first.
    pub parents: Vec<String>,
    /// The remote traceback, or Twisted's "Traceback unavailable".
    pub traceback: String,
}

impl RemoteFailure {
    /// A failure of class `type_name` (whose other ancestors are `bases`,
    /// nearest first, before `Exception`) with message `value`.
    pub fn new(type_name: &str, value: impl Into<String>, bases: &[&str]) -> Self {
        let parents = std::iter::once(type_name)
            .chain(bases.iter().copied())
            .chain(EXCEPTION.iter().copied().filter(|c| *c != type_name))
            .map(String::from)
            .collect();
        RemoteFailure {
            type_name: type_name.to_owned(),
            value: value.into(),
            parents,
            traceback: NO_TRACEBACK.to_owned(),
        }
    }

    /// `KeyError(key)`: what a dictionary raises for a missing key (its
    /// message is the key's `repr`).
    pub fn key_error(key: &Value) -> Self {
        Self::new("builtins.KeyError", key.to_string(), &["builtins.LookupError"])
    }

    /// `TypeError(message)`: wrong arguments, or a value of the wrong type.
    pub fn type_error(message: impl Into<String>) -> Self {
        Self::new("builtins.TypeError", message, &[])
    }

    /// `ValueError(message)`.
    pub fn value_error(message: impl Into<String>) -> Self {
        Self::new("builtins.ValueError", message, &[])
    }

    /// `Exception(message)`: a failure with no more precise class.
    pub fn exception(message: impl Into<String>) -> Self {
        Self::new("builtins.Exception", message, &[])
    }

    /// What Twisted sends for a method the object does not have.
    pub fn no_such_method(name: &str) -> Self {
        Self::new(
            "twisted.spread.flavors.NoSuchMethod",
            format!("No such method: remote_{name}"),
            &["builtins.AttributeError"],
        )
    }

    /// `pb.Error(message)`: what Twisted sends for a call to an object id
    /// it does not know (`Invalid Object ID`).
    pub fn pb_error(message: impl Into<String>) -> Self {
        Self::new("twisted.spread.pb.Error", message, &[])
    }

    /// `InsecureJelly(message)`: arguments Torsion refused to unjelly.
    pub fn insecure_jelly(message: impl Into<String>) -> Self {
        Self::new("twisted.spread.jelly.InsecureJelly", message, &[])
    }

    /// Whether the exception is an instance of `class` (a full name, as
    /// `builtins.KeyError`): Twisted's `Failure.check`.
    pub fn check(&self, class: &str) -> bool {
        self.type_name == class || self.parents.iter().any(|p| p == class)
    }

    /// The failure in one line, its message quoted, for logs:
    /// `builtins.TypeError('...')`.
    pub fn summary(&self) -> String {
        format!("{}({})", self.type_name, str_repr(&self.value))
    }

    /// Whether it is a `KeyError`.
    pub fn is_key_error(&self) -> bool {
        self.check("builtins.KeyError")
    }

    /// The state Twisted's `CopyableFailure.getStateToCopy` sends, key for
    /// key and in its order.
    pub fn to_state(&self) -> Value {
        let entry = |key: &str, value: Value| (Value::from(key), value);
        let strings = |items: &[String]| Value::List(items.iter().map(|s| Value::from(s.as_str())).collect());
        Value::Dict(vec![
            entry("count", Value::Int(1)),
            entry("type", Value::Bytes(self.type_name.as_bytes().to_vec())),
            entry("value", Value::from(self.value.as_str())),
            entry("captureVars", Value::Bool(false)),
            entry("tb", Value::None),
            entry("unsafeTracebacks", Value::Bool(false)),
            entry("parents", strings(&self.parents)),
            entry("frames", Value::List(Vec::new())),
            entry("stack", Value::List(Vec::new())),
            entry("traceback", Value::from(self.traceback.as_str())),
        ])
    }

    /// Reads the state of a `CopyableFailure`. Only `type` is required;
    /// the rest default as a Twisted peer would show them.
    pub fn from_state(state: &Value) -> Result<Self, JellyError> {
        let Value::Dict(pairs) = state else {
            return Err(JellyError::malformed(format!(
                "a failure's state is a {}, not a dict",
                state.type_name()
            )));
        };
        let field = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| k.string_bytes() == Some(name.as_bytes()))
                .map(|(_, v)| v)
        };
        let text = |value: &Value| match value.string_bytes() {
            Some(bytes) => String::from_utf8_lossy(bytes).into_owned(),
            None => value.to_string(),
        };
        let type_name = field("type")
            .map(text)
            .ok_or_else(|| JellyError::malformed("a failure without its type"))?;
        let parents = match field("parents") {
            Some(Value::List(items) | Value::Tuple(items)) => items.iter().map(text).collect(),
            _ => vec![type_name.clone()],
        };
        Ok(RemoteFailure {
            value: field("value").map(text).unwrap_or_default(),
            traceback: field("traceback").map(text).unwrap_or_default(),
            parents,
            type_name,
        })
    }
}

impl fmt::Display for RemoteFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.type_name, self.value)
    }
}

impl std::error::Error for RemoteFailure {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents_as_twisted_names_them() {
        assert_eq!(
            RemoteFailure::key_error(&Value::from(&b"k"[..])).parents,
            [
                "builtins.KeyError",
                "builtins.LookupError",
                "builtins.Exception",
                "builtins.BaseException",
                "builtins.object"
            ]
        );
        assert_eq!(
            RemoteFailure::exception("x").parents,
            ["builtins.Exception", "builtins.BaseException", "builtins.object"]
        );
        let nsm = RemoteFailure::no_such_method("frob");
        assert_eq!(nsm.value, "No such method: remote_frob");
        assert!(nsm.check("builtins.AttributeError"));
    }

    #[test]
    fn state_round_trips() {
        let failure = RemoteFailure::key_error(&Value::from("k"));
        assert_eq!(RemoteFailure::from_state(&failure.to_state()), Ok(failure));
        assert!(RemoteFailure::from_state(&Value::Dict(vec![])).is_err());
        assert!(RemoteFailure::from_state(&Value::None).is_err());
        let minimal = Value::Dict(vec![(Value::from(&b"type"[..]), Value::from(&b"x.Y"[..]))]);
        let read = RemoteFailure::from_state(&minimal).unwrap();
        assert_eq!((read.type_name.as_str(), read.parents.len()), ("x.Y", 1));
        assert_eq!(read.summary(), "x.Y('')");
    }
}
