-- Inline projection of the verification streams: outstanding single-use tokens, found by
-- the SHA-256 of the token. A consumed verification's row is deleted.
CREATE TABLE verifications (
    id           TEXT    PRIMARY KEY,
    purpose      TEXT    NOT NULL,
    user_id      TEXT    NOT NULL,
    email        TEXT    NOT NULL,
    new_email    TEXT,
    token_hash   TEXT    NOT NULL,
    expires_at   BIGINT  NOT NULL,
    callback_url TEXT,
    created_at   BIGINT  NOT NULL,
    version      BIGINT  NOT NULL
);
CREATE UNIQUE INDEX verifications_token_hash ON verifications (token_hash);
CREATE INDEX verifications_user ON verifications (user_id);
