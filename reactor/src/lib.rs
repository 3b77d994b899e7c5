//! Torsion: a single-threaded reactor on mio, in the spirit of Twisted.
#![deny(missing_docs)]

pub mod timer;
