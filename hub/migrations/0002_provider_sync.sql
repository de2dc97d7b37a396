-- Provider sync: per-group dedupe of events, and one record table per kind of provider.

-- One row per (consumer group, event): reserved before the provider is called, then
-- done or dead_lettered in the same transaction as the interaction's record.
CREATE TABLE processed_events (
    group_name       text        NOT NULL,
    event_id         uuid        NOT NULL,
    event_type       text        NOT NULL,
    status           text        NOT NULL
                     CHECK (status IN ('reserved', 'done', 'dead_lettered')),
    attempts         integer     NOT NULL DEFAULT 0,
    last_error       text,
    first_failure_at timestamptz,
    last_failure_at  timestamptz,
    reserved_at      timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz,
    PRIMARY KEY (group_name, event_id)
);
CREATE INDEX processed_events_unfinished ON processed_events (group_name, reserved_at)
    WHERE status = 'reserved';

-- Request and response bodies are stored redacted (no secrets, no card numbers).
CREATE TABLE payment_attempts (
    id                 bigserial   PRIMARY KEY,
    integration        text        NOT NULL,
    event_id           uuid        NOT NULL,
    action             text        NOT NULL,
    invoice_id         text,
    order_id           text,
    payment_id         text,
    idempotency_key    text        NOT NULL,
    amount_minor       bigint,
    currency           text,
    request            jsonb       NOT NULL,
    response           jsonb,
    status             text        NOT NULL,
    provider_reference text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    completed_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (integration, event_id)
);
CREATE INDEX payment_attempts_invoice ON payment_attempts (invoice_id);

CREATE TABLE accounting_posts (
    id              bigserial   PRIMARY KEY,
    integration     text        NOT NULL,
    event_id        uuid        NOT NULL,
    action          text        NOT NULL,
    invoice_id      text,
    idempotency_key text,
    journal_ref     text,
    amount_minor    bigint,
    currency        text,
    request         jsonb       NOT NULL,
    response        jsonb,
    status          text        NOT NULL,
    retries         integer     NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    completed_at    timestamptz,
    UNIQUE (integration, event_id)
);
CREATE INDEX accounting_posts_invoice ON accounting_posts (invoice_id);

-- SMS has no idempotency key: a row is reserved (client_reference) before sending, and an
-- interrupted send is resolved by asking the provider for that client reference.
CREATE TABLE sms_messages (
    id                  bigserial   PRIMARY KEY,
    integration         text        NOT NULL,
    event_id            uuid        NOT NULL,
    to_number           text        NOT NULL,
    template            text,
    payload             jsonb       NOT NULL,
    client_reference    text        NOT NULL UNIQUE,
    provider_message_id text,
    status              text        NOT NULL,
    error_code          text,
    request             jsonb,
    response            jsonb,
    reserved_at         timestamptz NOT NULL DEFAULT now(),
    sent_at             timestamptz,
    updated_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (integration, event_id)
);
CREATE INDEX sms_messages_provider_id ON sms_messages (provider_message_id);

CREATE TABLE email_messages (
    id                  bigserial   PRIMARY KEY,
    integration         text        NOT NULL,
    event_id            uuid        NOT NULL,
    to_address          text        NOT NULL,
    template            text,
    idempotency_key     text,
    provider_message_id text,
    status              text        NOT NULL,
    request             jsonb,
    response            jsonb,
    created_at          timestamptz NOT NULL DEFAULT now(),
    sent_at             timestamptz,
    UNIQUE (integration, event_id)
);
