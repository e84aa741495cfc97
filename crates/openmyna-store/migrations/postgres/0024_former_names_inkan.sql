-- 旧氏 (each resident's former surname recorded beside the name) and the seal registry
-- (印鑑登録: the impression's image, the 印鑑登録証 number, registration and abolition). A
-- resident has at most one registration in force (abolished_at NULL). Changes are in
-- resident_history and the event outbox. Keep in step with ../sqlite/0024_former_names_inkan.sql.
CREATE TABLE resident_former_names (
    resident_id    BIGINT PRIMARY KEY,
    kyuushi        TEXT NOT NULL,
    kyuushi_kana   TEXT NOT NULL,
    updated_at     BIGINT NOT NULL
);

CREATE TABLE inkan_registrations (
    id              BIGSERIAL PRIMARY KEY,
    resident_id     BIGINT NOT NULL,
    number          TEXT NOT NULL UNIQUE,     -- 印鑑登録番号 (on the 印鑑登録証)
    image           BYTEA NOT NULL,
    media_type      TEXT NOT NULL,
    registered_on   TEXT NOT NULL,            -- YYYY-MM-DD
    registered_at   BIGINT NOT NULL,
    abolished_on    TEXT,
    abolished_at    BIGINT,
    abolition_reason TEXT
);
CREATE INDEX inkan_registrations_resident ON inkan_registrations(resident_id);
