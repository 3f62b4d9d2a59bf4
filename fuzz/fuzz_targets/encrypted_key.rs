#![no_main]
//! Body: `prescale_scalers::fuzzing::encrypted_key` (also run over the seed corpus by the crate's tests).

libfuzzer_sys::fuzz_target!(|data: &[u8]| prescale_scalers::fuzzing::encrypted_key(data));
