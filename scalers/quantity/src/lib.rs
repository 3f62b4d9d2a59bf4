//! Kubernetes resource quantities (`500m`, `512Mi`, `1.5G`, `2e3`): parsing with the API
//! server's grammar and canonical forms ([`parse_quantity`]), the exact milli-value the HPA
//! controller computes with (`Quantity.MilliValue`, rounded up), and milli-precision formatting
//! ([`milli_quantity`]). Shared by the sources, the metrics API and the HPA model's users, so
//! all of them read and write the same numbers.

mod format;
mod parse;

pub use format::{format_milli, int_quantity, milli_quantity};
pub use parse::{Quantity, parse_quantity};
