//! [`Failure`]: the error a Deferred carries down its errback path.

use std::error::Error;
use std::fmt;
use std::panic::Location;
use std::rc::Rc;

/// An error travelling down a Deferred's chain: Twisted's `Failure`.
///
/// It carries any `std::error::Error + 'static`, so a typed errback can
/// look for the error it knows how to handle with
/// [`downcast_ref`](Failure::downcast_ref) (the outermost error) or
/// [`find`](Failure::find) (anywhere in the cause chain). It also records
/// where it was created and any context added on the way, for the log line
/// written when nobody handles it.
///
/// A `Failure` is cheap to clone (the error is shared) and single-threaded,
/// like the Deferreds that carry it. It converts from any error with `?` or
/// `.into()`; for that reason it does not implement `Error` itself (that
/// would collide with the conversion), but [`error`](Failure::error) lends
/// the error inside.
///
/// # Examples
///
/// ```
/// use std::io;
/// use torsion::Failure;
///
/// fn parse(s: &str) -> Result<u32, Failure> {
///     Ok(s.trim().parse::<u32>()?)
/// }
///
/// let failure = parse("x").unwrap_err();
/// assert!(failure.is::<std::num::ParseIntError>());
///
/// let failure = Failure::new(io::Error::from(io::ErrorKind::ConnectionRefused))
///     .context("fetching the page");
/// assert_eq!(failure.find::<io::Error>().map(|e| e.kind()), Some(io::ErrorKind::ConnectionRefused));
/// assert_eq!(failure.to_string(), "fetching the page: connection refused");
/// ```
#[derive(Clone)]
pub struct Failure {
    error: Rc<dyn Error + 'static>,
    origin: &'static Location<'static>,
    context: Rc<Vec<String>>,
}

impl Failure {
    /// Wraps `error`, recording the caller's location as the failure's origin.
    #[track_caller]
    pub fn new<E: Error + 'static>(error: E) -> Self {
        Failure {
            error: Rc::new(error),
            origin: Location::caller(),
            context: Rc::default(),
        }
    }

    /// A failure whose error is just a message.
    #[track_caller]
    pub fn msg(message: impl fmt::Display) -> Self {
        Failure::new(Message(message.to_string()))
    }

    /// Adds a line of context ("while fetching X"), shown before the error.
    pub fn context(mut self, context: impl fmt::Display) -> Self {
        Rc::make_mut(&mut self.context).push(context.to_string());
        self
    }

    /// The error inside.
    pub fn error(&self) -> &(dyn Error + 'static) {
        &*self.error
    }

    /// The outermost error, if it is an `E`.
    pub fn downcast_ref<E: Error + 'static>(&self) -> Option<&E> {
        self.error.downcast_ref::<E>()
    }

    /// Whether the outermost error is an `E`.
    pub fn is<E: Error + 'static>(&self) -> bool {
        self.error.is::<E>()
    }

    /// The first error of type `E` in the cause chain (the outermost error,
    /// then its `source()`, and so on).
    pub fn find<E: Error + 'static>(&self) -> Option<&E> {
        self.chain().find_map(|e| e.downcast_ref::<E>())
    }

    /// The error and its causes, outermost first.
    pub fn chain(&self) -> impl Iterator<Item = &(dyn Error + 'static)> {
        let mut next = Some(self.error());
        std::iter::from_fn(move || {
            let current = next?;
            next = current.source();
            Some(current)
        })
    }

    /// Where the failure was created.
    pub fn origin(&self) -> &'static Location<'static> {
        self.origin
    }

    /// Whether this failure is a cancellation ([`Cancelled`](crate::defer::Cancelled)).
    pub fn is_cancelled(&self) -> bool {
        self.find::<super::Cancelled>().is_some()
    }

    /// Whether this failure is a timeout from
    /// [`add_timeout`](crate::Deferred::add_timeout).
    pub fn is_timeout(&self) -> bool {
        self.find::<super::TimedOut>().is_some()
    }

    /// The error and every cause, joined with ": " (for log lines).
    pub fn report(&self) -> String {
        let mut out = String::new();
        for context in self.context.iter().rev() {
            out.push_str(context);
            out.push_str(": ");
        }
        let mut first = true;
        for error in self.chain() {
            if !first {
                out.push_str(": ");
            }
            first = false;
            out.push_str(&error.to_string());
        }
        out
    }
}

impl<E: Error + 'static> From<E> for Failure {
    #[track_caller]
    fn from(error: E) -> Self {
        Failure::new(error)
    }
}

/// `Display` shows the context and the outermost error; the alternate form
/// (`{:#}`) adds every cause, as [`Failure::report`] does.
impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.alternate() {
            return f.write_str(&self.report());
        }
        for context in self.context.iter().rev() {
            write!(f, "{context}: ")?;
        }
        write!(f, "{}", self.error)
    }
}

impl fmt::Debug for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Failure")
            .field("error", &self.error)
            .field("origin", &format_args!("{}", self.origin))
            .field("context", &self.context)
            .finish()
    }
}

/// The error inside [`Failure::msg`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message(pub String);

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Error for Message {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;

    #[derive(Debug)]
    struct Outer(io::Error);
    impl fmt::Display for Outer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("outer")
        }
    }
    impl Error for Outer {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn finds_errors_down_the_cause_chain() {
        let failure = Failure::new(Outer(io::Error::other("inner")));
        assert!(failure.is::<Outer>());
        assert!(failure.downcast_ref::<io::Error>().is_none());
        assert_eq!(
            failure.find::<io::Error>().map(|e| e.to_string()),
            Some("inner".into())
        );
        assert_eq!(failure.chain().count(), 2);
        assert_eq!(format!("{failure:#}"), "outer: inner");
        assert_eq!(failure.to_string(), "outer");
    }

    #[test]
    fn records_its_origin_and_context() {
        let line = line!() + 1;
        let failure = Failure::msg("boom").context("step two").context("step one");
        assert_eq!(failure.origin().line(), line);
        assert_eq!(failure.to_string(), "step one: step two: boom");
        let clone = failure.clone().context("more");
        assert_eq!(failure.to_string(), "step one: step two: boom");
        assert!(clone.to_string().starts_with("more: "));
        assert!(format!("{failure:?}").contains("failure.rs"));
    }

    #[test]
    fn question_mark_converts() {
        fn f() -> Result<(), Failure> {
            Err(io::Error::other("x"))?;
            Ok(())
        }
        assert!(f().unwrap_err().is::<io::Error>());
    }
}
