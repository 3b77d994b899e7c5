//! Reading replies up to the sentinel, and normalising them.
//!
//! Framing never guesses from timing: a text batch ends with `mn\r\n`
//! (reply `MN\r\n`; values never hold a capital letter, so a value cannot
//! fake it), a binary batch with a NOOP whose opaque no generated request
//! uses. Normalising touches only what must differ between two correct
//! servers: the version string, and CAS ids (renumbered in order of first
//! appearance, per server). The seconds in the meta `t` and `l` flags are
//! compared with a tolerance instead ([`same_but_the_clock`]), since the two
//! servers' clocks tick at different instants.

use super::request::CasIds;

/// The opaque of the binary sentinel NOOP.
pub const SENTINEL_OPAQUE: u32 = 0xfeed_f00d;
/// The size of a binary header.
const HEADER: usize = 24;
/// How many seconds the `t` (TTL left) and `l` (seconds since last access)
/// meta flags may differ by between the servers.
pub const CLOCK_TOLERANCE: i64 = 2;

/// Whether a text reply holds its `want` `MN` lines.
pub fn text_complete(reply: &[u8], want: usize) -> bool {
    count_mn(reply) >= want
}

/// How many `MN\r\n` lines `reply` holds.
pub fn count_mn(reply: &[u8]) -> usize {
    reply
        .windows(4)
        .enumerate()
        .filter(|(i, w)| *w == b"MN\r\n" && (*i == 0 || reply[i - 1] == b'\n'))
        .count()
}

/// Whether a binary reply holds the sentinel NOOP's answer.
pub fn binary_complete(reply: &[u8]) -> bool {
    packets(reply)
        .0
        .iter()
        .any(|p| p[1] == 0x0a && opaque(p) == SENTINEL_OPAQUE)
}

fn opaque(packet: &[u8]) -> u32 {
    u32::from_be_bytes(packet[12..16].try_into().unwrap())
}

/// The whole response packets at the start of `bytes`, and what follows
/// them (a partial packet, or bytes that are not a response).
fn packets(mut bytes: &[u8]) -> (Vec<&[u8]>, &[u8]) {
    let mut out = Vec::new();
    while bytes.len() >= HEADER && bytes[0] == 0x81 {
        let body = u32::from_be_bytes(bytes[8..12].try_into().unwrap()) as usize;
        if bytes.len() < HEADER + body {
            break;
        }
        let (packet, rest) = bytes.split_at(HEADER + body);
        out.push(packet);
        bytes = rest;
    }
    (out, bytes)
}

/// A text/meta reply with its CAS ids renumbered (`#n`) and the version
/// string replaced.
pub fn normalise_text(reply: &[u8], ids: &mut CasIds) -> Vec<u8> {
    let mut out = Vec::with_capacity(reply.len());
    let mut rest = reply;
    while !rest.is_empty() {
        let Some(end) = rest.windows(2).position(|w| w == b"\r\n") else {
            out.extend_from_slice(rest);
            break;
        };
        let line = &rest[..end];
        rest = &rest[end + 2..];
        let words: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
        let mut data = 0;
        match words[0] {
            b"VALUE" if words.len() >= 4 => {
                data = parse(words[3]).map_or(0, |n| n as usize + 2);
                out.extend_from_slice(
                    &line[..line.len() - if words.len() == 5 { words[4].len() } else { 0 }],
                );
                if words.len() == 5 {
                    match parse(words[4]) {
                        Some(cas) => out.extend_from_slice(format!("#{}", ids.index(cas)).as_bytes()),
                        None => out.extend_from_slice(words[4]),
                    }
                }
            }
            b"VERSION" => out.extend_from_slice(b"VERSION <version>"),
            b"VA" | b"HD" | b"EN" | b"NF" | b"NS" | b"EX" | b"MN" => {
                if words[0] == b"VA" {
                    data = words.get(1).and_then(|w| parse(w)).map_or(0, |n| n as usize + 2);
                }
                for (i, word) in words.iter().enumerate() {
                    if i > 0 {
                        out.push(b' ');
                    }
                    match word.split_first() {
                        // c0 (NS, EX...) is no CAS id.
                        Some((b'c', digits)) if i > 0 && parse(digits).is_some_and(|c| c != 0) => {
                            let cas = parse(digits).unwrap();
                            out.extend_from_slice(format!("c#{}", ids.index(cas)).as_bytes());
                        }
                        _ => out.extend_from_slice(word),
                    }
                }
            }
            _ => out.extend_from_slice(line),
        }
        out.extend_from_slice(b"\r\n");
        let take = data.min(rest.len());
        out.extend_from_slice(&rest[..take]);
        rest = &rest[take..];
    }
    out
}

fn parse(digits: &[u8]) -> Option<u64> {
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// A normalised reply with the spaces after every number-only value
/// removed (and the value lengths made to match): what memcached's
/// padding of a shrunk incr/decr result looks like once undone.
pub fn unpad_numbers(reply: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(reply.len());
    let mut rest = reply;
    while let Some(end) = rest.iter().position(|&b| b == b'\n') {
        let line = &rest[..=end];
        rest = &rest[end + 1..];
        let words: Vec<&[u8]> = line.trim_ascii_end().split(|&b| b == b' ').collect();
        // VALUE key flags LENGTH [cas] | VA LENGTH flags...
        let length_at = match words[0] {
            b"VALUE" if words.len() >= 4 => 3,
            b"VA" if words.len() >= 2 => 1,
            _ => {
                if let Some(v) = line.windows(6).position(|w| w == b"value=") {
                    let (head, value) = line.split_at(v + 6);
                    let digits = value.iter().take_while(|b| b.is_ascii_digit()).count();
                    if digits > 0 && value[digits..].iter().all(|&b| b == b' ' || b == b'\n') {
                        out.extend_from_slice(head);
                        out.extend_from_slice(&value[..digits]);
                        out.push(b'\n');
                        continue;
                    }
                }
                out.extend_from_slice(line);
                continue;
            }
        };
        let Some(n) = parse(words[length_at]) else {
            out.extend_from_slice(line);
            continue;
        };
        let n = n as usize;
        if rest.len() < n + 2 {
            out.extend_from_slice(line);
            continue;
        }
        let data = &rest[..n];
        let digits = data.iter().take_while(|b| b.is_ascii_digit()).count();
        let data = if digits > 0 && data[digits..].iter().all(|&b| b == b' ') {
            &data[..digits]
        } else {
            data
        };
        for (i, word) in words.iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            if i == length_at {
                out.extend_from_slice(data.len().to_string().as_bytes());
            } else if length_at == 1 && word.first() == Some(&b's') && parse(&word[1..]) == Some(n as u64) {
                // The meta size flag says the same as the length.
                out.extend_from_slice(format!("s{}", data.len()).as_bytes());
            } else {
                out.extend_from_slice(word);
            }
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(data);
        out.extend_from_slice(b"\r\n");
        rest = &rest[n + 2..];
    }
    out.extend_from_slice(rest);
    out
}

/// Whether two normalised text replies are the same, allowing the meta `t`
/// and `l` flags (seconds) to differ by [`CLOCK_TOLERANCE`].
pub fn same_but_the_clock(a: &[u8], b: &[u8]) -> bool {
    if a == b {
        return true;
    }
    let split = |s: &[u8]| -> Vec<Vec<u8>> {
        let mut tokens = vec![Vec::new()];
        for &byte in s {
            if matches!(byte, b' ' | b'\r' | b'\n') {
                tokens.push(vec![byte]);
                tokens.push(Vec::new());
            } else {
                tokens.last_mut().unwrap().push(byte);
            }
        }
        tokens
    };
    let (x, y) = (split(a), split(b));
    x.len() == y.len() && x.iter().zip(&y).all(|(p, q)| {
        p == q
            || match (p.split_first(), q.split_first()) {
                (Some((f, m)), Some((g, n))) if f == g && matches!(f, b't' | b'l') => {
                    let number = |d: &[u8]| std::str::from_utf8(d).ok()?.parse::<i64>().ok();
                    matches!((number(m), number(n)), (Some(m), Some(n)) if (m - n).abs() <= CLOCK_TOLERANCE)
                }
                _ => false,
            }
    })
}

/// A binary reply, one readable line per packet, CAS ids renumbered and the
/// version string replaced.
pub fn normalise_binary(reply: &[u8], ids: &mut CasIds) -> Vec<u8> {
    let (whole, rest) = packets(reply);
    let mut out = Vec::new();
    for p in whole {
        let (opcode, keylen, extlen) = (p[1], u16::from_be_bytes([p[2], p[3]]) as usize, p[4] as usize);
        let status = u16::from_be_bytes([p[6], p[7]]);
        let cas = u64::from_be_bytes(p[16..24].try_into().unwrap());
        let cas = if cas == 0 {
            "0".to_string()
        } else {
            format!("#{}", ids.index(cas))
        };
        let body = &p[HEADER..];
        let (extras, body) = body.split_at(extlen.min(body.len()));
        let (key, value) = body.split_at(keylen.min(body.len()));
        let value = if opcode == 0x0b && status == 0 {
            &b"<version>"[..]
        } else {
            value
        };
        out.extend_from_slice(
            format!(
                "op={opcode:02x} status={status:04x} type={:02x} opaque={:x} cas={cas} extras={:02x?} key={} value=",
                p[5],
                opaque(p),
                extras,
                key.escape_ascii()
            )
            .as_bytes(),
        );
        out.extend_from_slice(value);
        out.push(b'\n');
    }
    if !rest.is_empty() {
        out.extend_from_slice(b"not a response: ");
        out.extend_from_slice(rest);
    }
    out
}

#[test]
fn text_cas_ids_and_versions_are_normalised() {
    let mut ids = CasIds::default();
    let reply = b"VALUE a 0 2 77\r\nc5\r\nVALUE b 1 0 9\r\n\r\nVA 2 c9 t-1\r\nc7\r\nHD c77\r\nNS c0\r\nVERSION 1.6.18\r\nEND\r\n";
    assert_eq!(
        normalise_text(reply, &mut ids),
        b"VALUE a 0 2 #0\r\nc5\r\nVALUE b 1 0 #1\r\n\r\nVA 2 c#1 t-1\r\nc7\r\nHD c#0\r\nNS c0\r\nVERSION <version>\r\nEND\r\n"
    );
    assert!(text_complete(b"VA 2\r\nMN\r\nMN\r\n", 2));
    assert!(!text_complete(b"VA 4\r\nxxMN\r\n", 1));
}

#[test]
fn padded_numbers_are_undone() {
    assert_eq!(
        unpad_numbers(b"VALUE n 0 3 #1\r\n26 \r\nVA 2 c#1 s2\r\n9 \r\nEND\r\n"),
        b"VALUE n 0 2 #1\r\n26\r\nVA 1 c#1 s1\r\n9\r\nEND\r\n"
    );
    assert_eq!(unpad_numbers(b"op=00 key= value=17 \n"), b"op=00 key= value=17\n");
}

#[test]
fn clock_seconds_get_a_tolerance() {
    assert!(same_but_the_clock(b"HD t999 c#1\r\n", b"HD t1000 c#1\r\n"));
    assert!(!same_but_the_clock(b"HD t990\r\n", b"HD t1000\r\n"));
    assert!(!same_but_the_clock(b"HD c#1\r\n", b"HD c#2\r\n"));
}

#[test]
fn binary_packets_are_described() {
    let mut ids = CasIds::default();
    let mut p = vec![0x81, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    p.extend_from_slice(&SENTINEL_OPAQUE.to_be_bytes());
    p.extend_from_slice(&5u64.to_be_bytes());
    assert!(binary_complete(&p));
    let text = normalise_binary(&p, &mut ids);
    assert!(
        String::from_utf8_lossy(&text).contains("cas=#0"),
        "{}",
        text.escape_ascii()
    );
}
