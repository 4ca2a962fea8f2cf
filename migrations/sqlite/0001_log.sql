-- The log and the tables that are not projections (DESIGN.md 1.1): unique constraints,
-- keys and checkpoints. Timestamps are milliseconds since the Unix epoch, UTC.

CREATE TABLE events (
    -- SQLite has a single writer (BEGIN IMMEDIATE), so this rowid is a cursor that never
    -- skips a late commit.
    global_position INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id        TEXT    NOT NULL UNIQUE,
    aggregate_type  TEXT    NOT NULL,
    aggregate_id    TEXT    NOT NULL,
    version         INTEGER NOT NULL,
    event_type      TEXT    NOT NULL,
    event_version   INTEGER NOT NULL,
    payload         TEXT    NOT NULL,
    metadata        TEXT    NOT NULL,
    occurred_at     INTEGER NOT NULL,
    UNIQUE (aggregate_type, aggregate_id, version)
);
CREATE INDEX events_type ON events (event_type, global_position);

-- One row per value that must be unique (e.g. a user's email). The value is an HMAC of the
-- normalised value under the key in `keys`, so no plaintext sits here.
CREATE TABLE unique_constraints (
    kind       TEXT NOT NULL,
    value_hash TEXT NOT NULL,
    owner_id   TEXT NOT NULL,
    PRIMARY KEY (kind, value_hash)
);

-- Long-lived keys generated on first start (e.g. the unique-constraint HMAC key, which must
-- outlive a rotation of the cookie secret).
CREATE TABLE keys (
    name       TEXT    PRIMARY KEY,
    value      TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);

-- Where each reader of the whole log (projection runner, publisher) has got to.
CREATE TABLE checkpoints (
    name       TEXT    PRIMARY KEY,
    tx_id      INTEGER NOT NULL,
    position   INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
