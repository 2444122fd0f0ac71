-- Full-text search (FTS5) over every case: one row per subject, message (own text), note.
-- The daemon writes rows in the same transaction as what they index. Existing databases get
-- their cases' subjects, notes and the start of each message's own text (the excerpt kept
-- in its analysis) indexed here.
CREATE VIRTUAL TABLE IF NOT EXISTS search_index USING fts5(
    case_id UNINDEXED,
    source UNINDEXED,
    source_id UNINDEXED,
    at UNINDEXED,
    sender UNINDEXED,
    subject,
    body,
    tokenize = 'unicode61 remove_diacritics 2'
);

-- What the similar-case scorer reads of each case: subject and the report's own text.
CREATE TABLE IF NOT EXISTS report_text (
    case_id TEXT PRIMARY KEY REFERENCES cases(id),
    subject TEXT NOT NULL,
    text    TEXT NOT NULL
);

INSERT INTO search_index (case_id, source, source_id, at, sender, subject, body)
SELECT id, 'subject', NULL, opened_at, reporter, subject, '' FROM cases;

INSERT INTO search_index (case_id, source, source_id, at, sender, subject, body)
SELECT case_id, 'message', id, received_at, COALESCE(from_addr, ''), COALESCE(subject, ''),
       COALESCE(json_extract(analysis, '$.excerpt'), '')
FROM messages
WHERE case_id IS NOT NULL AND kind <> 'own' AND json_valid(analysis)
  AND COALESCE(json_extract(analysis, '$.excerpt'), '') <> '';

INSERT INTO search_index (case_id, source, source_id, at, sender, subject, body)
SELECT case_id, 'note', id, at, actor, '', COALESCE(json_extract(detail, '$.text'), '')
FROM events
WHERE case_id IS NOT NULL AND kind = 'note' AND json_valid(detail)
  AND COALESCE(json_extract(detail, '$.text'), '') <> '';

INSERT OR IGNORE INTO report_text (case_id, subject, text)
SELECT m.case_id, c.subject, COALESCE(json_extract(m.analysis, '$.excerpt'), '')
FROM messages m JOIN cases c ON c.id = m.case_id
WHERE m.kind = 'report' AND json_valid(m.analysis)
ORDER BY m.id;
