-- The card's life at the municipality: active, lost, returned, replaced.
-- Keep in step with ../postgres/0005_card_status.sql.
ALTER TABLE cards ADD COLUMN status TEXT NOT NULL DEFAULT 'active';
ALTER TABLE cards ADD COLUMN status_at INTEGER;
