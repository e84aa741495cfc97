-- Card-uptake campaigns and employer My Number intake. Keep in step with
-- ../postgres/0011_campaigns.sql.

-- An employer organisation's place among companies, associations and ministries.
CREATE TABLE employer_profiles (
    org_id            INTEGER PRIMARY KEY REFERENCES organisations(id),
    kind              TEXT NOT NULL,             -- company | association | ministry
    parent_org_id     INTEGER REFERENCES organisations(id),
    industry          TEXT,                      -- JSIC major division A–T
    retention_years   INTEGER NOT NULL,
    insurer_number    TEXT,
    insurer_name      TEXT,
    insurer_symbol    TEXT,
    updated_at        INTEGER NOT NULL
);
CREATE INDEX employer_profiles_parent ON employer_profiles (parent_org_id);

CREATE TABLE divisions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id      INTEGER NOT NULL REFERENCES organisations(id),
    parent_id   INTEGER REFERENCES divisions(id),
    name        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX divisions_org ON divisions (org_id);

CREATE TABLE employees (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id       INTEGER NOT NULL REFERENCES organisations(id),
    employee_no  TEXT NOT NULL,
    name         TEXT NOT NULL,
    division_id  INTEGER REFERENCES divisions(id),
    hired_on     TEXT NOT NULL,
    left_on      TEXT,
    created_at   INTEGER NOT NULL,
    UNIQUE (org_id, employee_no)
);

-- People of an employer acting with their own tokens: HR staff entitled to My Numbers
-- (事務取扱担当者) and employees answering for themselves.
CREATE TABLE employer_members (
    token_id     INTEGER PRIMARY KEY REFERENCES api_tokens(id),
    org_id       INTEGER NOT NULL REFERENCES organisations(id),
    kind         TEXT NOT NULL,                 -- hr | employee
    employee_id  INTEGER REFERENCES employees(id),
    name         TEXT NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE INDEX employer_members_employee ON employer_members (employee_id);

-- Every answer, kept: the latest by date counts, the rest make the change over time.
CREATE TABLE uptake_reports (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id                INTEGER NOT NULL,
    employee_id           INTEGER NOT NULL REFERENCES employees(id),
    on_date               TEXT NOT NULL,
    holds_card            INTEGER NOT NULL,
    insurance_registered  INTEGER NOT NULL,
    source                TEXT NOT NULL,        -- self | hr_import
    at                    INTEGER NOT NULL
);
CREATE INDEX uptake_reports_org ON uptake_reports (org_id, id);
CREATE INDEX uptake_reports_employee ON uptake_reports (employee_id, id);

CREATE TABLE campaigns (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id       INTEGER NOT NULL REFERENCES organisations(id),
    name         TEXT NOT NULL,
    starts_on    TEXT NOT NULL,
    ends_on      TEXT NOT NULL,
    target_rate  INTEGER NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE INDEX campaigns_org ON campaigns (org_id);

CREATE TABLE campaign_measures (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    campaign_id  INTEGER NOT NULL REFERENCES campaigns(id),
    kind         TEXT NOT NULL,
    on_date      TEXT NOT NULL,
    note         TEXT NOT NULL,
    reached      INTEGER,
    created_at   INTEGER NOT NULL
);
CREATE INDEX campaign_measures_campaign ON campaign_measures (campaign_id);

-- 出張申請受付.
CREATE TABLE onsite_sessions (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id               INTEGER NOT NULL REFERENCES organisations(id),
    municipality_code    TEXT NOT NULL,
    campaign_id          INTEGER REFERENCES campaigns(id),
    status               TEXT NOT NULL,         -- requested | scheduled | held | cancelled
    preferred_dates      TEXT NOT NULL,         -- JSON array of dates
    place                TEXT NOT NULL,
    expected_applicants  INTEGER NOT NULL,
    contact              TEXT NOT NULL,
    dates                TEXT,                  -- JSON array, once scheduled
    hours                TEXT,
    staff                TEXT,                  -- JSON array
    scheduled_place      TEXT,
    scheduled_by         TEXT,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL
);
CREATE INDEX onsite_sessions_org ON onsite_sessions (org_id);
CREATE INDEX onsite_sessions_municipality ON onsite_sessions (municipality_code);

CREATE TABLE onsite_applicants (
    application_id  INTEGER PRIMARY KEY REFERENCES card_applications(id),
    session_id      INTEGER NOT NULL REFERENCES onsite_sessions(id),
    employee_id     INTEGER REFERENCES employees(id),
    verified_by     TEXT NOT NULL,
    registered_at   INTEGER NOT NULL
);
CREATE INDEX onsite_applicants_session ON onsite_applicants (session_id);

-- Employees' My Numbers for enrollment forms: the form (number included) sealed with
-- AES-256-GCM; the identity check; deletion after retention.
CREATE TABLE my_number_intakes (
    employee_id       INTEGER PRIMARY KEY REFERENCES employees(id),
    org_id            INTEGER NOT NULL,
    form_sealed       BLOB,
    resident_id       INTEGER,
    submitted_at      INTEGER NOT NULL,
    number_check      TEXT,
    identity_check    TEXT,
    documents         TEXT,
    checked_by        TEXT,
    checked_at        INTEGER,
    deleted_at        INTEGER,
    deleted_reason    TEXT
);
CREATE INDEX my_number_intakes_org ON my_number_intakes (org_id);

-- 取扱記録: every handling of an employee's number, kept after the number is deleted.
CREATE TABLE my_number_handling (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    employee_id  INTEGER NOT NULL,
    at           INTEGER NOT NULL,
    actor        TEXT NOT NULL,
    action       TEXT NOT NULL,                 -- submitted | checked | read | exported | deleted
    purpose      TEXT NOT NULL
);
CREATE INDEX my_number_handling_employee ON my_number_handling (employee_id, id);
