//! memcached's binary protocol: parse request packets and compose responses,
//! sans-I/O.
//!
//! A packet is a 24-byte header, then `extras_len` bytes of extras, `key_len`
//! bytes of key and the value, `body_len` bytes in all after the header
//! (integers big-endian):
//!
//! ```text
//!  byte 0      1        2..4     4         5          6..8       8..12     12..16   16..24
//!  magic  | opcode | key len | extras len | data type | vbucket | body len | opaque | cas
//!  (0x80 request, 0x81 response; a response has the status where the request has vbucket)
//! ```
//!
//! [`RequestDecoder`] answers [`Parsed::Incomplete`] until the header, extras
//! and key are all there, then a [`Request`] whose key and extras borrow from
//! the input. The value of `set`/`append` (and the body of a command to
//! swallow) follows the `consumed` bytes; [`Request::body`] says how long it
//! is, so a session can wait for it, or swallow it without buffering when it
//! is too large, as memcached does.
//!
//! Both ways: [`write_request`] and [`Command::extras`] compose requests,
//! [`write_response`] composes responses and a [`ResponseDecoder`] reads them
//! back. One file per command family, each with its decoding, its composing
//! and its tests: `get` (get, gat, touch), `store` (set, add, replace, append,
//! prepend), `delete`, `arith` (increment, decrement), `admin` (quit, flush,
//! noop, version, stat, SASL), and `response`.
//!
//! # Compatibility
//!
//! Checks and answers follow memcached 1.6's `proto_bin.c`
//! (`try_read_command_binary`, `dispatch_bin_command`), and were checked byte
//! for byte against Debian 12's memcached 1.6.18:
//!
//! - a bad magic byte closes the connection without a reply (as soon as the
//!   first byte shows it; memcached waits for a whole header first);
//! - memcached reads the header, extras and key before it looks at anything
//!   else, so even a packet refused for its lengths is waited for that far;
//! - `key_len` or `key_len + extras_len` above `body_len`: *Unknown command*,
//!   then close ([`Invalid::Lengths`]); a key over 250 bytes, or extras, key
//!   and body lengths that do not fit the opcode: *Invalid arguments*, then
//!   close ([`Invalid::KeyTooLong`], [`Invalid::Arguments`]);
//! - `body_len` above 1 GiB ([`MAX_BODY_LEN`]): *Invalid arguments*, then
//!   close ([`Invalid::BodyTooLong`]), whatever the opcode, as memcached
//!   1.6.42 and later do; 1.6.18 computed the value length in a signed `int`
//!   there, and (for a `set` of 2 GiB) waited for the whole body before
//!   answering *Too large.*. A body just over the item size limit is still
//!   answered *Too large.* and skipped as it arrives;
//! - an unknown opcode (including `verbosity`, 0x1b, which memcached 1.6 no
//!   longer dispatches) and the SASL opcodes (SASL is not enabled): *Unknown
//!   command*, and the rest of the body is swallowed;
//! - `stat`, `touch` and the `gat` family do not check `body_len` against
//!   their key and extras: memcached consumes only header, extras and key,
//!   and any further body bytes are read as the next packet. So does this
//!   codec.
//!
//! One deliberate difference: for an unknown opcode (`verbosity` included)
//! memcached swallows `body_len` bytes *after* the extras and key it already
//! consumed, eating `extras_len + key_len` bytes of the next packet, which
//! then goes unanswered (seen on 1.6.18: a `verbosity` followed by a `noop`
//! gets no `noop` reply); this codec swallows only the rest of the packet's
//! body ([`Request::value_len`]).
//!
//! # Examples
//!
//! ```
//! use torsion_protocols::memcache::binary::{self, opcode, Command, RequestDecoder, Status};
//! use torsion_protocols::{Decoder, Parsed};
//!
//! // A GETK for "k", opaque 7.
//! let mut packet = vec![0x80, opcode::GETK, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 7];
//! packet.extend_from_slice(&[0; 8]);
//! packet.push(b'k');
//! let mut decoder = RequestDecoder::default();
//! assert_eq!(decoder.decode(&packet[..24]), Parsed::Incomplete);
//! let Parsed::Complete(request, consumed) = decoder.decode(&packet) else { panic!() };
//! assert_eq!((consumed, request.key), (25, &b"k"[..]));
//! assert_eq!(request.command, Command::Get { quiet: false, with_key: true });
//!
//! let mut out = Vec::new();
//! binary::write_error(&mut out, opcode::GETK, Status::KeyNotFound, request.header.opaque);
//! assert_eq!(&out[..8], &[0x81, opcode::GETK, 0, 0, 0, 0, 0, 1]);
//! assert_eq!(&out[24..], b"Not found");
//! ```

mod admin;
mod arith;
mod delete;
mod get;
mod response;
mod store;

pub use response::{Response, ResponseDecoder, ResponseError};

use super::body::{Block, Body, Head, Refusal};
use crate::{Decoder, Parsed};

/// Length of a packet header.
pub const HEADER_LEN: usize = 24;

/// The magic byte of a request (and the first byte of a binary connection).
pub const REQUEST_MAGIC: u8 = 0x80;

/// The magic byte of a response.
pub const RESPONSE_MAGIC: u8 = 0x81;

/// Longest key memcached accepts (`KEY_MAX_LENGTH`).
pub const MAX_KEY_LEN: usize = 250;

/// Largest `body_len` read at all (memcached's `ITEM_SIZE_MAX_UPPER_LIMIT`,
/// 1 GiB, the largest item size limit `-I` takes). A longer body is refused
/// with *Invalid arguments* and the connection closes, as memcached does
/// since 1.6.42 (1.6.18 turned such lengths into negative value lengths).
pub const MAX_BODY_LEN: u32 = 1024 * 1024 * 1024;

/// `incr`/`decr`'s expiration meaning "do not create a missing counter".
pub const NO_CREATE: u32 = 0xffff_ffff;

/// The opcodes memcached 1.6 knows (`protocol_binary.h`).
pub mod opcode {
    /// Get.
    pub const GET: u8 = 0x00;
    /// Set.
    pub const SET: u8 = 0x01;
    /// Add.
    pub const ADD: u8 = 0x02;
    /// Replace.
    pub const REPLACE: u8 = 0x03;
    /// Delete.
    pub const DELETE: u8 = 0x04;
    /// Increment.
    pub const INCREMENT: u8 = 0x05;
    /// Decrement.
    pub const DECREMENT: u8 = 0x06;
    /// Quit.
    pub const QUIT: u8 = 0x07;
    /// Flush.
    pub const FLUSH: u8 = 0x08;
    /// Get, quiet on a miss.
    pub const GETQ: u8 = 0x09;
    /// No-op.
    pub const NOOP: u8 = 0x0a;
    /// Version.
    pub const VERSION: u8 = 0x0b;
    /// Get, returning the key.
    pub const GETK: u8 = 0x0c;
    /// Get, returning the key, quiet on a miss.
    pub const GETKQ: u8 = 0x0d;
    /// Append.
    pub const APPEND: u8 = 0x0e;
    /// Prepend.
    pub const PREPEND: u8 = 0x0f;
    /// Stat.
    pub const STAT: u8 = 0x10;
    /// Set, quiet on success.
    pub const SETQ: u8 = 0x11;
    /// Add, quiet on success.
    pub const ADDQ: u8 = 0x12;
    /// Replace, quiet on success.
    pub const REPLACEQ: u8 = 0x13;
    /// Delete, quiet on success.
    pub const DELETEQ: u8 = 0x14;
    /// Increment, quiet on success.
    pub const INCREMENTQ: u8 = 0x15;
    /// Decrement, quiet on success.
    pub const DECREMENTQ: u8 = 0x16;
    /// Quit without a reply.
    pub const QUITQ: u8 = 0x17;
    /// Flush, quiet on success.
    pub const FLUSHQ: u8 = 0x18;
    /// Append, quiet on success.
    pub const APPENDQ: u8 = 0x19;
    /// Prepend, quiet on success.
    pub const PREPENDQ: u8 = 0x1a;
    /// Verbosity (not dispatched by memcached 1.6: *Unknown command*).
    pub const VERBOSITY: u8 = 0x1b;
    /// Touch.
    pub const TOUCH: u8 = 0x1c;
    /// Get and touch.
    pub const GAT: u8 = 0x1d;
    /// Get and touch, quiet on a miss.
    pub const GATQ: u8 = 0x1e;
    /// SASL: list mechanisms.
    pub const SASL_LIST_MECHS: u8 = 0x20;
    /// SASL: authenticate.
    pub const SASL_AUTH: u8 = 0x21;
    /// SASL: next step.
    pub const SASL_STEP: u8 = 0x22;
    /// Get and touch, returning the key.
    pub const GATK: u8 = 0x23;
    /// Get and touch, returning the key, quiet on a miss.
    pub const GATKQ: u8 = 0x24;
}

/// A response status (`protocol_binary_response_status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u16)]
pub enum Status {
    /// Success.
    Success = 0x00,
    /// Key not found.
    KeyNotFound = 0x01,
    /// Key exists (CAS mismatch, or `add` of a present key).
    KeyExists = 0x02,
    /// Value too large.
    TooLarge = 0x03,
    /// Invalid arguments.
    InvalidArguments = 0x04,
    /// Item not stored.
    NotStored = 0x05,
    /// `incr`/`decr` on a non-numeric value.
    DeltaBadValue = 0x06,
    /// Authentication error.
    AuthError = 0x20,
    /// Authentication continue.
    AuthContinue = 0x21,
    /// Unknown command.
    UnknownCommand = 0x81,
    /// Out of memory.
    OutOfMemory = 0x82,
}

impl Status {
    /// The status a response's code names, if it is one memcached sends.
    pub fn from_code(code: u16) -> Option<Status> {
        Some(match code {
            0x00 => Status::Success,
            0x01 => Status::KeyNotFound,
            0x02 => Status::KeyExists,
            0x03 => Status::TooLarge,
            0x04 => Status::InvalidArguments,
            0x05 => Status::NotStored,
            0x06 => Status::DeltaBadValue,
            0x20 => Status::AuthError,
            0x21 => Status::AuthContinue,
            0x81 => Status::UnknownCommand,
            0x82 => Status::OutOfMemory,
            _ => return None,
        })
    }

    /// The body memcached's `write_bin_error` sends with this status.
    pub fn message(self) -> &'static [u8] {
        match self {
            Status::Success => b"",
            Status::KeyNotFound => b"Not found",
            Status::KeyExists => b"Data exists for key.",
            Status::TooLarge => b"Too large.",
            Status::InvalidArguments => b"Invalid arguments",
            Status::NotStored => b"Not stored.",
            Status::DeltaBadValue => b"Non-numeric server-side value for incr or decr",
            Status::AuthError => b"Auth failure.",
            Status::AuthContinue => b"",
            Status::UnknownCommand => b"Unknown command",
            Status::OutOfMemory => b"Out of memory",
        }
    }
}

/// A request header, integers in host order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Magic byte ([`REQUEST_MAGIC`]).
    pub magic: u8,
    /// The opcode, as sent (quiet variants included).
    pub opcode: u8,
    /// Key length.
    pub key_len: u16,
    /// Extras length.
    pub extras_len: u8,
    /// Data type (ignored, as by memcached).
    pub data_type: u8,
    /// vbucket id (ignored).
    pub vbucket: u16,
    /// Length of extras, key and value.
    pub body_len: u32,
    /// Echoed in the response as is.
    pub opaque: u32,
    /// CAS unique to compare (0: none).
    pub cas: u64,
}

impl Header {
    /// Reads a header from the first [`HEADER_LEN`] bytes, if there are that many.
    pub fn parse(bytes: &[u8]) -> Option<Header> {
        let b: &[u8; HEADER_LEN] = bytes.get(..HEADER_LEN)?.try_into().ok()?;
        Some(Header {
            magic: b[0],
            opcode: b[1],
            key_len: u16::from_be_bytes([b[2], b[3]]),
            extras_len: b[4],
            data_type: b[5],
            vbucket: u16::from_be_bytes([b[6], b[7]]),
            body_len: u32::from_be_bytes([b[8], b[9], b[10], b[11]]),
            opaque: u32::from_be_bytes([b[12], b[13], b[14], b[15]]),
            cas: u64::from_be_bytes([b[16], b[17], b[18], b[19], b[20], b[21], b[22], b[23]]),
        })
    }

    /// Bytes of header, extras and key: what memcached reads before dispatching.
    pub fn prefix_len(&self) -> usize {
        HEADER_LEN + usize::from(self.extras_len) + usize::from(self.key_len)
    }

    /// Appends the header, integers big-endian.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.push(self.magic);
        out.push(self.opcode);
        out.extend_from_slice(&self.key_len.to_be_bytes());
        out.push(self.extras_len);
        out.push(self.data_type);
        out.extend_from_slice(&self.vbucket.to_be_bytes());
        out.extend_from_slice(&self.body_len.to_be_bytes());
        out.extend_from_slice(&self.opaque.to_be_bytes());
        out.extend_from_slice(&self.cas.to_be_bytes());
    }
}

/// How `set`, `add` and `replace` store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreOp {
    /// Set (a compare-and-swap when the header's CAS is not 0).
    Set,
    /// Add (also a compare-and-swap with a CAS, as in memcached).
    Add,
    /// Replace (likewise).
    Replace,
}

/// Why a packet is refused and the connection closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invalid {
    /// Key or key + extras longer than the body: *Unknown command*.
    Lengths,
    /// Key over 250 bytes: *Invalid arguments*.
    KeyTooLong,
    /// Body over [`MAX_BODY_LEN`]: *Invalid arguments*.
    BodyTooLong,
    /// Lengths that do not fit the opcode: *Invalid arguments*.
    Arguments,
}

impl Invalid {
    /// The status memcached answers before closing.
    pub fn status(self) -> Status {
        match self {
            Invalid::Lengths => Status::UnknownCommand,
            Invalid::KeyTooLong | Invalid::BodyTooLong | Invalid::Arguments => Status::InvalidArguments,
        }
    }
}

/// A request, decoded from its opcode and extras. `quiet` variants suppress
/// the replies memcached suppresses: a get's miss, a mutation's success.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// `get`, `getq`, `getk`, `getkq`.
    Get {
        /// Suppress a miss.
        quiet: bool,
        /// Return the key.
        with_key: bool,
    },
    /// `touch`: set the expiration time, return the flags.
    Touch {
        /// New expiration time.
        exptime: u32,
    },
    /// `gat`, `gatq`, `gatk`, `gatkq`: get and touch.
    GetAndTouch {
        /// New expiration time.
        exptime: u32,
        /// Suppress a miss.
        quiet: bool,
        /// Return the key.
        with_key: bool,
    },
    /// `set`, `add`, `replace` (and quiet): the value follows.
    Store {
        /// Which.
        op: StoreOp,
        /// Suppress success.
        quiet: bool,
        /// Client flags.
        flags: u32,
        /// Expiration time.
        exptime: u32,
    },
    /// `append`, `prepend` (and quiet): the value follows.
    Concat {
        /// Append (`true`) or prepend.
        append: bool,
        /// Suppress success.
        quiet: bool,
    },
    /// `delete`, `deleteq`.
    Delete {
        /// Suppress success.
        quiet: bool,
    },
    /// `increment`, `decrement` (and quiet).
    Arith {
        /// Increment (`true`) or decrement.
        incr: bool,
        /// Suppress success.
        quiet: bool,
        /// Amount.
        delta: u64,
        /// Value to create a missing counter with.
        initial: u64,
        /// Expiration of a created counter; [`NO_CREATE`]: do not create.
        exptime: u32,
    },
    /// `quit`, `quitq`: close after the (non-quiet) reply.
    Quit {
        /// No reply.
        quiet: bool,
    },
    /// `flush`, `flushq`.
    Flush {
        /// Suppress success.
        quiet: bool,
        /// Delay (0: now).
        exptime: u32,
    },
    /// `noop`.
    Noop,
    /// `version`.
    Version,
    /// `stat`, the group named by the key (empty: general).
    Stat,
    /// A SASL opcode; SASL is not enabled, so *Unknown command* and the value
    /// is swallowed (`bin_list_sasl_mechs`, `process_bin_sasl_auth`).
    Sasl,
    /// An opcode memcached does not dispatch: *Unknown command*, value swallowed.
    Unknown,
    /// A refused packet: answer [`Invalid::status`], then close.
    Invalid(Invalid),
}

/// A parsed request: header, extras and key (borrowed), and the command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request<'a> {
    /// The header.
    pub header: Header,
    /// The extras.
    pub extras: &'a [u8],
    /// The key.
    pub key: &'a [u8],
    /// What to do.
    pub command: Command,
}

impl Request<'_> {
    /// Bytes of the body after the extras and key that belong to this request
    /// and follow the `consumed` bytes: the value of a store or concat, the
    /// body to swallow for [`Command::Sasl`] and [`Command::Unknown`]; 0 for
    /// the others (whatever the header says, as memcached reads it).
    pub fn value_len(&self) -> usize {
        match self.command {
            Command::Store { .. } | Command::Concat { .. } | Command::Sasl | Command::Unknown => {
                (self.header.body_len as usize)
                    .saturating_sub(usize::from(self.header.key_len))
                    .saturating_sub(usize::from(self.header.extras_len))
            }
            _ => 0,
        }
    }

    /// Appends the header, extras and key (the value follows).
    pub fn write(&self, out: &mut Vec<u8>) {
        self.header.write(out);
        out.extend_from_slice(self.extras);
        out.extend_from_slice(self.key);
    }
}

impl Head for Request<'_> {
    /// What follows the header, extras and key: a value to store, a body
    /// to skip once answered, or nothing.
    fn body(&self) -> Body {
        match self.command {
            Command::Store { .. } | Command::Concat { .. } => Body::Value(Block {
                key_len: self.key.len(),
                len: self.value_len(),
                trailer: b"",
            }),
            Command::Sasl | Command::Unknown => Body::Discard(self.value_len()),
            _ => Body::None,
        }
    }
}

/// The first byte is not [`REQUEST_MAGIC`]: close without a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadMagic;

impl Refusal for BadMagic {
    /// Nothing: the connection closes.
    fn consumed(&self) -> usize {
        0
    }
}

/// Request packets, one at a time: a [`Request`] once its header, extras
/// and key are in (a header is decoded again when more bytes arrive: 24
/// bytes, nothing to remember).
#[derive(Debug, Clone, Default)]
pub struct RequestDecoder;

impl Decoder for RequestDecoder {
    type Message<'a> = Request<'a>;
    type Error = BadMagic;

    fn decode<'a>(&mut self, input: &'a [u8]) -> Parsed<Request<'a>, BadMagic> {
        if input.first().is_some_and(|&b| b != REQUEST_MAGIC) {
            return Parsed::Error(BadMagic);
        }
        let Some(header) = Header::parse(input) else {
            return Parsed::Incomplete;
        };
        let consumed = header.prefix_len();
        if input.len() < consumed {
            return Parsed::Incomplete;
        }
        let extras_end = HEADER_LEN + usize::from(header.extras_len);
        let extras = &input[HEADER_LEN..extras_end];
        let key = &input[extras_end..consumed];
        let command = decode(&header, extras);
        let request = Request {
            header,
            extras,
            key,
            command,
        };
        Parsed::Complete(request, consumed)
    }
}

/// The lengths of a packet's parts, as `dispatch_bin_command` checks them.
#[derive(Debug, Clone, Copy)]
struct Lengths {
    extras: u32,
    key: u32,
    body: u32,
}

impl Lengths {
    /// No extras, no key, no body.
    fn none(&self) -> bool {
        self.extras == 0 && self.key == 0 && self.body == 0
    }
}

/// `command` if the lengths fit it (`ok`), else *Invalid arguments*.
fn valid(ok: bool, command: Command) -> Command {
    if ok {
        command
    } else {
        Command::Invalid(Invalid::Arguments)
    }
}

fn be_u32(b: &[u8]) -> u32 {
    b.iter().take(4).fold(0, |n, &x| (n << 8) | u32::from(x))
}

fn be_u64(b: &[u8]) -> u64 {
    b.iter().take(8).fold(0, |n, &x| (n << 8) | u64::from(x))
}

/// `dispatch_bin_command`'s checks, in its order, then the opcode's own
/// (each family's `decode`).
fn decode(h: &Header, extras: &[u8]) -> Command {
    let lengths = Lengths {
        extras: u32::from(h.extras_len),
        key: u32::from(h.key_len),
        body: h.body_len,
    };
    if lengths.key > lengths.body || lengths.key + lengths.extras > lengths.body {
        return Command::Invalid(Invalid::Lengths);
    }
    if lengths.body > MAX_BODY_LEN {
        return Command::Invalid(Invalid::BodyTooLong);
    }
    if lengths.key as usize > MAX_KEY_LEN {
        return Command::Invalid(Invalid::KeyTooLong);
    }
    get::decode(h.opcode, lengths, extras)
        .or_else(|| store::decode(h.opcode, lengths, extras))
        .or_else(|| delete::decode(h.opcode, lengths))
        .or_else(|| arith::decode(h.opcode, lengths, extras))
        .or_else(|| admin::decode(h.opcode, lengths, extras))
        .unwrap_or(Command::Unknown)
}

impl Command {
    /// The opcode that asks for this command; `None` for the ones that are
    /// not requests one would send ([`Command::Sasl`], [`Command::Unknown`],
    /// [`Command::Invalid`]).
    pub fn opcode(&self) -> Option<u8> {
        get::opcode(self)
            .or_else(|| store::opcode(self))
            .or_else(|| delete::opcode(self))
            .or_else(|| arith::opcode(self))
            .or_else(|| admin::opcode(self))
    }

    /// Appends the extras this command is sent with.
    pub fn extras(&self, out: &mut Vec<u8>) {
        match *self {
            Command::Touch { exptime } | Command::GetAndTouch { exptime, .. } => {
                out.extend_from_slice(&exptime.to_be_bytes())
            }
            Command::Store { flags, exptime, .. } => {
                out.extend_from_slice(&flags.to_be_bytes());
                out.extend_from_slice(&exptime.to_be_bytes());
            }
            Command::Arith {
                delta,
                initial,
                exptime,
                ..
            } => {
                out.extend_from_slice(&delta.to_be_bytes());
                out.extend_from_slice(&initial.to_be_bytes());
                out.extend_from_slice(&exptime.to_be_bytes());
            }
            Command::Flush { exptime, .. } if exptime != 0 => out.extend_from_slice(&exptime.to_be_bytes()),
            _ => {}
        }
    }
}

/// Appends a request packet: header (magic 0x80, data type 0, vbucket 0),
/// extras, key and value.
pub fn write_request(
    out: &mut Vec<u8>,
    opcode: u8,
    opaque: u32,
    cas: u64,
    extras: &[u8],
    key: &[u8],
    value: &[u8],
) {
    write_packet(out, REQUEST_MAGIC, opcode, 0, opaque, cas, [extras, key, value]);
}

/// Appends a response packet: header (magic 0x81, data type 0) and body.
#[allow(clippy::too_many_arguments)]
pub fn write_response(
    out: &mut Vec<u8>,
    opcode: u8,
    status: Status,
    opaque: u32,
    cas: u64,
    extras: &[u8],
    key: &[u8],
    value: &[u8],
) {
    write_packet(
        out,
        RESPONSE_MAGIC,
        opcode,
        status as u16,
        opaque,
        cas,
        [extras, key, value],
    );
}

/// Appends an error response as `write_bin_error` does: no extras, no key,
/// CAS 0, and the status's message as the body.
pub fn write_error(out: &mut Vec<u8>, opcode: u8, status: Status, opaque: u32) {
    write_response(out, opcode, status, opaque, 0, &[], &[], status.message());
}

/// Appends a packet; `status` is the vbucket of a request. Callers pass keys
/// of at most 250 bytes and extras of at most 20.
fn write_packet(
    out: &mut Vec<u8>,
    magic: u8,
    opcode: u8,
    status: u16,
    opaque: u32,
    cas: u64,
    [extras, key, value]: [&[u8]; 3],
) {
    let body_len = extras.len() + key.len() + value.len();
    out.reserve(HEADER_LEN + body_len);
    let header = Header {
        magic,
        opcode,
        key_len: key.len() as u16,
        extras_len: extras.len() as u8,
        data_type: 0,
        vbucket: status,
        body_len: body_len as u32,
        opaque,
        cas,
    };
    header.write(out);
    out.extend_from_slice(extras);
    out.extend_from_slice(key);
    out.extend_from_slice(value);
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use proptest::collection::vec;
    use proptest::prelude::*;

    /// A request packet, opaque 0xdeadbeef.
    pub(super) fn packet(op: u8, extras: &[u8], key: &[u8], value: &[u8], cas: u64) -> Vec<u8> {
        let mut p = Vec::new();
        write_request(&mut p, op, 0xdead_beef, cas, extras, key, value);
        p
    }

    pub(super) fn complete(input: &[u8]) -> (Request<'_>, usize) {
        match RequestDecoder.decode(input) {
            Parsed::Complete(request, consumed) => (request, consumed),
            other => panic!("{other:?}"),
        }
    }

    pub(super) fn command(input: &[u8]) -> Command {
        complete(input).0.command
    }

    #[test]
    fn incomplete_until_header_extras_and_key() {
        let p = packet(opcode::APPEND, &[], b"key", b"a long value", 0);
        for cut in 0..27 {
            assert_eq!(RequestDecoder.decode(&p[..cut]), Parsed::Incomplete);
        }
        // The value is the session's business.
        let (r, consumed) = complete(&p[..27]);
        assert_eq!((consumed, r.value_len()), (27, 12));
    }

    #[test]
    fn bad_magic() {
        assert_eq!(RequestDecoder.decode(b"g"), Parsed::Error(BadMagic));
        assert_eq!(RequestDecoder.decode(b"get foo\r\n"), Parsed::Error(BadMagic));
        let mut p = packet(opcode::NOOP, &[], &[], &[], 0);
        p[0] = RESPONSE_MAGIC;
        assert_eq!(RequestDecoder.decode(&p), Parsed::Error(BadMagic));
        assert_eq!(RequestDecoder.decode(b""), Parsed::Incomplete);
        assert_eq!(RequestDecoder.decode(&[0x80]), Parsed::Incomplete);
    }

    #[test]
    fn lengths_and_long_keys() {
        let long = vec![b'k'; 251];
        let too_long = Command::Invalid(Invalid::KeyTooLong);
        assert_eq!(command(&packet(opcode::GET, &[], &long, &[], 0)), too_long);
        assert_eq!(command(&packet(0xee, &[], &long, &[], 0)), too_long);
        // Key or key + extras beyond the body.
        let mut p = packet(opcode::GET, &[], b"key", &[], 0);
        p[11] = 2;
        assert_eq!(command(&p), Command::Invalid(Invalid::Lengths));
        let mut p = packet(opcode::SET, &[0; 8], b"key", &[], 0);
        p[11] = 10;
        assert_eq!(command(&p), Command::Invalid(Invalid::Lengths));
        for invalid in [Invalid::Lengths, Invalid::KeyTooLong, Invalid::Arguments] {
            assert_ne!(invalid.status(), Status::Success);
        }
    }

    #[test]
    fn bodies_over_a_gibibyte_are_refused_before_anything_else() {
        let too_long = Command::Invalid(Invalid::BodyTooLong);
        assert_eq!(too_long.opcode(), None);
        assert_eq!(Invalid::BodyTooLong.status(), Status::InvalidArguments);
        for op in [opcode::SET, opcode::APPEND, opcode::GET, opcode::NOOP, 0x42] {
            let extras: &[u8] = if op == opcode::SET { &[0; 8] } else { &[] };
            let key: &[u8] = if op == opcode::NOOP { b"" } else { b"k" };
            for body_len in [MAX_BODY_LEN + 1, 1 << 31, u32::MAX - 9, u32::MAX] {
                let mut p = packet(op, extras, key, &[], 0);
                p[8..12].copy_from_slice(&body_len.to_be_bytes());
                let (r, consumed) = complete(&p);
                assert_eq!((r.command, consumed), (too_long, p.len()), "{op:#x} {body_len}");
                assert_eq!(r.body(), Body::None, "nothing of it is waited for or skipped");
            }
            // Up to the limit a set's value is waited for (or refused by the
            // session for the item size limit).
            let mut p = packet(op, extras, key, &[], 0);
            p[8..12].copy_from_slice(&MAX_BODY_LEN.to_be_bytes());
            assert_ne!(command(&p), too_long);
        }
    }

    #[test]
    fn unknown_commands_own_their_body() {
        let p = packet(0x42, &[1, 2], b"key", b"value", 0);
        let (r, consumed) = complete(&p);
        assert_eq!((r.command, consumed, r.value_len()), (Command::Unknown, 29, 5));
        assert_eq!(r.body(), Body::Discard(5));
    }

    #[test]
    fn responses() {
        let mut out = Vec::new();
        write_response(
            &mut out,
            opcode::GETK,
            Status::Success,
            0x0102_0304,
            0x0a0b,
            &[0, 0, 0, 5],
            b"key",
            b"val",
        );
        let expected = [
            &[0x81, 0x0c, 0, 3, 4, 0, 0, 0, 0, 0, 0, 10, 1, 2, 3, 4][..],
            &[0, 0, 0, 0, 0, 0, 0x0a, 0x0b],
            &[0, 0, 0, 5],
            b"keyval",
        ]
        .concat();
        assert_eq!(out, expected);
        for status in [
            Status::KeyNotFound,
            Status::KeyExists,
            Status::TooLarge,
            Status::InvalidArguments,
            Status::NotStored,
            Status::DeltaBadValue,
            Status::AuthError,
            Status::UnknownCommand,
            Status::OutOfMemory,
        ] {
            let mut out = Vec::new();
            write_error(&mut out, opcode::SET, status, 9);
            assert_eq!(&out[6..8], &(status as u16).to_be_bytes());
            assert_eq!(Status::from_code(status as u16), Some(status));
            assert_eq!(&out[24..], status.message());
            assert!(!status.message().is_empty());
            assert_eq!(&out[16..24], &[0; 8]);
        }
    }

    /// A command one would send, with a key it may have.
    fn sendable() -> impl Strategy<Value = (Command, Vec<u8>, Vec<u8>)> {
        let key = vec(any::<u8>(), 1..=MAX_KEY_LEN);
        let value = vec(any::<u8>(), 0..64);
        let flags = (any::<bool>(), any::<bool>());
        prop_oneof![
            (flags, key.clone()).prop_map(|((quiet, with_key), k)| (
                Command::Get { quiet, with_key },
                k,
                vec![]
            )),
            (flags, any::<u32>(), key.clone()).prop_map(|((quiet, with_key), exptime, k)| {
                (
                    Command::GetAndTouch {
                        exptime,
                        quiet,
                        with_key,
                    },
                    k,
                    vec![],
                )
            }),
            (any::<u32>(), key.clone()).prop_map(|(exptime, k)| (Command::Touch { exptime }, k, vec![])),
            (
                0..3u8,
                any::<bool>(),
                any::<u32>(),
                any::<u32>(),
                key.clone(),
                value.clone()
            )
                .prop_map(|(op, quiet, flags, exptime, k, v)| {
                    let op = [StoreOp::Set, StoreOp::Add, StoreOp::Replace][usize::from(op)];
                    (
                        Command::Store {
                            op,
                            quiet,
                            flags,
                            exptime,
                        },
                        k,
                        v,
                    )
                }),
            (flags, key.clone(), value).prop_map(|((append, quiet), k, v)| (
                Command::Concat { append, quiet },
                k,
                v
            )),
            (any::<bool>(), key.clone()).prop_map(|(quiet, k)| (Command::Delete { quiet }, k, vec![])),
            (flags, any::<u64>(), any::<u64>(), any::<u32>(), key.clone()).prop_map(
                |((incr, quiet), delta, initial, exptime, k)| {
                    let arith = Command::Arith {
                        incr,
                        quiet,
                        delta,
                        initial,
                        exptime,
                    };
                    (arith, k, vec![])
                }
            ),
            any::<bool>().prop_map(|quiet| (Command::Quit { quiet }, vec![], vec![])),
            (any::<bool>(), any::<u32>()).prop_map(|(quiet, exptime)| (
                Command::Flush { quiet, exptime },
                vec![],
                vec![]
            )),
            Just((Command::Noop, vec![], vec![])),
            Just((Command::Version, vec![], vec![])),
            vec(any::<u8>(), 0..=MAX_KEY_LEN).prop_map(|k| (Command::Stat, k, vec![])),
        ]
    }

    proptest! {
        #[test]
        fn every_request_composed_decodes_back(
            (command, key, value) in sendable(), opaque in any::<u32>(), cas in any::<u64>(),
        ) {
            let mut extras = Vec::new();
            command.extras(&mut extras);
            let op = command.opcode().expect("a request");
            let mut wire = Vec::new();
            write_request(&mut wire, op, opaque, cas, &extras, &key, &value);
            let (request, consumed) = complete(&wire);
            prop_assert_eq!(request.command, command);
            prop_assert_eq!((request.key, request.extras), (&key[..], &extras[..]));
            prop_assert_eq!((request.header.opaque, request.header.cas), (opaque, cas));
            prop_assert_eq!(consumed + request.value_len(), wire.len());
            let mut again = Vec::new();
            request.write(&mut again);
            prop_assert_eq!(&again[..], &wire[..consumed]);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..600)) {
            if let Parsed::Complete(request, consumed) = RequestDecoder.decode(&bytes) {
                prop_assert!(consumed <= bytes.len());
                let _ = request.body();
            }
        }

        #[test]
        fn arbitrary_headers_never_panic(
            op in any::<u8>(), ext in any::<u8>(), key_len in 0u16..300,
            body in any::<u32>(), tail in vec(any::<u8>(), 0..600),
        ) {
            let mut p = vec![REQUEST_MAGIC, op];
            p.extend_from_slice(&key_len.to_be_bytes());
            p.push(ext);
            p.extend_from_slice(&[0, 0, 0]);
            p.extend_from_slice(&body.to_be_bytes());
            p.extend_from_slice(&[0; 12]);
            p.extend_from_slice(&tail);
            match RequestDecoder.decode(&p) {
                Parsed::Complete(_, consumed) => prop_assert_eq!(consumed, 24 + ext as usize + key_len as usize),
                Parsed::Incomplete => prop_assert!(p.len() < 24 + ext as usize + key_len as usize),
                Parsed::Error(BadMagic) => prop_assert!(false),
            }
        }
    }
}
