//! Sans-I/O codecs and receivers for Torsion.
#![deny(missing_docs)]

pub mod memcache;
