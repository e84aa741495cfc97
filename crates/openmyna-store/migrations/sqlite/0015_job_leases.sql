-- Scheduled work runs on one server at a time: the server that holds a job's lease (renewed
-- at every tick, lapsing when the server stops) runs it; the others stand by. Keep in step
-- with ../postgres/0015_job_leases.sql.
CREATE TABLE job_leases (
    job     TEXT PRIMARY KEY,
    holder  TEXT NOT NULL,
    until   INTEGER NOT NULL
);
