-- The latest basic-4-information service: relying parties and their consents.
-- Keep in step with ../postgres/0004_fourinfo.sql.

CREATE TABLE relying_parties (
    org_id      INTEGER PRIMARY KEY REFERENCES organisations(id),
    items       TEXT NOT NULL,               -- name,address,birth_date,sex
    updated_at  INTEGER NOT NULL
);

CREATE TABLE fourinfo_consents (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    rp_org_id       INTEGER NOT NULL REFERENCES organisations(id),
    resident_id     INTEGER NOT NULL,
    customer_ref    TEXT NOT NULL,
    items           TEXT NOT NULL,
    purpose         TEXT NOT NULL,
    sign_serial     TEXT NOT NULL,           -- followed now
    consent_serial  TEXT NOT NULL,           -- signed the consent
    created_at      INTEGER NOT NULL,
    withdrawn_at    INTEGER,
    withdrawn_reason TEXT,
    document        BLOB NOT NULL,           -- the CMS SignedData as submitted
    document_sha256 TEXT NOT NULL UNIQUE     -- a signed document is accepted once
);
CREATE INDEX fourinfo_consents_rp ON fourinfo_consents(rp_org_id, customer_ref);
-- One live consent per customer of a relying party.
CREATE UNIQUE INDEX fourinfo_consents_live ON fourinfo_consents(rp_org_id, customer_ref)
    WHERE withdrawn_at IS NULL;
CREATE INDEX fourinfo_consents_resident ON fourinfo_consents(resident_id);
