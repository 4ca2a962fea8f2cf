-- Webhook deliveries that failed after every retry: the dead letters, listed by
-- `authlog hooks failed`. A later successful redelivery deletes the row.
CREATE TABLE webhook_failures (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook     TEXT    NOT NULL,
    event_id    TEXT    NOT NULL,
    event_type  TEXT    NOT NULL,
    attempts    INTEGER NOT NULL,
    last_status INTEGER,
    last_error  TEXT    NOT NULL,
    failed_at   INTEGER NOT NULL,
    UNIQUE (webhook, event_id)
);
