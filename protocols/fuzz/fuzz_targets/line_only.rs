//! Fuzzes the line_only receiver: see `torsion_protocols_fuzz` for the checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    torsion_protocols_fuzz::check_framed(torsion_protocols::codec::LineCodec::new(), data);
});
