-- 0007_login_throttle.sql: the sign-in throttle, one for every instance of the server.
--
-- A bucket per e-mail and per client address (key 'email:<lowercased>', 'address:<ip>') holding
-- up to SHARAKA_LOGIN_RATE_LIMIT attempts, refilled at that many a minute. Instances behind a
-- balancer share it, so N instances allow no more guesses than one. Unlogged: a crash of the
-- database empties it, which only hands out what a minute would anyway; it is not replicated.
CREATE UNLOGGED TABLE login_throttle (
    key    text PRIMARY KEY,
    tokens double precision NOT NULL,
    at     timestamptz NOT NULL
);

-- One sign-in attempt against the buckets of keys, each holding up to per_minute: the attempt
-- goes on only when every bucket has a whole token, and then takes one from each. The rows are
-- locked in key order, so concurrent attempts from any instance are counted one after another.
-- Returns each bucket's level after the attempt and whether it went on.
CREATE FUNCTION login_attempt(keys text[], per_minute double precision)
RETURNS TABLE (key text, tokens double precision, allowed boolean)
LANGUAGE plpgsql AS $fn$
DECLARE
    now_ timestamptz := clock_timestamp();
    lowest double precision := per_minute;
BEGIN
    INSERT INTO login_throttle AS t (key, tokens, at)
        SELECT k, per_minute, now_ FROM unnest(keys) AS k
        ON CONFLICT ON CONSTRAINT login_throttle_pkey DO NOTHING;
    SELECT min(least(per_minute, t.tokens + extract(epoch FROM now_ - t.at) * per_minute / 60))
        INTO lowest
        FROM (SELECT * FROM login_throttle l WHERE l.key = ANY (keys) ORDER BY l.key FOR UPDATE) t;
    RETURN QUERY
    UPDATE login_throttle AS t
        SET tokens = least(per_minute, t.tokens + extract(epoch FROM now_ - t.at) * per_minute / 60)
                     - CASE WHEN lowest >= 1 THEN 1 ELSE 0 END,
            at = now_
        WHERE t.key = ANY (keys)
        RETURNING t.key, t.tokens, lowest >= 1;
END
$fn$;
