-- Legacy import: one row per event derived from a legacy row, reserved before it is
-- produced and marked published once the broker acknowledged it. The event id is
-- derived from (legacy, type, legacy id), so a second import of the same file finds
-- every row already published and produces nothing.

CREATE TABLE legacy_imports (
    event_id     uuid        PRIMARY KEY,
    import_type  text        NOT NULL CHECK (import_type IN ('invoices', 'payments', 'customers')),
    legacy_id    text        NOT NULL,
    event_type   text        NOT NULL,
    source_file  text        NOT NULL,
    source_line  integer     NOT NULL,
    status       text        NOT NULL CHECK (status IN ('reserved', 'published')),
    reserved_at  timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz,
    kafka_topic     text,
    kafka_partition integer,
    kafka_offset    bigint,
    UNIQUE (import_type, legacy_id)
);
