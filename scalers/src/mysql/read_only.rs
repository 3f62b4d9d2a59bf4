//! Least power for user queries (`mysql`, `mysql-calendar`): the trigger's query runs
//!
//! - as one prepared statement, so it is one statement (the text protocol of mysql_async
//!   always allows several, `SELECT 1; DELETE …`, as the Go driver does not);
//! - inside `START TRANSACTION READ ONLY`, so it cannot write, not even through a stored
//!   function (the server answers "Cannot execute statement in a READ ONLY transaction");
//!   the transaction is rolled back after the read;
//! - under `SET STATEMENT max_statement_time=<timeout> FOR …`, so the server stops it at the
//!   trigger's timeout (dropping the client's future alone would leave it running). MariaDB
//!   10.11 prepares `SET STATEMENT … FOR`; it applies to that statement only, whatever the
//!   session holds;
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

/// `query` as `SET STATEMENT max_statement_time=<limit> FOR <query>` (seconds, at least 1 ms:
/// 0 would mean no limit).
pub(crate) fn with_statement_time(query: &str, limit: Duration) -> String {
    let secs = limit.as_secs_f64().max(0.001);
    format!("SET STATEMENT max_statement_time={secs:.3} FOR {query}")
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
    conn.query_drop("START TRANSACTION READ ONLY").await?;
    let guarded = with_statement_time(query, limit);
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
        Ok(rows) => {
            conn.query_drop("ROLLBACK").await?;
            Ok(rows)
        }
        // the pool rolls back a connection returned in a transaction
        Err(e) => Err(e),
    }
}
