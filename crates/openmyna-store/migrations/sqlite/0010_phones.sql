-- Smartphone certificates (スマホ用電子証明書): a resident's phones, each with its own
-- authentication and signing certificates. Keep in step with ../postgres/0010_phones.sql.
CREATE TABLE phones (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    resident_id  INTEGER NOT NULL,
    device_id    TEXT NOT NULL UNIQUE,
    model        TEXT NOT NULL,
    auth_serial  TEXT NOT NULL,
    sign_serial  TEXT NOT NULL,
    status       TEXT NOT NULL,              -- active | suspended | revoked
    created_at   INTEGER NOT NULL,
    status_at    INTEGER,
    status_note  TEXT
);
CREATE INDEX phones_resident ON phones (resident_id);

CREATE TABLE phone_events (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    phone_id  INTEGER NOT NULL REFERENCES phones(id),
    at        INTEGER NOT NULL,
    action    TEXT NOT NULL,                 -- issued | suspended | released | revoked
    actor     TEXT NOT NULL,
    note      TEXT NOT NULL
);
CREATE INDEX phone_events_phone ON phone_events (phone_id, id);
