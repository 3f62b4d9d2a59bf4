//! Least power for user queries (`mysql`, `mysql-calendar`): the trigger's query runs
//!
//! - as one prepared statement, so it is one statement (the text protocol of mysql_async
//!   always allows several, `SELECT 1; DELETE …`, as the Go driver does not);
//! - under `SET STATEMENT tx_read_only=1, max_statement_time=<timeout> FOR …`: the statement
//!   runs as a read-only transaction, so it cannot write, not even through a stored function
//!   (the server answers "Cannot execute statement in a READ ONLY transaction"), whatever the
//!   session holds (a stored function that sets the session read-write does not free the
//!   statement it runs in); and the server stops it at the trigger's timeout (dropping the
//!   client's future alone would leave it running). MariaDB 10.11 prepares `SET STATEMENT …
//!   FOR`; both settings apply to that statement only. Being part of the statement text, they
//!   cost no round trip: the statement is prepared once per pooled connection (the pool keeps
//!   its connections' prepared statements: it does not reset connections when they return,
//!   see `Dsn::opts`) and each sample is one execute. (A `START TRANSACTION READ
//!   ONLY` … `ROLLBACK` around each query and a reset on every return to the pool cost four
//!   more round trips per sample, see benches/README.md.)
//! - reading at most `max_rows` rows: with more, the connection is closed instead of reading
//!   the rest (see [`read_rows`]).

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Params, Row};
use std::time::Duration;

/// The rows read, and whether the query had more than were read.
pub(crate) struct Rows {
    pub rows: Vec<Row>,
    pub more: bool,
}

/// `query` as `SET STATEMENT tx_read_only=1, max_statement_time=<limit> FOR <query>`
/// (seconds, at least 1 ms: 0 would mean no limit).
pub(crate) fn guarded(query: &str, limit: Duration) -> String {
    let secs = limit.as_secs_f64().max(0.001);
    format!("SET STATEMENT tx_read_only=1, max_statement_time={secs:.3} FOR {query}")
}

/// Runs `query` with `params` read-only on `conn`, cut by the server at `limit`, keeping at
/// most `max_rows` rows. When the query has more, the connection is closed rather than read
/// to the end (a million rows take longer to read than the timeout), which stops the query
/// on the server too; the pool opens a new connection for the next call.
pub(crate) async fn read_rows(
    mut conn: Conn,
    query: &str,
    params: Params,
    limit: Duration,
    max_rows: usize,
) -> Result<Rows, mysql_async::Error> {
    let guarded = guarded(query, limit);
    let read = async {
        let mut result = conn.exec_iter(guarded.as_str(), params).await?;
        let mut rows = Vec::new();
        while let Some(row) = result.next().await? {
            if rows.len() == max_rows {
                return Ok::<_, mysql_async::Error>(Rows { rows, more: true });
            }
            rows.push(row);
        }
        Ok(Rows { rows, more: false })
    }
    .await;
    match read {
        Ok(rows) if rows.more => {
            // closing waits for the stream to wind down: done in the background, bounded
            tokio::spawn(tokio::time::timeout(limit, async move {
                let _ = conn.disconnect().await;
            }));
            Ok(rows)
        }
        Ok(rows) => Ok(rows),
        Err(e) => Err(e),
    }
}
