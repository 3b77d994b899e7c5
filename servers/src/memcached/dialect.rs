//! What a [`Session`](super::session::Session) needs of a protocol: a
//! [`Dialect`] is a parser, an executor and a composer.
//!
//! - The **parser** is a [`Decoder`] from `torsion_protocols::memcache`: bytes
//!   in, one request (or a refusal) out; a request says what follows its
//!   head ([`Head`]), a refusal how much input it takes
//!   ([`Refusal`](body::Refusal)).
//! - The **executor** implements [`Execute`]: it runs a request against the
//!   store, or answers a refusal, a value too large to store, a value not
//!   followed by its trailer. It gets everything else it needs in an
//!   [`ExecCtx`].
//! - The **composer** is the protocol's reply writers
//!   (`torsion_protocols::memcache::{text, meta, binary}`), which the executor
//!   writes through; the client's parsers are tested against them.
//!
//! Two dialects: [`Ascii`], the text connection (classic and meta commands,
//! executed by [`TextExec`] and [`MetaExec`]), and [`Binary`]
//! ([`BinaryExec`]). Everything the conversation itself decides (the output
//! budget, waiting for a value, skipping a refused one, closing, yielding)
//! is the session's, written once.

use torsion_protocols::memcache::ascii::{self, Refused};
use torsion_protocols::memcache::binary;
use torsion_protocols::memcache::body::{self, Head};
use torsion_protocols::memcache::line::LineError;
use torsion_protocols::Decoder;

use super::binary_exec::BinaryExec;
use super::exec::{ServerStats, TextExec};
use super::meta_exec::MetaExec;
use super::store::Store;

/// What the connection must do after a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Effect {
    /// Go on reading requests.
    Continue,
    /// Write what is queued, then close (`quit`, a line too long, a packet
    /// refused for its lengths).
    Close,
    /// The conversation changes dialect (a connection that authenticated,
    /// see [`super::auth`]): stop, and let the connection read the rest of
    /// the input as a text connection.
    Upgrade,
}

/// How far a request that answers in parts (the keys of a multi-key `get`)
/// may go in one call: the session hands it to
/// [`Execute::execute_part`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Part {
    /// Parts already answered by earlier calls (0 the first time).
    pub done: usize,
    /// Once the replies in `out` reach this many bytes, stop after the part
    /// being answered, if more remain.
    pub budget: usize,
}

impl Part {
    /// The whole request in one call.
    pub const WHOLE: Part = Part {
        done: 0,
        budget: usize::MAX,
    };
}

/// What [`Execute::execute_part`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Step {
    /// The request is answered.
    Done(Effect),
    /// The replies reached the budget with parts left: call again with
    /// `done` parts answered once they are written.
    Suspended {
        /// Parts answered so far, in this call and the earlier ones.
        done: usize,
    },
}

/// Everything an executor works with besides the request: the store, the
/// server's figures, the time (unix seconds) and where replies go.
#[derive(Debug)]
pub struct ExecCtx<'a> {
    /// The items.
    pub store: &'a mut Store,
    /// The server's own figures (`stats`, `verbosity`).
    pub server: &'a mut ServerStats,
    /// Now, in unix seconds.
    pub now: u32,
    /// Replies are appended here.
    pub out: &'a mut Vec<u8>,
}

/// An executor: runs requests of one kind against the store and writes
/// memcached's exact replies.
pub trait Execute {
    /// The requests it runs (they borrow from the input).
    type Request<'a>;
    /// How its parser refuses a request.
    type Error;

    /// Runs a whole request; `value` is what followed its head as a value
    /// (empty for the others).
    fn execute(&mut self, cx: &mut ExecCtx<'_>, request: &Self::Request<'_>, value: &[u8]) -> Effect;

    /// Runs the rest of a request that answers in parts (a multi-key `get`
    /// writes one value per key), stopping between parts once the replies
    /// pass `part.budget`, so that one request never composes more than the
    /// budget and one part. Requests that answer at once run whole: the
    /// default.
    fn execute_part(
        &mut self,
        cx: &mut ExecCtx<'_>,
        request: &Self::Request<'_>,
        value: &[u8],
        part: Part,
    ) -> Step {
        let _ = part;
        Step::Done(self.execute(cx, request, value))
    }

    /// Answers a refused request ([`Effect::Close`] when the connection must
    /// close).
    fn refuse(&mut self, cx: &mut ExecCtx<'_>, error: &Self::Error) -> Effect;

    /// Answers a store whose item would pass the item size limit. The
    /// session then skips its value as it arrives, without buffering it.
    fn too_large(&mut self, cx: &mut ExecCtx<'_>, request: &Self::Request<'_>);

    /// Answers a value not followed by its trailer (`CLIENT_ERROR bad data
    /// chunk`). Nothing is stored.
    fn bad_chunk(&mut self, cx: &mut ExecCtx<'_>, request: &Self::Request<'_>);
}

/// A request as a dialect's parser hands it out.
pub type Request<'a, D> = <<D as Dialect>::Parser as Decoder>::Message<'a>;

/// A refusal as a dialect's parser hands it out.
pub type Refusal<D> = <<D as Dialect>::Parser as Decoder>::Error;

/// A protocol a [`Session`](super::session::Session) can hold a conversation
/// in: a parser, whose requests say what follows their head ([`Head`]) and
/// whose refusals say how much input they take ([`body::Refusal`]), and an
/// executor for them.
pub trait Dialect {
    /// Bytes to requests.
    type Parser: for<'a> Decoder<Message<'a>: Head, Error: body::Refusal> + Default;
    /// Requests to replies.
    type Executor: Default + for<'a> Execute<Request<'a> = Request<'a, Self>, Error = Refusal<Self>>;
}

/// The text connection: classic and meta commands, one line at a time.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ascii;

impl Dialect for Ascii {
    type Parser = ascii::RequestDecoder;
    type Executor = AsciiExec;
}

/// The text connection's executor: each request to the executor of its kind.
#[derive(Debug, Clone, Copy, Default)]
pub struct AsciiExec {
    text: TextExec,
    meta: MetaExec,
}

impl Execute for AsciiExec {
    type Request<'a> = ascii::Request<'a>;
    type Error = LineError<Refused>;

    fn execute(&mut self, cx: &mut ExecCtx<'_>, request: &ascii::Request<'_>, value: &[u8]) -> Effect {
        match request {
            ascii::Request::Text(request) => self.text.execute(cx, request, value),
            ascii::Request::Meta(request) => self.meta.execute(cx, request, value),
        }
    }

    fn execute_part(
        &mut self,
        cx: &mut ExecCtx<'_>,
        request: &ascii::Request<'_>,
        value: &[u8],
        part: Part,
    ) -> Step {
        match request {
            ascii::Request::Text(request) => self.text.execute_part(cx, request, value, part),
            ascii::Request::Meta(request) => self.meta.execute_part(cx, request, value, part),
        }
    }

    fn refuse(&mut self, cx: &mut ExecCtx<'_>, error: &LineError<Refused>) -> Effect {
        match &error.error {
            Refused::Text(error) => self.text.refuse(cx, error),
            Refused::Meta(error) => self.meta.refuse(cx, error),
        }
    }

    fn too_large(&mut self, cx: &mut ExecCtx<'_>, request: &ascii::Request<'_>) {
        match request {
            ascii::Request::Text(request) => self.text.too_large(cx, request),
            ascii::Request::Meta(request) => self.meta.too_large(cx, request),
        }
    }

    fn bad_chunk(&mut self, cx: &mut ExecCtx<'_>, request: &ascii::Request<'_>) {
        match request {
            ascii::Request::Text(request) => self.text.bad_chunk(cx, request),
            ascii::Request::Meta(request) => self.meta.bad_chunk(cx, request),
        }
    }
}

/// The binary protocol: a connection whose first byte is 0x80.
#[derive(Debug, Clone, Copy, Default)]
pub struct Binary;

impl Dialect for Binary {
    type Parser = binary::RequestDecoder;
    type Executor = BinaryExec;
}
