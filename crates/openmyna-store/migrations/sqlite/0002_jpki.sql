-- JPKI certification authority (SQLite). Keep in step with ../postgres/0002_jpki.sql.

-- The two roots. Private keys are sealed (AES-256-GCM) with the installation's master key.
CREATE TABLE jpki_roots (
    root                 TEXT PRIMARY KEY,
    key_kind             TEXT NOT NULL,
    key_sealed           BLOB NOT NULL,
    cert_der             BLOB NOT NULL,
    responder_key_sealed BLOB NOT NULL,
    responder_cert_der   BLOB NOT NULL,
    issued_count         INTEGER NOT NULL DEFAULT 0,
    crl_number           INTEGER NOT NULL DEFAULT 0,
    updated_at           INTEGER NOT NULL
);

-- Every card certificate issued.
CREATE TABLE jpki_certificates (
    serial      TEXT PRIMARY KEY,
    root        TEXT NOT NULL,
    resident_id INTEGER NOT NULL,
    card_ref    TEXT,
    partition   INTEGER NOT NULL,
    not_before  INTEGER NOT NULL,
    not_after   INTEGER NOT NULL,
    status      TEXT NOT NULL,
    status_at   INTEGER,
    reason      INTEGER,
    issued_at   INTEGER NOT NULL,
    der         BLOB NOT NULL
);
CREATE INDEX jpki_certificates_resident ON jpki_certificates (resident_id);

-- The certificates currently revoked or held, with their CRL entry: written only when a
-- status changes, read by CRL generation (which never scans all certificates).
CREATE TABLE jpki_revoked (
    serial    TEXT PRIMARY KEY,
    root      TEXT NOT NULL,
    partition INTEGER NOT NULL,
    seq       INTEGER NOT NULL,
    entry_der BLOB NOT NULL
);
CREATE INDEX jpki_revoked_root_seq ON jpki_revoked (root, seq);
CREATE INDEX jpki_revoked_partition_seq ON jpki_revoked (root, partition, seq);

-- Every status change in order, for delta CRLs and audit.
CREATE TABLE jpki_status_log (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    root        TEXT NOT NULL,
    serial      TEXT NOT NULL,
    partition   INTEGER NOT NULL,
    status      TEXT NOT NULL,
    at          INTEGER NOT NULL,
    reason      INTEGER,
    recorded_at INTEGER NOT NULL
);
CREATE INDEX jpki_status_log_root ON jpki_status_log (root, seq);

-- Published CRLs (the DER is a file in the data directory).
CREATE TABLE jpki_crls (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    root         TEXT NOT NULL,
    number       INTEGER NOT NULL,
    scope        TEXT NOT NULL,
    partition    INTEGER,
    base_number  INTEGER,
    snapshot_seq INTEGER NOT NULL,
    this_update  INTEGER NOT NULL,
    next_update  INTEGER NOT NULL,
    entries      INTEGER NOT NULL,
    bytes        INTEGER NOT NULL,
    file         TEXT NOT NULL
);
CREATE INDEX jpki_crls_latest ON jpki_crls (root, scope, partition, number);
