-- Deadlines: when the case got its coordinator and its verdict.
ALTER TABLE cases ADD COLUMN assigned_at TEXT;
ALTER TABLE cases ADD COLUMN decided_at TEXT;
UPDATE cases SET assigned_at = updated_at WHERE coordinator IS NOT NULL AND assigned_at IS NULL;
UPDATE cases SET decided_at = COALESCE(closed_at, updated_at) WHERE state IN ('accepted', 'patching', 'released', 'disclosed', 'invalid', 'duplicate');
