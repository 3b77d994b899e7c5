//! A web server on the Torsion reactor: Twisted's `twisted.web` as the
//! seeds use it.
//!
//! - [`Site`]: the [`Factory`](torsion::Factory) that serves HTTP/1.1
//!   (keep-alive, pipelining, chunked responses, limits, access log).
//! - [`Resource`]: what answers a URL, with `render_get`/`render_post`...;
//!   [`Node`]: a resource with children (`put_child`), to build the tree.
//! - [`Request`]: what the client sent (method, path, query and form
//!   arguments, headers, body) and the response: return
//!   [`Render::Body`] now, or [`Render::NotDoneYet`] and
//!   [`write`](Request::write) / [`finish`](Request::finish) later;
//!   [`notify_finish`](Request::notify_finish) tells when the client left;
//!   a [`Producer`] registered with
//!   [`register_producer`](Request::register_producer) hears when the
//!   client falls behind and catches up.
//! - [`escape_html`], which every page uses for text it did not write;
//!   [`common_log_line`] for the access log; [`StaticPage`], [`Redirect`].
//! - [`demo`]: the seeds' pages, served by `torsion-web-demo`.
//!
//! The codec underneath is `torsion_protocols::http`; `docs/http.md` tells
//! the whole story.

mod access_log;
mod channel;
pub mod demo;
mod escape;
mod pages;
mod request;
mod resource;
mod site;

pub use access_log::{common_log_line, LogEntry};
pub use escape::escape_html;
pub use pages::{error_body, Redirect, StaticPage};
pub use request::{ConnectionGone, Producer, Request};
pub use resource::{Node, Render, Resource};
pub use site::{Site, SiteConfig, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_BODY, DEFAULT_MAX_PIPELINED};
