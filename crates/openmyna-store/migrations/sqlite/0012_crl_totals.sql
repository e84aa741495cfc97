-- Running totals of the CRL entries per root and partition, kept by triggers on every write
-- to jpki_revoked, so that publishing a CRL learns its length without a scan. Keep in step
-- with ../postgres/0012_crl_totals.sql.
CREATE TABLE jpki_revoked_totals (
    root      TEXT NOT NULL,
    partition INTEGER NOT NULL,
    n         INTEGER NOT NULL,
    bytes     INTEGER NOT NULL,
    PRIMARY KEY (root, partition)
);

INSERT INTO jpki_revoked_totals (root, partition, n, bytes)
SELECT root, partition, COUNT(*), COALESCE(SUM(LENGTH(entry_der)), 0)
FROM jpki_revoked GROUP BY root, partition;

CREATE TRIGGER jpki_revoked_count_insert AFTER INSERT ON jpki_revoked
BEGIN
    INSERT INTO jpki_revoked_totals (root, partition, n, bytes)
    VALUES (NEW.root, NEW.partition, 1, LENGTH(NEW.entry_der))
    ON CONFLICT (root, partition) DO UPDATE SET n = n + 1, bytes = bytes + excluded.bytes;
END;

CREATE TRIGGER jpki_revoked_count_delete AFTER DELETE ON jpki_revoked
BEGIN
    UPDATE jpki_revoked_totals SET n = n - 1, bytes = bytes - LENGTH(OLD.entry_der)
    WHERE root = OLD.root AND partition = OLD.partition;
END;

CREATE TRIGGER jpki_revoked_count_update AFTER UPDATE ON jpki_revoked
BEGIN
    UPDATE jpki_revoked_totals SET n = n - 1, bytes = bytes - LENGTH(OLD.entry_der)
    WHERE root = OLD.root AND partition = OLD.partition;
    INSERT INTO jpki_revoked_totals (root, partition, n, bytes)
    VALUES (NEW.root, NEW.partition, 1, LENGTH(NEW.entry_der))
    ON CONFLICT (root, partition) DO UPDATE SET n = n + 1, bytes = bytes + excluded.bytes;
END;
