-- 0009_external_ids.sql: partnerships and monitoring records carry identifiers of other systems
-- too (scheme -> id), so that partners match their own records by them in batches
-- (?match=external_id:SCHEME), as they do organizations.
ALTER TABLE partnerships
    ADD COLUMN external_ids jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(external_ids) = 'object');
ALTER TABLE monitoring_records
    ADD COLUMN external_ids jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(external_ids) = 'object');
CREATE INDEX partnerships_external_ids ON partnerships USING gin (external_ids jsonb_path_ops);
CREATE INDEX monitoring_records_external_ids ON monitoring_records USING gin (external_ids jsonb_path_ops);
