#![no_main]
//! Body: `prescale_scalers::fuzzing::trigger_metadata` (also run over the seed corpus by the crate's tests).

libfuzzer_sys::fuzz_target!(|data: &[u8]| prescale_scalers::fuzzing::trigger_metadata(data));
