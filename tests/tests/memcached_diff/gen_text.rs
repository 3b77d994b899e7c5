//! Random classic text requests (storage, retrieval, counters, touch,
//! delete, flush, version, bad commands) and meta requests (`mg ms md ma
//! mn`), each whole: a storage command always brings the data block it
//! announces, so a batch never leaves a server waiting for bytes.

use super::request::Request;
use super::vocabulary::{base64, long_key, Gen, KEY_LIMIT};

/// One random classic text request.
pub fn text(g: &mut Gen) -> Request {
    match g.rng.below(100) {
        0..=29 => storage(g),
        30..=47 => retrieval(g),
        48..=53 => gat(g),
        54..=58 => touch(g),
        59..=65 => delete(g),
        66..=75 => arith(g),
        76 => flush(g),
        77 => line("version", b"version\r\n"),
        78..=84 => bad(g),
        _ => meta(g),
    }
}

/// One random meta request.
pub fn meta(g: &mut Gen) -> Request {
    match g.rng.below(100) {
        0..=34 => mg(g),
        35..=64 => ms(g),
        65..=74 => md(g),
        75..=89 => ma(g),
        90..=93 => {
            let mut r = line("mn", b"mn\r\n");
            r.mn = 1;
            r
        }
        _ => bad_meta(g),
    }
}

fn line(tag: &'static str, bytes: &[u8]) -> Request {
    let mut r = Request::new(tag);
    r.push(bytes);
    r
}

fn storage(g: &mut Gen) -> Request {
    let command = g.rng.pick(&[
        "set", "set", "set", "add", "replace", "append", "prepend", "cas", "cas",
    ]);
    let key = g.key();
    let (flags, ttl) = (g.flags(), g.ttl());
    let roll = g.rng.below(100);
    let valid_line = key.len() <= KEY_LIMIT && !matches!(flags, "4294967296" | "-1" | "abc") && ttl != "abc";
    let value = match roll {
        // A line a server may refuse gets a small block: if refused, the
        // block is read as a command (never a real one, see `letters`).
        _ if !valid_line => {
            let n = 1 + g.rng.below(40);
            g.letters(n)
        }
        0..=1 => g.too_large_value(),
        _ => g.value(),
    };
    let tag = match (command, roll) {
        ("cas", 0..=1) => "cas-too-large",
        (_, 0..=1) => "store-too-large",
        ("cas", _) => "cas",
        _ => "store",
    };
    let mut r = Request::new(tag);
    r.push(format!("{command} ").as_bytes()).push(&key);
    r.push(format!(" {flags} {ttl} {}", value.len()).as_bytes());
    if command == "cas" {
        r.push(b" ").decimal_cas(g.cas());
    }
    let noreply = g.noreply();
    r.push(noreply).push(b"\r\n");
    r.push(&value).push(b"\r\n");
    if valid_line && g.rng.percent(2) {
        // A block longer than announced: the excess is read as a command.
        return bad_chunk(g);
    }
    r
}

fn bad_chunk(g: &mut Gen) -> Request {
    let key = g.good_key();
    let mut r = Request::new("bad-chunk");
    r.push(b"set ").push(&key).push(b" 0 0 3\r\nxabcdef\r\n");
    r
}

/// Appends one to four keys; a key over the limit marks the request
/// `long_tag`.
fn keys(g: &mut Gen, r: &mut Request, long_tag: &'static str) {
    for _ in 0..1 + g.rng.below(4) {
        let key = g.key();
        if key.len() > KEY_LIMIT {
            r.tag = long_tag;
        }
        r.push(b" ").push(&key);
    }
}

fn retrieval(g: &mut Gen) -> Request {
    let command = g.rng.pick(&["get", "gets"]);
    let mut r = Request::new("get");
    r.push(command.as_bytes());
    keys(g, &mut r, "get-long-key");
    r.push(b"\r\n");
    r
}

fn gat(g: &mut Gen) -> Request {
    let command = g.rng.pick(&["gat", "gats"]);
    let mut r = Request::new("gat");
    r.push(format!("{command} {}", g.ttl()).as_bytes());
    keys(g, &mut r, "gat-long-key");
    r.push(b"\r\n");
    r
}

fn touch(g: &mut Gen) -> Request {
    let mut r = Request::new("touch");
    r.push(b"touch ")
        .push(&g.key())
        .push(format!(" {}", g.ttl()).as_bytes());
    r.push(g.noreply()).push(b"\r\n");
    r
}

fn delete(g: &mut Gen) -> Request {
    let mut r = Request::new("delete");
    r.push(b"delete ").push(&g.key());
    r.push(
        g.rng
            .pick(&[&b""[..], b"", b"", b" 0", b" 5", b" noreply", b" 0 noreply"]),
    );
    r.push(b"\r\n");
    r
}

fn arith(g: &mut Gen) -> Request {
    let command = g.rng.pick(&["incr", "decr"]);
    let mut r = Request::new("arith");
    r.push(format!("{command} ").as_bytes()).push(&g.key());
    r.push(format!(" {}", g.delta()).as_bytes())
        .push(g.noreply())
        .push(b"\r\n");
    r
}

fn flush(g: &mut Gen) -> Request {
    let variant = g.rng.pick(&[
        "flush_all",
        "flush_all 0",
        "flush_all noreply",
        "flush_all 86400",
        "flush_all abc",
    ]);
    let mut r = line("flush", format!("{variant}\r\n").as_bytes());
    if variant == "flush_all 86400" {
        r.tag = "flush-delayed";
    }
    r
}

fn bad(g: &mut Gen) -> Request {
    let mut long_line = b"set ".to_vec();
    long_line.extend(long_key(3000));
    long_line.extend_from_slice(b" 0 0 1\r\n");
    let mut long_get = b"get k0 ".to_vec();
    long_get.extend(long_key(3000));
    long_get.extend_from_slice(b"\r\n");
    let cases: [&[u8]; 20] = [
        b"\r\n",
        b"foo\r\n",
        b"GET k0\r\n",
        b"get\r\n",
        b"gets\r\n",
        b"incr k0\r\n",
        b"touch k0\r\n",
        b"set k0\r\n",
        b"set k0 0 0\r\n",
        b"gat 0\r\n",
        b"gat\r\n",
        b"delete\r\n",
        b"cas k0 0 0 1\r\nx\r\n",
        b" get k0\r\n",
        b"get k0  k1\r\n",
        b"get k0\n",
        b"set k1 0 0 -1\r\n",
        b"verbosity\r\n",
        &long_line,
        &long_get,
    ];
    let mut r = line("bad", g.rng.pick(&cases));
    if r.describe() == long_get {
        r.tag = "get-long-key";
    }
    r
}

/// The longest opaque (`O`) token memcached takes, in bytes.
const MAX_OPAQUE: usize = 31;

/// Adds each flag of `flags` with probability `percent`.
fn some_flags(g: &mut Gen, r: &mut Request, flags: &[&str], percent: usize) {
    for flag in flags {
        if g.rng.percent(percent) {
            r.push(b" ");
            match *flag {
                "C" => {
                    r.push(b"C").decimal_cas(g.cas());
                }
                "E" => {
                    r.push(format!("E{}", 5_000_000 + g.rng.below(100)).as_bytes());
                }
                "O" => {
                    let n = 1 + g.rng.below(32);
                    let token = g.letters(n);
                    r.push(b"O").push(&token);
                    if n > MAX_OPAQUE {
                        r.tag = "meta-long-opaque";
                    }
                }
                "N" | "T" => {
                    r.push(format!("{flag}{}", g.ttl()).as_bytes());
                }
                "R" => {
                    r.push(format!("R{}", g.recache_threshold()).as_bytes());
                }
                "F" => {
                    r.push(format!("F{}", g.flags()).as_bytes());
                }
                "J" => {
                    r.push(format!("J{}", g.number()).as_bytes());
                }
                "D" => {
                    r.push(format!("D{}", g.delta()).as_bytes());
                }
                "Ms" => {
                    r.push(format!("M{}", g.rng.pick(&["E", "A", "P", "R", "S", "a", "s", "Z"])).as_bytes());
                }
                "Ma" => {
                    r.push(format!("M{}", g.rng.pick(&["I", "i", "+", "D", "d", "-", "Z"])).as_bytes());
                }
                other => {
                    r.push(other.as_bytes());
                }
            }
        }
    }
}

/// `CMD KEY` or, with the `b` flag, the key in base64 (the flag is added
/// with the others by the caller: returns whether to add it).
fn meta_key(g: &mut Gen, r: &mut Request, command: &str) -> bool {
    let key = g.key();
    let b = g.rng.percent(10);
    r.push(command.as_bytes()).push(b" ");
    if b {
        r.push(&base64(&key));
    } else {
        r.push(&key);
    }
    b
}

fn mg(g: &mut Gen) -> Request {
    let mut r = Request::new("mg");
    let b = meta_key(g, &mut r, "mg");
    if b {
        r.push(b" b");
    }
    some_flags(
        g,
        &mut r,
        &[
            "v", "c", "f", "h", "k", "l", "O", "q", "s", "t", "N", "R", "T", "E",
        ],
        25,
    );
    r.push(b"\r\n");
    r
}

fn ms(g: &mut Gen) -> Request {
    let mut r = Request::new("ms");
    let b = meta_key(g, &mut r, "ms");
    // After a refused key the block is read as a command line: keep it
    // short (over 2048 bytes both servers close, and memcached then drops
    // the replies it has not written yet, which depends on timing).
    let long_key = r
        .describe()
        .split(|&b| b == b' ')
        .nth(1)
        .is_some_and(|k| k.len() > KEY_LIMIT);
    let value = if long_key {
        let n = 1 + g.rng.below(40);
        g.letters(n)
    } else if g.rng.percent(2) {
        g.too_large_value()
    } else {
        g.value()
    };
    if value.len() > 1_000_000 {
        r.tag = "ms-too-large";
    }
    let bad_length = g.rng.percent(2);
    if bad_length {
        r.push(g.rng.pick(&[&b" abc"[..], b" -1"]));
    } else {
        r.push(format!(" {}", value.len()).as_bytes());
    }
    if b {
        r.push(b" b");
    }
    some_flags(
        g,
        &mut r,
        &["c", "C", "E", "F", "I", "k", "O", "q", "T", "Ms"],
        20,
    );
    r.push(b"\r\n");
    if !bad_length || value.len() <= 40 {
        r.push(&value).push(b"\r\n");
    }
    r
}

fn md(g: &mut Gen) -> Request {
    let mut r = Request::new("md");
    if meta_key(g, &mut r, "md") {
        r.push(b" b");
    }
    some_flags(g, &mut r, &["C", "E", "I", "k", "O", "q", "T", "x"], 20);
    r.push(b"\r\n");
    r
}

fn ma(g: &mut Gen) -> Request {
    let mut r = Request::new("ma");
    if meta_key(g, &mut r, "ma") {
        r.push(b" b");
    }
    some_flags(
        g,
        &mut r,
        &["C", "E", "N", "J", "D", "T", "Ma", "O", "q", "t", "c", "v", "k"],
        20,
    );
    r.push(b"\r\n");
    if r.tag == "ma" && r.describe().windows(2).any(|w| w == b" T") {
        r.tag = "ma-ttl";
    }
    r
}

fn bad_meta(g: &mut Gen) -> Request {
    let cases: [&[u8]; 10] = [
        b"mg\r\n",
        b"ms k0\r\n",
        b"ms k0 abc\r\n",
        b"mg k0 v v\r\n",
        b"mg k0 !\r\n",
        b"md\r\n",
        b"ma\r\n",
        b"mg k0 Oabcdefghijklmnopqrstuvwxyz0123456789\r\n",
        b"ms k0 2 MZ\r\nxa\r\n",
        b"mx k0\r\n",
    ];
    line("bad-meta", g.rng.pick(&cases))
}
