-- The CA's public URL is CA state: fixed at `ca init` (the first opening of the CA) and
-- written into every certificate and CRL; it changes only by `openmyna ca set-url`, recorded
-- here. Keep in step with ../sqlite/0014_ca_public_url.sql.
CREATE TABLE jpki_public_url (
    seq     BIGSERIAL PRIMARY KEY,
    url     TEXT NOT NULL,
    at      BIGINT NOT NULL,
    actor   TEXT NOT NULL,
    reason  TEXT NOT NULL
);
