//! Torsion's clients.
#![deny(missing_docs)]
