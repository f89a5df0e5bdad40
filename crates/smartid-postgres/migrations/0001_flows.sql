-- smartid-postgres schema version 1: the flows table.
-- Applied by PostgresStore::migrate() in one transaction, under
-- pg_advisory_xact_lock, and recorded in smartid_schema_migrations.
-- Times are the callers' clocks (never now()), microsecond precision.

CREATE TABLE smartid_flows (
    namespace    text        NOT NULL,
    id           text        NOT NULL,
    alias        text,
    format       bigint      NOT NULL CHECK (format BETWEEN 0 AND 4294967295),
    state        bytea       NOT NULL,
    version      bigint      NOT NULL CHECK (version >= 1),
    due          timestamptz,
    lease_holder text,
    lease_until  timestamptz,
    outcome      bytea,
    created      timestamptz NOT NULL,
    completed    timestamptz,
    PRIMARY KEY (namespace, id),
    CHECK ((lease_holder IS NULL) = (lease_until IS NULL))
);

-- The alias is a second key, unique in its namespace when set.
CREATE UNIQUE INDEX smartid_flows_alias
    ON smartid_flows (namespace, alias) WHERE alias IS NOT NULL;

-- lease_due: flows without an outcome, by due time.
CREATE INDEX smartid_flows_due
    ON smartid_flows (namespace, due, id) WHERE outcome IS NULL AND due IS NOT NULL;

-- waiting: flows without an outcome, oldest first.
CREATE INDEX smartid_flows_waiting
    ON smartid_flows (namespace, created, id) WHERE outcome IS NULL;

-- prune: by creation time.
CREATE INDEX smartid_flows_created
    ON smartid_flows (namespace, created);
