-- Certificates at the convenience store (コンビニ交付): the municipalities taking part and
-- their fees, each municipality's document-signing key (sealed) and certificate, the
-- certificates issued (their verification code and the SHA-256 of the PDF; never the PDF),
-- and the residents under 支援措置 (DV support measures), whose certificates the machine does
-- not issue. Keep in step with ../sqlite/0025_konbini.sql.
CREATE TABLE konbini_municipalities (
    municipality_code  TEXT PRIMARY KEY,
    name               TEXT NOT NULL,
    fee_juminhyo       BIGINT NOT NULL,
    fee_kisai_jiko     BIGINT NOT NULL,
    fee_inkan          BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL
);

CREATE TABLE document_signers (
    municipality_code  TEXT PRIMARY KEY,
    private_key        BYTEA NOT NULL,
    cert_der           BYTEA NOT NULL,
    created_at         BIGINT NOT NULL
);

CREATE TABLE issued_certificates (
    code               TEXT PRIMARY KEY,
    kind               TEXT NOT NULL,
    resident_id        BIGINT NOT NULL,
    municipality_code  TEXT NOT NULL,
    pdf_sha256         TEXT NOT NULL,
    fee_yen            BIGINT NOT NULL,
    issued_at          BIGINT NOT NULL,
    channel            TEXT NOT NULL
);
CREATE INDEX issued_certificates_resident ON issued_certificates(resident_id);

CREATE TABLE resident_support_measures (
    resident_id        BIGINT PRIMARY KEY,
    since              TEXT NOT NULL,
    recorded_at        BIGINT NOT NULL
);
