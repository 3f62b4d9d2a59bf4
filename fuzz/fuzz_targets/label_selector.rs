#![no_main]
//! Body: `prescale_metrics_adapter::fuzzing::label_selector` (also run over the seed corpus by the crate's tests).

libfuzzer_sys::fuzz_target!(|data: &[u8]| prescale_metrics_adapter::fuzzing::label_selector(data));
