-- Durable consumers (email, webhooks, ...): which events each has already handled, so a
-- replayed or redelivered event never repeats its side effect.
CREATE TABLE consumer_dedup (
    consumer     TEXT    NOT NULL,
    event_id     TEXT    NOT NULL,
    handled_at   INTEGER NOT NULL,
    PRIMARY KEY (consumer, event_id)
);
