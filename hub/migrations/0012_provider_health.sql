-- Provider health for the operator page: each worker writes its circuit breaker's state
-- here on every change (the last change wins), so the ingress can show it without
-- scraping the workers. Success rates and latencies come from processed_events.

CREATE TABLE provider_health (
    integration  text        PRIMARY KEY,
    group_name   text        NOT NULL,
    provider     text        NOT NULL,
    state        text        NOT NULL CHECK (state IN ('closed', 'half_open', 'open')),
    reason       text        NOT NULL,
    changed_at   timestamptz NOT NULL
);

-- The page's "last hour" figures read finished events by time, every refresh. BRIN: next
-- to nothing per finished event on the workers' hot path, and finished_at grows with
-- the table's physical order closely enough to skip the old block ranges.
CREATE INDEX processed_events_finished ON processed_events USING brin (finished_at);
