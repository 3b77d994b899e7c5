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
//! [`parse`] answers [`Parsed::Incomplete`] until the header, extras and key
//! are all there, then a [`Request`] whose key and extras borrow from the
//! input. The value of `set`/`append` (and the body of a command to swallow)
//! follows the `consumed` bytes; [`Request::value_len`] says how long it is,
//! so a session can wait for it, or swallow it without buffering when it is
//! too large, as memcached does.
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
//! use torsion_protocols::memcache::binary::{self, opcode, Command, Parsed, Status};
//!
//! // A GETK for "k", opaque 7.
//! let mut packet = vec![0x80, opcode::GETK, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 7];
//! packet.extend_from_slice(&[0; 8]);
//! packet.push(b'k');
//! let Parsed::Complete { request, consumed } = binary::parse(&packet) else { panic!() };
//! assert_eq!((consumed, request.key), (25, &b"k"[..]));
//! assert_eq!(request.command, Command::Get { quiet: false, with_key: true });
//! assert_eq!(binary::parse(&packet[..24]), Parsed::Incomplete { needed: 1 });
//!
//! let mut out = Vec::new();
//! binary::write_error(&mut out, opcode::GETK, Status::KeyNotFound, request.header.opaque);
//! assert_eq!(&out[..8], &[0x81, opcode::GETK, 0, 0, 0, 0, 0, 1]);
//! assert_eq!(&out[24..], b"Not found");
//! ```

/// Length of a packet header.
pub const HEADER_LEN: usize = 24;

/// The magic byte of a request (and the first byte of a binary connection).
pub const REQUEST_MAGIC: u8 = 0x80;

/// The magic byte of a response.
pub const RESPONSE_MAGIC: u8 = 0x81;

/// Longest key memcached accepts (`KEY_MAX_LENGTH`).
pub const MAX_KEY_LEN: usize = 250;

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
    /// Lengths that do not fit the opcode: *Invalid arguments*.
    Arguments,
}

impl Invalid {
    /// The status memcached answers before closing.
    pub fn status(self) -> Status {
        match self {
            Invalid::Lengths => Status::UnknownCommand,
            Invalid::KeyTooLong | Invalid::Arguments => Status::InvalidArguments,
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
}

/// The result of [`parse`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Parsed<'a> {
    /// Wait for `needed` more bytes.
    Incomplete {
        /// Bytes still missing before the request can be decoded.
        needed: usize,
    },
    /// The first byte is not [`REQUEST_MAGIC`]: close without a reply.
    BadMagic,
    /// A request; `consumed` bytes (header, extras, key) belong to it, and
    /// [`Request::value_len`] more follow for a value.
    Complete {
        /// The request.
        request: Request<'a>,
        /// Header, extras and key.
        consumed: usize,
    },
}

fn be_u32(b: &[u8]) -> u32 {
    b.iter().take(4).fold(0, |n, &x| (n << 8) | u32::from(x))
}

fn be_u64(b: &[u8]) -> u64 {
    b.iter().take(8).fold(0, |n, &x| (n << 8) | u64::from(x))
}

/// Parses one request packet from the start of `input`.
pub fn parse(input: &[u8]) -> Parsed<'_> {
    let Some(header) = Header::parse(input) else {
        if input.first().is_some_and(|&b| b != REQUEST_MAGIC) {
            return Parsed::BadMagic;
        }
        return Parsed::Incomplete {
            needed: HEADER_LEN - input.len(),
        };
    };
    if header.magic != REQUEST_MAGIC {
        return Parsed::BadMagic;
    }
    let consumed = header.prefix_len();
    if input.len() < consumed {
        return Parsed::Incomplete {
            needed: consumed - input.len(),
        };
    }
    let extras_end = HEADER_LEN + usize::from(header.extras_len);
    let extras = &input[HEADER_LEN..extras_end];
    let key = &input[extras_end..consumed];
    let command = decode(&header, extras);
    Parsed::Complete {
        request: Request {
            header,
            extras,
            key,
            command,
        },
        consumed,
    }
}

/// `dispatch_bin_command`'s checks, in its order, then the opcode's own.
fn decode(h: &Header, extras: &[u8]) -> Command {
    let (ext, key, body) = (u32::from(h.extras_len), u32::from(h.key_len), h.body_len);
    if key > body || key + ext > body {
        return Command::Invalid(Invalid::Lengths);
    }
    if key as usize > MAX_KEY_LEN {
        return Command::Invalid(Invalid::KeyTooLong);
    }
    let no_body = ext == 0 && key == 0 && body == 0;
    let valid = |ok: bool, command: Command| {
        if ok {
            command
        } else {
            Command::Invalid(Invalid::Arguments)
        }
    };
    use opcode::*;
    match h.opcode {
        VERSION => valid(no_body, Command::Version),
        NOOP => valid(no_body, Command::Noop),
        QUIT | QUITQ => valid(
            no_body,
            Command::Quit {
                quiet: h.opcode == QUITQ,
            },
        ),
        FLUSH | FLUSHQ => valid(
            key == 0 && body == ext && (ext == 0 || ext == 4),
            Command::Flush {
                quiet: h.opcode == FLUSHQ,
                exptime: if ext == 4 { be_u32(extras) } else { 0 },
            },
        ),
        SET | SETQ | ADD | ADDQ | REPLACE | REPLACEQ => {
            let (op, quiet) = match h.opcode {
                SET => (StoreOp::Set, false),
                SETQ => (StoreOp::Set, true),
                ADD => (StoreOp::Add, false),
                ADDQ => (StoreOp::Add, true),
                REPLACE => (StoreOp::Replace, false),
                _ => (StoreOp::Replace, true),
            };
            valid(
                ext == 8 && key != 0 && body >= key + 8,
                Command::Store {
                    op,
                    quiet,
                    flags: be_u32(extras),
                    exptime: be_u32(extras.get(4..).unwrap_or_default()),
                },
            )
        }
        GET | GETQ | GETK | GETKQ => valid(
            ext == 0 && body == key && key > 0,
            Command::Get {
                quiet: matches!(h.opcode, GETQ | GETKQ),
                with_key: matches!(h.opcode, GETK | GETKQ),
            },
        ),
        DELETE | DELETEQ => valid(
            key > 0 && ext == 0 && body == key,
            Command::Delete {
                quiet: h.opcode == DELETEQ,
            },
        ),
        INCREMENT | INCREMENTQ | DECREMENT | DECREMENTQ => valid(
            key > 0 && ext == 20 && body == key + ext,
            Command::Arith {
                incr: matches!(h.opcode, INCREMENT | INCREMENTQ),
                quiet: matches!(h.opcode, INCREMENTQ | DECREMENTQ),
                delta: be_u64(extras),
                initial: be_u64(extras.get(8..).unwrap_or_default()),
                exptime: be_u32(extras.get(16..).unwrap_or_default()),
            },
        ),
        APPEND | APPENDQ | PREPEND | PREPENDQ => valid(
            key > 0 && ext == 0,
            Command::Concat {
                append: matches!(h.opcode, APPEND | APPENDQ),
                quiet: matches!(h.opcode, APPENDQ | PREPENDQ),
            },
        ),
        STAT => valid(ext == 0, Command::Stat),
        SASL_LIST_MECHS => valid(no_body, Command::Sasl),
        SASL_AUTH | SASL_STEP => valid(ext == 0 && key != 0, Command::Sasl),
        TOUCH => valid(
            ext == 4 && key != 0,
            Command::Touch {
                exptime: be_u32(extras),
            },
        ),
        GAT | GATQ | GATK | GATKQ => valid(
            ext == 4 && key != 0,
            Command::GetAndTouch {
                exptime: be_u32(extras),
                quiet: matches!(h.opcode, GATQ | GATKQ),
                with_key: matches!(h.opcode, GATK | GATKQ),
            },
        ),
        _ => Command::Unknown,
    }
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
    // Callers pass keys of at most 250 bytes and extras of at most 4.
    let key_len = key.len() as u16;
    let body_len = (extras.len() + key.len() + value.len()) as u32;
    out.reserve(HEADER_LEN + body_len as usize);
    out.push(RESPONSE_MAGIC);
    out.push(opcode);
    out.extend_from_slice(&key_len.to_be_bytes());
    out.push(extras.len() as u8);
    out.push(0);
    out.extend_from_slice(&(status as u16).to_be_bytes());
    out.extend_from_slice(&body_len.to_be_bytes());
    out.extend_from_slice(&opaque.to_be_bytes());
    out.extend_from_slice(&cas.to_be_bytes());
    out.extend_from_slice(extras);
    out.extend_from_slice(key);
    out.extend_from_slice(value);
}

/// Appends an error response as `write_bin_error` does: no extras, no key,
/// CAS 0, and the status's message as the body.
pub fn write_error(out: &mut Vec<u8>, opcode: u8, status: Status, opaque: u32) {
    write_response(out, opcode, status, opaque, 0, &[], &[], status.message());
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Builds a request packet.
    fn packet(op: u8, extras: &[u8], key: &[u8], value: &[u8], cas: u64) -> Vec<u8> {
        let mut p = vec![REQUEST_MAGIC, op];
        p.extend_from_slice(&(key.len() as u16).to_be_bytes());
        p.push(extras.len() as u8);
        p.extend_from_slice(&[0, 0, 0]);
        p.extend_from_slice(&((extras.len() + key.len() + value.len()) as u32).to_be_bytes());
        p.extend_from_slice(&0xdead_beef_u32.to_be_bytes());
        p.extend_from_slice(&cas.to_be_bytes());
        p.extend_from_slice(extras);
        p.extend_from_slice(key);
        p.extend_from_slice(value);
        p
    }

    fn complete(input: &[u8]) -> (Request<'_>, usize) {
        match parse(input) {
            Parsed::Complete { request, consumed } => (request, consumed),
            other => panic!("{other:?}"),
        }
    }

    fn command(input: &[u8]) -> Command {
        complete(input).0.command
    }

    #[test]
    fn header_fields() {
        let p = packet(opcode::SET, &[0, 0, 0, 7, 0, 0, 0, 9], b"key", b"value", 42);
        let (r, consumed) = complete(&p);
        assert_eq!(consumed, 24 + 8 + 3);
        assert_eq!(r.header.opaque, 0xdead_beef);
        assert_eq!((r.header.cas, r.header.body_len), (42, 16));
        assert_eq!((r.key, r.value_len()), (&b"key"[..], 5));
        assert_eq!(
            r.command,
            Command::Store {
                op: StoreOp::Set,
                quiet: false,
                flags: 7,
                exptime: 9
            }
        );
        assert_eq!(&p[consumed..], b"value");
    }

    #[test]
    fn incomplete_until_header_extras_and_key() {
        let p = packet(opcode::APPEND, &[], b"key", b"a long value", 0);
        // First the header, then (its lengths known) extras and key.
        for cut in 0..27 {
            let needed = if cut < 24 { 24 - cut } else { 27 - cut };
            assert_eq!(parse(&p[..cut]), Parsed::Incomplete { needed });
        }
        // The value is the session's business.
        let (r, consumed) = complete(&p[..27]);
        assert_eq!((consumed, r.value_len()), (27, 12));
    }

    #[test]
    fn bad_magic() {
        assert_eq!(parse(b"g"), Parsed::BadMagic);
        assert_eq!(parse(b"get foo\r\n"), Parsed::BadMagic);
        let mut p = packet(opcode::NOOP, &[], &[], &[], 0);
        p[0] = RESPONSE_MAGIC;
        assert_eq!(parse(&p), Parsed::BadMagic);
        assert_eq!(parse(b""), Parsed::Incomplete { needed: 24 });
        assert_eq!(parse(&[0x80]), Parsed::Incomplete { needed: 23 });
    }

    #[test]
    fn every_opcode() {
        use opcode::*;
        let key = b"k";
        let e4 = 77u32.to_be_bytes();
        let mut e20 = Vec::new();
        e20.extend_from_slice(&5u64.to_be_bytes());
        e20.extend_from_slice(&9u64.to_be_bytes());
        e20.extend_from_slice(&NO_CREATE.to_be_bytes());
        let e8 = [0, 0, 0, 1, 0, 0, 0, 2];
        for (op, extras, k, expected) in [
            (
                GET,
                &[][..],
                &key[..],
                Command::Get {
                    quiet: false,
                    with_key: false,
                },
            ),
            (
                GETQ,
                &[],
                key,
                Command::Get {
                    quiet: true,
                    with_key: false,
                },
            ),
            (
                GETK,
                &[],
                key,
                Command::Get {
                    quiet: false,
                    with_key: true,
                },
            ),
            (
                GETKQ,
                &[],
                key,
                Command::Get {
                    quiet: true,
                    with_key: true,
                },
            ),
            (
                SET,
                &e8,
                key,
                Command::Store {
                    op: StoreOp::Set,
                    quiet: false,
                    flags: 1,
                    exptime: 2,
                },
            ),
            (
                SETQ,
                &e8,
                key,
                Command::Store {
                    op: StoreOp::Set,
                    quiet: true,
                    flags: 1,
                    exptime: 2,
                },
            ),
            (
                ADD,
                &e8,
                key,
                Command::Store {
                    op: StoreOp::Add,
                    quiet: false,
                    flags: 1,
                    exptime: 2,
                },
            ),
            (
                ADDQ,
                &e8,
                key,
                Command::Store {
                    op: StoreOp::Add,
                    quiet: true,
                    flags: 1,
                    exptime: 2,
                },
            ),
            (
                REPLACE,
                &e8,
                key,
                Command::Store {
                    op: StoreOp::Replace,
                    quiet: false,
                    flags: 1,
                    exptime: 2,
                },
            ),
            (
                REPLACEQ,
                &e8,
                key,
                Command::Store {
                    op: StoreOp::Replace,
                    quiet: true,
                    flags: 1,
                    exptime: 2,
                },
            ),
            (DELETE, &[], key, Command::Delete { quiet: false }),
            (DELETEQ, &[], key, Command::Delete { quiet: true }),
            (
                INCREMENT,
                &e20,
                key,
                Command::Arith {
                    incr: true,
                    quiet: false,
                    delta: 5,
                    initial: 9,
                    exptime: NO_CREATE,
                },
            ),
            (
                INCREMENTQ,
                &e20,
                key,
                Command::Arith {
                    incr: true,
                    quiet: true,
                    delta: 5,
                    initial: 9,
                    exptime: NO_CREATE,
                },
            ),
            (
                DECREMENT,
                &e20,
                key,
                Command::Arith {
                    incr: false,
                    quiet: false,
                    delta: 5,
                    initial: 9,
                    exptime: NO_CREATE,
                },
            ),
            (
                DECREMENTQ,
                &e20,
                key,
                Command::Arith {
                    incr: false,
                    quiet: true,
                    delta: 5,
                    initial: 9,
                    exptime: NO_CREATE,
                },
            ),
            (QUIT, &[], &[], Command::Quit { quiet: false }),
            (QUITQ, &[], &[], Command::Quit { quiet: true }),
            (
                FLUSH,
                &[],
                &[],
                Command::Flush {
                    quiet: false,
                    exptime: 0,
                },
            ),
            (
                FLUSH,
                &e4,
                &[],
                Command::Flush {
                    quiet: false,
                    exptime: 77,
                },
            ),
            (
                FLUSHQ,
                &e4,
                &[],
                Command::Flush {
                    quiet: true,
                    exptime: 77,
                },
            ),
            (NOOP, &[], &[], Command::Noop),
            (VERSION, &[], &[], Command::Version),
            (
                APPEND,
                &[],
                key,
                Command::Concat {
                    append: true,
                    quiet: false,
                },
            ),
            (
                APPENDQ,
                &[],
                key,
                Command::Concat {
                    append: true,
                    quiet: true,
                },
            ),
            (
                PREPEND,
                &[],
                key,
                Command::Concat {
                    append: false,
                    quiet: false,
                },
            ),
            (
                PREPENDQ,
                &[],
                key,
                Command::Concat {
                    append: false,
                    quiet: true,
                },
            ),
            (STAT, &[], &[], Command::Stat),
            (STAT, &[], b"items", Command::Stat),
            (TOUCH, &e4, key, Command::Touch { exptime: 77 }),
            (
                GAT,
                &e4,
                key,
                Command::GetAndTouch {
                    exptime: 77,
                    quiet: false,
                    with_key: false,
                },
            ),
            (
                GATQ,
                &e4,
                key,
                Command::GetAndTouch {
                    exptime: 77,
                    quiet: true,
                    with_key: false,
                },
            ),
            (
                GATK,
                &e4,
                key,
                Command::GetAndTouch {
                    exptime: 77,
                    quiet: false,
                    with_key: true,
                },
            ),
            (
                GATKQ,
                &e4,
                key,
                Command::GetAndTouch {
                    exptime: 77,
                    quiet: true,
                    with_key: true,
                },
            ),
            (SASL_LIST_MECHS, &[], &[], Command::Sasl),
            (SASL_AUTH, &[], b"PLAIN", Command::Sasl),
            (SASL_STEP, &[], b"PLAIN", Command::Sasl),
            (VERBOSITY, &e4, &[], Command::Unknown),
            (0x1f, &[], &[], Command::Unknown),
            (0x25, &[], key, Command::Unknown),
            (0xff, &[], &[], Command::Unknown),
        ] {
            let p = packet(op, extras, k, &[], 0);
            assert_eq!(command(&p), expected, "opcode {op:#x}");
        }
    }

    #[test]
    fn invalid_lengths() {
        use opcode::*;
        let bad_args = Command::Invalid(Invalid::Arguments);
        for (op, extras, key, value) in [
            (GET, &[0u8; 4][..], &b"k"[..], &b""[..]),
            (GET, &[], b"", b""),
            (GET, &[], b"k", b"x"),
            (SET, &[0; 4], b"k", b"v"),
            (SET, &[0; 8], b"", b"v"),
            (DELETE, &[], b"k", b"x"),
            (INCREMENT, &[0; 8], b"k", b""),
            (APPEND, &[0; 4], b"k", b"v"),
            (NOOP, &[], b"k", b""),
            (VERSION, &[], &[], b"x"),
            (QUIT, &[0; 4], &[], &[]),
            (FLUSH, &[0; 8], &[], &[]),
            (FLUSH, &[0; 4], &[], b"x"),
            (STAT, &[0; 4], &[], &[]),
            (TOUCH, &[], b"k", &[]),
            (GAT, &[0; 4], b"", &[]),
            (SASL_LIST_MECHS, &[], b"k", &[]),
            (SASL_AUTH, &[], b"", b"x"),
        ] {
            let p = packet(op, extras, key, value, 0);
            assert_eq!(command(&p), bad_args, "opcode {op:#x}");
        }
        let long = vec![b'k'; 251];
        assert_eq!(
            command(&packet(GET, &[], &long, &[], 0)),
            Command::Invalid(Invalid::KeyTooLong)
        );
        assert_eq!(
            command(&packet(0xee, &[], &long, &[], 0)),
            Command::Invalid(Invalid::KeyTooLong)
        );
        // Key or key + extras beyond the body.
        let mut p = packet(GET, &[], b"key", &[], 0);
        p[11] = 2;
        assert_eq!(command(&p), Command::Invalid(Invalid::Lengths));
        let mut p = packet(SET, &[0; 8], b"key", &[], 0);
        p[11] = 10;
        assert_eq!(command(&p), Command::Invalid(Invalid::Lengths));
        for invalid in [Invalid::Lengths, Invalid::KeyTooLong, Invalid::Arguments] {
            assert_ne!(invalid.status(), Status::Success);
        }
    }

    #[test]
    fn stat_and_touch_do_not_own_extra_body_bytes() {
        let mut p = packet(opcode::STAT, &[], b"items", b"", 0);
        p[11] += 3; // three more body bytes, read as the next packet
        let (r, consumed) = complete(&p);
        assert_eq!((consumed, r.value_len()), (29, 0));
        let p = packet(0x42, &[1, 2], b"key", b"value", 0);
        let (r, consumed) = complete(&p);
        assert_eq!((r.command, consumed, r.value_len()), (Command::Unknown, 29, 5));
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
        assert_eq!(
            out,
            [
                &[0x81, 0x0c, 0, 3, 4, 0, 0, 0, 0, 0, 0, 10, 1, 2, 3, 4][..],
                &[0, 0, 0, 0, 0, 0, 0x0a, 0x0b],
                &[0, 0, 0, 5],
                b"keyval",
            ]
            .concat()
        );
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
            assert_eq!(&out[24..], status.message());
            assert!(!status.message().is_empty());
            assert_eq!(&out[16..24], &[0; 8]);
        }
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            if let Parsed::Complete { request, consumed } = parse(&bytes) {
                prop_assert!(consumed <= bytes.len());
                let _ = request.value_len();
            }
        }

        #[test]
        fn arbitrary_headers_never_panic(
            op in any::<u8>(), ext in any::<u8>(), key_len in 0u16..300,
            body in any::<u32>(), tail in proptest::collection::vec(any::<u8>(), 0..600),
        ) {
            let mut p = vec![REQUEST_MAGIC, op];
            p.extend_from_slice(&key_len.to_be_bytes());
            p.push(ext);
            p.extend_from_slice(&[0, 0, 0]);
            p.extend_from_slice(&body.to_be_bytes());
            p.extend_from_slice(&[0; 12]);
            p.extend_from_slice(&tail);
            match parse(&p) {
                Parsed::Complete { consumed, .. } => prop_assert_eq!(consumed, 24 + ext as usize + key_len as usize),
                Parsed::Incomplete { needed } => prop_assert!(needed > 0),
                Parsed::BadMagic => prop_assert!(false),
            }
        }
    }
}
