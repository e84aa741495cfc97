-- Browser logins by pairing (openmyna_portal::pairing): the portal's login page shows a
-- one-time code; a citizen logged in with the card elsewhere approves it; the browser, holding
-- the pairing's secret in a cookie, then opens its own session, once. Only hashes of the
-- secret and the code are kept; rows are swept a day after they expire. Keep in step with
-- ../sqlite/0018_portal_pairings.sql.
CREATE TABLE portal_pairings (
    secret_hash  TEXT PRIMARY KEY,
    code_hash    TEXT NOT NULL UNIQUE,
    browser      TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    resident_id  BIGINT,
    auth_serial  TEXT,
    approved_at  BIGINT,
    redeemed_at  BIGINT
);
CREATE INDEX portal_pairings_expiry ON portal_pairings (expires_at);
