-- The reader's and the portal's challenges carry their own proof (an HMAC under the
-- installation's key), so any server can check them; that each is used once is kept here, for
-- every server (the first to record it wins). Rows are swept once they have expired. Keep in
-- step with ../sqlite/0016_used_challenges.sql.
CREATE TABLE used_challenges (
    id          TEXT PRIMARY KEY,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX used_challenges_expiry ON used_challenges (expires_at);
