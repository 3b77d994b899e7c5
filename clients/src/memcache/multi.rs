//! Gathering a multi-get split into parts (chunks of keys, or servers of a
//! pool) back into one result.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use bytes::Bytes;
use torsion::Reactor;

use super::error::MemcacheError;
use super::value::Value;

/// The values a multi-get found, by key.
pub type Values = HashMap<Bytes, Value>;

/// What runs when a whole multi-get is done.
pub type MultiCompletion = Box<dyn FnOnce(&mut Reactor, Result<Values, MemcacheError>)>;

/// The parts of one multi-get still out, and what they found so far. The
/// first failure wins: the whole multi-get fails with it once every part
/// is done.
pub(crate) struct Gather {
    remaining: usize,
    values: Values,
    error: Option<MemcacheError>,
    complete: Option<MultiCompletion>,
}

pub(crate) type SharedGather = Rc<RefCell<Gather>>;

impl Gather {
    /// A gathering of `parts` parts.
    pub(crate) fn new(parts: usize, complete: MultiCompletion) -> SharedGather {
        Rc::new(RefCell::new(Gather {
            remaining: parts,
            values: HashMap::new(),
            error: None,
            complete: Some(complete),
        }))
    }

    /// A part could not even be sent (parts are refused while the request
    /// is being made, before any can complete). Returns the error when
    /// every part was refused: nothing will complete the gathering then,
    /// and the caller reports the error itself.
    pub(crate) fn refused(gather: &SharedGather, error: MemcacheError) -> Option<MemcacheError> {
        let mut g = gather.borrow_mut();
        g.remaining -= 1;
        let error = g.error.get_or_insert(error).clone();
        if g.remaining == 0 {
            g.complete = None;
            return Some(error);
        }
        None
    }

    /// A part is done; the last one completes the gathering.
    pub(crate) fn done(
        gather: &SharedGather,
        reactor: &mut Reactor,
        result: Result<Vec<(Bytes, Value)>, MemcacheError>,
    ) {
        let finished = {
            let mut g = gather.borrow_mut();
            match result {
                Ok(values) => g.values.extend(values),
                Err(error) => {
                    g.error.get_or_insert(error);
                }
            }
            g.remaining -= 1;
            if g.remaining > 0 {
                return;
            }
            let values = std::mem::take(&mut g.values);
            g.complete.take().map(|c| (c, g.error.take(), values))
        };
        if let Some((complete, error, values)) = finished {
            complete(reactor, error.map_or(Ok(values), Err));
        }
    }
}
