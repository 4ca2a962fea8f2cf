-- The projection runner (issue 4). Every projection records the version of the code that
-- built its tables; a projection the runner follows asynchronously also records its cursor in
-- the log. Events a projection could not apply wait in failed_events.

CREATE TABLE projection_state (
    name       TEXT    PRIMARY KEY,
    -- Projection::version() of the code that built the tables; another version is rebuilt
    -- from the log at start-up.
    version    INTEGER NOT NULL,
    -- Async projections: the last event applied (the safe cursor). Inline projections follow
    -- every append; for them this is where their last rebuild caught up with the log.
    tx_id      BIGINT  NOT NULL,
    position   BIGINT  NOT NULL,
    rebuilt_at BIGINT,
    updated_at BIGINT  NOT NULL
);

-- The inline tables were built before versions were recorded, by version 1 of their code
-- (verifications' table comes with migration 0005, empty, which version 1 also describes).
INSERT INTO projection_state (name, version, tx_id, position, rebuilt_at, updated_at) VALUES
    ('users', 1, 0, 0, NULL, 0),
    ('sessions', 1, 0, 0, NULL, 0),
    ('accounts', 1, 0, 0, NULL, 0),
    ('verifications', 1, 0, 0, NULL, 0);

CREATE TABLE failed_events (
    projection      TEXT    NOT NULL,
    global_position BIGINT  NOT NULL,
    tx_id           BIGINT  NOT NULL,
    event_id        TEXT    NOT NULL,
    event_type      TEXT    NOT NULL,
    -- 'halted': the projection waits for this event to apply; 'skipped': it went on without
    -- it and retries it on the side.
    status          TEXT    NOT NULL,
    attempts        INTEGER NOT NULL,
    last_error      TEXT    NOT NULL,
    first_failed_at BIGINT  NOT NULL,
    last_failed_at  BIGINT  NOT NULL,
    next_attempt_at BIGINT  NOT NULL,
    PRIMARY KEY (projection, global_position)
);
