//! Pure scaling logic shared by the operator and `prescale validate`: no I/O here.

pub mod activation;
pub mod fallback;
pub mod formula;
pub mod pause;
