#![no_main]
//! Body: `prescale_scalers::fuzzing::metrics_api_body` (also run over the seed corpus by the crate's tests).

libfuzzer_sys::fuzz_target!(|data: &[u8]| prescale_scalers::fuzzing::metrics_api_body(data));
