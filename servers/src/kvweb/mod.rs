//! torsion-kvweb: the seeds' web front end to the key-value store
//! (`keyvalue_web.py`), its own process talking to torsion-kv through the
//! client.
//!
//! | route | method | what it does |
//! | --- | --- | --- |
//! | `/` | GET | the index: three forms (get, set, delete) and whether the store can be reached |
//! | `/get?key=K` | GET | the value of `K` (404 if it is not there) |
//! | `/set` | POST `key`, `value` | stores the value, shows it |
//! | `/delete` | POST `key` | deletes the key (404 if it is not there) |
//! | `/api/keys/<key>` | GET, PUT, DELETE | the same in JSON, for scripts ([`Api`]) |
//!
//! Mutations come by POST only (a GET to `/set` or `/delete` is a 405),
//! every text from elsewhere (keys, values, errors) is HTML-escaped, and
//! the store's failures become readable pages with a status to match
//! ([`Problem`]): 400 bad input, 404 not found, 503 unreachable, 504 too
//! slow, 502 broken. Pages carry `Cache-Control: no-store`,
//! `X-Content-Type-Options: nosniff` and a [`PAGE_POLICY`] that allows no
//! script at all.
//!
//! The pages are written against [`Backend`] (the seeds' `kv` object:
//! anything with `get`, `set`, `delete`), so they run over the line client,
//! the AMP client, a store in the same process ([`InProcess`]), or
//! [`Upstream`]: a connection to torsion-kv kept open with backoff, which
//! fails calls at once with [`Unavailable`] (a 503 page) while torsion-kv
//! is down, and is what the binary uses.
//!
//! # Examples
//!
//! The site over a store in this process, as the tests drive it:
//!
//! ```
//! use std::rc::Rc;
//! use torsion::testing::StringTransport;
//! use torsion_servers::kv::{KvStore, StoreConfig};
//! use torsion_servers::kvweb::{self, InProcess};
//! use torsion_servers::web::Site;
//!
//! let store = KvStore::new(StoreConfig::default());
//! let mut site = Site::new(kvweb::site_root(Rc::new(InProcess::new(store.clone()))));
//! let mut t = StringTransport::from_factory(&mut site);
//! t.receive(b"POST /set HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 24\r\n\r\nkey=k&value=%3Cb%3Ehi%3C");
//! let response = String::from_utf8(t.take()).unwrap();
//! assert!(response.starts_with("HTTP/1.1 200 OK\r\n"));
//! assert!(response.contains("<pre id=\"value\">&lt;b&gt;hi&lt;</pre>"));
//! assert_eq!(store.get(b"k").as_deref(), Some(&b"<b>hi<"[..]));
//! ```

mod api;
mod backend;
mod json;
mod pages;
mod problem;
mod upstream;

use std::rc::Rc;

pub use api::Api;
pub use backend::{Backend, Health, InProcess, Unavailable};
pub use json::{json_object, json_string};
pub use pages::{DeletePage, GetPage, Index, SetPage, PAGE_POLICY};
pub use problem::Problem;
pub use upstream::{Upstream, UpstreamConfig, Wire};

use crate::web::Node;

/// The port `torsion-kvweb` listens on unless told otherwise (the seeds'
/// web examples use 8000).
pub const DEFAULT_PORT: u16 = 8000;

/// The whole tree over `backend`: `/`, `/get`, `/set`, `/delete`, `/api/`.
pub fn site_root(backend: Rc<dyn Backend>) -> Node {
    let mut root = Node::new();
    root.put_child("", Index::new(backend.clone()))
        .put_child("get", GetPage::new(backend.clone()))
        .put_child("set", SetPage::new(backend.clone()))
        .put_child("delete", DeletePage::new(backend.clone()))
        .put_child("api", Api::new(backend));
    root
}
