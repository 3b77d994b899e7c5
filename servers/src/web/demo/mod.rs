//! The seeds' web examples as one site, served by `torsion-web-demo`.
//!
//! | path | what it shows |
//! | --- | --- |
//! | `/` | an index linking every page |
//! | `/page` | a plain page (`web2.py`) |
//! | `/long` | `A`, `B`, `C` one second apart, then the end (`web3.py`): watch it with `curl -N` |
//! | `/fetch?url=...` | fetches a page with `get_page` and streams it back (`web3b.py`) |
//! | `/fib?num=N` | fib(N) computed on the thread pool with `defer_to_thread`: the loop stays free |
//! | `/fib-blocking?num=N` | the same computed on the loop, on purpose: the slow-callback warning, and every other client stalls |
//! | `/form` | a form POSTed back to itself |

mod fetch;
mod fib;
mod pages;

pub use fetch::Fetch;
pub use fib::{fib, MAX_FIB};
pub use pages::{Fib, FibBlocking, Form, Index, Long, Page};

use super::Node;

/// The seeds' port for their web examples.
pub const DEFAULT_PORT: u16 = 8000;

/// The whole demo tree.
pub fn site_root() -> Node {
    let mut root = Node::new();
    root.put_child("", Index)
        .put_child("page", Page)
        .put_child("long", Long::default())
        .put_child("fetch", Fetch::default())
        .put_child("fib", Fib)
        .put_child("fib-blocking", FibBlocking)
        .put_child("form", Form);
    root
}
