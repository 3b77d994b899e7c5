//! [`Referenceable`]: an object whose methods the peer may call (Twisted's
//! `pb.Referenceable` and `pb.Root`), with [`Reply`] and [`CallContext`].

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::rc::Rc;

use torsion::{Ctx, Deferred, Reactor};

use super::error::CallError;
use super::link::Link;
use super::reference::RemoteReference;
use crate::jelly::{RemoteFailure, Value};

/// What a remote method answers: a value or a failure now, or a Deferred
/// that fires with either later (the answer is sent when it fires).
///
/// `Value`, `RemoteFailure`, `Result<Value, RemoteFailure>` and
/// `Deferred<Value>` all convert into it, so a method returns whichever it
/// has.
pub enum Reply {
    /// The answer is ready.
    Ready(Result<Value, RemoteFailure>),
    /// The answer comes when this fires. A failure carrying a
    /// [`RemoteFailure`] is sent as it is; any other failure is sent as a
    /// `builtins.Exception` with the failure's message.
    Later(Deferred<Value>),
}

impl From<Result<Value, RemoteFailure>> for Reply {
    fn from(result: Result<Value, RemoteFailure>) -> Self {
        Reply::Ready(result)
    }
}

impl From<Value> for Reply {
    fn from(value: Value) -> Self {
        Reply::Ready(Ok(value))
    }
}

impl From<RemoteFailure> for Reply {
    fn from(failure: RemoteFailure) -> Self {
        Reply::Ready(Err(failure))
    }
}

impl From<Deferred<Value>> for Reply {
    fn from(later: Deferred<Value>) -> Self {
        Reply::Later(later)
    }
}

/// What a remote method gets besides its arguments: the connection it was
/// called on ([`Deref`]s to its [`Ctx`], and through it to the
/// [`Reactor`]), and the means to publish objects on it and to call the
/// objects the caller published.
pub struct CallContext<'c, 'a> {
    ctx: &'c mut Ctx<'a>,
    link: &'c Rc<RefCell<Link>>,
}

impl<'c, 'a> CallContext<'c, 'a> {
    pub(crate) fn new(ctx: &'c mut Ctx<'a>, link: &'c Rc<RefCell<Link>>) -> Self {
        CallContext { ctx, link }
    }

    /// The reactor, for what takes a `&mut Reactor`.
    pub fn reactor(&mut self) -> &mut Reactor {
        self.ctx
    }

    /// Publishes `object` on this connection: the value to answer (or
    /// pass) so the peer gets a reference it can call (Twisted sends a
    /// `Referenceable` so). It stays published while the peer holds a
    /// reference to it.
    pub fn publish(&mut self, object: &Rc<Referenceable>) -> Result<Value, CallError> {
        let id = self.link.borrow_mut().exports.publish(object)?;
        Ok(Value::Remote(id))
    }

    /// The object of ours a [`Value::Local`] among the arguments names (one
    /// we published, sent back), if it is still published.
    pub fn local(&self, value: &Value) -> Option<Rc<Referenceable>> {
        match value {
            Value::Local(id) => self.link.borrow().exports.lookup(id),
            _ => None,
        }
    }

    /// A reference to an object the caller published (a [`Value::Remote`]
    /// among the arguments), to call it back.
    pub fn reference(&self, value: &Value) -> Option<RemoteReference> {
        match value {
            Value::Remote(id) => Some(RemoteReference::new(self.link.clone(), id.clone(), true)),
            _ => None,
        }
    }
}

impl<'a> Deref for CallContext<'_, 'a> {
    type Target = Ctx<'a>;

    fn deref(&self) -> &Ctx<'a> {
        self.ctx
    }
}

impl DerefMut for CallContext<'_, '_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        self.ctx
    }
}

type Handler = Box<dyn Fn(&mut CallContext<'_, '_>, Vec<Value>) -> Reply>;

struct Method {
    params: Vec<String>,
    handler: Handler,
}

/// An object the peer may call, its methods registered by name: Twisted's
/// `pb.Referenceable` (and `pb.Root`, the one published as `root`), whose
/// `remote_NAME` methods are the ones callable.
///
/// A method declares its parameters' names; the arguments are bound to
/// them as Python binds them (positional first, then keywords), so the
/// handler gets exactly one value per parameter, in order. A call with
/// too many, too few, unknown or repeated arguments is answered with the
/// `TypeError` Python would raise, and a method the object does not have
/// with Twisted's `NoSuchMethod`, without calling anything.
///
/// # Examples
///
/// The seeds' `KeyValuePB` over a `HashMap`:
///
/// ```
/// use std::{cell::RefCell, collections::HashMap, rc::Rc};
/// use torsion_protocols::jelly::{RemoteFailure, Value};
/// use torsion_protocols::pb::Referenceable;
///
/// let store: Rc<RefCell<HashMap<Vec<u8>, Value>>> = Rc::default();
/// let (for_get, for_set) = (store.clone(), store.clone());
/// let root = Referenceable::new()
///     .method("get", &["key"], move |_call, args| {
///         let key = args[0].string_bytes().unwrap_or_default();
///         match for_get.borrow().get(key) {
///             Some(value) => Ok(value.clone()),
///             None => Err(RemoteFailure::key_error(&args[0])),
///         }
///     })
///     .method("set", &["key", "value"], move |_call, mut args| {
///         let value = args.pop().unwrap();
///         let key = args.pop().unwrap();
///         for_set.borrow_mut().insert(key.string_bytes().unwrap_or_default().to_vec(), value);
///         Ok::<_, RemoteFailure>(key)
///     });
/// assert!(root.handles("get") && root.handles("set") && !root.handles("delete"));
/// ```
#[derive(Default)]
pub struct Referenceable {
    methods: HashMap<String, Method>,
}

impl Referenceable {
    /// An object with no methods yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds method `name` with parameters `params` (replacing any method
    /// of that name). The handler gets one value per parameter.
    pub fn method<R: Into<Reply>>(
        mut self,
        name: &str,
        params: &[&str],
        handler: impl Fn(&mut CallContext<'_, '_>, Vec<Value>) -> R + 'static,
    ) -> Self {
        let method = Method {
            params: params.iter().map(|p| p.to_string()).collect(),
            handler: Box::new(move |call, args| handler(call, args).into()),
        };
        self.methods.insert(name.to_owned(), method);
        self
    }

    /// Whether it has method `name`.
    pub fn handles(&self, name: &str) -> bool {
        self.methods.contains_key(name)
    }

    /// Calls method `name` with the arguments received.
    pub(crate) fn dispatch(
        &self,
        call: &mut CallContext<'_, '_>,
        name: &str,
        args: Vec<Value>,
        kwargs: Vec<(String, Value)>,
    ) -> Reply {
        let Some(method) = self.methods.get(name) else {
            return Reply::Ready(Err(RemoteFailure::no_such_method(name)));
        };
        match bind(name, &method.params, args, kwargs) {
            Ok(bound) => (method.handler)(call, bound),
            Err(failure) => Reply::Ready(Err(failure)),
        }
    }
}

impl fmt::Debug for Referenceable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&str> = self.methods.keys().map(String::as_str).collect();
        names.sort_unstable();
        f.debug_struct("Referenceable").field("methods", &names).finish()
    }
}

/// Binds positional and keyword arguments to `params` as Python does, or
/// the `TypeError` Python would raise.
fn bind(
    name: &str,
    params: &[String],
    args: Vec<Value>,
    kwargs: Vec<(String, Value)>,
) -> Result<Vec<Value>, RemoteFailure> {
    let function = format!("remote_{name}()");
    if args.len() > params.len() {
        return Err(RemoteFailure::type_error(format!(
            "{function} takes {} but {} {} given",
            counted(params.len(), "positional argument"),
            args.len(),
            if args.len() == 1 { "was" } else { "were" }
        )));
    }
    let mut slots: Vec<Option<Value>> = args.into_iter().map(Some).collect();
    slots.resize(params.len(), None);
    for (key, value) in kwargs {
        let Some(i) = params.iter().position(|p| *p == key) else {
            return Err(RemoteFailure::type_error(format!(
                "{function} got an unexpected keyword argument '{key}'"
            )));
        };
        if slots[i].replace(value).is_some() {
            return Err(RemoteFailure::type_error(format!(
                "{function} got multiple values for argument '{key}'"
            )));
        }
    }
    let missing: Vec<String> = params
        .iter()
        .zip(&slots)
        .filter(|(_, slot)| slot.is_none())
        .map(|(p, _)| format!("'{p}'"))
        .collect();
    if !missing.is_empty() {
        let names = match missing.split_last() {
            Some((last, [])) => last.clone(),
            Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
            None => String::new(),
        };
        return Err(RemoteFailure::type_error(format!(
            "{function} missing {} {}: {names}",
            missing.len(),
            if missing.len() == 1 {
                "required positional argument"
            } else {
                "required positional arguments"
            }
        )));
    }
    Ok(slots.into_iter().flatten().collect())
}

fn counted(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    fn message(result: Result<Vec<Value>, RemoteFailure>) -> String {
        let failure = result.unwrap_err();
        assert_eq!(failure.type_name, "builtins.TypeError");
        failure.value
    }

    #[test]
    fn binds_positional_then_keyword_arguments() {
        let p = params(&["key", "value"]);
        let kw = |k: &str, v: &str| (k.to_string(), Value::from(v));
        assert_eq!(
            bind("set", &p, vec![Value::from("k")], vec![kw("value", "v")]),
            Ok(vec![Value::from("k"), Value::from("v")])
        );
        assert_eq!(
            bind("set", &p, vec![], vec![kw("value", "v"), kw("key", "k")]),
            Ok(vec![Value::from("k"), Value::from("v")])
        );
    }

    /// The messages are Python's (with `remote_` and without the class).
    #[test]
    fn refuses_as_python_would() {
        let p = params(&["key", "value"]);
        let v = |s: &str| Value::from(s);
        assert_eq!(
            message(bind("set", &p, vec![v("a"), v("b"), v("c")], vec![])),
            "remote_set() takes 2 positional arguments but 3 were given"
        );
        assert_eq!(
            message(bind("get", &params(&["key"]), vec![v("a"), v("b")], vec![])),
            "remote_get() takes 1 positional argument but 2 were given"
        );
        assert_eq!(
            message(bind("set", &p, vec![v("a")], vec![])),
            "remote_set() missing 1 required positional argument: 'value'"
        );
        assert_eq!(
            message(bind("set", &p, vec![], vec![])),
            "remote_set() missing 2 required positional arguments: 'key' and 'value'"
        );
        assert_eq!(
            message(bind("set", &p, vec![v("a")], vec![("key".into(), v("b"))])),
            "remote_set() got multiple values for argument 'key'"
        );
        assert_eq!(
            message(bind("set", &p, vec![], vec![("frob".into(), v("b"))])),
            "remote_set() got an unexpected keyword argument 'frob'"
        );
    }
}
