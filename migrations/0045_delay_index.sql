-- `status` reads the delay of the mail stored in the last 24 hours from this index alone:
-- after a history import that is every imported message, and a lookup of each row in
-- `messages` (whose pages hold the raw mail) cost a read of most of the database.
DROP INDEX IF EXISTS messages_stored_at;
CREATE INDEX messages_stored_at ON messages(stored_at, received_at, mailbox, case_id);
