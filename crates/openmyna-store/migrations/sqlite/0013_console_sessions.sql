-- Operator console sessions: the console's cookie holds a random session secret (its SHA-256
-- here), never the operator's API token; a session ends at logout, after 8 hours, or when the
-- API token it was opened with is revoked. Keep in step with ../postgres/0013_console_sessions.sql.
CREATE TABLE console_sessions (
    token_hash   TEXT PRIMARY KEY,
    api_token_id INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    ended_at     INTEGER
);
CREATE INDEX console_sessions_token ON console_sessions (api_token_id);
