-- OpenPGP: how each message and case arrived (encryption, signature verdict), the decrypted
-- MIME beside the raw ciphertext (kept byte for byte in messages.raw), and reporters' public
-- keys learned from their mail, with where they came from.
ALTER TABLE cases ADD COLUMN encryption TEXT NOT NULL DEFAULT 'none';
ALTER TABLE cases ADD COLUMN signature TEXT;
ALTER TABLE messages ADD COLUMN encryption TEXT NOT NULL DEFAULT 'none';
ALTER TABLE messages ADD COLUMN signature TEXT;
-- mime is the last column: a zeroblob placeholder there is filled piece by piece without
-- SQLite materialising it (see src/store/blob.rs).
CREATE TABLE decrypted (
    message_id   INTEGER PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
    decrypted_at TEXT NOT NULL,
    mime         BLOB NOT NULL
);
CREATE TABLE pgp_keys (
    fingerprint TEXT NOT NULL,
    address     TEXT NOT NULL COLLATE NOCASE,
    key         BLOB NOT NULL,
    source      TEXT NOT NULL,           -- autocrypt, attachment
    learned_at  TEXT NOT NULL,
    message_id  INTEGER REFERENCES messages(id) ON DELETE SET NULL,
    PRIMARY KEY (fingerprint, address)
);
CREATE INDEX pgp_keys_address ON pgp_keys (address);
