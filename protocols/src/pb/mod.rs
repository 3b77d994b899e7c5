//! Perspective Broker, Twisted's remote method calls
//! (`twisted.spread.pb`), wire-compatible with Twisted.
//!
//! # The conversation
//!
//! Everything on the wire is [Banana](crate::banana); arguments and
//! answers are [jellied](crate::jelly) values. A connection goes:
//!
//! ```text
//! S: ["pb", "none"]                         the dialects the server knows
//! C: "pb"                                   the client's pick
//! C: ["version", 6]   S: ["version", 6]     both, once the dialect is agreed
//! C: ["message", 1, "root", "get", 1, ["tuple", ["unicode", "k"]], ["dictionary"]]
//! S: ["answer", 1, ["unicode", "v"]]
//! C: ["message", 2, "root", "get", 1, ["tuple", ["unicode", "gone"]], ["dictionary"]]
//! S: ["error", 2, ["twisted.spread.pb.CopyableFailure", ["dictionary", ...]]]
//! ```
//!
//! A call (`message`) carries a request number, the object called (the
//! server's root object is `"root"`; others are numbers), the method, whether
//! an answer is wanted, and the positional and keyword arguments. Its
//! `answer` or `error` carries the number back, so any number of calls may
//! be in flight. A remote method's exception travels as a failure: a
//! `KeyError` raised for a missing key reaches the caller as a
//! [`RemoteFailure`](crate::jelly::RemoteFailure) that
//! [`is_key_error`](crate::jelly::RemoteFailure::is_key_error).
//! `PBClientFactory.getRootObject()` sends nothing: once the versions are
//! exchanged, the root is simply the object named `"root"`.
//!
//! An object may also publish others, by answering (or passing)
//! [`CallContext::publish`]'s value: the peer then holds a reference it can
//! call, and sends `decref` when it drops it.
//!
//! # The pieces
//!
//! - Sans-I/O: [`Message`] and [`Call`] (a PB message from and to a
//!   Banana expression).
//! - On the reactor: [`Broker`], the protocol of one connection;
//!   [`Referenceable`], an object with methods registered by name, and
//!   [`Reply`], what a method answers; [`RemoteReference`], an object of
//!   the peer's, with [`call_remote`](RemoteReference::call_remote)
//!   returning a Deferred. [`PbServerFactory`] serves a root object;
//!   [`connect`] connects and fires with the server's root.
//!
//! # Examples
//!
//! The seeds' `keyvalue_pb.py` and its client on one reactor:
//!
//! ```
//! use std::{cell::RefCell, collections::HashMap, rc::Rc};
//! use torsion::{endpoint::ClientEndpoint, Reactor};
//! use torsion_protocols::jelly::{RemoteFailure, Value};
//! use torsion_protocols::pb::{self, PbServerFactory, Referenceable};
//!
//! let store: Rc<RefCell<HashMap<Vec<u8>, Value>>> = Rc::default();
//! let (for_get, for_set) = (store.clone(), store.clone());
//! let root = Referenceable::new()
//!     .method("get", &["key"], move |_, args| match for_get.borrow().get(args[0].string_bytes().unwrap_or_default()) {
//!         Some(value) => Ok(value.clone()),
//!         None => Err(RemoteFailure::key_error(&args[0])),
//!     })
//!     .method("set", &["key", "value"], move |_, args| {
//!         for_set.borrow_mut().insert(args[0].string_bytes().unwrap_or_default().to_vec(), args[1].clone());
//!         Ok::<_, RemoteFailure>(args[0].clone())
//!     });
//!
//! let mut reactor = Reactor::new()?;
//! let listener = reactor.listen_tcp("127.0.0.1:0".parse().unwrap(), PbServerFactory::new(Rc::new(root)))?;
//! let port = reactor.local_addr(listener).and_then(|a| a.as_socket_addr()).unwrap().port();
//!
//! let outcome = pb::connect(&mut reactor, &ClientEndpoint::tcp("127.0.0.1", port)).then(&mut reactor, |r, root| {
//!     let _ = root.call_remote(r, "set", vec![Value::from("greeting"), Value::from("hello")]);
//!     let value = root.call_remote(r, "get", vec![Value::from("greeting")]);
//!     let missing = root.call_remote(r, "get", vec![Value::from("nothing")]);
//!     value.then(r, move |r, value| {
//!         missing.then_both(r, move |_, result| {
//!             let failure = result.unwrap_err();
//!             Ok((value, failure.find::<RemoteFailure>().cloned()))
//!         })
//!     })
//! });
//! let (value, failure) = reactor.run_until_complete(outcome)?.unwrap();
//! assert_eq!(value, Value::from("hello"));
//! assert_eq!(failure.unwrap().to_string(), "builtins.KeyError: 'nothing'");
//! # Ok::<(), std::io::Error>(())
//! ```

mod broker;
mod error;
mod exports;
mod factory;
mod link;
mod message;
mod reference;
mod referenceable;
#[cfg(test)]
mod tests;

pub use broker::Broker;
pub use error::CallError;
pub use exports::MAX_BROKER_REFS;
pub use factory::{connect, PbServerFactory};
pub use link::DEFAULT_MAX_PENDING;
pub use message::{Call, Message, MessageError, PROTOCOL_VERSION};
pub use reference::RemoteReference;
pub use referenceable::{CallContext, Referenceable, Reply};

/// The port the seeds' PB server listens on (`keyvalue_pb.py`).
pub const SEED_PORT: u16 = 8789;
