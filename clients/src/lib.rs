//! Torsion's clients.
//!
//! - [`memcache`]: a memcached client over one pipelined connection per
//!   server, and a ketama pool over many (`torsion-mc` is its command
//!   line). `docs/clients.md` walks from the seeds' client to this one.
//! - [`timing`]: the seeds' timing client for the line proxy
//!   (`torsion-timing`): every URL at once, each one's time, the total.
#![deny(missing_docs)]

pub mod http;
pub mod kv;
pub mod memcache;
pub mod multiclient;
pub mod timing;

/// The code of `docs/clients.md`, run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../docs/clients.md")]
pub struct ClientsGuide;

/// The code of `docs/tutorial.md`, run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../docs/tutorial.md")]
pub struct TutorialGuide;
