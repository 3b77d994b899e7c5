//! Base64 exactly as memcached's `base64.c` does it, for the meta protocol's
//! `b` flag (binary keys sent base64-encoded).
//!
//! memcached's decoder (Jouni Malinen's, modified by dormando) is lenient in
//! ways a client can observe, so they are kept:
//!
//! - bytes outside the alphabet are skipped, wherever they are;
//! - the number of alphabet bytes (`=` included) must be a non-zero multiple
//!   of four;
//! - decoding stops after the first block holding padding; one or two `=`
//!   drop one or two bytes, more is an error.
//!
//! Encoding is standard base64 with `=` padding and no line breaks.
//!
//! # Examples
//!
//! ```
//! use torsion_protocols::memcache::base64;
//!
//! let mut out = [0u8; 16];
//! let n = base64::decode(b"44OG44K544OI", &mut out).unwrap();
//! assert_eq!(&out[..n], "テスト".as_bytes());
//! let mut text = Vec::new();
//! base64::encode(&out[..n], &mut text);
//! assert_eq!(text, b"44OG44K544OI");
//! assert_eq!(base64::decode(b"abc", &mut out), None); // not a multiple of 4
//! ```

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// The value of one base64 character, `=` counting as 0 (as in memcached's
/// `dtable`), or `None` for a byte outside the alphabet.
fn value(b: u8) -> Option<u8> {
    match b {
        b'A'..=b'Z' => Some(b - b'A'),
        b'a'..=b'z' => Some(b - b'a' + 26),
        b'0'..=b'9' => Some(b - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        b'=' => Some(0),
        _ => None,
    }
}

/// Decodes `src` into `out` like memcached's `base64_decode`; returns the
/// number of bytes written, or `None` where memcached returns 0 (invalid
/// input, or `out` shorter than `count / 4 * 3`).
pub fn decode(src: &[u8], out: &mut [u8]) -> Option<usize> {
    let count = src.iter().filter(|&&b| value(b).is_some()).count();
    if count == 0 || count % 4 != 0 || count / 4 * 3 > out.len() {
        return None;
    }
    let mut pos = 0;
    let mut block = [0u8; 4];
    let mut filled = 0;
    let mut pad = 0;
    for &b in src {
        let Some(v) = value(b) else { continue };
        if b == b'=' {
            pad += 1;
        }
        block[filled] = v;
        filled += 1;
        if filled == 4 {
            out[pos] = (block[0] << 2) | (block[1] >> 4);
            out[pos + 1] = (block[1] << 4) | (block[2] >> 2);
            out[pos + 2] = (block[2] << 6) | block[3];
            pos += 3;
            filled = 0;
            if pad > 0 {
                match pad {
                    1 | 2 => pos -= pad,
                    _ => return None, // "Invalid padding"
                }
                break;
            }
        }
    }
    Some(pos)
}

/// Appends the base64 encoding of `src` to `out` (memcached's `base64_encode`).
pub fn encode(src: &[u8], out: &mut Vec<u8>) {
    out.reserve(src.len().div_ceil(3) * 4);
    let mut chunks = src.chunks_exact(3);
    for c in &mut chunks {
        out.push(ALPHABET[usize::from(c[0] >> 2)]);
        out.push(ALPHABET[usize::from(((c[0] & 0x03) << 4) | (c[1] >> 4))]);
        out.push(ALPHABET[usize::from(((c[1] & 0x0f) << 2) | (c[2] >> 6))]);
        out.push(ALPHABET[usize::from(c[2] & 0x3f)]);
    }
    match *chunks.remainder() {
        [a] => {
            out.push(ALPHABET[usize::from(a >> 2)]);
            out.push(ALPHABET[usize::from((a & 0x03) << 4)]);
            out.extend_from_slice(b"==");
        }
        [a, b] => {
            out.push(ALPHABET[usize::from(a >> 2)]);
            out.push(ALPHABET[usize::from(((a & 0x03) << 4) | (b >> 4))]);
            out.push(ALPHABET[usize::from((b & 0x0f) << 2)]);
            out.push(b'=');
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn dec(src: &[u8]) -> Option<Vec<u8>> {
        let mut out = [0u8; 64];
        decode(src, &mut out).map(|n| out[..n].to_vec())
    }

    #[test]
    fn known_vectors() {
        for (plain, coded) in [
            (&b"f"[..], &b"Zg=="[..]),
            (b"fo", b"Zm8="),
            (b"foo", b"Zm9v"),
            (b"foob", b"Zm9vYg=="),
            (b"\xff\xfe\x00", b"//4A"),
        ] {
            let mut out = Vec::new();
            encode(plain, &mut out);
            assert_eq!(out, coded);
            assert_eq!(dec(coded).as_deref(), Some(plain));
        }
    }

    #[test]
    fn memcached_leniency() {
        // Bytes outside the alphabet are skipped.
        assert_eq!(dec(b"Zm\x01-9v").as_deref(), Some(&b"foo"[..]));
        // Decoding stops after the first padded block.
        assert_eq!(dec(b"Zg==Zm9v").as_deref(), Some(&b"f"[..]));
        assert_eq!(dec(b""), None);
        assert_eq!(dec(b"Zm9"), None);
        assert_eq!(dec(b"Z==="), None);
        assert_eq!(dec(b"===="), None);
        let mut small = [0u8; 2];
        assert_eq!(decode(b"Zm9v", &mut small), None);
    }

    proptest! {
        #[test]
        fn round_trip(bytes in proptest::collection::vec(any::<u8>(), 1..200)) {
            let mut coded = Vec::new();
            encode(&bytes, &mut coded);
            let mut out = vec![0u8; bytes.len() + 3];
            let n = decode(&coded, &mut out);
            prop_assert_eq!(n.map(|n| out[..n].to_vec()), Some(bytes));
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let mut out = [0u8; 256];
            let _ = decode(&bytes, &mut out);
        }
    }
}
