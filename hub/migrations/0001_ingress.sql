-- The ingress: raw webhook deliveries, API keys, publish idempotency.

CREATE TABLE webhook_events (
    event_id            uuid PRIMARY KEY,
    endpoint            text        NOT NULL,
    provider            text        NOT NULL,
    provider_event_id   text        NOT NULL,
    provider_event_type text,
    payload_sha256      text        NOT NULL,
    mapped              boolean     NOT NULL,
    mapped_types        text[]      NOT NULL DEFAULT '{}',
    topic               text        NOT NULL,
    kafka_partition     integer     NOT NULL,
    kafka_offset        bigint      NOT NULL,
    received_at         timestamptz NOT NULL,
    processed_at        timestamptz NOT NULL,
    deliveries          integer     NOT NULL DEFAULT 1,
    last_delivery_at    timestamptz NOT NULL,
    UNIQUE (provider, provider_event_id)
);
CREATE INDEX webhook_events_received_at ON webhook_events (received_at);

CREATE TABLE api_keys (
    key_id        text PRIMARY KEY,
    name          text        NOT NULL,
    secret_sha256 bytea       NOT NULL,
    scopes        text[]      NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    revoked_at    timestamptz
);

-- One row per (client, Idempotency-Key): reserved before producing, completed after the ack.
CREATE TABLE publish_requests (
    key_id          text        NOT NULL REFERENCES api_keys (key_id),
    idempotency_key text        NOT NULL,
    request_sha256  text        NOT NULL,
    event_ids       uuid[]      NOT NULL,
    event_time      timestamptz NOT NULL,
    response        jsonb,
    status_code     integer,
    created_at      timestamptz NOT NULL DEFAULT now(),
    completed_at    timestamptz,
    PRIMARY KEY (key_id, idempotency_key)
);
