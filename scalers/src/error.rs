//! Errors of the scalers crate. Display texts follow KEDA's where KEDA defines them; every
//! message is built by this crate from non-secret parts (never a password, token or DSN).

use std::time::Duration;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// The trigger's metadata or authentication parameters are invalid.
    #[error("error parsing {scaler} metadata: {message}")]
    Parse {
        scaler: &'static str,
        message: String,
    },

    /// No scaler is registered for this trigger `type`.
    #[error("no scaler found for type: {0}")]
    UnknownType(String),

    /// The backend could not be reached or refused us (build-time connect or a lost connection).
    #[error("{0}")]
    Connect(String),

    /// The backend answered with an error to the query.
    #[error("{0}")]
    Query(String),

    /// The backend answered, but the answer cannot be turned into a value.
    #[error("{0}")]
    Value(String),

    /// The call did not finish within its timeout.
    #[error("{what} timed out after {after:?}")]
    Timeout { what: String, after: Duration },
}

impl Error {
    /// A bounded, secret-free label for metrics, Event reasons and logs.
    pub fn category(&self) -> &'static str {
        match self {
            Error::Parse { .. } => "invalid_metadata",
            Error::UnknownType(_) => "unknown_type",
            Error::Connect(_) => "connection",
            Error::Query(_) => "query",
            Error::Value(_) => "bad_value",
            Error::Timeout { .. } => "timeout",
        }
    }

    /// Runs `fut` with a timeout, mapping an elapsed timer to [`Error::Timeout`].
    pub async fn within<T>(
        what: impl Into<String>,
        after: Duration,
        fut: impl std::future::Future<Output = Result<T>>,
    ) -> Result<T> {
        match tokio::time::timeout(after, fut).await {
            Ok(r) => r,
            Err(_) => Err(Error::Timeout {
                what: what.into(),
                after,
            }),
        }
    }
}
