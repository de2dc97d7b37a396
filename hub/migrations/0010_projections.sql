-- Projections: which version of each view is live, every version built, and the Kafka
-- offsets each version has applied (written in the same transaction as its rows).
-- The versioned tables themselves (reconciliation_v3_*, audit_v3, ...) are created by
-- the projection runtime, not here: a rebuild makes a new set at any time.

CREATE TABLE projections (
    name           text        PRIMARY KEY,
    active_version integer     NOT NULL,
    swapped_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE projection_versions (
    name         text        NOT NULL,
    version      integer     NOT NULL CHECK (version > 0),
    state        text        NOT NULL CHECK (state IN ('building', 'active', 'retired')),
    from_time    timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    activated_at timestamptz,
    retired_at   timestamptz,
    PRIMARY KEY (name, version)
);

CREATE TABLE projection_offsets (
    name        text        NOT NULL,
    version     integer     NOT NULL,
    topic       text        NOT NULL,
    partition   integer     NOT NULL,
    next_offset bigint      NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (name, version, topic, partition)
);
