-- The operator's search by name and birth date (the console) reads residents by birth date
-- first. Keep in step with ../sqlite/0017_residents_birth_date.sql.
CREATE INDEX residents_birth_date ON residents (birth_date);
