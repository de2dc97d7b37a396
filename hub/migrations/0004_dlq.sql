-- `hub dlq redrive`: one row per dead-letter record put back on its path, so a second
-- run does not send it again. Reserved in the transaction that re-produces it.

CREATE TABLE dlq_redrives (
    dlq_topic        text        NOT NULL,
    dlq_partition    integer     NOT NULL,
    dlq_offset       bigint      NOT NULL,
    group_name       text        NOT NULL,
    event_id         text,       -- null for an undecodable value without a ce_id header
    event_type       text,
    target_topic     text        NOT NULL,
    target_partition integer,
    target_offset    bigint,
    redriven_by      text        NOT NULL,
    reason           text,
    redriven_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (dlq_topic, dlq_partition, dlq_offset)
);
CREATE INDEX dlq_redrives_event ON dlq_redrives (group_name, event_id);
