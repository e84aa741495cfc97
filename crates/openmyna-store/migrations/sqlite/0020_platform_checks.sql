-- The verification platform's checks (openmyna_platform): the 確認記録 a relying party keeps
-- of each signed document or signature checked for it (犯収法施行規則 20条), kept until
-- keep_until (7 years) and then swept. The answer as given is kept whole (verdict, JSON); the
-- certificate presented is kept so that a re-check can check it again. Keep in step with
-- ../postgres/0020_platform_checks.sql.
CREATE TABLE platform_checks (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    rp_org_id       INTEGER NOT NULL REFERENCES organisations (id),
    resident_id     INTEGER,
    cert_serial     TEXT NOT NULL,
    result          TEXT NOT NULL,
    checked_at      INTEGER NOT NULL,
    keep_until      INTEGER NOT NULL,
    recheck_of      INTEGER REFERENCES platform_checks (id) ON DELETE SET NULL,
    certificate     BLOB NOT NULL,
    verdict         TEXT NOT NULL
);
CREATE INDEX platform_checks_rp ON platform_checks (rp_org_id, id);
CREATE INDEX platform_checks_keep ON platform_checks (keep_until);
CREATE INDEX platform_checks_serial ON platform_checks (cert_serial);
