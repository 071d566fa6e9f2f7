-- 0014_webhook_rotation.sql: a webhook's signing secret replaced without a gap. After a rotation
-- the previous secret still signs every delivery beside the new one until previous_secret_until,
-- so that a receiver can switch to the new secret at its own pace (Standard Webhooks: the
-- signature header holds one signature per secret, separated by spaces).
ALTER TABLE webhooks
    ADD COLUMN previous_secret       text,
    ADD COLUMN previous_secret_until timestamptz,
    ADD CONSTRAINT webhooks_previous_secret_check
        CHECK ((previous_secret IS NULL) = (previous_secret_until IS NULL));
