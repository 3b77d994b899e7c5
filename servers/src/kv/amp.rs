//! The store over AMP: responders for `Get`, `Set` and `Delete` (the
//! seeds' `KeyValuePB`, in a protocol any AMP peer speaks).

use std::rc::Rc;

use torsion_protocols::amp::{AmpFactory, RemoteError, Responders};
use torsion_protocols::kv::commands::{
    Delete, Get, Key, KeyValue, Set, Value, INVALID_KEY, KEY_NOT_FOUND, VALUE_TOO_LONG,
};

use super::store::{KvStore, StoreError};

/// Responders for the key-value commands on `store`.
///
/// - `Get(key)` answers `value`, or fails with `KEY_NOT_FOUND` (its
///   description is the key, as the seeds' `KeyError(key)`).
/// - `Set(key, value)` answers nothing; a key or value past the store's
///   bounds fails with `INVALID_KEY` or `VALUE_TOO_LONG`.
/// - `Delete(key)` answers nothing, or fails with `KEY_NOT_FOUND`.
pub fn responders(store: KvStore) -> Responders {
    let (for_get, for_set, for_delete) = (store.clone(), store.clone(), store);
    Responders::new()
        .on::<Get, _>(move |_, Key { key }| match for_get.get(&key) {
            Some(value) => Ok(Value {
                value: value.to_vec(),
            }),
            None => Err(not_found(&key)),
        })
        .on::<Set, _>(move |ctx, KeyValue { key, value }| {
            for_set.set(ctx, &key, &value).map_err(|e| {
                let code = match e {
                    StoreError::EmptyKey | StoreError::KeyTooLong { .. } => INVALID_KEY,
                    StoreError::ValueTooLong { .. } => VALUE_TOO_LONG,
                };
                RemoteError::new(code, e.to_string())
            })
        })
        .on::<Delete, _>(move |ctx, Key { key }| {
            if for_delete.delete(ctx, &key) {
                Ok(())
            } else {
                Err(not_found(&key))
            }
        })
}

/// Room in a box for everything but the key and the value: the reserved
/// keys, a tag, the argument names, their lengths, and a few keys more a
/// peer may add.
pub const BOX_OVERHEAD: usize = 1024;

/// An [`AmpFactory`] answering the key-value commands on `store`. Boxes
/// are bounded by what the largest `Set` needs: the longest key and value
/// plus [`BOX_OVERHEAD`].
pub fn factory(store: KvStore) -> AmpFactory {
    let limits = store.config().limits;
    let max_box = limits.max_key_length + limits.max_value_length + BOX_OVERHEAD;
    AmpFactory::new(Rc::new(responders(store))).with_max_box_size(max_box)
}

fn not_found(key: &[u8]) -> RemoteError {
    RemoteError::new(KEY_NOT_FOUND, String::from_utf8_lossy(key))
}
