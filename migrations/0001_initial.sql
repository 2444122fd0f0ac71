-- secintake schema: cases, the messages they are made of, the audit log, the outbox, the IMAP cursor.
-- Times are RFC 3339 UTC text with milliseconds (sortable as text).

CREATE TABLE cases (
    id                   TEXT PRIMARY KEY,            -- SEC-2026-0001
    year                 INTEGER NOT NULL,
    seq                  INTEGER NOT NULL,
    state                TEXT NOT NULL DEFAULT 'new',
    reporter             TEXT NOT NULL,               -- address ('' when unknown)
    reporter_name        TEXT,
    subject              TEXT NOT NULL,
    opened_at            TEXT NOT NULL,
    updated_at           TEXT NOT NULL,
    coordinator          TEXT,
    acknowledged_at      TEXT,
    detailed_response_at TEXT,
    body_check           TEXT NOT NULL DEFAULT 'ok',
    missing              TEXT NOT NULL DEFAULT '[]',  -- JSON array
    flags                TEXT NOT NULL DEFAULT '[]',  -- JSON array
    hints                TEXT NOT NULL DEFAULT '[]',  -- JSON array of {label, explanation}
    severity             TEXT,
    cvss_vector          TEXT,
    cvss_score           REAL,
    cve                  TEXT,
    ghsa                 TEXT,
    affected_versions    TEXT,
    patched_versions     TEXT,
    embargo_date         TEXT,
    duplicate_of         TEXT REFERENCES cases(id),
    credit               TEXT,
    anonymous            INTEGER NOT NULL DEFAULT 0,
    state_since          TEXT NOT NULL,
    last_reporter_mail_at TEXT,
    closed_at            TEXT,
    close_reason         TEXT,
    UNIQUE (year, seq)
);
CREATE INDEX cases_state ON cases(state);

CREATE TABLE messages (
    id           INTEGER PRIMARY KEY,
    case_id      TEXT REFERENCES cases(id),
    dedupe_key   TEXT NOT NULL UNIQUE,                -- Message-ID, or sha256 of the raw bytes
    message_id   TEXT,
    mailbox      TEXT,
    uidvalidity  INTEGER,
    uid          INTEGER,
    received_at  TEXT NOT NULL,
    from_addr    TEXT,
    from_name    TEXT,
    subject      TEXT,
    date_header  TEXT,
    in_reply_to  TEXT,
    refs         TEXT,
    kind         TEXT NOT NULL,                       -- report, follow-up, coordinator, auto-reply, bounce, own, unreadable
    size         INTEGER NOT NULL,
    sha256       TEXT NOT NULL,
    raw          BLOB NOT NULL,                       -- lossless
    truncated    INTEGER NOT NULL DEFAULT 0,          -- 1 when only the header was kept (over max size)
    analysis     TEXT                                 -- JSON facts
);
CREATE INDEX messages_case ON messages(case_id);

-- Every Message-ID a case has seen or sent, for threading replies.
CREATE TABLE message_ids (
    message_id TEXT PRIMARY KEY,
    case_id    TEXT NOT NULL REFERENCES cases(id)
);

CREATE TABLE events (
    id         INTEGER PRIMARY KEY,
    case_id    TEXT REFERENCES cases(id),
    at         TEXT NOT NULL,
    actor      TEXT NOT NULL,                         -- an address, 'secintake', or 'cli:<user>'
    kind       TEXT NOT NULL,
    detail     TEXT NOT NULL DEFAULT '{}',            -- JSON
    message    INTEGER REFERENCES messages(id)
);
CREATE INDEX events_case ON events(case_id, at);

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    case_id         TEXT REFERENCES cases(id),
    kind            TEXT NOT NULL,                    -- receipt, notice, confirmation, reminder, ...
    message_id      TEXT NOT NULL UNIQUE,
    envelope_from   TEXT NOT NULL,
    recipients      TEXT NOT NULL,                    -- JSON array of addresses
    subject         TEXT NOT NULL,
    raw             BLOB NOT NULL,
    automatic       INTEGER NOT NULL,                 -- counts against the per-address daily cap
    to_reporter     INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL,
    next_attempt_at TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    lease_until     TEXT,
    sent_at         TEXT,
    failed_at       TEXT
);
CREATE INDEX outbox_pending ON outbox(sent_at, failed_at, next_attempt_at);

CREATE TABLE imap_cursor (
    mailbox     TEXT PRIMARY KEY,
    uidvalidity INTEGER NOT NULL,
    last_uid    INTEGER NOT NULL,
    updated_at  TEXT NOT NULL
);

-- Reminders already written to the outbox: one row per (case, deadline, occurrence).
CREATE TABLE reminders (
    case_id   TEXT NOT NULL REFERENCES cases(id),
    deadline  TEXT NOT NULL,
    due_at    TEXT NOT NULL,                          -- the deadline's due time it was computed for
    stage     TEXT NOT NULL,                          -- before, overdue-1, overdue-2, ...
    sent_at   TEXT NOT NULL,
    outbox_id INTEGER REFERENCES outbox(id),
    PRIMARY KEY (case_id, deadline, due_at, stage)
);

-- Health facts the daemon writes for `status` (last IMAP contact, mode, errors).
CREATE TABLE service_state (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
