//! The versioned migrations this crate ships, and the schema check.

use smartid_core::store::StoreError;

/// One migration: its version, name and SQL (`migrations/NNNN_name.sql`).
pub(crate) struct Migration {
    pub(crate) version: u32,
    pub(crate) name: &'static str,
    pub(crate) sql: &'static str,
}

/// Every migration, in order; the last one's version is
/// [`crate::SCHEMA_VERSION`].
pub(crate) const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    name: "flows",
    sql: include_str!("../migrations/0001_flows.sql"),
}];

/// The key of the advisory lock that serializes migrations (any number that
/// other applications are unlikely to use: "smartid" in ASCII).
pub(crate) const LOCK_KEY: i64 = 0x0073_6d61_7274_6964;

/// Creates the bookkeeping table (inside the migration's transaction, under
/// the lock).
pub(crate) const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS smartid_schema_migrations (
    version    integer     PRIMARY KEY,
    name       text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)";

/// The refusal for a schema newer than this release knows.
pub(crate) fn too_new(found: u32) -> StoreError {
    StoreError::Incompatible {
        what: "the PostgreSQL flow store schema (table smartid_schema_migrations)".into(),
        found,
        supported: crate::SCHEMA_VERSION,
        remedy: "a newer release of smartid-postgres migrated this database: run that release (or a newer one) \
                 here too, or point this service at another database; do not run older migrations against it"
            .into(),
    }
}

/// The refusal for a schema older than this release needs.
pub(crate) fn too_old(found: u32) -> StoreError {
    StoreError::Incompatible {
        what: "the PostgreSQL flow store schema (table smartid_schema_migrations)".into(),
        found,
        supported: crate::SCHEMA_VERSION,
        remedy: "run PostgresStore::migrate() once (or connect with PostgresOptions::migrate_on_connect(true)) \
                 with a role that may create tables in this database"
            .into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_in_order_and_match_their_files() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version as usize, i + 1);
            assert!(!m.sql.trim().is_empty());
        }
        assert_eq!(
            MIGRATIONS.last().map(|m| m.version),
            Some(crate::SCHEMA_VERSION)
        );
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".sql"))
            .collect();
        files.sort();
        let expected: Vec<String> = MIGRATIONS
            .iter()
            .map(|m| format!("{:04}_{}.sql", m.version, m.name))
            .collect();
        assert_eq!(
            files, expected,
            "every file under migrations/ is listed in MIGRATIONS"
        );
    }
}
