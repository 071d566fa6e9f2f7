-- 0006_documents.sql: each record's JSON, kept beside it.
--
-- A read of a whole record (no fields=, no include=) answers the text kept here instead of building
-- it: PostgreSQL spends most of a list's time building each row's JSON. "public" is what anonymous
-- callers and partners see, "internal" adds the internal fields. The triggers that keep both are
-- made by `sharaka migrate` from the resources' descriptors, the same code that builds the reads,
-- and fire in the writer's transaction; sharaka_documents records the definition each was made
-- from, so that a release whose descriptors changed refreshes every document once when it migrates.
CREATE TABLE sharaka_documents (
    resource   text PRIMARY KEY,
    definition text NOT NULL,
    made_at    timestamptz NOT NULL DEFAULT now()
);


CREATE TABLE organizations_documents (
    id       uuid PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
    public   text NOT NULL,
    internal text NOT NULL
);

CREATE TABLE ministries_documents (
    id       uuid PRIMARY KEY REFERENCES ministries (id) ON DELETE CASCADE,
    public   text NOT NULL,
    internal text NOT NULL
);

CREATE TABLE partnership_types_documents (
    id       uuid PRIMARY KEY REFERENCES partnership_types (id) ON DELETE CASCADE,
    public   text NOT NULL,
    internal text NOT NULL
);

CREATE TABLE partnerships_documents (
    id       uuid PRIMARY KEY REFERENCES partnerships (id) ON DELETE CASCADE,
    public   text NOT NULL,
    internal text NOT NULL
);

CREATE TABLE charters_documents (
    id       uuid PRIMARY KEY REFERENCES charters (id) ON DELETE CASCADE,
    public   text NOT NULL,
    internal text NOT NULL
);

CREATE TABLE charter_signatories_documents (
    id       uuid PRIMARY KEY REFERENCES charter_signatories (id) ON DELETE CASCADE,
    public   text NOT NULL,
    internal text NOT NULL
);

CREATE TABLE monitoring_records_documents (
    id       uuid PRIMARY KEY REFERENCES monitoring_records (id) ON DELETE CASCADE,
    public   text NOT NULL,
    internal text NOT NULL
);
