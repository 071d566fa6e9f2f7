-- 0003_access.sql: API keys for partner networks, the audit trail, and user bookkeeping.

CREATE TABLE api_keys (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    role         text NOT NULL CHECK (role IN ('analyst', 'partner', 'admin')),
    source       text NOT NULL CHECK (source ~ '^[a-z0-9][a-z0-9_-]{0,63}$'),
    prefix       text NOT NULL,
    key_hash     text NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    last_used_at timestamptz,
    revoked_at   timestamptz,
    version      integer NOT NULL DEFAULT 1,
    updated_at   timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX api_keys_created_at ON api_keys (created_at, id);
CREATE INDEX api_keys_source ON api_keys (source);
CREATE TRIGGER api_keys_touch BEFORE UPDATE OF name, role, source, revoked_at ON api_keys
    FOR EACH ROW EXECUTE FUNCTION sharaka_touch();

CREATE TRIGGER users_touch BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION sharaka_touch();
CREATE INDEX users_created_at ON users (created_at, id);
CREATE INDEX users_role ON users (role, id);

-- Every write, in the transaction of the write: who, what, before and after.
CREATE TABLE audit_log (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor_type  text NOT NULL CHECK (actor_type IN ('user', 'api_key', 'system')),
    actor_id    text NOT NULL,
    actor_role  text NOT NULL,
    action      text NOT NULL CHECK (action IN ('create', 'update', 'delete')),
    resource    text NOT NULL,
    record_id   text NOT NULL,
    before      jsonb,
    after       jsonb,
    request_id  text NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at, id);
CREATE INDEX audit_log_record ON audit_log (resource, record_id, at);
CREATE INDEX audit_log_actor ON audit_log (actor_id, at);
