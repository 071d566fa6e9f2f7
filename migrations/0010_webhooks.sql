-- 0010_webhooks.sql: webhook subscriptions, their outbox and the log of delivery attempts.

-- A subscriber: where to POST, which resources, the signing secret. owner_source is the partner
-- source whose API keys manage it; NULL means the programme office's administrators.
CREATE TABLE webhooks (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    url             text NOT NULL CHECK (length(url) BETWEEN 1 AND 2000),
    resources       text[] NOT NULL DEFAULT '{}',
    description     text NOT NULL DEFAULT '' CHECK (length(description) <= 500),
    secret          text NOT NULL,
    owner_source    text CHECK (owner_source ~ '^[a-z0-9][a-z0-9_-]{0,63}$'),
    created_by      text NOT NULL,
    enabled         boolean NOT NULL DEFAULT true,
    disabled_reason text,
    disabled_at     timestamptz,
    version         integer NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at      timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX webhooks_owner ON webhooks (owner_source, created_at, id);

-- The outbox: one row per change a webhook is to receive, written in the writer's transaction by
-- the function below that writes the change log, so a committed change always has its
-- deliveries and a rolled-back one none.
-- xid and change_seq are the change's feed position: a row is sent only once every transaction
-- below it has ended (as the feed reads), and only after the earlier rows of the same record.
-- A worker leases rows (lease_until) for one attempt; when it dies, the lease runs out and any
-- instance takes them again.
CREATE TABLE webhook_deliveries (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    webhook_id      uuid NOT NULL REFERENCES webhooks ON DELETE CASCADE,
    xid             xid8 NOT NULL DEFAULT pg_current_xact_id(),
    change_seq      bigint,
    resource        text,
    record_id       uuid,
    event           text NOT NULL,
    state           text NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    lease_owner     text,
    lease_until     timestamptz,
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    delivered_at    timestamptz
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_record ON webhook_deliveries (webhook_id, resource, record_id, xid, change_seq)
    WHERE state <> 'delivered';
CREATE INDEX webhook_deliveries_done ON webhook_deliveries (delivered_at) WHERE state = 'delivered';

-- Every attempt, as GET /v1/webhooks/{id}/deliveries shows it.
CREATE TABLE webhook_attempts (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    webhook_id      uuid NOT NULL REFERENCES webhooks ON DELETE CASCADE,
    delivery_id     bigint NOT NULL REFERENCES webhook_deliveries ON DELETE CASCADE,
    attempt         integer NOT NULL,
    at              timestamptz NOT NULL DEFAULT clock_timestamp(),
    duration_ms     integer NOT NULL,
    outcome         text NOT NULL CHECK (outcome IN ('delivered', 'failed')),
    response_status integer,
    error           text,
    next_attempt_at timestamptz
);
CREATE INDEX webhook_attempts_webhook ON webhook_attempts (webhook_id, id);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id);

-- Each change the feed records becomes one delivery per webhook that asked for its resource,
-- enabled or not: a webhook disabled after its retries receives what it missed once enabled.
-- The function that writes the change log (0004) writes the outbox too, in the same call: one
-- trigger a change, and no outbox work at all while there is no webhook.
CREATE OR REPLACE FUNCTION sharaka_record_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    c changes%ROWTYPE;
BEGIN
    INSERT INTO changes (resource, record_id, op, version, changed_at)
    VALUES (TG_ARGV[0], NEW.id,
            CASE WHEN NEW.deleted_at IS NULL THEN 'upsert' ELSE 'delete' END,
            NEW.version, NEW.updated_at)
    RETURNING * INTO c;
    IF EXISTS (SELECT 1 FROM webhooks) THEN
        INSERT INTO webhook_deliveries (webhook_id, xid, change_seq, resource, record_id, event)
        SELECT w.id, c.xid, c.seq, c.resource, c.record_id, c.resource || '.' || c.op
        FROM webhooks w
        WHERE cardinality(w.resources) = 0 OR c.resource = ANY (w.resources);
    END IF;
    RETURN NULL;
END
$$;

-- Records one attempt of a leased delivery and moves it on: delivered, due again after
-- retry_after seconds, or (retry_after NULL on a failure: the schedule is spent) failed, which
-- disables its webhook with the reason. Does nothing when the lease was lost meanwhile.
CREATE FUNCTION webhook_attempt_done(p_delivery bigint, p_owner text, p_ok boolean,
                                     p_status integer, p_error text, p_duration integer,
                                     p_retry_after integer)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    d webhook_deliveries%ROWTYPE;
    next_at timestamptz;
BEGIN
    SELECT * INTO d FROM webhook_deliveries
    WHERE id = p_delivery AND lease_owner = p_owner AND state = 'pending' FOR UPDATE;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    IF NOT p_ok AND p_retry_after IS NOT NULL THEN
        next_at := clock_timestamp() + p_retry_after * interval '1 second';
    END IF;
    INSERT INTO webhook_attempts (webhook_id, delivery_id, attempt, duration_ms, outcome,
                                  response_status, error, next_attempt_at)
    VALUES (d.webhook_id, d.id, d.attempts + 1, p_duration,
            CASE WHEN p_ok THEN 'delivered' ELSE 'failed' END, p_status, p_error, next_at);
    UPDATE webhook_deliveries
    SET attempts = attempts + 1, lease_owner = NULL, lease_until = NULL,
        state = CASE WHEN p_ok THEN 'delivered' WHEN next_at IS NULL THEN 'failed' ELSE 'pending' END,
        delivered_at = CASE WHEN p_ok THEN clock_timestamp() END,
        next_attempt_at = coalesce(next_at, next_attempt_at)
    WHERE id = d.id;
    IF NOT p_ok AND next_at IS NULL THEN
        UPDATE webhooks
        SET enabled = false, disabled_at = clock_timestamp(), updated_at = clock_timestamp(),
            version = version + 1,
            disabled_reason = format('delivery %s (%s) failed %s attempts; the last: %s',
                                     d.id, d.event, d.attempts + 1,
                                     coalesce('HTTP ' || p_status, p_error, 'no answer'))
        WHERE id = d.webhook_id AND enabled;
    END IF;
END
$$;
