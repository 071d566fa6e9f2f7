-- 0004_sync.sql: the change feed, idempotency keys.

-- One row per committed change of a record, written by triggers in the writer's transaction.
-- Readers follow (xid, seq) and only read below the oldest running transaction
-- (pg_snapshot_xmin), so a change that commits late is never skipped.
CREATE TABLE changes (
    seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    xid        xid8 NOT NULL DEFAULT pg_current_xact_id(),
    resource   text NOT NULL,
    record_id  uuid NOT NULL,
    op         text NOT NULL CHECK (op IN ('upsert', 'delete')),
    version    integer NOT NULL,
    changed_at timestamptz NOT NULL
);
CREATE INDEX changes_position ON changes (xid, seq);
CREATE INDEX changes_resource_position ON changes (resource, xid, seq);

CREATE FUNCTION sharaka_record_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO changes (resource, record_id, op, version, changed_at)
    VALUES (TG_ARGV[0], NEW.id,
            CASE WHEN NEW.deleted_at IS NULL THEN 'upsert' ELSE 'delete' END,
            NEW.version, NEW.updated_at);
    RETURN NULL;
END
$$;

CREATE TRIGGER organizations_change AFTER INSERT OR UPDATE ON organizations
    FOR EACH ROW EXECUTE FUNCTION sharaka_record_change('organizations');
CREATE TRIGGER ministries_change AFTER INSERT OR UPDATE ON ministries
    FOR EACH ROW EXECUTE FUNCTION sharaka_record_change('ministries');
CREATE TRIGGER partnership_types_change AFTER INSERT OR UPDATE ON partnership_types
    FOR EACH ROW EXECUTE FUNCTION sharaka_record_change('partnership-types');
CREATE TRIGGER partnerships_change AFTER INSERT OR UPDATE ON partnerships
    FOR EACH ROW EXECUTE FUNCTION sharaka_record_change('partnerships');
CREATE TRIGGER charters_change AFTER INSERT OR UPDATE ON charters
    FOR EACH ROW EXECUTE FUNCTION sharaka_record_change('charters');
CREATE TRIGGER charter_signatories_change AFTER INSERT OR UPDATE ON charter_signatories
    FOR EACH ROW EXECUTE FUNCTION sharaka_record_change('signatories');
CREATE TRIGGER monitoring_records_change AFTER INSERT OR UPDATE ON monitoring_records
    FOR EACH ROW EXECUTE FUNCTION sharaka_record_change('monitoring-records');

-- What was seeded before this migration enters the feed once, so a new mirror starts complete.
INSERT INTO changes (resource, record_id, op, version, changed_at)
SELECT 'organizations', id, CASE WHEN deleted_at IS NULL THEN 'upsert' ELSE 'delete' END, version, updated_at FROM organizations
UNION ALL SELECT 'ministries', id, CASE WHEN deleted_at IS NULL THEN 'upsert' ELSE 'delete' END, version, updated_at FROM ministries
UNION ALL SELECT 'partnership-types', id, CASE WHEN deleted_at IS NULL THEN 'upsert' ELSE 'delete' END, version, updated_at FROM partnership_types
UNION ALL SELECT 'partnerships', id, CASE WHEN deleted_at IS NULL THEN 'upsert' ELSE 'delete' END, version, updated_at FROM partnerships
UNION ALL SELECT 'charters', id, CASE WHEN deleted_at IS NULL THEN 'upsert' ELSE 'delete' END, version, updated_at FROM charters
UNION ALL SELECT 'signatories', id, CASE WHEN deleted_at IS NULL THEN 'upsert' ELSE 'delete' END, version, updated_at FROM charter_signatories
UNION ALL SELECT 'monitoring-records', id, CASE WHEN deleted_at IS NULL THEN 'upsert' ELSE 'delete' END, version, updated_at FROM monitoring_records;

-- Idempotency keys: the first successful answer, replayed for 24 hours.
CREATE TABLE idempotency_keys (
    principal     text NOT NULL,
    key           text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    request_hash  text NOT NULL,
    state         text NOT NULL CHECK (state IN ('running', 'done')),
    status        integer,
    location      text,
    etag          text,
    body          text,
    created_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (principal, key)
);
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
