-- The report reads of each historical case only its id and opening, from this index alone
-- (not the case rows), and finds every other case through it (`state < 'historical' OR
-- state > 'historical'`) instead of scanning all cases. It serves `state = ?` and
-- `state IN (...)` as cases_state did.
CREATE INDEX cases_state_opened ON cases(state, opened_at, id);
DROP INDEX IF EXISTS cases_state;
