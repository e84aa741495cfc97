-- The access log as a hash chain per resident: entry n carries the hash of entry n-1, so an
-- altered or removed entry breaks the chain. Keep in step with ../sqlite/0008_access_chain.sql.
ALTER TABLE access_log ADD COLUMN seq BIGINT;
ALTER TABLE access_log ADD COLUMN prev_hash TEXT;
ALTER TABLE access_log ADD COLUMN entry_hash TEXT;
CREATE UNIQUE INDEX access_log_chain ON access_log (resident_id, seq);
