//! Conversions between the API's `metav1.Time` and chrono instants (whole seconds, as the
//! API stores them).

use chrono::{DateTime, Utc};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

/// An API timestamp as a chrono instant.
pub fn chrono_of(t: &Time) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.0.as_second(), 0)
}

/// A chrono instant as an API timestamp (sub-second part dropped).
pub fn time_of(t: DateTime<Utc>) -> Time {
    Time(k8s_openapi::jiff::Timestamp::from_second(t.timestamp()).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_whole_seconds() {
        let t = DateTime::from_timestamp(1_765_468_800, 250_000_000).unwrap();
        let back = chrono_of(&time_of(t)).unwrap();
        assert_eq!(back.timestamp(), t.timestamp());
        assert_eq!(back.timestamp_subsec_nanos(), 0);
    }
}
