#![doc = include_str!("../README.md")]
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod config;
mod error;
mod listen;
mod migrate;
#[doc(hidden)]
pub mod testing;

use std::fmt;
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use smartid_core::TrustRoots;
use smartid_core::store::{
    Completion, FlowRecord, FlowStore, Inserted, LeaseRequest, NewFlow, Notifier, StoreError,
    StoreFuture, Subscription, Update,
};
use tokio::sync::oneshot;
use tokio_postgres::Row;

use crate::config::{Target, Tls};
use crate::error::{from_pg, from_pool};

/// The newest schema version this release knows (the number of its last
/// migration). A database at a newer version is refused with
/// [`StoreError::Incompatible`].
pub const SCHEMA_VERSION: u32 = 1;

/// The default number of pooled connections.
pub const DEFAULT_POOL_SIZE: usize = 10;
/// The default time allowed to connect (and to wait for a pooled connection).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The default longest time one statement may take.
pub const DEFAULT_STATEMENT_TIMEOUT: Duration = Duration::from_secs(5);

/// How [`PostgresStore::connect`] connects.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PostgresOptions {
    /// Connections in the pool ([`DEFAULT_POOL_SIZE`]); one more is the
    /// `LISTEN` connection.
    pub pool_size: usize,
    /// Time allowed to connect, and to wait for a free pooled connection
    /// ([`DEFAULT_CONNECT_TIMEOUT`]); past it, [`StoreError::Unavailable`].
    pub connect_timeout: Duration,
    /// Longest time one statement may take ([`DEFAULT_STATEMENT_TIMEOUT`],
    /// PostgreSQL's `statement_timeout`); past it, [`StoreError::Timeout`].
    pub statement_timeout: Duration,
    /// Whether [`PostgresStore::connect`] runs the migrations (default: no,
    /// it refuses a database whose schema is older or missing).
    pub migrate_on_connect: bool,
    /// The roots that verify the server's certificate when TLS is used
    /// (default: the platform's). The URL's `sslrootcert` takes precedence.
    pub trust: TrustRoots,
    /// The `application_name` the server shows (default `smartid`), unless
    /// the URL sets one.
    pub application_name: String,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        Self {
            pool_size: DEFAULT_POOL_SIZE,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            statement_timeout: DEFAULT_STATEMENT_TIMEOUT,
            migrate_on_connect: false,
            trust: TrustRoots::Platform,
            application_name: "smartid".into(),
        }
    }
}

impl PostgresOptions {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the pool size (at least 1).
    pub fn pool_size(mut self, size: usize) -> Self {
        self.pool_size = size.max(1);
        self
    }

    /// Sets the connect (and pool wait) timeout.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets the statement timeout.
    pub fn statement_timeout(mut self, timeout: Duration) -> Self {
        self.statement_timeout = timeout;
        self
    }

    /// Runs the migrations on connect.
    pub fn migrate_on_connect(mut self, migrate: bool) -> Self {
        self.migrate_on_connect = migrate;
        self
    }

    /// Sets the roots that verify the server's certificate.
    pub fn trust(mut self, trust: TrustRoots) -> Self {
        self.trust = trust;
        self
    }

    /// Sets the `application_name`.
    pub fn application_name(mut self, name: impl Into<String>) -> Self {
        self.application_name = name.into();
        self
    }
}

struct Inner {
    pool: Pool,
    target: Target,
    notifier: Notifier,
    instance: String,
    options: PostgresOptions,
    /// Dropped with the last clone: ends the LISTEN task.
    _shutdown: oneshot::Sender<()>,
}

/// A [`FlowStore`] in PostgreSQL; cheap to clone (clones share the pool and
/// the `LISTEN` connection). See the [crate documentation](crate).
#[derive(Clone)]
pub struct PostgresStore {
    inner: Arc<Inner>,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = self.inner.pool.status();
        f.debug_struct("PostgresStore")
            .field("server", &self.inner.target.described)
            .field("pool_size", &status.max_size)
            .field("pool_in_use", &status.size.saturating_sub(status.available))
            .finish_non_exhaustive()
    }
}

const COLS: &str = "namespace, id, alias, format, state, version, due, lease_holder, lease_until, outcome, created, completed";

fn instance_id() -> String {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    h.write_u32(std::process::id());
    format!("{:016x}", h.finish())
}

fn corrupt(row: &Row, reason: impl fmt::Display) -> StoreError {
    StoreError::Corrupt {
        namespace: row.try_get::<_, String>(0).unwrap_or_default(),
        id: row.try_get::<_, String>(1).unwrap_or_default(),
        reason: reason.to_string(),
    }
}

fn record(row: &Row) -> Result<FlowRecord, StoreError> {
    let bad =
        |e: tokio_postgres::Error| corrupt(row, format_args!("a column does not decode: {e}"));
    let namespace: String = row.try_get(0).map_err(bad)?;
    let id: String = row.try_get(1).map_err(bad)?;
    let format: i64 = row.try_get(3).map_err(bad)?;
    let format = u32::try_from(format).map_err(|_| corrupt(row, "the format is out of range"))?;
    let version: i64 = row.try_get(5).map_err(bad)?;
    let version = u64::try_from(version).map_err(|_| corrupt(row, "the version is negative"))?;
    let mut r = FlowRecord::new(
        namespace,
        id,
        format,
        row.try_get(4).map_err(bad)?,
        version,
        row.try_get(10).map_err(bad)?,
    );
    r.alias = row.try_get(2).map_err(bad)?;
    r.due = row.try_get(6).map_err(bad)?;
    let holder: Option<String> = row.try_get(7).map_err(bad)?;
    let until: Option<SystemTime> = row.try_get(8).map_err(bad)?;
    r.lease = holder.zip(until);
    r.outcome = row.try_get(9).map_err(bad)?;
    r.completed = row.try_get(11).map_err(bad)?;
    Ok(r)
}

fn records(rows: &[Row]) -> Result<Vec<FlowRecord>, StoreError> {
    rows.iter().map(record).collect()
}

/// PostgreSQL's `text` holds no NUL character.
fn check_text(what: &str, value: &str) -> Result<(), StoreError> {
    if value.contains('\0') {
        return Err(StoreError::Failed {
            reason: format!("a flow's {what} may not contain a NUL character in PostgreSQL"),
        });
    }
    Ok(())
}

fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user:password@host:port/db?sslmode=...`
    /// or `key=value` pairs), opens the pool and the `LISTEN` connection and
    /// checks the schema version (running the migrations first with
    /// [`PostgresOptions::migrate_on_connect`]).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the server cannot be reached or
    /// refuses the credentials, [`StoreError::Incompatible`] when the schema
    /// is missing, older (without `migrate_on_connect`) or newer than
    /// [`SCHEMA_VERSION`], [`StoreError::Failed`] for an invalid URL.
    pub async fn connect(url: &str, options: PostgresOptions) -> Result<Self, StoreError> {
        let target = config::parse(url, &options)?;
        let manager_config = ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        };
        let manager = match &target.tls {
            Tls::Plain => {
                Manager::from_config(target.config.clone(), tokio_postgres::NoTls, manager_config)
            }
            Tls::Rustls(tls) => {
                Manager::from_config(target.config.clone(), tls.clone(), manager_config)
            }
        };
        let pool = Pool::builder(manager)
            .max_size(options.pool_size.max(1))
            .wait_timeout(Some(options.connect_timeout))
            .create_timeout(Some(options.connect_timeout))
            .recycle_timeout(Some(options.connect_timeout))
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|e| StoreError::Failed {
                reason: format!("the PostgreSQL pool cannot be built: {e}"),
            })?;
        let notifier = Notifier::default();
        let instance = instance_id();
        let (shutdown, shutdown_rx) = oneshot::channel();
        let store = Self {
            inner: Arc::new(Inner {
                pool,
                target: target.clone(),
                notifier: notifier.clone(),
                instance: instance.clone(),
                options: options.clone(),
                _shutdown: shutdown,
            }),
        };
        if options.migrate_on_connect {
            store.migrate().await?;
        } else {
            let found = store.schema_version().await?;
            if found < SCHEMA_VERSION {
                return Err(migrate::too_old(found));
            }
        }
        let found = store.schema_version().await?;
        if found > SCHEMA_VERSION {
            return Err(migrate::too_new(found));
        }
        let (ready, ready_rx) = oneshot::channel();
        listen::spawn(
            target,
            notifier,
            instance,
            options.statement_timeout,
            ready,
            shutdown_rx,
        );
        let wait = options.connect_timeout + options.statement_timeout;
        match tokio::time::timeout(wait, ready_rx).await {
            Ok(Ok(Ok(()))) => Ok(store),
            Ok(Ok(Err(e))) => Err(e),
            Ok(Err(_)) | Err(_) => Err(StoreError::Unavailable {
                reason: format!("the LISTEN connection to PostgreSQL was not up within {wait:?}"),
            }),
        }
    }

    /// The schema version of the database (0 when no migration ran).
    ///
    /// # Errors
    /// The store's errors.
    pub async fn schema_version(&self) -> Result<u32, StoreError> {
        self.run(async {
            let client = self.client().await?;
            let exists = client
                .query_one(
                    "SELECT to_regclass('smartid_schema_migrations') IS NOT NULL",
                    &[],
                )
                .await
                .map_err(|e| self.pg(&e))?;
            if !exists.try_get::<_, bool>(0).unwrap_or(false) {
                return Ok(0);
            }
            let row = client
                .query_one(
                    "SELECT COALESCE(max(version), 0) FROM smartid_schema_migrations",
                    &[],
                )
                .await
                .map_err(|e| self.pg(&e))?;
            let v: i32 = row.try_get(0).map_err(|e| self.pg(&e))?;
            Ok(u32::try_from(v).unwrap_or(0))
        })
        .await
    }

    /// Runs the migrations this release ships that the database has not
    /// run yet, each in its own transaction under
    /// `pg_advisory_xact_lock` (several replicas migrating at once wait for
    /// each other; each migration runs once), and returns the schema
    /// version.
    ///
    /// # Errors
    /// [`StoreError::Incompatible`] when the database is at a newer version
    /// than [`SCHEMA_VERSION`]; the store's errors (a role that may not
    /// create tables gets [`StoreError::Failed`] naming PostgreSQL's refusal).
    pub async fn migrate(&self) -> Result<u32, StoreError> {
        let mut client = self.client().await?;
        let mut version = 0;
        for m in migrate::MIGRATIONS {
            let tx = client.transaction().await.map_err(|e| self.pg(&e))?;
            // Migrations may take longer than one flow's statement.
            tx.batch_execute("SET LOCAL statement_timeout = 0")
                .await
                .map_err(|e| self.pg(&e))?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&migrate::LOCK_KEY])
                .await
                .map_err(|e| self.pg(&e))?;
            tx.batch_execute(migrate::CREATE_TABLE)
                .await
                .map_err(|e| self.pg(&e))?;
            let row = tx
                .query_one(
                    "SELECT COALESCE(max(version), 0) FROM smartid_schema_migrations",
                    &[],
                )
                .await
                .map_err(|e| self.pg(&e))?;
            let found: i32 = row.try_get(0).map_err(|e| self.pg(&e))?;
            let found = u32::try_from(found).unwrap_or(0);
            if found > SCHEMA_VERSION {
                return Err(migrate::too_new(found));
            }
            if found < m.version {
                tx.batch_execute(m.sql)
                    .await
                    .map_err(|e| StoreError::Failed {
                        reason: format!(
                            "migration {:04}_{} failed (nothing of it was applied): {}",
                            m.version,
                            m.name,
                            self.pg(&e)
                        ),
                    })?;
                let v = i32::try_from(m.version).unwrap_or(i32::MAX);
                tx.execute(
                    "INSERT INTO smartid_schema_migrations (version, name) VALUES ($1, $2)",
                    &[&v, &m.name],
                )
                .await
                .map_err(|e| self.pg(&e))?;
            }
            tx.commit().await.map_err(|e| self.pg(&e))?;
            version = found.max(m.version);
        }
        Ok(version)
    }

    fn pg(&self, e: &tokio_postgres::Error) -> StoreError {
        from_pg(e, self.inner.options.statement_timeout)
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        let o = &self.inner.options;
        self.inner
            .pool
            .get()
            .await
            .map_err(|e| from_pool(&e, o.statement_timeout, o.pool_size, o.connect_timeout))
    }

    /// Bounds any operation (a stalled network is a timeout too).
    async fn run<T>(
        &self,
        op: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let o = &self.inner.options;
        let guard = o.connect_timeout + o.statement_timeout * 2 + Duration::from_secs(1);
        match tokio::time::timeout(guard, op).await {
            Ok(r) => r,
            Err(_) => Err(StoreError::Timeout { after: guard }),
        }
    }

    async fn query(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Vec<Row>, StoreError> {
        let client = self.client().await?;
        let statement = client.prepare_cached(sql).await.map_err(|e| self.pg(&e))?;
        client
            .query(&statement, params)
            .await
            .map_err(|e| self.pg(&e))
    }

    async fn one(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Option<FlowRecord>, StoreError> {
        let rows = self.query(sql, params).await?;
        rows.first().map(record).transpose()
    }

    async fn do_get(&self, namespace: &str, id: &str) -> Result<Option<FlowRecord>, StoreError> {
        self.one(
            &format!("SELECT {COLS} FROM smartid_flows WHERE namespace = $1 AND id = $2"),
            &[&namespace, &id],
        )
        .await
    }

    async fn do_get_by_alias(
        &self,
        namespace: &str,
        alias: &str,
    ) -> Result<Option<FlowRecord>, StoreError> {
        self.one(
            &format!("SELECT {COLS} FROM smartid_flows WHERE namespace = $1 AND alias = $2"),
            &[&namespace, &alias],
        )
        .await
    }

    async fn do_insert(&self, flow: NewFlow) -> Result<Inserted, StoreError> {
        check_text("namespace", &flow.namespace)?;
        check_text("id", &flow.id)?;
        if let Some(alias) = &flow.alias {
            check_text("alias", alias)?;
        }
        if let Some((holder, _)) = &flow.lease {
            check_text("lease holder", holder)?;
        }
        let sql = format!(
            "INSERT INTO smartid_flows (namespace, id, alias, format, state, version, due, lease_holder, lease_until, created) \
             VALUES ($1, $2, $3, $4, $5, 1, $6, $7, $8, $9) ON CONFLICT DO NOTHING RETURNING {COLS}"
        );
        let format = i64::from(flow.format);
        let holder = flow.lease.as_ref().map(|(h, _)| h.as_str());
        let until = flow.lease.as_ref().map(|(_, u)| *u);
        // A conflicting record removed between the insert and the read: try again.
        for _ in 0..3 {
            if let Some(created) = self
                .one(
                    &sql,
                    &[
                        &flow.namespace,
                        &flow.id,
                        &flow.alias,
                        &format,
                        &flow.state,
                        &flow.due,
                        &holder,
                        &until,
                        &flow.created,
                    ],
                )
                .await?
            {
                return Ok(Inserted::Created(created));
            }
            if let Some(existing) = self.do_get(&flow.namespace, &flow.id).await? {
                return Ok(Inserted::Exists(existing));
            }
            if let Some(alias) = &flow.alias
                && let Some(existing) = self.do_get_by_alias(&flow.namespace, alias).await?
            {
                return Ok(Inserted::Exists(existing));
            }
        }
        Err(StoreError::Failed {
            reason: format!(
                "the flow {}/{} conflicted with a record that was removed meanwhile, three times: try again",
                flow.namespace, flow.id
            ),
        })
    }

    async fn do_update(
        &self,
        namespace: &str,
        id: &str,
        expected_version: u64,
        update: Update,
    ) -> Result<Option<FlowRecord>, StoreError> {
        let Ok(expected) = i64::try_from(expected_version) else {
            return Ok(None);
        };
        let (format, state) = match &update.state {
            Some((f, s)) => (Some(i64::from(*f)), Some(s.as_slice())),
            None => (None, None),
        };
        self.one(
            &format!(
                "UPDATE smartid_flows SET version = version + 1, lease_holder = NULL, lease_until = NULL, \
                 due = $4, format = COALESCE($5, format), state = COALESCE($6, state) \
                 WHERE namespace = $1 AND id = $2 AND version = $3 AND outcome IS NULL RETURNING {COLS}"
            ),
            &[&namespace, &id, &expected, &update.due, &format, &state],
        )
        .await
    }

    async fn do_complete(
        &self,
        namespace: &str,
        id: &str,
        outcome: Vec<u8>,
        now: SystemTime,
    ) -> Result<Completion, StoreError> {
        let payload = listen::payload(&self.inner.instance, namespace, id);
        // One statement, one transaction: the NOTIFY is sent on commit.
        let written = self
            .one(
                &format!(
                    "WITH done AS (UPDATE smartid_flows SET outcome = $3, completed = $4, due = NULL, \
                     lease_holder = NULL, lease_until = NULL, version = version + 1 \
                     WHERE namespace = $1 AND id = $2 AND outcome IS NULL RETURNING {COLS}) \
                     SELECT {COLS}, pg_notify('{}', $5) IS NULL FROM done",
                    listen::CHANNEL
                ),
                &[&namespace, &id, &outcome, &now, &payload],
            )
            .await?;
        if let Some(record) = written {
            self.inner.notifier.completed(namespace, id);
            return Ok(Completion::Written(record));
        }
        Ok(match self.do_get(namespace, id).await? {
            Some(existing) => Completion::AlreadyDone(existing),
            None => Completion::Missing,
        })
    }

    async fn do_lease_due(&self, request: LeaseRequest) -> Result<Vec<FlowRecord>, StoreError> {
        if request.limit == 0 {
            return Ok(Vec::new());
        }
        check_text("lease holder", &request.holder)?;
        let rows = self
            .query(
                &format!(
                    "WITH picked AS (SELECT namespace, id FROM smartid_flows \
                     WHERE namespace = $1 AND outcome IS NULL AND due <= $2 \
                     AND (lease_until IS NULL OR lease_until <= $2) \
                     ORDER BY due, id LIMIT $3 FOR UPDATE SKIP LOCKED) \
                     UPDATE smartid_flows f SET lease_holder = $4, lease_until = $5, version = f.version + 1 \
                     FROM picked WHERE f.namespace = picked.namespace AND f.id = picked.id \
                     RETURNING {}",
                    COLS.split(", ")
                        .map(|c| format!("f.{c}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                &[
                    &request.namespace,
                    &request.now,
                    &limit(request.limit),
                    &request.holder,
                    &request.until,
                ],
            )
            .await?;
        let mut leased = records(&rows)?;
        leased.sort_by(|a, b| a.due.cmp(&b.due).then_with(|| a.id.cmp(&b.id)));
        Ok(leased)
    }

    async fn do_lease(
        &self,
        namespace: &str,
        id: &str,
        holder: &str,
        now: SystemTime,
        until: SystemTime,
    ) -> Result<Option<FlowRecord>, StoreError> {
        check_text("lease holder", holder)?;
        self.one(
            &format!(
                "UPDATE smartid_flows SET lease_holder = $3, lease_until = $5, version = version + 1 \
                 WHERE namespace = $1 AND id = $2 AND outcome IS NULL \
                 AND (lease_holder IS NULL OR lease_holder = $3 OR lease_until <= $4) RETURNING {COLS}"
            ),
            &[&namespace, &id, &holder, &now, &until],
        )
        .await
    }

    async fn do_waiting(&self, namespace: &str, max: usize) -> Result<Vec<FlowRecord>, StoreError> {
        let rows = self
            .query(
                &format!(
                    "SELECT {COLS} FROM smartid_flows WHERE namespace = $1 AND outcome IS NULL \
                     ORDER BY created, id LIMIT $2"
                ),
                &[&namespace, &limit(max)],
            )
            .await?;
        records(&rows)
    }

    async fn do_remove(&self, namespace: &str, id: &str) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached("DELETE FROM smartid_flows WHERE namespace = $1 AND id = $2")
            .await
            .map_err(|e| self.pg(&e))?;
        let n = client
            .execute(&statement, &[&namespace, &id])
            .await
            .map_err(|e| self.pg(&e))?;
        Ok(n > 0)
    }

    async fn do_prune(
        &self,
        namespace: &str,
        before: SystemTime,
        include_waiting: bool,
        max: usize,
    ) -> Result<u64, StoreError> {
        if max == 0 {
            return Ok(0);
        }
        let client = self.client().await?;
        let statement = client
            .prepare_cached(
                "DELETE FROM smartid_flows WHERE (namespace, id) IN (SELECT namespace, id FROM smartid_flows \
                 WHERE namespace = $1 AND created < $2 AND ($3 OR outcome IS NOT NULL) \
                 LIMIT $4 FOR UPDATE SKIP LOCKED)",
            )
            .await
            .map_err(|e| self.pg(&e))?;
        client
            .execute(
                &statement,
                &[&namespace, &before, &include_waiting, &limit(max)],
            )
            .await
            .map_err(|e| self.pg(&e))
    }
}

impl FlowStore for PostgresStore {
    fn insert(&self, flow: NewFlow) -> StoreFuture<'_, Inserted> {
        Box::pin(self.run(self.do_insert(flow)))
    }

    fn get<'a>(&'a self, namespace: &'a str, id: &'a str) -> StoreFuture<'a, Option<FlowRecord>> {
        Box::pin(self.run(self.do_get(namespace, id)))
    }

    fn get_by_alias<'a>(
        &'a self,
        namespace: &'a str,
        alias: &'a str,
    ) -> StoreFuture<'a, Option<FlowRecord>> {
        Box::pin(self.run(self.do_get_by_alias(namespace, alias)))
    }

    fn update<'a>(
        &'a self,
        namespace: &'a str,
        id: &'a str,
        expected_version: u64,
        update: Update,
    ) -> StoreFuture<'a, Option<FlowRecord>> {
        Box::pin(self.run(self.do_update(namespace, id, expected_version, update)))
    }

    fn complete<'a>(
        &'a self,
        namespace: &'a str,
        id: &'a str,
        outcome: Vec<u8>,
        now: SystemTime,
    ) -> StoreFuture<'a, Completion> {
        Box::pin(self.run(self.do_complete(namespace, id, outcome, now)))
    }

    fn lease_due(&self, request: LeaseRequest) -> StoreFuture<'_, Vec<FlowRecord>> {
        Box::pin(self.run(self.do_lease_due(request)))
    }

    fn lease<'a>(
        &'a self,
        namespace: &'a str,
        id: &'a str,
        holder: &'a str,
        now: SystemTime,
        until: SystemTime,
    ) -> StoreFuture<'a, Option<FlowRecord>> {
        Box::pin(self.run(self.do_lease(namespace, id, holder, now, until)))
    }

    fn waiting<'a>(&'a self, namespace: &'a str, limit: usize) -> StoreFuture<'a, Vec<FlowRecord>> {
        Box::pin(self.run(self.do_waiting(namespace, limit)))
    }

    fn remove<'a>(&'a self, namespace: &'a str, id: &'a str) -> StoreFuture<'a, bool> {
        Box::pin(self.run(self.do_remove(namespace, id)))
    }

    fn prune<'a>(
        &'a self,
        namespace: &'a str,
        before: SystemTime,
        include_waiting: bool,
        limit: usize,
    ) -> StoreFuture<'a, u64> {
        Box::pin(self.run(self.do_prune(namespace, before, include_waiting, limit)))
    }

    fn subscribe(&self) -> Subscription {
        self.inner.notifier.subscribe()
    }
    fn subscribe_to(&self, namespace: &str, id: &str) -> Subscription {
        self.inner.notifier.subscribe_to(namespace, id)
    }
}
