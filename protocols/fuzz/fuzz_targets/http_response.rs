//! Fuzzes the HTTP response codec: see `torsion_protocols_fuzz::check_http_responses`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    torsion_protocols_fuzz::check_http_responses(data);
});
