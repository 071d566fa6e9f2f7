-- 0008_restore.sql: a deleted record can be brought back (POST /v1/{resource}/{id}/restore); the
-- audit log records it as its own action.
ALTER TABLE audit_log DROP CONSTRAINT audit_log_action_check;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_action_check
    CHECK (action IN ('create', 'update', 'delete', 'restore'));
