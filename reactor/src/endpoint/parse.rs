//! Twisted-style endpoint descriptions: `tcp:8000:interface=127.0.0.1`.
//!
//! A description is fields separated by `:`; the first names the kind, the
//! others are positional values or `key=value` options. A `\` escapes the
//! next character, so an IPv6 address is written `\:\:1`.

use std::fmt;

/// A description that could not be parsed: what was given and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointParseError {
    /// The description.
    pub description: String,
    /// What is wrong with it.
    pub reason: String,
}

impl fmt::Display for EndpointParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad endpoint {:?}: {}", self.description, self.reason)
    }
}

impl std::error::Error for EndpointParseError {}

/// A description split into its kind, positional values and options.
pub(crate) struct Fields {
    pub(crate) description: String,
    pub(crate) kind: String,
    positional: Vec<String>,
    options: Vec<(String, String)>,
}

impl Fields {
    pub(crate) fn parse(description: &str) -> Result<Fields, EndpointParseError> {
        let mut parts = split(description).into_iter();
        let kind = parts.next().unwrap_or_default().to_ascii_lowercase();
        let mut fields = Fields {
            description: description.to_string(),
            kind,
            positional: Vec::new(),
            options: Vec::new(),
        };
        if fields.kind.is_empty() {
            return Err(fields.error("empty description"));
        }
        for part in parts {
            match part.split_once('=') {
                Some((key, value)) => fields.options.push((key.to_string(), value.to_string())),
                None => fields.positional.push(part),
            }
        }
        Ok(fields)
    }

    pub(crate) fn error(&self, reason: impl fmt::Display) -> EndpointParseError {
        EndpointParseError {
            description: self.description.clone(),
            reason: reason.to_string(),
        }
    }

    /// The value named `key`, or else the positional value at `index`.
    pub(crate) fn value(&mut self, key: &str, index: usize) -> Result<Option<String>, EndpointParseError> {
        let named = self.take_option(key);
        let positional = self.positional.get(index).cloned();
        match (named, positional) {
            (Some(_), Some(_)) => Err(self.error(format!("{key} given twice"))),
            (named, positional) => Ok(named.or(positional)),
        }
    }

    pub(crate) fn take_option(&mut self, key: &str) -> Option<String> {
        let at = self.options.iter().position(|(k, _)| k == key)?;
        Some(self.options.remove(at).1)
    }

    pub(crate) fn parsed<T: std::str::FromStr>(
        &self,
        what: &str,
        value: &str,
    ) -> Result<T, EndpointParseError>
    where
        T::Err: fmt::Display,
    {
        value
            .parse()
            .map_err(|e| self.error(format_args!("bad {what} {value:?}: {e}")))
    }

    /// Fails on options nobody took and on positional values past `max`.
    pub(crate) fn finish(&self, max_positional: usize) -> Result<(), EndpointParseError> {
        if let Some((key, _)) = self.options.first() {
            return Err(self.error(format!("unknown option {key:?}")));
        }
        if self.positional.len() > max_positional {
            return Err(self.error(format!("unexpected value {:?}", self.positional[max_positional])));
        }
        Ok(())
    }

    /// A timeout in (possibly fractional) seconds.
    pub(crate) fn seconds(&self, value: &str) -> Result<std::time::Duration, EndpointParseError> {
        let secs: f64 = self.parsed("timeout", value)?;
        std::time::Duration::try_from_secs_f64(secs)
            .map_err(|e| self.error(format_args!("bad timeout {value:?}: {e}")))
    }
}

/// Splits on unescaped `:`; `\x` stands for `x`.
fn split(description: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut chars = description.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let (Some(next), Some(last)) = (chars.next(), parts.last_mut()) {
                    last.push(next);
                }
            }
            ':' => parts.push(String::new()),
            c => {
                if let Some(last) = parts.last_mut() {
                    last.push(c);
                }
            }
        }
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_on_unescaped_colons() {
        assert_eq!(
            split(r"tcp6:8000:interface=\:\:1"),
            ["tcp6", "8000", "interface=::1"]
        );
        assert_eq!(split("unix:/tmp/s.sock"), ["unix", "/tmp/s.sock"]);
    }

    #[test]
    fn a_value_given_twice_is_an_error() {
        let mut f = Fields::parse("tcp:80:port=81").unwrap();
        assert!(f.value("port", 0).unwrap_err().reason.contains("twice"));
    }
}
