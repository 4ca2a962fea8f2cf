-- The log and the tables that are not projections (DESIGN.md 1.1): unique constraints,
-- keys and checkpoints. Timestamps are milliseconds since the Unix epoch, UTC.

CREATE TABLE events (
    global_position BIGINT GENERATED ALWAYS AS IDENTITY,
    -- The writing transaction. Readers of the whole log follow (tx_id, global_position) and
    -- stop below pg_snapshot_xmin, so an event whose transaction commits late is never
    -- skipped (a plain position cursor would skip it).
    tx_id           XID8    NOT NULL DEFAULT pg_current_xact_id(),
    event_id        UUID    NOT NULL UNIQUE,
    aggregate_type  TEXT    NOT NULL,
    aggregate_id    TEXT    NOT NULL,
    version         BIGINT  NOT NULL,
    event_type      TEXT    NOT NULL,
    event_version   INTEGER NOT NULL,
    payload         JSONB   NOT NULL,
    metadata        JSONB   NOT NULL,
    occurred_at     BIGINT  NOT NULL,
    PRIMARY KEY (aggregate_type, aggregate_id, version)
);
CREATE UNIQUE INDEX events_global_position ON events (global_position);
CREATE INDEX events_cursor ON events (tx_id, global_position);
CREATE INDEX events_type ON events (event_type, global_position);

CREATE TABLE unique_constraints (
    kind       TEXT NOT NULL,
    value_hash TEXT NOT NULL,
    owner_id   TEXT NOT NULL,
    PRIMARY KEY (kind, value_hash)
);

CREATE TABLE keys (
    name       TEXT   PRIMARY KEY,
    value      TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE checkpoints (
    name       TEXT   PRIMARY KEY,
    tx_id      BIGINT NOT NULL,
    position   BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
