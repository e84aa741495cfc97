-- The citizen portal: sessions opened with the card, the public-money account and its
-- history. Keep in step with ../postgres/0009_portal.sql.

CREATE TABLE portal_sessions (
    token_hash   TEXT PRIMARY KEY,          -- SHA-256 of the cookie value
    resident_id  INTEGER NOT NULL,
    auth_serial  TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    last_seen    INTEGER NOT NULL,
    ended_at     INTEGER
);
CREATE INDEX portal_sessions_resident ON portal_sessions (resident_id);

-- 公金受取口座: one per person; the account number sealed (AES-256-GCM).
CREATE TABLE public_money_accounts (
    resident_id     INTEGER PRIMARY KEY,
    bank_code       TEXT NOT NULL,
    branch_code     TEXT NOT NULL,
    account_type    TEXT NOT NULL,
    number_sealed   BLOB NOT NULL,
    number_last3    TEXT NOT NULL,
    holder_kana     TEXT NOT NULL,
    registered_at   INTEGER NOT NULL,
    channel         TEXT NOT NULL
);

CREATE TABLE public_money_account_history (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    resident_id   INTEGER NOT NULL,
    at            INTEGER NOT NULL,
    action        TEXT NOT NULL,            -- registered | replaced
    bank_code     TEXT NOT NULL,
    branch_code   TEXT NOT NULL,
    account_type  TEXT NOT NULL,
    number_last3  TEXT NOT NULL,
    channel       TEXT NOT NULL
);
CREATE INDEX public_money_account_history_resident ON public_money_account_history (resident_id, id);
