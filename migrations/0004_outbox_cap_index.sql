-- The per-address daily cap looks up automatic mail by recipient and time.
CREATE INDEX outbox_automatic_recipient ON outbox(recipients, created_at) WHERE automatic = 1;
