-- Lifecycle: a case accepted without a patch may be disclosed directly.
ALTER TABLE cases ADD COLUMN no_patch INTEGER NOT NULL DEFAULT 0;
