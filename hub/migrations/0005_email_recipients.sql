-- The e-mail integration's invoice ⇒ customer address table, so a receipt can follow a
-- payment.succeeded event (which carries no address). Fed by the payment.intent_requested
-- events routed to the e-mail integration (their customer_email); the newest one wins.
CREATE TABLE email_recipients (
    integration text        NOT NULL,
    invoice_id  text        NOT NULL,
    to_address  text        NOT NULL,
    event_id    uuid        NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (integration, invoice_id)
);
