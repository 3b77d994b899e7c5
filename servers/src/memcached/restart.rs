//! Warm restart: the snapshot file that `-e FILE` (memcached's
//! `--memory-file`) names, which carries the cache across a graceful stop.
//!
//! memcached keeps its items in a memory-mapped FILE and writes a
//! `FILE.meta` on a graceful stop (SIGUSR1, or `shutdown graceful` with
//! `-A`); the next start with the same settings maps the file again. Torsion's
//! items live on the heap, so a graceful stop writes them all to FILE
//! instead, and the next start reads them back. What comes back: every item
//! that was live (neither expired nor flushed), with its key, value, flags,
//! absolute expiry (time keeps running while the server is down: an item
//! that expired meanwhile is dropped), last access, bits and CAS unique; the
//! CAS counter continues above them; a pending delayed `flush_all`; and the
//! hash table's size (`hash_power_level`), which memcached restores too.
//!
//! # The rules
//!
//! - **Only a graceful stop saves.** SIGINT and SIGTERM close the
//!   connections and exit 0 without saving, as memcached does for them (its
//!   handler only ends the loop; it saves for SIGUSR1 alone). A crash or a
//!   kill saves nothing either.
//! - **A snapshot is used once.** After reading it, the server removes the
//!   file, as memcached removes its `.meta` file: a server that then
//!   crashes, or is stopped by SIGTERM, starts empty next time instead of
//!   with stale items.
//! - **Settings must match.** The sizes that decide where an item goes
//!   (`-m`, `-I`, `-n`, `-f`, `-o slab_chunk_max`, `slab_reassign`, `-C`)
//!   are saved; a start with different ones logs which one differs and
//!   starts empty.
//! - **A damaged file is never half-used.** A wrong magic number or
//!   version, a truncated file or a checksum that does not match: logged,
//!   and the server starts empty (the items read so far are dropped).
//! - **A write is atomic.** The snapshot is written to `FILE.tmp`, synced,
//!   then renamed over FILE (and the directory synced): a kill in the middle
//!   leaves the old FILE or none, never a torn one under the real name.
//! - **memcached's own files are left alone.** A `FILE.meta` next to FILE
//!   means FILE is a memory file that memcached stopped gracefully, in its
//!   format; the server refuses to start (memcached itself aborts on a
//!   metadata file it cannot read) rather than overwrite it on its next save.
//!
//! # Format (version 1, little-endian)
//!
//! | part | contents |
//! |---|---|
//! | header | [`MAGIC`] (8 bytes), [`VERSION`] (u32), the settings (`-m` u64, `-I` u64, `-n` u64, `-f` as f64 bits u64, `slab_chunk_max` u64, `slab_reassign` u8, CAS enabled u8), save time (u32 unix seconds), next CAS (u64), hash power (u8), pending flush time (u32, 0: none), items held at the save (u64: an upper bound of the items that follow, to size the index) |
//! | items | per item: [`ITEM_TAG`] (u8), key length (u8), bits (u8), flags (u32), expiry (u32, 0: never), last access (u32), CAS (u64), value length (u32), key, value |
//! | trailer | [`END_TAG`] (u8), item count (u64), checksum (u64: 64-bit FNV-1a of every byte before it) |
//!
//! Items are written class by class, least recently used first, and restored
//! in that order, so each class's LRU order survives.

use std::fmt;
use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::hash_power::MAX_HASH_POWER;
use super::item::{ItemBits, MAX_KEY_LEN};
use super::store::{Store, StoreConfig};

/// The first eight bytes of a snapshot.
pub const MAGIC: [u8; 8] = *b"TRSNMCWR";

/// The format version this code writes and reads.
pub const VERSION: u32 = 1;

/// Marks an item record.
pub const ITEM_TAG: u8 = 1;

/// Marks the trailer, after the last item.
pub const END_TAG: u8 = 0;

/// What memcached appends to FILE for its metadata file.
pub const MEMCACHED_META_SUFFIX: &str = ".meta";

/// What the snapshot is written to before it is renamed over FILE.
pub const TMP_SUFFIX: &str = ".tmp";

/// The write and read buffers' size.
const IO_BUFFER: usize = 1 << 20;

/// Bytes of an item record before its key and value.
const ITEM_HEADER: usize = 1 + 1 + 4 + 4 + 4 + 8 + 4;

/// One item read back from a snapshot, ready to be put in the store
/// ([`Store::restore`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedItem {
    /// The key followed by the value (the store's own layout: one allocation).
    pub data: Box<[u8]>,
    /// Length of the key at the start of `data`.
    pub key_len: usize,
    /// Client flags.
    pub flags: u32,
    /// Absolute unix second at which the item disappears (0: never).
    pub expires: u32,
    /// Unix second of its last access.
    pub last_access: u32,
    /// Its CAS unique.
    pub cas: u64,
    /// Its public bits (fetched, stale, token sent, binary key).
    pub bits: ItemBits,
}

/// Why [`Store::restore`] did not put an item back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skipped {
    /// It expired while the server was down.
    Expired,
    /// Its key or size does not fit this store.
    Invalid,
    /// The store had no room for it.
    NoRoom,
}

/// The settings a snapshot must share with the server that loads it: the
/// ones that decide an item's size class and the memory it may take.
#[derive(Debug, Clone, PartialEq)]
pub struct Fingerprint {
    /// `-m`, in bytes.
    pub max_bytes: u64,
    /// `-I`, in bytes.
    pub item_size_max: u64,
    /// `-n`.
    pub chunk_size: u64,
    /// `-f`.
    pub growth_factor: f64,
    /// `-o slab_chunk_max`.
    pub slab_chunk_max: u64,
    /// `-o slab_reassign`.
    pub slab_reassign: bool,
    /// CAS uniques kept (no `-C`).
    pub cas_enabled: bool,
}

impl Fingerprint {
    /// The fingerprint of a store configuration.
    pub fn of(config: &StoreConfig) -> Self {
        Fingerprint {
            max_bytes: config.max_bytes as u64,
            item_size_max: config.item_size_max as u64,
            chunk_size: config.chunk_size as u64,
            growth_factor: config.growth_factor,
            slab_chunk_max: config.slab_chunk_max as u64,
            slab_reassign: config.slab_reassign,
            cas_enabled: config.cas_enabled,
        }
    }

    /// The first setting that differs from `now`'s, as "`-m`: saved with X,
    /// now Y"; `None` when they all match.
    pub fn mismatch(&self, now: &Fingerprint) -> Option<String> {
        let differs = |name: &str, saved: &dyn fmt::Display, current: &dyn fmt::Display| {
            format!("{name}: saved with {saved}, now {current}")
        };
        if self.max_bytes != now.max_bytes {
            Some(differs(
                "memory limit (-m, bytes)",
                &self.max_bytes,
                &now.max_bytes,
            ))
        } else if self.item_size_max != now.item_size_max {
            Some(differs(
                "item size limit (-I)",
                &self.item_size_max,
                &now.item_size_max,
            ))
        } else if self.chunk_size != now.chunk_size {
            Some(differs("chunk size (-n)", &self.chunk_size, &now.chunk_size))
        } else if self.growth_factor.to_bits() != now.growth_factor.to_bits() {
            Some(differs(
                "growth factor (-f)",
                &self.growth_factor,
                &now.growth_factor,
            ))
        } else if self.slab_chunk_max != now.slab_chunk_max {
            Some(differs(
                "slab_chunk_max",
                &self.slab_chunk_max,
                &now.slab_chunk_max,
            ))
        } else if self.slab_reassign != now.slab_reassign {
            Some(differs("slab_reassign", &self.slab_reassign, &now.slab_reassign))
        } else if self.cas_enabled != now.cas_enabled {
            Some(differs("CAS (-C)", &self.cas_enabled, &now.cas_enabled))
        } else {
            None
        }
    }

    fn write(&self, w: &mut impl Write) -> io::Result<()> {
        w.write_all(&self.max_bytes.to_le_bytes())?;
        w.write_all(&self.item_size_max.to_le_bytes())?;
        w.write_all(&self.chunk_size.to_le_bytes())?;
        w.write_all(&self.growth_factor.to_bits().to_le_bytes())?;
        w.write_all(&self.slab_chunk_max.to_le_bytes())?;
        w.write_all(&[u8::from(self.slab_reassign), u8::from(self.cas_enabled)])
    }

    fn read(r: &mut impl Read) -> Result<Self, LoadError> {
        Ok(Fingerprint {
            max_bytes: read_u64(r)?,
            item_size_max: read_u64(r)?,
            chunk_size: read_u64(r)?,
            growth_factor: f64::from_bits(read_u64(r)?),
            slab_chunk_max: read_u64(r)?,
            slab_reassign: read_u8(r)? != 0,
            cas_enabled: read_u8(r)? != 0,
        })
    }
}

/// What the server keeps across a restart besides the store's items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extras {
    /// memcached's `hash_power_level`.
    pub hash_power: u8,
}

/// What [`save`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SaveReport {
    /// Items written.
    pub items: u64,
    /// Size of the file.
    pub bytes: u64,
}

/// A snapshot read back into a new store.
#[derive(Debug)]
pub struct Loaded {
    /// The store, with the restored items and fresh counters.
    pub store: Store,
    /// What else was saved.
    pub extras: Extras,
    /// When the snapshot was written (unix seconds).
    pub saved_at: u32,
    /// Items restored.
    pub restored: u64,
    /// Items that expired while the server was down.
    pub expired: u64,
    /// Items the store had no room for.
    pub no_room: u64,
}

/// Why a snapshot was not used: the server starts empty.
#[derive(Debug)]
pub enum LoadError {
    /// There is no snapshot file.
    Missing,
    /// Reading it failed.
    Io(io::Error),
    /// It is not a Torsion snapshot.
    BadMagic,
    /// It was written by another version of the format.
    Version(u32),
    /// It was saved with different settings (the message names the first).
    Mismatch(String),
    /// It ends early: a torn or truncated file.
    Truncated,
    /// Its checksum does not match its contents.
    Checksum,
    /// A record is malformed (what is wrong).
    Corrupt(&'static str),
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Missing => write!(f, "no snapshot file"),
            LoadError::Io(e) => write!(f, "cannot read it: {e}"),
            LoadError::BadMagic => write!(f, "not a torsion-memcached snapshot"),
            LoadError::Version(v) => write!(f, "format version {v}, this server reads {VERSION}"),
            LoadError::Mismatch(m) => write!(f, "settings differ: {m}"),
            LoadError::Truncated => write!(f, "the file is truncated"),
            LoadError::Checksum => write!(f, "the checksum does not match"),
            LoadError::Corrupt(what) => write!(f, "corrupt record: {what}"),
        }
    }
}

impl From<io::Error> for LoadError {
    fn from(e: io::Error) -> Self {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            LoadError::Truncated
        } else {
            LoadError::Io(e)
        }
    }
}

/// 64-bit FNV-1a, the snapshot's checksum: fast, no table, and any torn
/// write or flipped byte changes it.
#[derive(Debug, Clone, Copy)]
struct Fnv(u64);

impl Fnv {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;

    fn new() -> Self {
        Fnv(Self::OFFSET)
    }

    fn update(&mut self, bytes: &[u8]) {
        let mut h = self.0;
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(Self::PRIME);
        }
        self.0 = h;
    }
}

/// A writer that checksums what passes through it.
struct Summing<W> {
    inner: W,
    sum: Fnv,
    written: u64,
}

impl<W: Write> Write for Summing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.sum.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A reader that checksums what passes through it.
struct Checked<R> {
    inner: R,
    sum: Fnv,
}

impl<R: Read> Read for Checked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.sum.update(&buf[..n]);
        Ok(n)
    }
}

fn read_u8(r: &mut impl Read) -> io::Result<u8> {
    let mut b = [0u8; 1];
    r.read_exact(&mut b)?;
    Ok(b[0])
}

fn read_u32(r: &mut impl Read) -> io::Result<u32> {
    let mut b = [0u8; 4];
    r.read_exact(&mut b)?;
    Ok(u32::from_le_bytes(b))
}

fn read_u64(r: &mut impl Read) -> io::Result<u64> {
    let mut b = [0u8; 8];
    r.read_exact(&mut b)?;
    Ok(u64::from_le_bytes(b))
}

/// `path` with `suffix` appended (`FILE.tmp`, `FILE.meta`).
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Writes `store`'s live items and `extras` to `path`, atomically: to
/// `path.tmp`, synced, then renamed over `path`, and the directory synced.
pub fn save(path: &Path, store: &Store, extras: Extras, now: u32) -> io::Result<SaveReport> {
    let tmp = with_suffix(path, TMP_SUFFIX);
    crate::durable::replace_file(path, &tmp, |file| {
        let (buffered, report) = write_to(BufWriter::with_capacity(IO_BUFFER, file), store, extras, now)?;
        Ok((buffered.into_inner().map_err(|e| e.into_error())?, report))
    })
}

/// Writes the whole snapshot, checksum included, to `out`, and hands `out`
/// back (flushed).
pub fn write_to<W: Write>(out: W, store: &Store, extras: Extras, now: u32) -> io::Result<(W, SaveReport)> {
    let mut w = Summing {
        inner: out,
        sum: Fnv::new(),
        written: 0,
    };
    let items = write_snapshot(&mut w, store, extras, now)?;
    let checksum = w.sum.0;
    w.inner.write_all(&checksum.to_le_bytes())?;
    w.inner.flush()?;
    let bytes = w.written + 8;
    Ok((w.inner, SaveReport { items, bytes }))
}

/// The item bits as the file stores them (independent of the store's own
/// representation).
const BIT_CODES: [(ItemBits, u8); 4] = [
    (ItemBits::FETCHED, 1),
    (ItemBits::STALE, 2),
    (ItemBits::TOKEN_SENT, 4),
    (ItemBits::KEY_BINARY, 8),
];

fn encode_bits(bits: ItemBits) -> u8 {
    BIT_CODES
        .iter()
        .filter(|(bit, _)| bits.contains(*bit))
        .fold(0, |acc, (_, code)| acc | code)
}

fn decode_bits(byte: u8) -> ItemBits {
    BIT_CODES
        .iter()
        .filter(|(_, code)| byte & code != 0)
        .fold(ItemBits::NONE, |acc, (bit, _)| acc.union(*bit))
}

/// The header, the items and the trailer up to (not including) the
/// checksum.
fn write_snapshot<W: Write>(w: &mut W, store: &Store, extras: Extras, now: u32) -> io::Result<u64> {
    w.write_all(&MAGIC)?;
    w.write_all(&VERSION.to_le_bytes())?;
    Fingerprint::of(store.config()).write(w)?;
    w.write_all(&now.to_le_bytes())?;
    w.write_all(&store.next_cas().to_le_bytes())?;
    w.write_all(&[extras.hash_power])?;
    w.write_all(&store.pending_flush().unwrap_or(0).to_le_bytes())?;
    // An upper bound (it counts expired items not yet reclaimed), for the
    // reader to size its index once.
    w.write_all(&(store.curr_items() as u64).to_le_bytes())?;
    let mut count = 0u64;
    store.for_each_oldest_first(now, |item| {
        let key = item.key();
        let value = item.value();
        let key_len = u8::try_from(key.len()).map_err(|_| io::Error::other("key too long"))?;
        let value_len = u32::try_from(value.len()).map_err(|_| io::Error::other("value too long"))?;
        let mut head = [0u8; 1 + ITEM_HEADER];
        head[0] = ITEM_TAG;
        head[1] = key_len;
        head[2] = encode_bits(item.bits());
        head[3..7].copy_from_slice(&item.flags().to_le_bytes());
        head[7..11].copy_from_slice(&item.expires_at().unwrap_or(0).to_le_bytes());
        head[11..15].copy_from_slice(&item.last_access().to_le_bytes());
        head[15..23].copy_from_slice(&item.cas().to_le_bytes());
        head[23..27].copy_from_slice(&value_len.to_le_bytes());
        w.write_all(&head)?;
        w.write_all(key)?;
        w.write_all(value)?;
        count += 1;
        Ok::<(), io::Error>(())
    })?;
    w.write_all(&[END_TAG])?;
    w.write_all(&count.to_le_bytes())?;
    Ok(count)
}

/// Reads the snapshot at `path` into a new store configured by `config`,
/// dropping items that expired before `now`.
pub fn load(path: &Path, config: &StoreConfig, now: u32) -> Result<Loaded, LoadError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(LoadError::Missing),
        Err(e) => return Err(LoadError::Io(e)),
    };
    read_snapshot(BufReader::with_capacity(IO_BUFFER, file), config, now)
}

/// [`load`] from any reader (the whole snapshot, checksum included).
pub fn read_snapshot(input: impl Read, config: &StoreConfig, now: u32) -> Result<Loaded, LoadError> {
    let mut r = Checked {
        inner: input,
        sum: Fnv::new(),
    };
    let mut magic = [0u8; 8];
    r.read_exact(&mut magic)?;
    if magic != MAGIC {
        return Err(LoadError::BadMagic);
    }
    let version = read_u32(&mut r)?;
    if version != VERSION {
        return Err(LoadError::Version(version));
    }
    let saved = Fingerprint::read(&mut r)?;
    if let Some(why) = saved.mismatch(&Fingerprint::of(config)) {
        return Err(LoadError::Mismatch(why));
    }
    let saved_at = read_u32(&mut r)?;
    let next_cas = read_u64(&mut r)?;
    let hash_power = read_u8(&mut r)?;
    if hash_power > MAX_HASH_POWER {
        return Err(LoadError::Corrupt("hash power"));
    }
    let pending_flush = read_u32(&mut r)?;
    let expected_items = read_u64(&mut r)?;
    let mut loaded = Loaded {
        store: Store::new(config.clone()),
        extras: Extras { hash_power },
        saved_at,
        restored: 0,
        expired: 0,
        no_room: 0,
    };
    loaded.store.reserve_items(expected_items);
    let max_value = config.item_size_max;
    let mut count = 0u64;
    loop {
        match read_u8(&mut r)? {
            END_TAG => break,
            ITEM_TAG => {}
            _ => return Err(LoadError::Corrupt("unknown tag")),
        }
        let mut head = [0u8; ITEM_HEADER];
        r.read_exact(&mut head)?;
        let key_len = usize::from(head[0]);
        let bits = decode_bits(head[1]);
        let field = |at: usize| u32::from_le_bytes([head[at], head[at + 1], head[at + 2], head[at + 3]]);
        let flags = field(2);
        let expires = field(6);
        let last_access = field(10);
        let mut cas = [0u8; 8];
        cas.copy_from_slice(&head[14..22]);
        let cas = u64::from_le_bytes(cas);
        let value_len = field(22) as usize;
        if key_len == 0 || key_len > MAX_KEY_LEN {
            return Err(LoadError::Corrupt("key length"));
        }
        if value_len > max_value {
            return Err(LoadError::Corrupt("value length"));
        }
        let mut data = vec![0u8; key_len + value_len];
        r.read_exact(&mut data)?;
        count += 1;
        let item = SavedItem {
            data: data.into_boxed_slice(),
            key_len,
            flags,
            expires,
            last_access,
            cas,
            bits,
        };
        match loaded.store.restore(item, now) {
            Ok(()) => loaded.restored += 1,
            Err(Skipped::Expired) => loaded.expired += 1,
            Err(Skipped::NoRoom) => loaded.no_room += 1,
            Err(Skipped::Invalid) => return Err(LoadError::Corrupt("item does not fit")),
        }
    }
    if read_u64(&mut r)? != count {
        return Err(LoadError::Corrupt("item count"));
    }
    let expected = r.sum.0;
    let checksum = read_u64(&mut r.inner)?;
    if checksum != expected {
        return Err(LoadError::Checksum);
    }
    if r.inner.read(&mut [0u8; 1])? != 0 {
        return Err(LoadError::Corrupt("data after the checksum"));
    }
    loaded.store.resume_cas(next_cas);
    if pending_flush != 0 {
        // An absolute time: `flush_all` then flushes at once if it is past.
        loaded.store.flush_all(i64::from(pending_flush), now);
    }
    loaded.store.reset_stats();
    Ok(loaded)
}

/// Why the server must not start at all.
#[derive(Debug)]
pub struct Refused(pub String);

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// At startup with `-e path`: refuses memcached's own memory file (see
/// the module documentation), else loads the snapshot if there is one,
/// logging the outcome, and removes the file once read (used or not).
/// `Ok(None)`: start empty.
pub fn start(path: &Path, config: &StoreConfig, now: u32) -> Result<Option<Loaded>, Refused> {
    let meta = with_suffix(path, MEMCACHED_META_SUFFIX);
    if meta.exists() {
        return Err(Refused(format!(
            "{} exists: {} is a memory file memcached saved, in memcached's format, which torsion-memcached cannot read; remove both files or name another -e file",
            meta.display(),
            path.display()
        )));
    }
    let started = Instant::now();
    let outcome = load(path, config, now);
    let result = match outcome {
        Err(LoadError::Missing) => {
            log::info!(
                "[restart] no snapshot at {}, starting with an empty cache",
                path.display()
            );
            return Ok(None);
        }
        Err(why) => {
            log::warn!(
                "[restart] not using the snapshot {}: {why}; starting with an empty cache",
                path.display()
            );
            None
        }
        Ok(loaded) => {
            log::info!(
                "[restart] restored {} items from {} in {:.3} s (saved {} s ago; {} expired meanwhile, {} without room)",
                loaded.restored,
                path.display(),
                started.elapsed().as_secs_f64(),
                now.saturating_sub(loaded.saved_at),
                loaded.expired,
                loaded.no_room
            );
            Some(loaded)
        }
    };
    if let Err(e) = fs::remove_file(path) {
        log::warn!(
            "[restart] cannot remove the used snapshot {}: {e}",
            path.display()
        );
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::super::store::{Adjust, StoreMode};
    use super::*;
    use crate::scratch::Scratch;

    const NOW: u32 = 1_700_000_000;
    const EXTRAS: Extras = Extras { hash_power: 17 };

    fn config() -> StoreConfig {
        StoreConfig {
            max_bytes: 16 << 20,
            item_size_max: 2 << 20,
            slab_chunk_max: 512 << 10,
            ..StoreConfig::default()
        }
    }

    fn set(s: &mut Store, key: &str, flags: u32, exptime: i64, value: &[u8]) -> u64 {
        match s.store(StoreMode::Set, key.as_bytes(), flags, exptime, value, None, NOW) {
            Ok(super::super::store::StoreOutcome::Stored { cas }) => cas,
            other => panic!("{key}: {other:?}"),
        }
    }

    /// A store with small, large and chunked items, flags, TTLs, bits, and
    /// a read that changed the LRU order.
    fn sample() -> Store {
        let mut s = Store::new(config());
        set(&mut s, "small", 5, 0, b"hi");
        set(&mut s, "ttl", 0, 100, b"lives 100 s");
        set(&mut s, "short", 0, 3, b"expires soon");
        set(&mut s, "big", 1, 0, &vec![b'b'; 100_000]);
        set(&mut s, "chunked", 2, 0, &vec![b'c'; 768_050]);
        for i in 0..20 {
            set(&mut s, &format!("k{i}"), i, 0, format!("value {i}").as_bytes());
        }
        assert!(s.get(b"k3", NOW).is_some()); // k3 is now the most recent
        let stale = Adjust {
            set: ItemBits::STALE,
            ..Adjust::default()
        };
        assert!(s.adjust(b"k7", stale, NOW).is_some());
        assert_eq!(
            s.delete(b"k9", None, NOW),
            super::super::store::DeleteOutcome::Deleted
        );
        s
    }

    fn snapshot(s: &Store, now: u32) -> Vec<u8> {
        write_to(Vec::new(), s, EXTRAS, now).unwrap().0
    }

    /// Key, flags, expiry, CAS, last access, bits and value of one item.
    type Row = (Vec<u8>, u32, Option<u32>, u64, u32, ItemBits, Vec<u8>);

    /// Everything about the items a restart must keep, per class in LRU order.
    fn picture(s: &Store) -> Vec<(u8, Vec<Row>)> {
        let mut out: Vec<(u8, Vec<Row>)> = Vec::new();
        s.for_each_oldest_first(NOW, |item| {
            let row = (
                item.key().to_vec(),
                item.flags(),
                item.expires_at(),
                item.cas(),
                item.last_access(),
                item.bits(),
                item.value().to_vec(),
            );
            match out.last_mut() {
                Some((class, rows)) if *class == item.class() => rows.push(row),
                _ => out.push((item.class(), vec![row])),
            }
            Ok::<(), ()>(())
        })
        .unwrap();
        out
    }

    #[test]
    fn round_trip_keeps_wide_cas_flags_and_expiry() {
        // A CAS past 2^32 needs the blob's wider header: the restore of an
        // item first stored with a small CAS must grow it.
        let mut original = Store::new(config());
        original.resume_cas(1 << 40);
        let wide = set(&mut original, "wide", 0xdead_beef, 500, b"v");
        assert!(wide > u64::from(u32::MAX));
        set(&mut original, "plain", 0, 0, b"w");
        let bytes = snapshot(&original, NOW);
        let loaded = read_snapshot(&bytes[..], &config(), NOW).unwrap();
        let mut restored = loaded.store;
        assert_eq!(picture(&restored), picture(&original));
        let item = restored.peek(b"wide", NOW).unwrap();
        assert_eq!(
            (item.cas(), item.flags(), item.expires_at()),
            (wide, 0xdead_beef, Some(NOW + 500))
        );
        assert!(restored.next_cas() > wide);
    }

    #[test]
    fn round_trip_keeps_items_order_cas_and_accounting() {
        let original = sample();
        let bytes = snapshot(&original, NOW);
        let loaded = read_snapshot(&bytes[..], &config(), NOW).unwrap();
        assert_eq!(loaded.extras, EXTRAS);
        assert_eq!(loaded.saved_at, NOW);
        assert_eq!((loaded.restored, loaded.expired, loaded.no_room), (24, 0, 0));
        let mut restored = loaded.store;
        assert_eq!(picture(&restored), picture(&original));
        assert_eq!(restored.curr_items(), original.curr_items());
        assert_eq!(restored.bytes(), original.bytes());
        for class in 0..=restored.slabs().table().largest() {
            let (a, b) = (restored.class_stats(class), original.class_stats(class));
            assert_eq!(
                (a.number, a.mem_requested),
                (b.number, b.mem_requested),
                "class {class}"
            );
            assert_eq!(
                restored.slabs().class(class),
                original.slabs().class(class),
                "class {class}"
            );
        }
        // The CAS counter continues above the restored ones.
        let next = original.next_cas();
        assert_eq!(restored.next_cas(), next);
        assert_eq!(set(&mut restored, "new", 0, 0, b"n"), next);
        // Counters start afresh.
        assert_eq!(restored.stats().cmd_set, 1);
    }

    #[test]
    fn items_that_expired_while_down_stay_gone() {
        let bytes = snapshot(&sample(), NOW);
        let later = NOW + 10;
        let loaded = read_snapshot(&bytes[..], &config(), later).unwrap();
        assert_eq!((loaded.restored, loaded.expired), (23, 1));
        let mut s = loaded.store;
        assert!(s.get(b"short", later).is_none());
        assert_eq!(s.get(b"ttl", later).unwrap().ttl(later), Some(90));
    }

    #[test]
    fn only_live_items_are_saved_and_a_pending_flush_survives() {
        let mut s = sample();
        s.flush_all(0, NOW);
        set(&mut s, "after", 0, 0, b"a");
        s.flush_all(60, NOW);
        let bytes = snapshot(&s, NOW);
        let loaded = read_snapshot(&bytes[..], &config(), NOW).unwrap();
        assert_eq!(loaded.restored, 1);
        let mut s = loaded.store;
        assert!(s.get(b"after", NOW + 59).is_some());
        assert!(s.get(b"after", NOW + 60).is_none());
    }

    #[test]
    fn every_truncation_is_refused() {
        let mut s = Store::new(config());
        set(&mut s, "a", 1, 0, b"one");
        set(&mut s, "b", 2, 0, b"two");
        let bytes = snapshot(&s, NOW);
        for len in 0..bytes.len() {
            match read_snapshot(&bytes[..len], &config(), NOW) {
                Err(LoadError::Truncated) => {}
                other => panic!("{len} of {} bytes: {other:?}", bytes.len()),
            }
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(matches!(
            read_snapshot(&longer[..], &config(), NOW),
            Err(LoadError::Corrupt(_))
        ));
    }

    #[test]
    fn a_changed_byte_fails_the_checksum() {
        let bytes = snapshot(&sample(), NOW);
        let at = bytes.windows(8).position(|w| w == b"value 12").unwrap();
        let mut bad = bytes.clone();
        bad[at] ^= 1;
        assert!(matches!(
            read_snapshot(&bad[..], &config(), NOW),
            Err(LoadError::Checksum)
        ));
        let mut bad = bytes;
        let last = bad.len() - 1;
        bad[last] ^= 0x80;
        assert!(matches!(
            read_snapshot(&bad[..], &config(), NOW),
            Err(LoadError::Checksum)
        ));
    }

    #[test]
    fn wrong_magic_or_version() {
        let bytes = snapshot(&sample(), NOW);
        let mut bad = bytes.clone();
        bad[0] = b'X';
        assert!(matches!(
            read_snapshot(&bad[..], &config(), NOW),
            Err(LoadError::BadMagic)
        ));
        let mut bad = bytes;
        bad[8..12].copy_from_slice(&2u32.to_le_bytes());
        let error = read_snapshot(&bad[..], &config(), NOW).unwrap_err();
        assert!(matches!(error, LoadError::Version(2)));
        assert_eq!(error.to_string(), "format version 2, this server reads 1");
    }

    #[test]
    fn a_setting_mismatch_names_the_setting() {
        let bytes = snapshot(&sample(), NOW);
        type Change = fn(&mut StoreConfig);
        let cases: [(Change, &str); 6] = [
            (|c| c.max_bytes = 64 << 20, "-m"),
            (|c| c.item_size_max = 1 << 20, "-I"),
            (|c| c.chunk_size = 96, "-n"),
            (|c| c.growth_factor = 1.5, "-f"),
            (|c| c.slab_chunk_max = 256 << 10, "slab_chunk_max"),
            (|c| c.cas_enabled = false, "-C"),
        ];
        for (change, name) in cases {
            let mut other = config();
            change(&mut other);
            match read_snapshot(&bytes[..], &other, NOW) {
                Err(LoadError::Mismatch(why)) => assert!(why.contains(name), "{name}: {why}"),
                other => panic!("{name}: {other:?}"),
            }
        }
        // Settings that do not decide where items go may change.
        let mut other = config();
        other.evict = false;
        assert!(read_snapshot(&bytes[..], &other, NOW).is_ok());
    }

    #[test]
    fn bits_encode_and_decode() {
        for byte in 0..16u8 {
            assert_eq!(encode_bits(decode_bits(byte)), byte);
        }
    }

    #[test]
    fn start_uses_a_snapshot_once_and_ignores_a_bad_one() {
        let dir = Scratch::new("restart-start");
        let path = dir.path("cache");
        assert!(start(&path, &config(), NOW).unwrap().is_none());
        let report = save(&path, &sample(), EXTRAS, NOW).unwrap();
        assert_eq!(report.items, 24);
        assert_eq!(report.bytes, fs::metadata(&path).unwrap().len());
        assert!(!with_suffix(&path, TMP_SUFFIX).exists());
        let loaded = start(&path, &config(), NOW).unwrap().unwrap();
        assert_eq!(loaded.restored, 24);
        assert!(!path.exists(), "a used snapshot is removed");
        assert!(start(&path, &config(), NOW).unwrap().is_none());
        // A damaged file: start empty, and the file is gone.
        fs::write(&path, b"TRSNMCWR\x01\0").unwrap();
        assert!(start(&path, &config(), NOW).unwrap().is_none());
        assert!(!path.exists());
        // memcached's metadata file next to it: refuse to start.
        fs::write(with_suffix(&path, MEMCACHED_META_SUFFIX), b"").unwrap();
        let refused = start(&path, &config(), NOW).unwrap_err();
        assert!(refused.to_string().contains("cache.meta exists"), "{refused}");
    }
}
