//! Fuzzes the line_receiver receiver: see `torsion_protocols_fuzz` for the checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    torsion_protocols_fuzz::check_line_receiver(data);
});
