-- Each municipality's own service hours for コンビニ交付, within the machines' 06:30–23:00
-- (minutes after midnight, Japan time). Keep in step with ../postgres/0026_konbini_hours.sql.
ALTER TABLE konbini_municipalities ADD COLUMN opens_minute INTEGER NOT NULL DEFAULT 390;
ALTER TABLE konbini_municipalities ADD COLUMN closes_minute INTEGER NOT NULL DEFAULT 1380;
