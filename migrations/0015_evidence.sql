-- For each checklist item the analysis judged present, the phrase of the report that made
-- it count: {"affected-versions": "...", ...}. Cases opened before this have none.
ALTER TABLE cases ADD COLUMN evidence TEXT NOT NULL DEFAULT '{}';
