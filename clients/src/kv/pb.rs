//! The Perspective Broker client: the seeds' `RemoteKeyValue`
//! (`keyvalue_web2.py`), calling `get`, `set` and `delete` on a PB root
//! object: torsion-kv's `--pb-port`, or the seeds' own `keyvalue_pb.py`.

use std::str;

use torsion::defer::fail;
use torsion::endpoint::ClientEndpoint;
use torsion::{Deferred, Failure, Reactor};
use torsion_protocols::jelly::{RemoteFailure, Value};
use torsion_protocols::pb::{self, RemoteReference};

use super::error::{KeyNotFound, KvError};
use super::KeyValue;

/// How keys and values travel: as Python `str` or as `bytes`.
///
/// A Python store tells them apart (`"k"` and `b"k"` are two keys of a
/// dict), so a client must send what the other programs using the store
/// send. torsion-kv names one entry by either (their UTF-8 bytes), and
/// answers a value as what it was set as.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Strings {
    /// `str`: keys and values must be UTF-8.
    #[default]
    Str,
    /// `bytes`: anything goes.
    Bytes,
}

/// Calls `get`, `set` and `delete` on a PB root object over one
/// connection. Cheap to clone.
///
/// Calls are in flight together, each answered by its own request
/// number. A `KeyError` from the server becomes [`KeyNotFound`]; other
/// failures the server sends stay
/// [`RemoteFailure`]s, and local failures are
/// [`CallError`](torsion_protocols::pb::CallError)s or [`KvError`]s. A
/// value that is neither `str` nor `bytes` (a Python server stores
/// anything) is given as Python's `repr` of it.
#[derive(Clone, Debug)]
pub struct PbKvClient {
    root: RemoteReference,
    strings: Strings,
}

impl PbKvClient {
    /// A client calling `root`, sending keys and values as `strings`.
    pub fn new(root: RemoteReference, strings: Strings) -> Self {
        PbKvClient { root, strings }
    }

    /// The root object it calls.
    pub fn root(&self) -> &RemoteReference {
        &self.root
    }

    /// `bytes` as the value to send.
    fn string(&self, bytes: &[u8]) -> Result<Value, String> {
        match self.strings {
            Strings::Bytes => Ok(Value::from(bytes)),
            Strings::Str => str::from_utf8(bytes)
                .map(Value::from)
                .map_err(|_| "not UTF-8, so not a str (send bytes instead)".to_string()),
        }
    }

    /// `get(key)`: the value, or [`KeyNotFound`].
    #[track_caller]
    pub fn get(&self, reactor: &mut Reactor, key: &[u8]) -> Deferred<Vec<u8>> {
        let argument = match self.string(key) {
            Ok(argument) => argument,
            Err(why) => return fail(KvError::InvalidKey(why)),
        };
        let key = key.to_vec();
        self.root.call_remote(reactor, "get", vec![argument]).then_both(
            reactor,
            move |_, result| match result {
                Ok(value) => Ok(value_bytes(value)),
                Err(failure) => Err(not_found(failure, key)),
            },
        )
    }

    /// `set(key, value)`.
    #[track_caller]
    pub fn set(&self, reactor: &mut Reactor, key: &[u8], value: &[u8]) -> Deferred<()> {
        let arguments = match (self.string(key), self.string(value)) {
            (Ok(key), Ok(value)) => vec![key, value],
            (Err(why), _) => return fail(KvError::InvalidKey(why)),
            (_, Err(why)) => return fail(KvError::InvalidValue(why)),
        };
        self.root
            .call_remote(reactor, "set", arguments)
            .then(reactor, |_, _key| Ok(()))
    }

    /// `delete(key)`: done, or [`KeyNotFound`].
    #[track_caller]
    pub fn delete(&self, reactor: &mut Reactor, key: &[u8]) -> Deferred<()> {
        let argument = match self.string(key) {
            Ok(argument) => argument,
            Err(why) => return fail(KvError::InvalidKey(why)),
        };
        let key = key.to_vec();
        self.root
            .call_remote(reactor, "delete", vec![argument])
            .then_both(reactor, move |_, result| match result {
                Ok(_) => Ok(()),
                Err(failure) => Err(not_found(failure, key)),
            })
    }
}

/// A value's bytes: a `str`'s UTF-8, the `bytes`, or the `repr` of anything else.
fn value_bytes(value: Value) -> Vec<u8> {
    match value {
        Value::Bytes(bytes) => bytes,
        Value::Str(text) => text.into_bytes(),
        other => other.to_string().into_bytes(),
    }
}

/// A `KeyError` becomes [`KeyNotFound`]; other failures pass.
fn not_found(failure: Failure, key: Vec<u8>) -> Failure {
    match failure.find::<RemoteFailure>() {
        Some(remote) if remote.is_key_error() => Failure::new(KeyNotFound { key }),
        _ => failure,
    }
}

impl KeyValue for PbKvClient {
    fn get(&self, reactor: &mut Reactor, key: &[u8]) -> Deferred<Vec<u8>> {
        PbKvClient::get(self, reactor, key)
    }

    fn set(&self, reactor: &mut Reactor, key: &[u8], value: &[u8]) -> Deferred<()> {
        PbKvClient::set(self, reactor, key, value)
    }

    fn delete(&self, reactor: &mut Reactor, key: &[u8]) -> Deferred<()> {
        PbKvClient::delete(self, reactor, key)
    }
}

/// Connects to a PB server at `endpoint` (torsion-kv's `--pb-port`, or
/// `keyvalue_pb.py`) and fetches its root object; fires with the client.
#[track_caller]
pub fn connect(reactor: &mut Reactor, endpoint: &ClientEndpoint, strings: Strings) -> Deferred<PbKvClient> {
    pb::connect(reactor, endpoint).then(reactor, move |_, root| Ok(PbKvClient::new(root, strings)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_as_bytes() {
        assert_eq!(value_bytes(Value::from("é")), "é".as_bytes());
        assert_eq!(value_bytes(Value::from(&b"\xff"[..])), b"\xff");
        assert_eq!(value_bytes(Value::Int(42)), b"42");
        assert_eq!(value_bytes(Value::None), b"None");
    }

    #[test]
    fn only_key_errors_are_key_not_found() {
        let key_error = Failure::new(RemoteFailure::key_error(&Value::from("k")));
        assert!(not_found(key_error, b"k".to_vec()).is::<KeyNotFound>());
        let other = Failure::new(RemoteFailure::type_error("x"));
        assert!(not_found(other, b"k".to_vec()).is::<RemoteFailure>());
    }
}
