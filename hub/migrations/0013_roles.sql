-- Least-privilege roles: each kind of process can write only its own tables.
-- Processes take their role with HUB_DB_ROLES=on (SET ROLE at connect); in production,
-- give each process a login role that is a member of one of these instead.
--
--   hub_ingress     webhook deliveries, publish idempotency, API key lookup, redrive records;
--                   reads every view (the /ui page)
--   hub_worker      dedupe records and the record of every provider interaction
--   hub_projection  the projections' registry, offsets and the tables it creates itself
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'hub_ingress') THEN
        CREATE ROLE hub_ingress NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'hub_worker') THEN
        CREATE ROLE hub_worker NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'hub_projection') THEN
        CREATE ROLE hub_projection NOLOGIN;
    END IF;
END
$$;

DO $$
DECLARE
    s text := current_schema();
BEGIN
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO hub_ingress, hub_worker, hub_projection', s);
    -- Projections create their versioned tables and views themselves.
    EXECUTE format('GRANT CREATE ON SCHEMA %I TO hub_projection', s);

    EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA %I TO hub_ingress', s);
    EXECUTE format('GRANT INSERT, UPDATE ON %I.webhook_events, %I.publish_requests, %I.dlq_redrives'
                   ' TO hub_ingress', s, s, s);
    EXECUTE format('GRANT USAGE ON ALL SEQUENCES IN SCHEMA %I TO hub_ingress', s);

    EXECUTE format('GRANT SELECT, INSERT, UPDATE ON %I.processed_events, %I.payment_attempts,'
                   ' %I.accounting_posts, %I.sms_messages, %I.email_messages,'
                   ' %I.email_recipients, %I.provider_health TO hub_worker',
                   s, s, s, s, s, s, s);
    EXECUTE format('GRANT USAGE ON ALL SEQUENCES IN SCHEMA %I TO hub_worker', s);

    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I.projections, %I.projection_versions,'
                   ' %I.projection_offsets TO hub_projection', s, s, s);

    -- What projections create later is readable by the ingress (the /ui page) and nobody
    -- else writes it.
    EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE hub_projection IN SCHEMA %I'
                   ' GRANT SELECT ON TABLES TO hub_ingress', s);
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT SELECT ON TABLES TO hub_ingress', s);
END
$$;
