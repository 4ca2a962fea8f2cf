-- The audit trail: one row per event, in the words of Better Auth's audit logs
-- (user_signed_up, user_signed_in, session_revoked, password_changed, ...), with who did it,
-- from where, and whether it succeeded. An async projection: rebuildable from the log.
CREATE TABLE audit_log (
    position    INTEGER PRIMARY KEY,
    event_id    TEXT    NOT NULL,
    occurred_at INTEGER NOT NULL,
    action      TEXT    NOT NULL,
    outcome     TEXT    NOT NULL,
    user_id     TEXT,
    actor_kind  TEXT    NOT NULL,
    actor_id    TEXT,
    ip_address  TEXT,
    user_agent  TEXT,
    request_id  TEXT,
    event_type  TEXT    NOT NULL,
    details     TEXT    NOT NULL
);
CREATE INDEX audit_log_user ON audit_log (user_id, occurred_at);
CREATE INDEX audit_log_time ON audit_log (occurred_at);

-- Which user a session, account or verification belongs to, for the events that do not say.
CREATE TABLE audit_subjects (
    aggregate_type TEXT NOT NULL,
    aggregate_id   TEXT NOT NULL,
    user_id        TEXT NOT NULL,
    PRIMARY KEY (aggregate_type, aggregate_id)
);
