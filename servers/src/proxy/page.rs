//! [`Page`]: what `get_cached_page` hands out, and [`PageError`], its own
//! ways to fail (besides the client's `FetchError`).

use std::fmt;

use bytes::Bytes;

/// Where a page came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// Fetched from the origin for this request.
    Origin,
    /// Fetched from the origin for another request for the same URL that
    /// was under way: this request waited for it instead of fetching again.
    Shared,
    /// Read from the cache.
    Cache,
    /// Fetched on the loop with a blocking call (`--blocking`).
    Blocking,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Source::Origin => "origin",
            Source::Shared => "shared fetch",
            Source::Cache => "cache",
            Source::Blocking => "blocking fetch",
        })
    }
}

/// A fetched page: its status and body (cheap to clone: the body is
/// reference-counted), and where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page {
    /// The final status (after redirects); a cached page is a 200.
    pub status: u16,
    /// The body.
    pub body: Bytes,
    /// Where it came from.
    pub source: Source,
}

/// Why a page could not be served, when the fetch itself worked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PageError {
    /// The origin answered with an error status (400 and up), as Twisted's
    /// `getPage` fails on one.
    Status {
        /// The status code.
        status: u16,
        /// Its reason phrase, as sent.
        reason: String,
    },
}

impl fmt::Display for PageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PageError::Status { status, reason } => write!(f, "the origin answered {status} {reason}"),
        }
    }
}

impl std::error::Error for PageError {}
