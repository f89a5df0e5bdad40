//! The driver's errors as [`StoreError`]s: what to check, never a
//! credential, never a value of a row.

use std::time::Duration;

use deadpool_postgres::{PoolError, TimeoutType};
use smartid_core::store::StoreError;
use tokio_postgres::error::SqlState;

/// Maps a driver error. `statement_timeout` is what a cancelled statement
/// reports as [`StoreError::Timeout`].
pub(crate) fn from_pg(e: &tokio_postgres::Error, statement_timeout: Duration) -> StoreError {
    if let Some(db) = e.as_db_error() {
        let code = db.code();
        // The message only (never DETAIL: it may quote a row's values).
        let said = format!(
            "PostgreSQL said {} (SQLSTATE {})",
            db.message(),
            code.code()
        );
        if *code == SqlState::QUERY_CANCELED || *code == SqlState::LOCK_NOT_AVAILABLE {
            return StoreError::Timeout {
                after: statement_timeout,
            };
        }
        let class = &code.code()[..2.min(code.code().len())];
        return match class {
            // connection exceptions, insufficient resources, operator
            // intervention (shutdown, cannot connect now), authorization
            // (wrong user or password), a missing database.
            "08" | "53" | "57" | "28" => StoreError::Unavailable {
                reason: format!(
                    "{said}: check that the server is up and the URL's user, password and database"
                ),
            },
            "3D" => StoreError::Unavailable {
                reason: format!("{said}: the database named in the URL does not exist"),
            },
            "42" if *code == SqlState::UNDEFINED_TABLE => StoreError::Incompatible {
                what: "the PostgreSQL flow store schema".into(),
                found: 0,
                supported: crate::SCHEMA_VERSION,
                remedy: format!(
                    "{said}: run PostgresStore::migrate() (or connect with migrate_on_connect(true)) against this database"
                ),
            },
            _ => StoreError::Failed { reason: said },
        };
    }
    if e.is_closed() {
        return StoreError::Unavailable {
            reason: "the connection to PostgreSQL was closed".into(),
        };
    }
    // Connection, I/O and TLS errors: their text names the cause (refused,
    // timed out, certificate), never the URL.
    StoreError::Unavailable {
        reason: format!("PostgreSQL cannot be reached: {e}"),
    }
}

/// Maps a pool error.
pub(crate) fn from_pool(
    e: &PoolError,
    statement_timeout: Duration,
    pool_size: usize,
    connect_timeout: Duration,
) -> StoreError {
    match e {
        PoolError::Timeout(TimeoutType::Wait) => StoreError::Unavailable {
            reason: format!(
                "all {pool_size} pooled PostgreSQL connections stayed busy for {connect_timeout:?}: raise the pool size or look for slow statements"
            ),
        },
        PoolError::Timeout(TimeoutType::Create | TimeoutType::Recycle) => StoreError::Unavailable {
            reason: format!(
                "no PostgreSQL connection could be made within {connect_timeout:?}: check the host, the port and the network"
            ),
        },
        PoolError::Backend(e) => from_pg(e, statement_timeout),
        PoolError::Closed => StoreError::Unavailable {
            reason: "the PostgreSQL pool is closed".into(),
        },
        other => StoreError::Unavailable {
            reason: format!("the PostgreSQL pool failed: {other}"),
        },
    }
}
