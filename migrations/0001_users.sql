-- 0001_users.sql: the people who sign in, with argon2id password hashes.
CREATE TABLE users (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email           text NOT NULL CHECK (length(email) BETWEEN 3 AND 320 AND email LIKE '%_@_%'),
    password_hash   text NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
    role            text NOT NULL CHECK (role IN ('analyst', 'editor', 'admin')),
    organization_id uuid,
    ministry_id     uuid,
    active          boolean NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    version         integer NOT NULL DEFAULT 1,
    CONSTRAINT users_editor_scope CHECK (
        CASE WHEN role = 'editor'
             THEN (organization_id IS NULL) <> (ministry_id IS NULL)
             ELSE organization_id IS NULL AND ministry_id IS NULL END)
);

CREATE UNIQUE INDEX users_email_key ON users (lower(email));
