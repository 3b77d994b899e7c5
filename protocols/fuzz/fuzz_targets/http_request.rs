//! Fuzzes the HTTP request codec: see `torsion_protocols_fuzz::check_http_requests`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    torsion_protocols_fuzz::check_http_requests(data);
});
