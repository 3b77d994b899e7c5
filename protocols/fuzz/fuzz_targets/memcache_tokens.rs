//! Fuzzes the memcache protocols' token readers: memcached's lenient
//! base64 (the meta `b` flag) and its `safe_strto*` numbers.
//!
//! Input: one byte sizing the output buffer, then the token. Decoding may
//! fail but never write past its buffer nor panic; whatever decodes must
//! encode to a string that decodes to the same bytes; every number read
//! must print back to a string that reads as the same number.
#![no_main]

use torsion_protocols::memcache::{base64, number};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let [size, token @ ..] = data else { return };
    let mut out = vec![0u8; usize::from(*size)];
    if let Some(n) = base64::decode(token, &mut out) {
        assert!(n <= out.len());
        let mut text = Vec::new();
        base64::encode(&out[..n], &mut text);
        let mut again = vec![0u8; text.len()];
        let m = base64::decode(&text, &mut again);
        if n > 0 {
            assert_eq!(m.map(|m| &again[..m]), Some(&out[..n]), "{token:?}");
        }
    }
    if let Some(x) = number::safe_strtoull(token) {
        let mut text = Vec::new();
        number::push_u64(&mut text, x);
        assert_eq!(text.len(), number::decimal_len(x));
        assert_eq!(number::safe_strtoull(&text), Some(x));
    }
    if let Some(x) = number::safe_strtol(token) {
        let mut text = Vec::new();
        number::push_i64(&mut text, i64::from(x));
        assert_eq!(number::safe_strtol(&text), Some(x));
    }
    let _ = number::safe_strtoul(token);
});
