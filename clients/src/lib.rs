//! Torsion's clients.
#![deny(missing_docs)]

pub mod kv;
pub mod multiclient;
