-- bench/stats.sql: the statement the server runs for
-- GET /v1/stats/partnerships?group_by=status,start_date:year&sum=amount, word for word (it has no
-- parameter): partnerships counted by status and start year, amounts summed per currency.
-- tests/unit/test_query.c builds the server's statement and fails when this file differs from it.
WITH f AS (SELECT a.status AS k0, extract(year FROM a.start_date)::int AS k1, a.amount AS m0, a.currency AS cur FROM partnerships a WHERE a.deleted_at IS NULL), x AS (SELECT k0, k1, count(*) AS n FROM f GROUP BY k0, k1), y AS (SELECT k0, k1, cur, sum(m0) AS v0 FROM f WHERE cur IS NOT NULL GROUP BY k0, k1, cur), z AS (SELECT k0, k1, true AS here, json_object_agg(cur, v0::text) FILTER (WHERE v0 IS NOT NULL) AS v0 FROM y GROUP BY k0, k1) SELECT x.k0::text, x.k1::text, x.n, coalesce(z.v0, '{}')::text FROM x LEFT JOIN z ON true AND z.k0 IS NOT DISTINCT FROM x.k0 AND z.k1 IS NOT DISTINCT FROM x.k1 ORDER BY x.k0 NULLS LAST, x.k1 NULLS LAST LIMIT 10001;
