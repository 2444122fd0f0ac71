-- Team channel deliveries (Slack, Matrix, signed webhooks): like the outbox, written in the
-- same transaction as their cause, one row per (event, channel), delivered with retry and
-- backoff; `delivery_id` is the webhook-id / Matrix txnId, fixed across retries.
CREATE TABLE channel_deliveries (
    id              INTEGER PRIMARY KEY,
    delivery_id     TEXT NOT NULL UNIQUE,
    case_id         TEXT REFERENCES cases(id),
    channel         TEXT NOT NULL,                    -- the channel's key, e.g. webhook-3fa2c1d0
    event           TEXT NOT NULL,                    -- premature-disclosure, new-case, overdue, ...
    alert           TEXT NOT NULL,                    -- what to say, JSON (no report text)
    created_at      TEXT NOT NULL,
    next_attempt_at TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    lease_until     TEXT,
    delivered_at    TEXT,
    failed_at       TEXT
);
CREATE INDEX channel_deliveries_pending ON channel_deliveries(delivered_at, failed_at, next_attempt_at);
CREATE INDEX channel_deliveries_case ON channel_deliveries(case_id, id);
