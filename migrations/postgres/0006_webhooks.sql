-- Webhook deliveries that failed after every retry: the dead letters, listed by
-- `authlog hooks failed`. A later successful redelivery deletes the row.
CREATE TABLE webhook_failures (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    webhook     TEXT    NOT NULL,
    event_id    TEXT    NOT NULL,
    event_type  TEXT    NOT NULL,
    attempts    BIGINT NOT NULL,
    last_status BIGINT,
    last_error  TEXT    NOT NULL,
    failed_at   BIGINT NOT NULL,
    UNIQUE (webhook, event_id)
);
