-- Online eligibility verification. Keep in step with ../postgres/0007_eligibility.sql.

-- Insurers' enrollment records (資格情報), keyed by 保険者番号・記号・番号・枝番. The My Number
-- that linked the record is not kept here: resident_id is the link.
CREATE TABLE insurance_records (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    insurer_org_id     INTEGER NOT NULL REFERENCES organisations(id),
    insurer_number     TEXT NOT NULL,
    symbol             TEXT NOT NULL,
    number             TEXT NOT NULL,
    branch             TEXT NOT NULL,
    resident_id        INTEGER NOT NULL,
    match_status       TEXT NOT NULL,          -- matched | held
    mismatches         TEXT NOT NULL,          -- comma-separated item names
    record_json        TEXT NOT NULL,
    content_sha256     TEXT NOT NULL,
    version            INTEGER NOT NULL,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    UNIQUE (insurer_number, symbol, number, branch)
);
CREATE INDEX insurance_records_resident ON insurance_records(resident_id);
CREATE INDEX insurance_records_insurer ON insurance_records(insurer_org_id, match_status, id);

CREATE TABLE insurance_record_history (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    record_id    INTEGER NOT NULL REFERENCES insurance_records(id),
    version      INTEGER NOT NULL,
    recorded_at  INTEGER NOT NULL,
    recorded_by  TEXT NOT NULL,
    match_status TEXT NOT NULL,
    mismatches   TEXT NOT NULL,
    before_json  TEXT,
    after_json   TEXT NOT NULL
);
CREATE INDEX insurance_record_history_record ON insurance_record_history(record_id, id);

-- 利用登録: a person's card registered for health-insurance use.
CREATE TABLE insurance_registrations (
    resident_id   INTEGER PRIMARY KEY,
    channel       TEXT NOT NULL,
    registered_at INTEGER NOT NULL,
    auth_serial   TEXT NOT NULL
);

-- Reader terminals of facilities, each with its own token.
CREATE TABLE oqs_terminals (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id      INTEGER NOT NULL REFERENCES organisations(id),
    name        TEXT NOT NULL,
    token_id    INTEGER NOT NULL UNIQUE REFERENCES api_tokens(id),
    created_at  INTEGER NOT NULL
);
CREATE INDEX oqs_terminals_org ON oqs_terminals(org_id);

CREATE TABLE oqs_verifications (
    id              TEXT PRIMARY KEY,
    org_id          INTEGER NOT NULL,
    terminal_id     INTEGER,
    resident_id     INTEGER NOT NULL,
    at              INTEGER NOT NULL,
    date_of_service TEXT NOT NULL,
    method          TEXT,                    -- pin | face | visual; NULL for 記号・番号
    validity        TEXT NOT NULL
);

CREATE TABLE oqs_consents (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id          INTEGER NOT NULL,
    resident_id     INTEGER NOT NULL,
    category        TEXT NOT NULL,
    given_at        INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    verification_id TEXT NOT NULL
);
CREATE INDEX oqs_consents_lookup ON oqs_consents(org_id, resident_id, expires_at);

-- Medication, treatment and check-up records loaded by payers.
CREATE TABLE medical_records (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    resident_id    INTEGER NOT NULL,
    kind           TEXT NOT NULL,
    occurred_on    TEXT NOT NULL,
    payload        TEXT NOT NULL,
    content_sha256 TEXT NOT NULL,
    source_org_id  INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    UNIQUE (resident_id, content_sha256)
);
CREATE INDEX medical_records_lookup ON medical_records(resident_id, kind, occurred_on);

-- 資格確認書 issued by insurers.
CREATE TABLE qualification_certificates (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    record_id   INTEGER NOT NULL REFERENCES insurance_records(id),
    valid_from  TEXT NOT NULL,
    valid_until TEXT NOT NULL,
    issued_at   INTEGER NOT NULL
);
CREATE INDEX qualification_certificates_record ON qualification_certificates(record_id);
