-- Card applications (交付申請): the forms mailed to residents, the applications through the
-- five channels, and their history. Keep in step with ../postgres/0006_card_applications.sql.

CREATE TABLE application_forms (
    form_id      TEXT PRIMARY KEY,          -- 申請書ID (23 digits)
    resident_id  INTEGER NOT NULL,
    issued_at    INTEGER NOT NULL
);
CREATE INDEX application_forms_resident ON application_forms(resident_id);

CREATE TABLE card_applications (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    form_id            TEXT NOT NULL REFERENCES application_forms(form_id),
    resident_id        INTEGER NOT NULL,
    municipality_code  TEXT NOT NULL,
    channel            TEXT NOT NULL,
    status             TEXT NOT NULL,
    email              TEXT,
    photo              BLOB NOT NULL,
    photo_mime         TEXT NOT NULL,
    photo_width        INTEGER NOT NULL,
    photo_height       INTEGER NOT NULL,
    identity_document  TEXT,                -- verified at intake (出張申請受付)
    pins_sealed        BLOB,                -- chosen at intake; deleted once the card is made
    reason             TEXT,                -- why rejected
    card_serial        TEXT,
    notice             TEXT,                -- 交付通知書 (JSON)
    delivery_code_sha256 TEXT,              -- the code in the mailed envelope (本人限定受取郵便)
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
);
CREATE UNIQUE INDEX card_applications_form ON card_applications(form_id);
CREATE INDEX card_applications_status ON card_applications(municipality_code, status);

CREATE TABLE card_application_events (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    application_id  INTEGER NOT NULL,
    at              INTEGER NOT NULL,
    status          TEXT NOT NULL,
    actor           TEXT NOT NULL,
    detail          TEXT NOT NULL
);
CREATE INDEX card_application_events_app ON card_application_events(application_id, id);
