-- The OpenID Connect provider (openmyna_platform::oidc): clients registered by relying
-- parties (their redirect URIs and the public key of their private_key_jwt), authorisation
-- codes and access tokens (only their SHA-256 is kept), the ID-token signing keys (sealed,
-- rotated), the client assertions' jti seen (single use), and the signing transactions (the
-- digest a relying party has the holder sign, and the signature and certificate once signed).
-- Expired codes, tokens, assertions and transactions are swept. Keep in step with ../postgres/0021_oidc.sql.
CREATE TABLE oidc_clients (
    client_id      TEXT PRIMARY KEY,
    org_id         INTEGER NOT NULL REFERENCES organisations (id),
    name           TEXT NOT NULL,
    redirect_uris  TEXT NOT NULL,
    jwk            TEXT NOT NULL,
    created_at     INTEGER NOT NULL
);
CREATE INDEX oidc_clients_org ON oidc_clients (org_id);
CREATE TABLE oidc_codes (
    code_hash      TEXT PRIMARY KEY,
    client_id      TEXT NOT NULL REFERENCES oidc_clients (client_id),
    resident_id    INTEGER NOT NULL,
    request        TEXT NOT NULL,
    granted        TEXT NOT NULL,
    auth_time      INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    used_at        INTEGER,
    token_hash     TEXT
);
CREATE INDEX oidc_codes_expiry ON oidc_codes (expires_at);
CREATE TABLE oidc_tokens (
    token_hash     TEXT PRIMARY KEY,
    client_id      TEXT NOT NULL REFERENCES oidc_clients (client_id),
    resident_id    INTEGER,                       -- none for a client's own token (client_credentials)
    granted        TEXT NOT NULL,
    expires_at     INTEGER NOT NULL,
    revoked_at     INTEGER
);
CREATE INDEX oidc_tokens_expiry ON oidc_tokens (expires_at);
CREATE TABLE oidc_keys (
    kid            TEXT PRIMARY KEY,
    private_key    BLOB NOT NULL,
    created_at     INTEGER NOT NULL
);
CREATE TABLE oidc_assertions (
    client_id      TEXT NOT NULL,
    jti            TEXT NOT NULL,
    expires_at     INTEGER NOT NULL,
    PRIMARY KEY (client_id, jti)
);
CREATE INDEX oidc_assertions_expiry ON oidc_assertions (expires_at);
CREATE TABLE oidc_sign_transactions (
    id             TEXT PRIMARY KEY,
    client_id      TEXT NOT NULL REFERENCES oidc_clients (client_id),
    digest         BLOB NOT NULL,
    description    TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    resident_id    INTEGER,
    signature      BLOB,
    certificate    BLOB,
    signed_at      INTEGER
);
CREATE INDEX oidc_sign_transactions_expiry ON oidc_sign_transactions (expires_at);
