-- Advisory facts by email (/package, /affected, /patched, /cwe, /summary, /advisory), for the
-- `secintake advisory` exports. The lists are JSON arrays.
ALTER TABLE cases ADD COLUMN packages TEXT NOT NULL DEFAULT '[]';     -- ["express"]
ALTER TABLE cases ADD COLUMN affected TEXT NOT NULL DEFAULT '[]';     -- [{"package", "range"}]
ALTER TABLE cases ADD COLUMN patched TEXT NOT NULL DEFAULT '[]';      -- [{"package", "version"}]
ALTER TABLE cases ADD COLUMN cwes TEXT NOT NULL DEFAULT '[]';         -- ["CWE-79"]
ALTER TABLE cases ADD COLUMN advisory_summary TEXT;
ALTER TABLE cases ADD COLUMN advisory_description TEXT;               -- Markdown
-- The runbook checklist (/done STEP): [{"step", "done_at", "by"}].
ALTER TABLE cases ADD COLUMN checklist TEXT NOT NULL DEFAULT '[]';
