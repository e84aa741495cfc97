-- Cards issued (the chip itself is the card file the resident holds) and the audit trail of
-- what municipalities did to them. Keep in step with ../postgres/0003_cards.sql.

CREATE TABLE cards (
    serial       TEXT PRIMARY KEY,          -- 製造番号
    resident_id  INTEGER NOT NULL,
    issued_at    INTEGER NOT NULL,
    expiry       TEXT NOT NULL,
    auth_serial  TEXT NOT NULL,
    sign_serial  TEXT
);
CREATE INDEX cards_resident ON cards(resident_id);

CREATE TABLE card_events (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    card_serial  TEXT NOT NULL,
    resident_id  INTEGER NOT NULL,
    at           INTEGER NOT NULL,
    action       TEXT NOT NULL,             -- issued, pin_reset
    actor        TEXT NOT NULL,
    detail       TEXT NOT NULL
);
CREATE INDEX card_events_card ON card_events(card_serial, id);
