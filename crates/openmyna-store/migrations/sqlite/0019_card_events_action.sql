-- /metrics counts the PIN lock-outs and resets among the card events at every scrape; this
-- index makes that a count of those rows only, however many cards were issued. Keep in step
-- with ../postgres/0019_card_events_action.sql.
CREATE INDEX card_events_action ON card_events (action);
