//! The store over Perspective Broker: the seeds' `KeyValuePB`, a root
//! object whose `get`, `set` and `delete` any Twisted PB client calls
//! (`keyvalue_web2.py`'s `RemoteKeyValue`, say).

use std::rc::Rc;

use torsion_protocols::jelly::{RemoteFailure, Value};
use torsion_protocols::pb::{PbServerFactory, Referenceable};

use super::store::{KvStore, ValueKind};

/// Room in a message for everything but the key and the value: the
/// message's own elements, the jelly around the arguments, and some more
/// a peer may add.
pub const MESSAGE_OVERHEAD: usize = 4096;

/// The root object on `store`, as the seeds' `KeyValuePB(store)`:
///
/// - `get(key)` answers the value, or fails with `KeyError(key)`;
/// - `set(key, value)` answers the key (the seeds' store returns it);
/// - `delete(key)` answers `None`, or fails with `KeyError(key)`.
///
/// Keys and values are `str` or `bytes`; a key names the same entry either
/// way (its UTF-8 bytes: the line protocol and AMP share the store), and a
/// value comes back as the type it was set as. A value set over the line
/// protocol or AMP comes back as a `str` when it is UTF-8, `bytes` if not.
/// Anything else is a `TypeError`; a key or value past the store's bounds
/// a `ValueError`.
pub fn root(store: KvStore) -> Referenceable {
    let (for_get, for_set, for_delete) = (store.clone(), store.clone(), store);
    Referenceable::new()
        .method("get", &["key"], move |_, args| {
            let key = key_bytes(&args[0])?;
            match for_get.get_as(key) {
                Some((value, kind)) => Ok(stored_value(&value, kind)),
                None => Err(RemoteFailure::key_error(&args[0])),
            }
        })
        .method("set", &["key", "value"], move |call, args| {
            let key = key_bytes(&args[0])?;
            let (value, kind) = match &args[1] {
                Value::Str(text) => (text.as_bytes(), ValueKind::Text),
                Value::Bytes(bytes) => (bytes.as_slice(), ValueKind::Bytes),
                other => {
                    return Err(RemoteFailure::type_error(format!(
                        "a value is a str or bytes, not {}",
                        other.type_name()
                    )))
                }
            };
            for_set
                .set_as(call.reactor(), key, value, kind)
                .map_err(|e| RemoteFailure::value_error(e.to_string()))?;
            Ok(args[0].clone())
        })
        .method("delete", &["key"], move |call, args| {
            if for_delete.delete(call.reactor(), key_bytes(&args[0])?) {
                Ok(Value::None)
            } else {
                Err(RemoteFailure::key_error(&args[0]))
            }
        })
}

/// A [`PbServerFactory`] publishing [`root`] on `store`. Messages are
/// bounded by what the largest `set` needs: the longest key and value plus
/// [`MESSAGE_OVERHEAD`].
pub fn factory(store: KvStore) -> PbServerFactory {
    let limits = store.config().limits;
    let max_message = limits.max_key_length + limits.max_value_length + MESSAGE_OVERHEAD;
    PbServerFactory::new(Rc::new(root(store))).with_max_message(max_message)
}

/// The bytes of a key: a `str`'s UTF-8, or the `bytes`.
fn key_bytes(key: &Value) -> Result<&[u8], RemoteFailure> {
    match key {
        Value::Str(_) | Value::Bytes(_) => Ok(key.string_bytes().unwrap_or_default()),
        other => Err(RemoteFailure::type_error(format!(
            "a key is a str or bytes, not {}",
            other.type_name()
        ))),
    }
}

/// A stored value as the type it was set as.
fn stored_value(value: &[u8], kind: ValueKind) -> Value {
    match (kind, std::str::from_utf8(value)) {
        (ValueKind::Bytes, _) | (_, Err(_)) => Value::Bytes(value.to_vec()),
        (ValueKind::Text | ValueKind::Untyped, Ok(text)) => Value::from(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_come_back_as_they_were_set() {
        assert_eq!(stored_value(b"v", ValueKind::Text), Value::from("v"));
        assert_eq!(stored_value(b"v", ValueKind::Bytes), Value::from(&b"v"[..]));
        assert_eq!(stored_value(b"v", ValueKind::Untyped), Value::from("v"));
        assert_eq!(
            stored_value(b"\xff", ValueKind::Untyped),
            Value::from(&b"\xff"[..])
        );
    }

    #[test]
    fn keys_are_str_or_bytes() {
        assert_eq!(key_bytes(&Value::from("é")), Ok("é".as_bytes()));
        assert_eq!(key_bytes(&Value::from(&b"k"[..])), Ok(&b"k"[..]));
        let refused = key_bytes(&Value::Int(1)).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "builtins.TypeError: a key is a str or bytes, not int"
        );
    }
}
