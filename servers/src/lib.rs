//! Torsion's servers, as libraries the binaries and tests share.
#![deny(missing_docs)]

pub mod cli;
pub mod durable;
pub mod fib;
pub mod hello;
pub mod kv;
pub mod kvweb;
pub mod memcached;
pub mod proxy;
#[cfg(test)]
mod scratch;
pub mod upper;
pub mod web;
pub mod weblog;
