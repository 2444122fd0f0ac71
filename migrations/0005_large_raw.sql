-- Raw bytes of large messages (over 1 MiB). They are written piece by piece into a zero blob
-- of their size, which SQLite keeps unexpanded only when it is a row's last value; for these
-- rows messages.raw is empty. Read any message's bytes through the message_raw view.
CREATE TABLE large_raw (
    message_id INTEGER PRIMARY KEY REFERENCES messages(id),
    raw        BLOB NOT NULL
);

CREATE VIEW message_raw AS
    SELECT m.id AS id, COALESCE(l.raw, m.raw) AS raw
    FROM messages m LEFT JOIN large_raw l ON l.message_id = m.id;
