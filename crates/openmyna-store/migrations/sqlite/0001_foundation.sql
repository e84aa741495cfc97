-- Foundation schema (SQLite). Times are microseconds since the Unix epoch (UTC) in INTEGER
-- columns; dates are TEXT 'YYYY-MM-DD'. Keep in step with ../postgres/0001_foundation.sql.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE organisations (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL,
    role       TEXT NOT NULL,
    code       TEXT,
    created_at INTEGER NOT NULL
);

CREATE TABLE api_tokens (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id      INTEGER NOT NULL REFERENCES organisations(id),
    label       TEXT NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER,
    revoked_at  INTEGER
);

CREATE TABLE residents (
    id                INTEGER PRIMARY KEY,
    my_number_index   TEXT NOT NULL UNIQUE,
    my_number_sealed  BLOB NOT NULL,
    resident_code     TEXT NOT NULL UNIQUE,
    name              TEXT NOT NULL,
    name_kana         TEXT NOT NULL,
    birth_date        TEXT NOT NULL,
    sex               INTEGER NOT NULL,
    municipality_code TEXT NOT NULL,
    postal_code       TEXT,
    address           TEXT NOT NULL,
    status            TEXT NOT NULL,
    status_date       TEXT,
    registered_at     INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    version           INTEGER NOT NULL
);
CREATE INDEX residents_municipality ON residents (municipality_code);

CREATE TABLE resident_history (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    resident_id    INTEGER NOT NULL,
    kind           TEXT NOT NULL,
    before_json    TEXT NOT NULL,
    after_json     TEXT NOT NULL,
    effective_date TEXT NOT NULL,
    recorded_at    INTEGER NOT NULL,
    recorded_by    TEXT NOT NULL,
    reason         TEXT
);
CREATE INDEX resident_history_resident ON resident_history (resident_id, id);

-- The outbox: domain events in commit order, read by subscribers from their cursor.
CREATE TABLE events (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    topic       TEXT NOT NULL,
    kind        TEXT NOT NULL,
    subject_id  INTEGER NOT NULL,
    occurred_at INTEGER NOT NULL,
    payload     TEXT NOT NULL
);

CREATE TABLE event_cursors (
    consumer TEXT PRIMARY KEY,
    last_seq INTEGER NOT NULL
);

-- 情報提供等記録: every disclosure of a resident's personal data.
CREATE TABLE access_log (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    resident_id  INTEGER NOT NULL,
    at           INTEGER NOT NULL,
    actor_org_id INTEGER NOT NULL,
    actor_name   TEXT NOT NULL,
    actor_role   TEXT NOT NULL,
    category     TEXT NOT NULL,
    purpose      TEXT NOT NULL,
    detail       TEXT NOT NULL
);
CREATE INDEX access_log_resident ON access_log (resident_id, id);
