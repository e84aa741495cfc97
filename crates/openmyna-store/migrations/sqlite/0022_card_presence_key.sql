-- The public half (SPKI DER) of each card's 券面AP key: the key that signs a reader's challenge
-- without a PIN, the proof that the card is on the reader when the holder was confirmed by
-- face or by sight (no PIN entered). Recorded at issuance; a verification by face checks the
-- signature with the key recorded for the card of the certificate presented. Keep in step with
-- ../postgres/0022_card_presence_key.sql.
ALTER TABLE cards ADD COLUMN presence_key BLOB;
CREATE INDEX cards_auth_serial ON cards(auth_serial);
