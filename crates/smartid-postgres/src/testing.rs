//! Test support: a fresh database per test on the server named by
//! `DATABASE_URL`. **Not part of the public API**: no stability promise.
//!
//! - `DATABASE_URL` unset, `CI` unset: the helpers print a `skipped: ...`
//!   line and return `None` (the test returns early).
//! - `DATABASE_URL` unset, `CI` set: they panic (in CI the PostgreSQL tests
//!   must run).
//! - `DATABASE_URL` set: a new database `smartid_t_<time>_<pid>_<n>_<name>`
//!   is created on that server for every call; databases of this naming
//!   left by runs older than six hours are dropped.
#![allow(clippy::panic, clippy::expect_used, clippy::unwrap_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use tokio_postgres::tls::MakeTlsConnect;
use tokio_postgres::{Client, Socket};

use crate::config::{self, Tls};
use crate::{PostgresOptions, PostgresStore};

const PREFIX: &str = "smartid_t_";
static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// The server URL from `DATABASE_URL`, or `None` after printing why the
/// test is skipped; panics when `CI` is set and `DATABASE_URL` is not.
pub fn database_url(test: &str) -> Option<String> {
    match std::env::var("DATABASE_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            if std::env::var_os("CI").is_some() {
                panic!(
                    "{test}: CI is set but DATABASE_URL is not: the PostgreSQL tests must run in CI \
                     (.ci/run starts a throw-away server and exports DATABASE_URL)"
                );
            }
            eprintln!(
                "skipped: {test}: DATABASE_URL is not set (point it at a PostgreSQL server, for example \
                 DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres, to run the PostgreSQL tests)"
            );
            None
        }
    }
}

async fn admin_client(url: &str) -> Client {
    let target = config::parse(url, &PostgresOptions::new())
        .unwrap_or_else(|e| panic!("DATABASE_URL cannot be used: {e}"));
    async fn open<T>(config: &tokio_postgres::Config, tls: T) -> Client
    where
        T: MakeTlsConnect<Socket>,
        T::Stream: Send + 'static,
    {
        let (client, connection) = config.connect(tls).await.unwrap_or_else(|e| {
            panic!(
                "the PostgreSQL server of DATABASE_URL cannot be reached: {}",
                crate::error::from_pg(&e, Duration::from_secs(5))
            )
        });
        tokio::spawn(async move {
            let _ = connection.await;
        });
        client
    }
    match &target.tls {
        Tls::Plain => open(&target.config, tokio_postgres::NoTls).await,
        Tls::Rustls(tls) => open(&target.config, tls.clone()).await,
    }
}

fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// Creates a fresh, empty database for `test` on the server of
/// `DATABASE_URL` and returns its URL (for child processes); `None` when the
/// test is skipped (see the module's documentation).
pub async fn fresh_database_url(test: &str) -> Option<String> {
    let url = database_url(test)?;
    let admin = admin_client(&url).await;
    let secs = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    drop_stale(&admin, secs).await;
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut name = format!(
        "{PREFIX}{secs}_{}_{n}_{}",
        std::process::id(),
        sanitize(test)
    );
    name.truncate(63);
    admin
        .batch_execute(&format!("CREATE DATABASE \"{name}\""))
        .await
        .unwrap_or_else(|e| {
            panic!(
                "cannot create the test database {name} on the server of DATABASE_URL (the role needs CREATEDB): {}",
                crate::error::from_pg(&e, Duration::from_secs(5))
            )
        });
    Some(config::with_dbname(&url, &name))
}

/// Drops databases this module created in runs older than six hours.
async fn drop_stale(admin: &Client, now_secs: u64) {
    let Ok(rows) = admin
        .query(
            "SELECT datname FROM pg_database WHERE datname LIKE 'smartid\\_t\\_%'",
            &[],
        )
        .await
    else {
        return;
    };
    for row in rows {
        let Ok(name) = row.try_get::<_, String>(0) else {
            continue;
        };
        let created = name
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split('_').next())
            .and_then(|s| s.parse::<u64>().ok());
        if created.is_some_and(|c| c + 6 * 3600 < now_secs) {
            let _ = admin
                .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .await;
        }
    }
}

/// A [`PostgresStore`] on a fresh, migrated database for `test`; `None` when
/// the test is skipped (see the module's documentation).
pub async fn store_for_test(test: &str) -> Option<PostgresStore> {
    let url = fresh_database_url(test).await?;
    Some(
        PostgresStore::connect(&url, options_for_test())
            .await
            .unwrap_or_else(|e| panic!("{test}: cannot connect to the test database: {e}")),
    )
}

/// The options [`store_for_test`] uses: migrations on connect, a small pool,
/// short timeouts.
pub fn options_for_test() -> PostgresOptions {
    PostgresOptions::new()
        .migrate_on_connect(true)
        .pool_size(8)
        .connect_timeout(Duration::from_secs(10))
        .statement_timeout(Duration::from_secs(10))
}
