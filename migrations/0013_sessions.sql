-- 0013_sessions.sql: the sessions of people who sign in with a password, as rotating refresh
-- tokens.
--
-- A sign-in starts a family (family_id); each refresh spends its token (used_at) and issues the
-- next one of the family (parent_id: the token it replaced). Only the SHA-256 of a token is kept
-- (hex, as for API keys). A spent token presented again means that two parties hold the family:
-- the whole family is revoked. Rows past expires_at are purged by the janitor.
CREATE TABLE refresh_tokens (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash text NOT NULL CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family_id  uuid NOT NULL,
    parent_id  bigint REFERENCES refresh_tokens (id) ON DELETE SET NULL,
    issued_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    revoked_at timestamptz,
    CONSTRAINT refresh_tokens_hash_key UNIQUE (token_hash),
    CHECK (expires_at > issued_at)
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id) WHERE revoked_at IS NULL;
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);
CREATE INDEX refresh_tokens_parent ON refresh_tokens (parent_id);

-- Spends the token whose hash is old_hash and issues the next of its family under new_hash, good
-- for ttl seconds, in one statement. outcome says what happened:
--   rotated   the new token is issued; the user's current role and scope come with it
--   unknown   no such token (or purged)
--   expired   past its expiry
--   revoked   its family was revoked (logout, a password change, a reuse)
--   reused    it was spent already: its whole family is revoked now
--   inactive  its user is deactivated
-- Nothing changes unless the outcome is rotated or reused.
CREATE FUNCTION refresh_rotate(old_hash text, new_hash text, ttl bigint)
RETURNS TABLE (outcome text, user_id uuid, role text, organization_id uuid, ministry_id uuid)
LANGUAGE plpgsql AS $fn$
DECLARE
    t refresh_tokens%ROWTYPE;
    u users%ROWTYPE;
    now_ timestamptz := clock_timestamp();
BEGIN
    SELECT * INTO t FROM refresh_tokens r WHERE r.token_hash = old_hash FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'unknown', NULL::uuid, NULL::text, NULL::uuid, NULL::uuid;
        RETURN;
    END IF;
    IF t.revoked_at IS NOT NULL THEN
        RETURN QUERY SELECT 'revoked', t.user_id, NULL::text, NULL::uuid, NULL::uuid;
        RETURN;
    END IF;
    IF t.used_at IS NOT NULL THEN
        UPDATE refresh_tokens r SET revoked_at = now_
            WHERE r.family_id = t.family_id AND r.revoked_at IS NULL;
        RETURN QUERY SELECT 'reused', t.user_id, NULL::text, NULL::uuid, NULL::uuid;
        RETURN;
    END IF;
    IF t.expires_at <= now_ THEN
        RETURN QUERY SELECT 'expired', t.user_id, NULL::text, NULL::uuid, NULL::uuid;
        RETURN;
    END IF;
    SELECT * INTO u FROM users s WHERE s.id = t.user_id AND s.active;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'inactive', t.user_id, NULL::text, NULL::uuid, NULL::uuid;
        RETURN;
    END IF;
    UPDATE refresh_tokens r SET used_at = now_ WHERE r.id = t.id;
    INSERT INTO refresh_tokens (token_hash, user_id, family_id, parent_id, issued_at, expires_at)
        VALUES (new_hash, t.user_id, t.family_id, t.id, now_, now_ + ttl * interval '1 second');
    RETURN QUERY SELECT 'rotated', u.id, u.role, u.organization_id, u.ministry_id;
END
$fn$;

-- A new password ends the user's sessions: every family is revoked, except the one named by the
-- transaction's setting sharaka.keep_session (the caller's own, when it changes its password).
CREATE FUNCTION users_password_changed() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    UPDATE refresh_tokens r SET revoked_at = clock_timestamp()
        WHERE r.user_id = NEW.id AND r.revoked_at IS NULL
          AND r.family_id IS DISTINCT FROM
              nullif(current_setting('sharaka.keep_session', true), '')::uuid;
    RETURN NULL;
END
$fn$;
CREATE TRIGGER users_password_changed AFTER UPDATE OF password_hash ON users
    FOR EACH ROW WHEN (OLD.password_hash IS DISTINCT FROM NEW.password_hash)
    EXECUTE FUNCTION users_password_changed();
