-- bench/dataset.sql: a synthetic dataset for the benchmark, built with set-based SQL only.
--   10,000 organizations, 50 public bodies, the 5 partnership types, 100,000 partnerships with
--   1 to 3 parties each (about 200,000 rows), 300,000 monitoring records.
-- Run on a freshly migrated, empty database: psql -v ON_ERROR_STOP=1 -f bench/dataset.sql
-- Values come from random() after setseed(), so two loads have the same shape (ids differ).

\set ON_ERROR_STOP 1
SET client_min_messages = warning;

BEGIN;
SELECT setseed(0.2019) \gset

-- Numbered ids, so that rows can pick their references by number.
CREATE TEMP TABLE b_org ON COMMIT DROP AS
    SELECT n, gen_random_uuid() AS id FROM generate_series(1, 10000) n;
CREATE TEMP TABLE b_min ON COMMIT DROP AS
    SELECT n, gen_random_uuid() AS id FROM generate_series(1, 50) n;
CREATE TEMP TABLE b_type (n int, id uuid, code text, financial boolean, level text) ON COMMIT DROP;
INSERT INTO b_type VALUES
    (1, gen_random_uuid(), 'service-contract', true, 'cooperation'),
    (2, gen_random_uuid(), 'financial-contribution', true, 'cooperation'),
    (3, gen_random_uuid(), 'project-competition', false, 'partnership'),
    (4, gen_random_uuid(), 'non-financial-aid', false, 'cooperation'),
    (5, gen_random_uuid(), 'consultation', false, 'consultation');
CREATE TEMP TABLE b_part ON COMMIT DROP AS
    SELECT n, gen_random_uuid() AS id,
           timestamptz '2019-01-01 00:00:00+00' + random() * interval '2000 days' AS created_at
    FROM generate_series(1, 100000) n;
CREATE INDEX ON b_org (n);
CREATE INDEX ON b_part (n);
ANALYZE b_org, b_min, b_part;

-- Loading is much faster without the secondary indexes: they are dropped here and built again,
-- from their own definitions in the catalog, once the rows are in. Primary keys, unique indexes
-- and indexes behind constraints stay.
CREATE TEMP TABLE b_index ON COMMIT DROP AS
    SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS def
    FROM pg_index i
    JOIN pg_class t ON t.oid = i.indrelid
    WHERE t.relnamespace = current_schema()::regnamespace
      AND t.relname IN ('organizations', 'partnerships', 'partnership_organizations', 'monitoring_records')
      AND NOT i.indisunique
      AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid);
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT name FROM b_index LOOP
        EXECUTE 'DROP INDEX ' || r.name;
    END LOOP;
END
$$;

-- ---------------------------------------------------------------- public bodies
INSERT INTO ministries (id, name, name_ar, name_en, acronym, kind, governorate, website, email, phone)
SELECT m.id,
       'Public body ' || m.n,
       'هيئة عامة ' || m.n,
       'Public body ' || m.n,
       'PB' || m.n,
       (ARRAY['ministry', 'ministry', 'ministry', 'minister-of-state-office', 'council',
              'public-institution', 'municipality', 'union-of-municipalities'])[1 + m.n % 8],
       (ARRAY['beirut', 'mount-lebanon', 'north', 'akkar', 'beqaa', 'baalbek-hermel', 'south',
              'nabatieh', 'keserwan-jbeil'])[1 + m.n % 9]::governorate,
       'https://body' || m.n || '.example.org',
       'contact@body' || m.n || '.example.org',
       '+961-1-' || lpad(m.n::text, 6, '0')
FROM b_min m;

-- ---------------------------------------------------------------- organizations
INSERT INTO organizations (id, name, name_ar, name_en, acronym, kind, registration_number, external_ids,
                           founded_on, governorate, district, sectors, website, email, phone,
                           description, status, created_at, updated_at)
SELECT o.id,
       'Organization ' || o.n,
       'جمعية رقم ' || o.n,
       'Organization ' || o.n,
       'ORG' || o.n,
       (ARRAY['association', 'association', 'association', 'network', 'union', 'foundation',
              'academic', 'research-center', 'international', 'private-sector', 'cooperative',
              'club', 'other'])[1 + o.n % 13],
       o.n || '/AD',
       jsonb_build_object('LB-MOI', o.n || '/AD'),
       date '1960-01-01' + (random() * 22000)::int,
       (ARRAY['beirut', 'mount-lebanon', 'north', 'akkar', 'beqaa', 'baalbek-hermel', 'south',
              'nabatieh', 'keserwan-jbeil'])[1 + o.n % 9]::governorate,
       'District ' || (1 + o.n % 26),
       ARRAY[(ARRAY['development', 'education', 'health', 'youth', 'environment', 'human-rights',
                    'social-services', 'public-policy'])[1 + o.n % 8],
             (ARRAY['women', 'children', 'disability', 'research', 'culture', 'sports'])[1 + o.n % 6]],
       'https://org' || o.n || '.example.org',
       'info@org' || o.n || '.example.org',
       '+961-1-' || lpad((o.n % 1000000)::text, 6, '0'),
       'Civil society organization number ' || o.n || ' working with public bodies.',
       (ARRAY['active', 'active', 'active', 'active', 'inactive', 'dissolved'])[1 + o.n % 6],
       t, t + random() * interval '300 days'
FROM b_org o, LATERAL (SELECT timestamptz '2018-01-01 00:00:00+00'
                              + random() * interval '2000 days' + o.n * interval '0 s' AS t) c;

-- ---------------------------------------------------------------- partnership types
INSERT INTO partnership_types (id, code, name, name_en, financial, engagement_level)
SELECT id, code, initcap(replace(code, '-', ' ')), initcap(replace(code, '-', ' ')), financial, level
FROM b_type;

-- ---------------------------------------------------------------- partnerships
-- Statuses: about 15 % planned, 40 % active, 30 % completed, 10 % suspended, 5 % terminated.
INSERT INTO partnerships (id, title, title_ar, type_id, ministry_id, programme, instrument,
                          instrument_reference, start_date, end_date, amount, currency, status,
                          governorates, description, created_at, updated_at)
SELECT p.id,
       'Partnership ' || p.n || ' on ' ||
           (ARRAY['social services', 'youth and sports', 'public policy', 'access to information',
                  'local development', 'education', 'health', 'environment'])[1 + p.n % 8],
       'شراكة رقم ' || p.n,
       t.id,
       m.id,
       CASE WHEN p.n % 10 = 0 THEN 'AFKAR 3' WHEN p.n % 10 = 1 THEN 'AFKAR 2' END,
       (ARRAY['contract', 'mou', 'decree', 'grant-agreement', 'informal'])[1 + p.n % 5],
       'REF-' || p.n,
       r.start_date,
       CASE WHEN p.n % 7 <> 0 THEN r.start_date + (30 + r.r2 * 1500)::int END,
       CASE WHEN t.financial OR p.n % 4 = 0 THEN round((1000 + r.r2 * 1000000)::numeric, 2) END,
       CASE WHEN t.financial OR p.n % 4 = 0
            THEN (ARRAY['LBP', 'USD', 'USD', 'EUR'])[1 + p.n % 4] END,
       CASE WHEN r.r1 < 0.15 THEN 'planned' WHEN r.r1 < 0.55 THEN 'active'
            WHEN r.r1 < 0.85 THEN 'completed' WHEN r.r1 < 0.95 THEN 'suspended'
            ELSE 'terminated' END,
       CASE p.n % 3
           WHEN 0 THEN ARRAY[g1]
           WHEN 1 THEN ARRAY[g1, g2]
           ELSE ARRAY[g1, g2, g3] END::governorate[],
       'Synthetic partnership number ' || p.n || ' between a public body and civil society.',
       p.created_at,
       p.created_at + r.r2 * interval '200 days'
FROM b_part p
JOIN b_type t ON t.n = 1 + p.n % 5
JOIN b_min m ON m.n = 1 + (p.n * 7) % 50
CROSS JOIN LATERAL (
    SELECT random() + p.n * 0 AS r1, random() + p.n * 0 AS r2,
           date '2010-01-01' + (random() * 5000)::int + p.n * 0 AS start_date) r
CROSS JOIN LATERAL (
    SELECT gs[1 + p.n % 9] AS g1, gs[1 + (p.n + 1 + (p.n / 9) % 7) % 9] AS g2,
           gs[1 + (p.n + 8) % 9] AS g3
    FROM (SELECT ARRAY['beirut', 'mount-lebanon', 'north', 'akkar', 'beqaa', 'baalbek-hermel',
                       'south', 'nabatieh', 'keserwan-jbeil'] AS gs) a) g
ORDER BY p.created_at;

-- 1 to 3 parties per partnership, three distinct organizations, the first one leads; written in
-- the order of their partnerships, as the server writes them.
INSERT INTO partnership_organizations (partnership_id, organization_id, role, position)
SELECT p.id, o.id,
       CASE WHEN k = 0 THEN 'lead'
            ELSE (ARRAY['partner', 'implementer', 'funder'])[1 + (p.n + k) % 3] END,
       k
FROM b_part p
CROSS JOIN generate_series(0, 2) k
JOIN b_org o ON o.n = 1 + (p.n * 7919 + k * 3331) % 10000
WHERE k <= p.n % 3
ORDER BY p.created_at, k;

-- ---------------------------------------------------------------- monitoring records
-- Three per partnership, in consecutive periods.
INSERT INTO monitoring_records (partnership_id, period_start, period_end, indicator, unit, baseline,
                                target, actual, rating, findings, recommendations, status,
                                verified_at, created_at, updated_at)
SELECT p.id,
       s.period_start,
       s.period_start + 89 + (p.n % 3) * 91,
       (ARRAY['Beneficiaries served', 'Projects completed', 'Contract deliverables checked',
              'Meetings held', 'Staff trained', 'Reports published'])[1 + (p.n + k) % 6],
       (ARRAY['persons', 'projects', 'percent', 'meetings', 'persons', 'reports'])[1 + (p.n + k) % 6],
       0,
       100 + (p.n % 50) * 10,
       round((random() * (100 + (p.n % 50) * 10) * 1.1)::numeric, 1),
       (ARRAY['on-track', 'on-track', 'at-risk', 'off-track', 'not-rated'])[1 + (p.n + k) % 5],
       (ARRAY['Monitoring and evaluation are weak.', 'No regulatory framework for the follow-up of contracts.',
              'On schedule.', 'Reporting is late.'])[1 + (p.n * 3 + k) % 4],
       CASE WHEN k = 2 THEN 'Agree on indicators and a reporting calendar.' END,
       (ARRAY['draft', 'submitted', 'verified'])[1 + k],
       CASE WHEN k = 2 THEN p.created_at + interval '30 days' END,
       p.created_at + k * interval '90 days',
       p.created_at + k * interval '90 days'
FROM b_part p
CROSS JOIN generate_series(0, 2) k
CROSS JOIN LATERAL (SELECT date '2012-01-01' + (p.n % 3000) + k * 182 AS period_start) s
ORDER BY p.created_at + k * interval '90 days';

-- ---------------------------------------------------------------- the indexes, built again
SET LOCAL maintenance_work_mem = '256MB';
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT def FROM b_index LOOP
        EXECUTE r.def;
    END LOOP;
END
$$;

COMMIT;

VACUUM ANALYZE;
