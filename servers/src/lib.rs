//! Torsion's servers, as libraries the binaries and tests share.
#![deny(missing_docs)]

pub mod memcached;
