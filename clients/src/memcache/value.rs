//! What the server hands back: [`Value`]s and [`Stats`].

use bytes::Bytes;

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
