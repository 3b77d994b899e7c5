//! [`Commands`]: the commands on keys, for a single client and for a pool.

use std::collections::HashMap;

use bytes::Bytes;
use torsion::defer::{fail, succeed};
use torsion::{Deferred, Failure};

use super::conn::Completion;
use super::error::MemcacheError;
use super::multi::{MultiCompletion, Values};
use super::request::{check_key, Request, Store};
use super::value::Reply;
use super::value::Value;
use torsion_protocols::memcache::text;

pub(crate) mod sealed {
    use super::*;

    /// How a request reaches a server: the one connection of a client, or
    /// the server a pool's ring picks. Not for implementing outside.
    pub trait Dispatch {
        /// Sends `request`, about `key`; `complete` runs with the reply.
        fn dispatch(&self, key: &[u8], request: Request, complete: Completion) -> Result<(), MemcacheError>;

        /// Gets checked `keys` (with CAS uniques if `cas`, touching them if
        /// `exptime` is given); `complete` runs with what was found.
        fn dispatch_multi(
            &self,
            keys: &[&[u8]],
            cas: bool,
            exptime: Option<u32>,
            complete: MultiCompletion,
        ) -> Result<(), MemcacheError>;
    }
}

/// The memcached text commands on keys, each returning a [`Deferred`]
/// (which is also a `Future`: `.await` it in async code).
///
/// [`MemcacheClient`](super::MemcacheClient) (one server) and
/// [`MemcachePool`](super::MemcachePool) (many, by consistent hashing)
/// both implement it; bring it into scope with
/// `use torsion_clients::memcache::Commands`.
///
/// Every command is sent on the next turn of the loop, pipelined with the
/// others made meanwhile, and none needs the reactor. A request refused
/// before it is sent (a bad key, too many pending requests, a closed
/// client) returns a Deferred that has failed already.
///
/// # Errors
///
/// Deferreds fail with a [`Failure`] carrying a [`MemcacheError`]: the
/// server's `NOT_FOUND`, `NOT_STORED`, `EXISTS`, `ERROR`, `CLIENT_ERROR`,
/// `SERVER_ERROR`, or the client's `ConnectionLost`, `ConnectFailed`,
/// `Timeout`, `Protocol`, `InvalidRequest`, `TooManyPending`, `Closed`.
/// A miss is not an error: `get` gives `None`.
///
/// Keys are 1 to 250 bytes without spaces or control characters (see
/// [`check_key`](super::check_key)). Expiration times are memcached's:
/// 0 never expires, up to 30 days (2,592,000) counts seconds from now,
/// more is a unix time.
///
/// # Examples
///
/// ```no_run
/// use torsion::endpoint::ClientEndpoint;
/// use torsion::Reactor;
/// use torsion_clients::memcache::{ClientConfig, Commands, MemcacheClient};
///
/// let mut reactor = Reactor::new()?;
/// let client = MemcacheClient::connect(&mut reactor, ClientEndpoint::tcp("127.0.0.1", 11211), ClientConfig::default());
/// let value = reactor.run_until_complete(async move {
///     client.set("greeting", "hello", 0, 0).await?;
///     client.get("greeting").await
/// })?;
/// assert_eq!(value.expect("no failure").map(|v| v.data), Some("hello".into()));
/// # Ok::<(), std::io::Error>(())
/// ```
pub trait Commands: sealed::Dispatch {
    /// `get`: the value of `key`, or `None` on a miss.
    #[track_caller]
    fn get(&self, key: impl AsRef<[u8]>) -> Deferred<Option<Value>> {
        retrieve(self, key.as_ref(), false, None)
    }

    /// `gets`: like [`get`](Commands::get), with the CAS unique for [`cas`](Commands::cas).
    #[track_caller]
    fn gets(&self, key: impl AsRef<[u8]>) -> Deferred<Option<Value>> {
        retrieve(self, key.as_ref(), true, None)
    }

    /// `gat`: gets `key` and sets its expiration time to `exptime`.
    #[track_caller]
    fn gat(&self, key: impl AsRef<[u8]>, exptime: u32) -> Deferred<Option<Value>> {
        retrieve(self, key.as_ref(), false, Some(exptime))
    }

    /// `gats`: [`gat`](Commands::gat) with the CAS unique.
    #[track_caller]
    fn gats(&self, key: impl AsRef<[u8]>, exptime: u32) -> Deferred<Option<Value>> {
        retrieve(self, key.as_ref(), true, Some(exptime))
    }

    /// `get` of many keys at once: the values found, by key (misses are
    /// simply absent). A client sends `keys_per_get` keys per line; a pool
    /// asks each server for its keys, all at once. If any part fails, the
    /// whole Deferred fails with the first failure.
    #[track_caller]
    fn get_multi<K: AsRef<[u8]>>(
        &self,
        keys: impl IntoIterator<Item = K>,
    ) -> Deferred<HashMap<Bytes, Value>> {
        retrieve_many(self, keys, false)
    }

    /// [`get_multi`](Commands::get_multi) with CAS uniques (`gets`).
    #[track_caller]
    fn gets_multi<K: AsRef<[u8]>>(
        &self,
        keys: impl IntoIterator<Item = K>,
    ) -> Deferred<HashMap<Bytes, Value>> {
        retrieve_many(self, keys, true)
    }

    /// `set`: stores `value` under `key`, whatever was there.
    #[track_caller]
    fn set(&self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>, flags: u32, exptime: u32) -> Deferred<()> {
        store(self, Store::Set, key.as_ref(), value.as_ref(), flags, exptime)
    }

    /// `add`: stores only if `key` is absent; else fails with `NotStored`.
    #[track_caller]
    fn add(&self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>, flags: u32, exptime: u32) -> Deferred<()> {
        store(self, Store::Add, key.as_ref(), value.as_ref(), flags, exptime)
    }

    /// `replace`: stores only if `key` is present; else fails with `NotStored`.
    #[track_caller]
    fn replace(
        &self,
        key: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
        flags: u32,
        exptime: u32,
    ) -> Deferred<()> {
        store(self, Store::Replace, key.as_ref(), value.as_ref(), flags, exptime)
    }

    /// `append`: adds `value` after the existing data (flags and expiration
    /// time are kept); fails with `NotStored` if `key` is absent.
    #[track_caller]
    fn append(&self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Deferred<()> {
        store(self, Store::Append, key.as_ref(), value.as_ref(), 0, 0)
    }

    /// `prepend`: adds `value` before the existing data; fails with
    /// `NotStored` if `key` is absent.
    #[track_caller]
    fn prepend(&self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Deferred<()> {
        store(self, Store::Prepend, key.as_ref(), value.as_ref(), 0, 0)
    }

    /// `cas`: stores only if the item's CAS unique is still `unique` (from
    /// [`gets`](Commands::gets)); fails with `Exists` if it changed since,
    /// `NotFound` if it is gone.
    #[track_caller]
    fn cas(
        &self,
        key: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
        unique: u64,
        flags: u32,
        exptime: u32,
    ) -> Deferred<()> {
        store(
            self,
            Store::Cas(unique),
            key.as_ref(),
            value.as_ref(),
            flags,
            exptime,
        )
    }

    /// `delete`: removes `key`; fails with `NotFound` if it is absent.
    #[track_caller]
    fn delete(&self, key: impl AsRef<[u8]>) -> Deferred<()> {
        let key = key.as_ref();
        single(
            self,
            key,
            check_key(key).map(|()| Request::delete(key)),
            done_on(text::Reply::Deleted),
        )
    }

    /// `incr`: adds `delta` (wrapping at 2^64) to the decimal number stored
    /// under `key` and gives the result; `NotFound` if absent, a
    /// `ClientError` if the value is not a number.
    #[track_caller]
    fn incr(&self, key: impl AsRef<[u8]>, delta: u64) -> Deferred<u64> {
        let key = key.as_ref();
        single(
            self,
            key,
            check_key(key).map(|()| Request::arith(true, key, delta)),
            number,
        )
    }

    /// `decr`: subtracts `delta`, stopping at 0, and gives the result.
    #[track_caller]
    fn decr(&self, key: impl AsRef<[u8]>, delta: u64) -> Deferred<u64> {
        let key = key.as_ref();
        single(
            self,
            key,
            check_key(key).map(|()| Request::arith(false, key, delta)),
            number,
        )
    }

    /// `touch`: sets the expiration time of `key`; `NotFound` if absent.
    #[track_caller]
    fn touch(&self, key: impl AsRef<[u8]>, exptime: u32) -> Deferred<()> {
        let key = key.as_ref();
        single(
            self,
            key,
            check_key(key).map(|()| Request::touch(key, exptime)),
            done_on(text::Reply::Touched),
        )
    }
}

/// Sends one request about `key` and converts its reply with `convert`.
#[track_caller]
pub(crate) fn single<C: sealed::Dispatch + ?Sized, T: 'static>(
    target: &C,
    key: &[u8],
    request: Result<Request, MemcacheError>,
    convert: impl FnOnce(Reply) -> Result<T, MemcacheError> + 'static,
) -> Deferred<T> {
    let request = match request {
        Ok(request) => request,
        Err(error) => return fail(error),
    };
    let d = Deferred::new();
    let target_d = d.clone();
    let complete: Completion = Box::new(move |r, reply| {
        let result = reply.and_then(convert).map_err(Failure::new);
        let _ = target_d.fire(r, result);
    });
    match target.dispatch(key, request, complete) {
        Ok(()) => d,
        Err(error) => fail(error),
    }
}

#[track_caller]
fn retrieve<C: sealed::Dispatch + ?Sized>(
    target: &C,
    key: &[u8],
    cas: bool,
    exptime: Option<u32>,
) -> Deferred<Option<Value>> {
    let request = check_key(key).map(|()| Request::retrieval(&[key], cas, exptime));
    single(target, key, request, |reply| match reply {
        Reply::Values(values) => Ok(values.into_iter().next().map(|(_, v)| v)),
        other => Err(failed(other)),
    })
}

#[track_caller]
fn retrieve_many<C: sealed::Dispatch + ?Sized, K: AsRef<[u8]>>(
    target: &C,
    keys: impl IntoIterator<Item = K>,
    cas: bool,
) -> Deferred<HashMap<Bytes, Value>> {
    let keys: Vec<K> = keys.into_iter().collect();
    let keys: Vec<&[u8]> = keys.iter().map(AsRef::as_ref).collect();
    if let Some(error) = keys.iter().find_map(|k| check_key(k).err()) {
        return fail(error);
    }
    if keys.is_empty() {
        return succeed(HashMap::new());
    }
    let d = Deferred::new();
    let target_d = d.clone();
    let complete: MultiCompletion = Box::new(move |r, result: Result<Values, MemcacheError>| {
        let result = result.map_err(Failure::new);
        let _ = target_d.fire(r, result);
    });
    match target.dispatch_multi(&keys, cas, None, complete) {
        Ok(()) => d,
        Err(error) => fail(error),
    }
}

#[track_caller]
fn store<C: sealed::Dispatch + ?Sized>(
    target: &C,
    store: Store,
    key: &[u8],
    data: &[u8],
    flags: u32,
    exptime: u32,
) -> Deferred<()> {
    let request = check_key(key).and_then(|()| Request::storage(store, key, data, flags, exptime));
    single(target, key, request, done_on(text::Reply::Stored))
}

/// A converter for commands whose success is one word (`STORED`...).
pub(crate) fn done_on(success: text::Reply) -> impl Fn(Reply) -> Result<(), MemcacheError> + Clone {
    move |reply| match reply {
        Reply::Line(line) if line == success => Ok(()),
        other => Err(failed(other)),
    }
}

fn number(reply: Reply) -> Result<u64, MemcacheError> {
    match reply {
        Reply::Number(n) => Ok(n),
        other => Err(failed(other)),
    }
}

/// The error a reply other than the expected success stands for.
pub(crate) fn failed(reply: Reply) -> MemcacheError {
    match reply {
        Reply::Line(text::Reply::NotFound) => MemcacheError::NotFound,
        Reply::Line(text::Reply::NotStored) => MemcacheError::NotStored,
        Reply::Line(text::Reply::Exists) => MemcacheError::Exists,
        Reply::Error(error) => error,
        other => MemcacheError::Protocol(format!("unexpected reply {other:?}")),
    }
}
