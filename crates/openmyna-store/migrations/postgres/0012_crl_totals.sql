-- Running totals of the CRL entries per root and partition, kept by a trigger on every write
-- to jpki_revoked, so that publishing a CRL learns its length without a scan. Keep in step
-- with ../sqlite/0012_crl_totals.sql.
CREATE TABLE jpki_revoked_totals (
    root      TEXT NOT NULL,
    partition BIGINT NOT NULL,
    n         BIGINT NOT NULL,
    bytes     BIGINT NOT NULL,
    PRIMARY KEY (root, partition)
);

INSERT INTO jpki_revoked_totals (root, partition, n, bytes)
SELECT root, partition, COUNT(*), COALESCE(SUM(LENGTH(entry_der)), 0)
FROM jpki_revoked GROUP BY root, partition;

CREATE FUNCTION jpki_revoked_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        UPDATE jpki_revoked_totals
        SET n = n - 1, bytes = bytes - LENGTH(OLD.entry_der)
        WHERE root = OLD.root AND partition = OLD.partition;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO jpki_revoked_totals (root, partition, n, bytes)
        VALUES (NEW.root, NEW.partition, 1, LENGTH(NEW.entry_der))
        ON CONFLICT (root, partition) DO UPDATE
        SET n = jpki_revoked_totals.n + 1,
            bytes = jpki_revoked_totals.bytes + excluded.bytes;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER jpki_revoked_count AFTER INSERT OR UPDATE OR DELETE ON jpki_revoked
FOR EACH ROW EXECUTE FUNCTION jpki_revoked_count();
