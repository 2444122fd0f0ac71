-- When each message was stored (received_at is when it reached the mailbox: IMAP INTERNALDATE).
-- NULL for mail stored before this migration (its received_at is its storing time).
ALTER TABLE messages ADD COLUMN stored_at TEXT;
CREATE INDEX messages_stored_at ON messages(stored_at);
