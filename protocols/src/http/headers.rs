//! [`Headers`]: header fields in the order they came, names compared
//! without regard to case.

use super::HttpError;

/// Header fields, in order, duplicates kept.
///
/// Names keep the case they were given; lookups ignore case. Values are
/// text: bytes outside ASCII are read as Latin-1, as HTTP/1.1's history
/// demands (RFC 9110 §5.5), so nothing the peer sent is lost.
///
/// # Examples
///
/// ```
/// use torsion_protocols::http::Headers;
///
/// let mut h = Headers::new();
/// h.append("Set-Cookie", "a=1")?;
/// h.append("set-cookie", "b=2")?;
/// h.set("Content-Type", "text/plain")?;
/// assert_eq!(h.get("content-type"), Some("text/plain"));
/// assert_eq!(h.get_all("SET-COOKIE").collect::<Vec<_>>(), ["a=1", "b=2"]);
/// assert!(h.set("Bad\nName", "x").is_err());
/// # Ok::<(), torsion_protocols::http::HttpError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Headers {
    fields: Vec<(String, String)>,
}

impl Headers {
    /// No fields.
    pub fn new() -> Self {
        Self::default()
    }

    /// The first value of `name`, if any.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name`, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.fields
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether `name` is present.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Adds a field after the others (keeping any of the same name).
    pub fn append(&mut self, name: &str, value: &str) -> Result<(), HttpError> {
        check_field(name, value)?;
        self.fields.push((name.to_string(), value.to_string()));
        Ok(())
    }

    /// Replaces every field named `name` with one.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), HttpError> {
        check_field(name, value)?;
        self.remove(name);
        self.fields.push((name.to_string(), value.to_string()));
        Ok(())
    }

    /// Removes every field named `name`.
    pub fn remove(&mut self, name: &str) {
        self.fields.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }

    /// The fields, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// How many fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Whether a comma-separated header (`Connection`, `Transfer-Encoding`)
    /// lists `token`, ignoring case.
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.get_all(name)
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    }

    /// Adds a field the parser already checked.
    pub(crate) fn push_unchecked(&mut self, name: String, value: String) {
        self.fields.push((name, value));
    }
}

/// Whether `name` is an HTTP token (RFC 9110 §5.1).
pub fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Whether `value` may be sent as a field value: visible characters,
/// spaces and tabs, no CR, LF or other control byte.
pub fn is_field_value(value: &str) -> bool {
    value.chars().all(|c| c == '\t' || (c >= ' ' && c != '\u{7f}'))
}

fn check_field(name: &str, value: &str) -> Result<(), HttpError> {
    if is_token(name) && is_field_value(value) {
        Ok(())
    } else {
        Err(HttpError::InvalidHeader(name.to_string()))
    }
}

/// Reads a field value's bytes as text, Latin-1 for bytes past ASCII.
pub(crate) fn latin1(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) if s.is_ascii() => s.to_string(),
        _ => bytes.iter().map(|&b| b as char).collect(),
    }
}
