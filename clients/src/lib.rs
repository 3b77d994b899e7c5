//! Torsion's clients.
#![deny(missing_docs)]

pub mod http;
