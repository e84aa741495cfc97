-- 世帯 and 本籍 (openmyna_registry::household): households, each resident's membership with
-- the 続柄 to the head, and the registered domicile (本籍・筆頭者) of each resident. Changes are
-- in resident_history (household_changed, domicile_changed) and the event outbox. Keep in step
-- with ../postgres/0023_households.sql.
CREATE TABLE households (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    head_resident_id   INTEGER NOT NULL,
    created_at         INTEGER NOT NULL
);

CREATE TABLE household_members (
    resident_id    INTEGER PRIMARY KEY,
    household_id   INTEGER NOT NULL REFERENCES households(id),
    relationship   TEXT NOT NULL,            -- 続柄 as printed; 世帯主 for the head
    since          TEXT NOT NULL             -- YYYY-MM-DD
);
CREATE INDEX household_members_household ON household_members(household_id);

CREATE TABLE resident_domiciles (
    resident_id    INTEGER PRIMARY KEY,
    honseki        TEXT NOT NULL,
    hittosha       TEXT NOT NULL,
    updated_at     INTEGER NOT NULL
);
