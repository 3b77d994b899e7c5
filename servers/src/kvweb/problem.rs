//! [`Problem`]: a failed call (or bad input) as an HTTP status and a
//! sentence, the same for the pages and the JSON API.

use torsion::defer::{Cancelled, TimedOut};
use torsion::Failure;
use torsion_clients::kv::{KeyNotFound, KvError};
use torsion_protocols::amp::{CallError, RemoteError};
use torsion_protocols::jelly::RemoteFailure;
use torsion_protocols::kv::commands::{INVALID_KEY, VALUE_TOO_LONG};
use torsion_protocols::pb;

use super::Unavailable;
use crate::kv::StoreError;

/// What went wrong, as a status and a message for people (not escaped:
/// the page or the JSON encoder does that).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The HTTP status: 400, 404, 500, 502, 503 or 504.
    pub status: u16,
    /// One readable sentence.
    pub message: String,
}

impl Problem {
    /// A `400 Bad Request`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Problem {
            status: 400,
            message: message.into(),
        }
    }

    /// A `404 Not Found` for `key`. The page cannot say how long keys
    /// live: that is torsion-kv's `--ttl`, which this process does not know.
    pub fn not_found(key: &str) -> Self {
        Problem {
            status: 404,
            message: format!(
                "No key \"{key}\" in the store: it was never set, was deleted, or expired (torsion-kv forgets a key its --ttl after the last set)."
            ),
        }
    }

    /// The status and message for a failed call on `key`.
    ///
    /// | failure | status |
    /// | --- | --- |
    /// | [`KeyNotFound`] | 404 |
    /// | a key or value the store refuses ([`KvError::InvalidKey`], [`KvError::InvalidValue`], `ERROR` replies, AMP `INVALID_KEY` / `VALUE_TOO_LONG`, PB `ValueError` / `TypeError`, [`StoreError`]) | 400 |
    /// | [`Unavailable`], a lost or closed connection, too many calls waiting | 503 |
    /// | [`TimedOut`] | 504 |
    /// | the store broke its protocol, another AMP error or PB failure | 502 |
    /// | anything else | 500 |
    pub fn from_failure(failure: &Failure, key: &str) -> Self {
        let (status, message) = classify(failure, key);
        Problem { status, message }
    }

    /// A title for the page that shows it.
    pub fn title(&self) -> &'static str {
        match self.status {
            400 => "Bad request",
            404 => "Not found",
            503 => "The store is unreachable",
            504 => "The store is too slow",
            502 => "The store failed",
            _ => "Error",
        }
    }
}

fn classify(failure: &Failure, key: &str) -> (u16, String) {
    if failure.find::<KeyNotFound>().is_some() {
        return (404, Problem::not_found(key).message);
    }
    if let Some(e) = failure.find::<Unavailable>() {
        return (503, format!("{e}."));
    }
    if let Some(e) = failure.find::<TimedOut>() {
        return (
            504,
            format!(
                "The store did not answer within {} s; try again.",
                e.after.as_secs_f64()
            ),
        );
    }
    if let Some(e) = failure.find::<KvError>() {
        return match e {
            KvError::InvalidKey(why) => (400, format!("The store cannot take that key: {why}.")),
            KvError::InvalidValue(why) => (400, format!("The store cannot take that value: {why}.")),
            KvError::Server(reason) => (400, format!("The store refused it: {reason}.")),
            KvError::TooManyPending { .. } | KvError::NotConnected | KvError::ConnectionLost(_) => (
                503,
                format!("The store cannot be reached just now: {e}; try again."),
            ),
            KvError::Protocol(_) => (502, format!("The store failed: {e}.")),
        };
    }
    if let Some(e) = failure.find::<StoreError>() {
        return (400, format!("The store refused it: {e}."));
    }
    if let Some(e) = failure.find::<RemoteError>() {
        return if e.is(INVALID_KEY) || e.is(VALUE_TOO_LONG) {
            (400, format!("The store refused it: {}.", e.description))
        } else {
            (502, format!("The store failed: {e}."))
        };
    }
    if let Some(e) = failure.find::<RemoteFailure>() {
        return if e.check("builtins.ValueError") || e.check("builtins.TypeError") {
            (400, format!("The store refused it: {}.", e.value))
        } else {
            (502, format!("The store failed: {e}."))
        };
    }
    if let Some(e) = failure.find::<pb::CallError>() {
        return match e {
            pb::CallError::ConnectionLost(_) | pb::CallError::TooManyPending { .. } => (
                503,
                format!("The store cannot be reached just now: {e}; try again."),
            ),
            pb::CallError::Encode(_) => (400, format!("The store cannot take that: {e}.")),
            _ => (502, format!("The store failed: {e}.")),
        };
    }
    if let Some(e) = failure.find::<CallError>() {
        return match e {
            CallError::NotConnected | CallError::ConnectionLost(_) | CallError::TooManyPending { .. } => (
                503,
                format!("The store cannot be reached just now: {e}; try again."),
            ),
            CallError::Encode(_) => (400, format!("The store cannot take that: {e}.")),
            CallError::Protocol(_) | CallError::BadResponse(_) => (502, format!("The store failed: {e}.")),
        };
    }
    if failure.find::<Cancelled>().is_some() {
        return (503, "The call to the store was cancelled; try again.".into());
    }
    (500, format!("Something went wrong: {failure}."))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use torsion::CloseReason;

    use super::*;

    fn status(failure: impl Into<Failure>) -> u16 {
        Problem::from_failure(&failure.into(), "k").status
    }

    #[test]
    fn each_failure_has_its_status() {
        assert_eq!(status(KeyNotFound { key: b"k".to_vec() }), 404);
        assert_eq!(status(KvError::InvalidKey("holds whitespace".into())), 400);
        assert_eq!(status(KvError::InvalidValue("holds \\r\\n".into())), 400);
        assert_eq!(status(KvError::Server("key longer than 250 bytes".into())), 400);
        assert_eq!(status(StoreError::ValueTooLong { limit: 10 }), 400);
        assert_eq!(status(RemoteError::new(INVALID_KEY, "empty")), 400);
        assert_eq!(status(RemoteError::new("UNKNOWN", "boom")), 502);
        assert_eq!(status(KvError::Protocol("junk".into())), 502);
        assert_eq!(status(KvError::ConnectionLost(CloseReason::Lost)), 503);
        assert_eq!(status(KvError::TooManyPending { limit: 1 }), 503);
        assert_eq!(status(CallError::ConnectionLost(CloseReason::Lost)), 503);
        assert_eq!(
            status(RemoteFailure::value_error("value longer than 65535 bytes")),
            400
        );
        assert_eq!(status(RemoteFailure::exception("boom")), 502);
        assert_eq!(status(pb::CallError::ConnectionLost(CloseReason::Lost)), 503);
        assert_eq!(status(pb::CallError::Protocol("junk".into())), 502);
        let down = Unavailable {
            store: "torsion-kv at 127.0.0.1:1".into(),
            reason: Some("connection refused".into()),
        };
        assert_eq!(status(down), 503);
        assert_eq!(
            status(TimedOut {
                after: Duration::from_secs(5)
            }),
            504
        );
        assert_eq!(status(Cancelled), 503);
        assert_eq!(status(Failure::msg("odd")), 500);
    }

    #[test]
    fn messages_read_as_sentences() {
        let down = Unavailable {
            store: "torsion-kv at 127.0.0.1:1".into(),
            reason: Some("connection refused".into()),
        };
        assert_eq!(
            Problem::from_failure(&down.into(), "k").message,
            "torsion-kv at 127.0.0.1:1 is unreachable (connection refused); kvweb reconnects as soon as it is back."
        );
        assert_eq!(
            Problem::from_failure(
                &TimedOut {
                    after: Duration::from_millis(2500)
                }
                .into(),
                "k"
            )
            .message,
            "The store did not answer within 2.5 s; try again."
        );
        assert!(
            Problem::from_failure(&KeyNotFound { key: b"k".to_vec() }.into(), "k")
                .message
                .starts_with("No key \"k\" in the store")
        );
    }
}
