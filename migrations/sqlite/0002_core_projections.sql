-- Inline projections read by the auth hot path. Each row carries the version of the stream
-- it was built from, so a command can append to that stream without folding it first.
-- Everything here can be dropped and rebuilt from the log.

CREATE TABLE users (
    id             TEXT    PRIMARY KEY,
    email          TEXT    NOT NULL,
    name           TEXT    NOT NULL,
    image          TEXT,
    email_verified INTEGER NOT NULL,
    created_at     INTEGER  NOT NULL,
    updated_at     INTEGER  NOT NULL,
    version        INTEGER  NOT NULL
);
CREATE UNIQUE INDEX users_email ON users (email);

-- token_hash is SHA-256 (hex) of the session token; the token itself is stored nowhere.
CREATE TABLE sessions (
    id            TEXT    PRIMARY KEY,
    token_hash    TEXT    NOT NULL,
    user_id       TEXT    NOT NULL,
    expires_at    INTEGER  NOT NULL,
    ip_address    TEXT    NOT NULL,
    user_agent    TEXT    NOT NULL,
    dont_remember INTEGER NOT NULL,
    created_at    INTEGER  NOT NULL,
    updated_at    INTEGER  NOT NULL,
    version       INTEGER  NOT NULL
);
CREATE UNIQUE INDEX sessions_token_hash ON sessions (token_hash);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE accounts (
    id            TEXT    PRIMARY KEY,
    user_id       TEXT    NOT NULL,
    provider_id   TEXT    NOT NULL,
    account_id    TEXT    NOT NULL,
    password_hash TEXT,
    scope         TEXT,
    created_at    INTEGER  NOT NULL,
    updated_at    INTEGER  NOT NULL,
    version       INTEGER  NOT NULL
);
CREATE INDEX accounts_user ON accounts (user_id);
CREATE UNIQUE INDEX accounts_provider ON accounts (provider_id, account_id);
