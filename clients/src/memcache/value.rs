//! What the server hands back: [`Value`]s and [`Stats`], and whole replies,
//! owned, as the connection hands them to the requests that wait for them.

use bytes::{Buf, Bytes, BytesMut};
use torsion_protocols::memcache::text::{self, Response, ValueSpan};

use super::error::MemcacheError;

/// An item read from the server: its data, its flags, and for `gets` and
/// `gats` its CAS unique.
///
/// The data is a [`Bytes`]: a slice of the buffer the reply was read into,
/// never copied again however large.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Value {
    /// The data, exactly as stored.
    pub data: Bytes,
    /// The opaque flags stored with it.
    pub flags: u32,
    /// The CAS unique (`gets`, `gats`); `None` for `get` and `gat`.
    pub cas: Option<u64>,
}

/// The reply to `stats`: `name value` pairs in the server's order.
///
/// Lines of other shapes (`stats cachedump` answers `ITEM ...` lines) are
/// kept too, split at their first space.
///
/// # Examples
///
/// ```
/// use torsion_clients::memcache::Stats;
///
/// let stats = Stats(vec![("pid".into(), "42".into()), ("version".into(), "1.6.18".into())]);
/// assert_eq!(stats.get("version"), Some("1.6.18"));
/// assert_eq!(stats.number("pid"), Some(42));
/// assert_eq!(stats.get("uptime"), None);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats(pub Vec<(String, String)>);

impl Stats {
    /// The value of the first statistic called `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The value of `name` as an unsigned number.
    pub fn number(&self, name: &str) -> Option<u64> {
        self.get(name).and_then(|v| v.parse().ok())
    }

    /// The pairs, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// How many pairs there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// One whole reply, owned: what a [`Response`] decoded from the connection's
/// buffer becomes once its bytes are taken off it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// A fixed line: `STORED`, `NOT_FOUND`, `OK`...
    Line(text::Reply),
    /// The value after `incr` or `decr`.
    Number(u64),
    /// The values of a retrieval, with their keys, in the server's order.
    Values(Vec<(Bytes, Value)>),
    /// The statistics.
    Stats(Stats),
    /// The text after `VERSION`.
    Version(String),
    /// `ERROR`, `CLIENT_ERROR` or `SERVER_ERROR`, as a [`MemcacheError`].
    Error(MemcacheError),
}

/// A decoded reply, owned but for its values, which are still where the
/// decoder found them in the buffer.
pub(crate) enum Decoded {
    /// A reply without values.
    Whole(Reply),
    /// A retrieval's values.
    Values(Vec<ValueSpan>),
}

impl Decoded {
    /// What `response` stands for.
    pub(crate) fn of(response: Response<'_>) -> Decoded {
        let lossy = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
        Decoded::Whole(match response {
            Response::Line(line) => Reply::Line(line),
            Response::Number(n) => Reply::Number(n),
            Response::Stats(stats) => {
                Reply::Stats(Stats(stats.iter().map(|(n, v)| (lossy(n), lossy(v))).collect()))
            }
            Response::Version(text) => Reply::Version(lossy(text)),
            Response::Error(text) => Reply::Error(MemcacheError::Error(lossy(text))),
            Response::ClientError(text) => Reply::Error(MemcacheError::ClientError(lossy(text))),
            Response::ServerError(text) => Reply::Error(MemcacheError::ServerError(lossy(text))),
            Response::Values(values) => return Decoded::Values(values.spans().collect()),
        })
    }

    /// Takes the reply's `used` bytes off the front of `buf`: values are
    /// handed out as slices of them, never copied.
    pub(crate) fn take(self, buf: &mut BytesMut, used: usize) -> Reply {
        match self {
            Decoded::Whole(reply) => {
                buf.advance(used);
                reply
            }
            Decoded::Values(spans) => {
                let frame = buf.split_to(used).freeze();
                let values = spans.into_iter().map(|span| {
                    let value = Value {
                        data: frame.slice(span.data),
                        flags: span.flags,
                        cas: span.cas,
                    };
                    (frame.slice(span.key), value)
                });
                Reply::Values(values.collect())
            }
        }
    }
}
