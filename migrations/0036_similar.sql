-- The earlier cases a new report resembles, found on arrival: [{"id": "SEC-...", "score": 0.41}],
-- best first, at most 3. The term counts of the full-text index (fts5vocab) let the lookup
-- skip words that half the index contains.
ALTER TABLE cases ADD COLUMN similar TEXT NOT NULL DEFAULT '[]';
CREATE VIRTUAL TABLE IF NOT EXISTS search_vocab USING fts5vocab(search_index, 'row');
