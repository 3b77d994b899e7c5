//! [`Exports`]: the objects one connection publishes, and how many
//! references to each the peer holds (Twisted's `localObjects`).

use std::collections::HashMap;
use std::rc::Rc;

use super::error::CallError;
use super::referenceable::Referenceable;
use crate::jelly::{ObjectId, Value};

/// How many numbered objects one connection may publish at once, as in
/// Twisted (`MAX_BROKER_REFS`).
pub const MAX_BROKER_REFS: usize = 1024;

/// A published object and the references to it the peer holds.
struct Export {
    object: Rc<Referenceable>,
    references: u32,
}

/// The objects a connection publishes: named ones (`root`), which live as
/// long as the connection, and numbered ones, which live while the peer
/// holds a reference (each time one is sent counts one; each `decref`
/// drops one).
#[derive(Default)]
pub(crate) struct Exports {
    named: HashMap<Vec<u8>, Rc<Referenceable>>,
    numbered: HashMap<i64, Export>,
    /// Each numbered object's number, by its address: one number per
    /// object, however often it is sent.
    numbers: HashMap<usize, i64>,
    last: i64,
}

fn address(object: &Rc<Referenceable>) -> usize {
    Rc::as_ptr(object) as usize
}

impl Exports {
    /// Publishes `object` under `name` (the root object).
    pub(crate) fn name(&mut self, name: &[u8], object: Rc<Referenceable>) {
        self.named.insert(name.to_vec(), object);
    }

    /// Publishes `object` by number (the same number if it already is).
    pub(crate) fn publish(&mut self, object: &Rc<Referenceable>) -> Result<ObjectId, CallError> {
        if let Some(number) = self.numbers.get(&address(object)) {
            return Ok(ObjectId::Number(*number));
        }
        if self.numbered.len() >= MAX_BROKER_REFS {
            return Err(CallError::TooManyReferences {
                limit: MAX_BROKER_REFS,
            });
        }
        self.last += 1;
        let number = self.last;
        self.numbers.insert(address(object), number);
        self.numbered.insert(
            number,
            Export {
                object: object.clone(),
                references: 0,
            },
        );
        Ok(ObjectId::Number(number))
    }

    /// The object `id` names, if it is published.
    pub(crate) fn lookup(&self, id: &ObjectId) -> Option<Rc<Referenceable>> {
        match id {
            ObjectId::Name(name) => self.named.get(name).cloned(),
            ObjectId::Number(n) => self.numbered.get(n).map(|e| e.object.clone()),
        }
    }

    /// Checks that every numbered object `value` names is published, before
    /// it is sent.
    pub(crate) fn check(&self, value: &Value) -> Result<(), CallError> {
        let mut mentioned = Vec::new();
        published_mentions(value, &mut mentioned);
        match mentioned.iter().find(|n| !self.numbered.contains_key(n)) {
            Some(unknown) => Err(CallError::Encode(format!(
                "object {unknown} is not published on this connection"
            ))),
            None => Ok(()),
        }
    }

    /// `value` was sent: each mention of a published object is one more
    /// reference the peer holds.
    pub(crate) fn count(&mut self, value: &Value) {
        let mut mentioned = Vec::new();
        published_mentions(value, &mut mentioned);
        for n in mentioned {
            if let Some(export) = self.numbered.get_mut(&n) {
                export.references = export.references.saturating_add(1);
            }
        }
    }

    /// The peer dropped a reference to `id`; the object is forgotten when
    /// none is left. Whether `id` was published.
    pub(crate) fn decref(&mut self, id: &ObjectId) -> bool {
        let n = match id {
            // Named objects are not counted (Twisted's root is not either).
            ObjectId::Name(name) => return self.named.contains_key(name),
            ObjectId::Number(n) => *n,
        };
        let Some(export) = self.numbered.get_mut(&n) else {
            return false;
        };
        export.references = export.references.saturating_sub(1);
        if export.references == 0 {
            if let Some(export) = self.numbered.remove(&n) {
                self.numbers.remove(&address(&export.object));
            }
        }
        true
    }

    /// How many numbered objects are published.
    pub(crate) fn len(&self) -> usize {
        self.numbered.len()
    }

    /// Forgets everything (the connection closed).
    pub(crate) fn clear(&mut self) {
        self.named.clear();
        self.numbered.clear();
        self.numbers.clear();
    }
}

/// Every `Remote(Number(n))` in `value`: the objects it publishes.
fn published_mentions(value: &Value, out: &mut Vec<i64>) {
    match value {
        Value::Remote(ObjectId::Number(n)) => out.push(*n),
        Value::List(items) | Value::Tuple(items) => items.iter().for_each(|v| published_mentions(v, out)),
        Value::Dict(pairs) => pairs.iter().for_each(|(k, v)| {
            published_mentions(k, out);
            published_mentions(v, out);
        }),
        _ => {}
    }
}

/// Every `Remote(Number(n))` in a received value: references the peer
/// counted, which [`RemoteReference::release`](super::RemoteReference::release)
/// gives back.
pub(crate) fn remote_mentions(value: &Value, out: &mut Vec<i64>) {
    published_mentions(value, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_published_object_lives_while_the_peer_holds_a_reference() {
        let mut exports = Exports::default();
        let object = Rc::new(Referenceable::new());
        let id = exports.publish(&object).unwrap();
        assert_eq!(exports.publish(&object).unwrap(), id, "one number per object");
        let sent = Value::List(vec![Value::Remote(id.clone()), Value::Remote(id.clone())]);
        exports.check(&sent).unwrap();
        exports.count(&sent);
        assert!(exports.decref(&id));
        assert!(exports.lookup(&id).is_some(), "one reference left");
        assert!(exports.decref(&id));
        assert!(exports.lookup(&id).is_none());
        assert!(!exports.decref(&id));
        assert!(exports.check(&Value::Remote(ObjectId::Number(99))).is_err());
    }

    #[test]
    fn at_most_max_broker_refs_objects() {
        let mut exports = Exports::default();
        for _ in 0..MAX_BROKER_REFS {
            exports.publish(&Rc::new(Referenceable::new())).unwrap();
        }
        assert!(matches!(
            exports.publish(&Rc::new(Referenceable::new())),
            Err(CallError::TooManyReferences { .. })
        ));
        assert_eq!(exports.len(), MAX_BROKER_REFS);
    }
}
