//! [`Responders`]: the commands a peer answers, and how (Twisted's
//! `CommandLocator` with its `Command.responder` methods).

use std::collections::HashMap;
use std::fmt;

use torsion::{Ctx, Deferred};

use super::ampbox::AmpBox;
use super::command::{Arguments, Command, RemoteError};
use super::decoder::BoxRef;

/// What a responder answers: a response now, an error now, or a Deferred
/// that fires with either later (the answer is sent when it fires).
///
/// `Ok(..)`, `Err(RemoteError)` and `Deferred`s convert into it, so a
/// responder returns whichever it has.
pub enum Reply<T: 'static> {
    /// The answer is ready.
    Ready(Result<T, RemoteError>),
    /// The answer comes when this fires. A failure carrying a
    /// [`RemoteError`] is sent as that error; any other failure is sent as
    /// `UNKNOWN` / `Unknown Error`, as Twisted does, and logged.
    Later(Deferred<T>),
}

impl<T: 'static> From<Result<T, RemoteError>> for Reply<T> {
    fn from(result: Result<T, RemoteError>) -> Self {
        Reply::Ready(result)
    }
}

impl<T: 'static> From<Deferred<T>> for Reply<T> {
    fn from(later: Deferred<T>) -> Self {
        Reply::Later(later)
    }
}

/// A [`Reply`] with the response already written into a box.
pub(crate) enum BoxReply {
    Ready(Result<AmpBox, RemoteError>),
    Later(Deferred<AmpBox>),
}

type Responder = Box<dyn Fn(&mut Ctx<'_>, &BoxRef<'_>) -> BoxReply>;

/// The commands a connection answers, by name.
///
/// Each responder receives the connection's [`Ctx`] (and through it the
/// reactor) and the command's arguments, already read. Arguments that do
/// not read (missing, or not their type) are answered with an `UNKNOWN`
/// error naming the argument, without calling the responder. Commands with
/// no responder are answered `UNHANDLED`, as Twisted answers them.
///
/// A `Responders` is built once and shared by every connection of a
/// server (`Rc<Responders>`); state the responders share (a store) is
/// captured by their closures.
///
/// # Examples
///
/// ```
/// use torsion_protocols::amp::{RemoteError, Responders};
/// # use torsion_protocols::amp::{AmpBox, ArgumentError, Arguments, BoxRef, Command};
/// # struct Divide;
/// # struct Operands { numerator: i64, denominator: i64 }
/// # struct Quotient { result: f64 }
/// # impl Command for Divide { const NAME: &'static str = "Divide"; type Arguments = Operands; type Response = Quotient; }
/// # impl Arguments for Operands {
/// #     fn to_box(&self, out: &mut AmpBox) { out.put("numerator", &self.numerator); out.put("denominator", &self.denominator); }
/// #     fn from_box(b: &BoxRef<'_>) -> Result<Self, ArgumentError> { Ok(Operands { numerator: b.arg("numerator")?, denominator: b.arg("denominator")? }) }
/// # }
/// # impl Arguments for Quotient {
/// #     fn to_box(&self, out: &mut AmpBox) { out.put("result", &self.result); }
/// #     fn from_box(b: &BoxRef<'_>) -> Result<Self, ArgumentError> { Ok(Quotient { result: b.arg("result")? }) }
/// # }
///
/// let responders = Responders::new().on::<Divide, _>(|_ctx, args| {
///     if args.denominator == 0 {
///         return Err(RemoteError::new("ZERO_DIVISION", "division by zero"));
///     }
///     Ok(Quotient { result: args.numerator as f64 / args.denominator as f64 })
/// });
/// assert!(responders.handles(b"Divide"));
/// ```
#[derive(Default)]
pub struct Responders {
    table: HashMap<Vec<u8>, Responder>,
}

impl Responders {
    /// No responders: a connection that only calls (a client).
    pub fn new() -> Self {
        Self::default()
    }

    /// Answers command `C` with `respond`, replacing any responder it had.
    pub fn on<C, R>(mut self, respond: impl Fn(&mut Ctx<'_>, C::Arguments) -> R + 'static) -> Self
    where
        C: Command,
        R: Into<Reply<C::Response>>,
    {
        let responder = move |ctx: &mut Ctx<'_>, b: &BoxRef<'_>| -> BoxReply {
            let arguments = match C::Arguments::from_box(b) {
                Ok(arguments) => arguments,
                Err(e) => {
                    let description = format!("bad arguments for {}: {e}", C::NAME);
                    return BoxReply::Ready(Err(RemoteError::unknown(description)));
                }
            };
            match respond(ctx, arguments).into() {
                Reply::Ready(result) => BoxReply::Ready(result.map(|r| boxed(&r))),
                Reply::Later(later) => BoxReply::Later(later.then(ctx, |_, r| Ok(boxed(&r)))),
            }
        };
        self.table
            .insert(C::NAME.as_bytes().to_vec(), Box::new(responder));
        self
    }

    /// Whether command `name` has a responder.
    pub fn handles(&self, name: &[u8]) -> bool {
        self.table.contains_key(name)
    }

    /// Runs the responder for `name`, or answers `UNHANDLED`.
    pub(crate) fn respond(&self, ctx: &mut Ctx<'_>, name: &[u8], arguments: &BoxRef<'_>) -> BoxReply {
        match self.table.get(name) {
            Some(responder) => responder(ctx, arguments),
            None => BoxReply::Ready(Err(RemoteError::unhandled(&String::from_utf8_lossy(name)))),
        }
    }
}

impl fmt::Debug for Responders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(self.table.keys().map(|k| String::from_utf8_lossy(k)))
            .finish()
    }
}

/// A response's values in a new box.
fn boxed<A: Arguments>(values: &A) -> AmpBox {
    let mut out = AmpBox::new();
    values.to_box(&mut out);
    out
}
