-- 0002_domain.sql: the partnership domain: organizations, public bodies, partnership types,
-- partnerships and their parties, charters and signatories, monitoring records.

CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS unaccent;

-- Arabic letter forms folded so that searches match whichever form was typed:
-- أ إ آ ٱ → ا, ة → ه, ى → ي, and the short-vowel marks (tashkeel) and tatweel removed;
-- Latin accents removed too, so "reseau" finds "Réseau".
CREATE FUNCTION sharaka_fold(t text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT translate(lower(unaccent('unaccent'::regdictionary, t)), 'أإآٱةىـًٌٍَُِّْ', 'ااااهي')
$$;

-- The search document: every language's stemming over the folded text, plus the exact words.
CREATE FUNCTION sharaka_tsv(VARIADIC parts text[]) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    WITH d(t) AS (SELECT sharaka_fold(array_to_string(parts, ' ', '')))
    SELECT to_tsvector('simple'::regconfig, t)
        || to_tsvector('arabic'::regconfig, t)
        || to_tsvector('english'::regconfig, t)
        || to_tsvector('french'::regconfig, t)
    FROM d
$$;

CREATE FUNCTION sharaka_tsq(q text) RETURNS tsquery
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT websearch_to_tsquery('simple'::regconfig, sharaka_fold(q))
        || websearch_to_tsquery('arabic'::regconfig, sharaka_fold(q))
        || websearch_to_tsquery('english'::regconfig, sharaka_fold(q))
        || websearch_to_tsquery('french'::regconfig, sharaka_fold(q))
$$;

-- version +1 and updated_at on every change, whatever the writer.
CREATE FUNCTION sharaka_touch() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- Generated columns are not computed yet in a BEFORE trigger: compare without them. A writer
    -- that sets updated_at itself asks for a new version (a partnership's organizations changed).
    IF to_jsonb(NEW) - 'search' - 'version' IS NOT DISTINCT FROM to_jsonb(OLD) - 'search' - 'version' THEN
        RETURN NULL; -- nothing changed: no new version
    END IF;
    NEW.version := OLD.version + 1;
    NEW.updated_at := clock_timestamp();
    NEW.created_at := OLD.created_at;
    RETURN NEW;
END
$$;

-- One CSV cell (RFC 4180): quoted when it holds a quote, comma, line break or outer space.
CREATE FUNCTION sharaka_csv(v text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN v IS NULL THEN ''
                WHEN v ~ '[",\r\n]' OR v <> btrim(v) THEN '"' || replace(v, '"', '""') || '"'
                ELSE v END
$$;

CREATE FUNCTION sharaka_is_http_url(u text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT u ~ '^https?://[^\s/?#]+[^\s]*$'
$$;

CREATE DOMAIN governorate AS text CHECK (VALUE IN ('beirut', 'mount-lebanon', 'north', 'akkar',
    'beqaa', 'baalbek-hermel', 'south', 'nabatieh', 'keserwan-jbeil'));

-- ---------------------------------------------------------------- organizations
CREATE TABLE organizations (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name                text NOT NULL CHECK (length(name) BETWEEN 1 AND 300),
    name_ar             text CHECK (length(name_ar) <= 300),
    name_en             text CHECK (length(name_en) <= 300),
    name_fr             text CHECK (length(name_fr) <= 300),
    acronym             text CHECK (length(acronym) <= 30),
    kind                text NOT NULL CHECK (kind IN ('association', 'network', 'union',
                            'foundation', 'academic', 'research-center', 'international',
                            'private-sector', 'cooperative', 'club', 'other')),
    registration_number text CHECK (length(registration_number) <= 100),
    external_ids        jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(external_ids) = 'object'),
    founded_on          date,
    governorate         governorate,
    district            text CHECK (length(district) <= 100),
    sectors             text[] NOT NULL DEFAULT '{}',
    website             text CHECK (sharaka_is_http_url(website)),
    email               text CHECK (length(email) <= 320),
    phone               text CHECK (length(phone) <= 50),
    description         text CHECK (length(description) <= 10000),
    status              text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive', 'dissolved')),
    source              text NOT NULL DEFAULT 'sharaka',
    version             integer NOT NULL DEFAULT 1,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    deleted_at          timestamptz,
    search              tsvector GENERATED ALWAYS AS (sharaka_tsv(
                            name, name_ar, name_en, name_fr, acronym, description)) STORED
);
CREATE INDEX organizations_live_id ON organizations (id) WHERE deleted_at IS NULL;
CREATE INDEX organizations_name ON organizations (name, id) WHERE deleted_at IS NULL;
CREATE INDEX organizations_kind ON organizations (kind, id) WHERE deleted_at IS NULL;
CREATE INDEX organizations_status ON organizations (status, id) WHERE deleted_at IS NULL;
CREATE INDEX organizations_governorate ON organizations (governorate, id) WHERE deleted_at IS NULL;
CREATE INDEX organizations_founded_on ON organizations (founded_on, id) WHERE deleted_at IS NULL;
CREATE INDEX organizations_created_at ON organizations (created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX organizations_updated_at ON organizations (updated_at, id) WHERE deleted_at IS NULL;
CREATE INDEX organizations_acronym ON organizations (acronym) WHERE deleted_at IS NULL;
CREATE INDEX organizations_registration_number ON organizations (registration_number) WHERE deleted_at IS NULL;
CREATE INDEX organizations_district ON organizations (district) WHERE deleted_at IS NULL;
CREATE INDEX organizations_source ON organizations (source) WHERE deleted_at IS NULL;
CREATE INDEX organizations_sectors ON organizations USING gin (sectors);
CREATE INDEX organizations_external_ids ON organizations USING gin (external_ids jsonb_path_ops);
CREATE INDEX organizations_search ON organizations USING gin (search);
CREATE TRIGGER organizations_touch BEFORE UPDATE ON organizations
    FOR EACH ROW EXECUTE FUNCTION sharaka_touch();

-- ---------------------------------------------------------------- ministries and public bodies
CREATE TABLE ministries (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 300),
    name_ar     text CHECK (length(name_ar) <= 300),
    name_en     text CHECK (length(name_en) <= 300),
    name_fr     text CHECK (length(name_fr) <= 300),
    acronym     text CHECK (length(acronym) <= 30),
    kind        text NOT NULL CHECK (kind IN ('ministry', 'minister-of-state-office', 'council',
                    'public-institution', 'municipality', 'union-of-municipalities', 'other')),
    parent_id   uuid REFERENCES ministries (id),
    governorate governorate,
    website     text CHECK (sharaka_is_http_url(website)),
    email       text CHECK (length(email) <= 320),
    phone       text CHECK (length(phone) <= 50),
    status      text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive', 'dissolved')),
    source      text NOT NULL DEFAULT 'sharaka',
    version     integer NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    deleted_at  timestamptz,
    search      tsvector GENERATED ALWAYS AS (sharaka_tsv(
                    name, name_ar, name_en, name_fr, acronym)) STORED,
    CHECK (parent_id IS DISTINCT FROM id)
);
CREATE INDEX ministries_name ON ministries (name, id) WHERE deleted_at IS NULL;
CREATE INDEX ministries_kind ON ministries (kind, id) WHERE deleted_at IS NULL;
CREATE INDEX ministries_status ON ministries (status, id) WHERE deleted_at IS NULL;
CREATE INDEX ministries_governorate ON ministries (governorate, id) WHERE deleted_at IS NULL;
CREATE INDEX ministries_parent ON ministries (parent_id) WHERE deleted_at IS NULL;
CREATE INDEX ministries_acronym ON ministries (acronym) WHERE deleted_at IS NULL;
CREATE INDEX ministries_created_at ON ministries (created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX ministries_updated_at ON ministries (updated_at, id) WHERE deleted_at IS NULL;
CREATE INDEX ministries_source ON ministries (source) WHERE deleted_at IS NULL;
CREATE INDEX ministries_search ON ministries USING gin (search);
CREATE TRIGGER ministries_touch BEFORE UPDATE ON ministries
    FOR EACH ROW EXECUTE FUNCTION sharaka_touch();

-- ---------------------------------------------------------------- partnership types
CREATE TABLE partnership_types (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    code             text NOT NULL CHECK (code ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(code) <= 60),
    name             text NOT NULL CHECK (length(name) BETWEEN 1 AND 300),
    name_ar          text CHECK (length(name_ar) <= 300),
    name_en          text CHECK (length(name_en) <= 300),
    name_fr          text CHECK (length(name_fr) <= 300),
    description      text CHECK (length(description) <= 10000),
    financial        boolean NOT NULL DEFAULT false,
    engagement_level text CHECK (engagement_level IN ('information', 'consultation', 'cooperation', 'partnership')),
    source           text NOT NULL DEFAULT 'sharaka',
    version          integer NOT NULL DEFAULT 1,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    deleted_at       timestamptz,
    search           tsvector GENERATED ALWAYS AS (sharaka_tsv(
                         code, name, name_ar, name_en, name_fr, description)) STORED
);
CREATE UNIQUE INDEX partnership_types_code_key ON partnership_types (code) WHERE deleted_at IS NULL;
CREATE INDEX partnership_types_name ON partnership_types (name, id) WHERE deleted_at IS NULL;
CREATE INDEX partnership_types_financial ON partnership_types (financial) WHERE deleted_at IS NULL;
CREATE INDEX partnership_types_engagement ON partnership_types (engagement_level) WHERE deleted_at IS NULL;
CREATE INDEX partnership_types_created_at ON partnership_types (created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX partnership_types_updated_at ON partnership_types (updated_at, id) WHERE deleted_at IS NULL;
CREATE INDEX partnership_types_source ON partnership_types (source) WHERE deleted_at IS NULL;
CREATE INDEX partnership_types_search ON partnership_types USING gin (search);
CREATE TRIGGER partnership_types_touch BEFORE UPDATE ON partnership_types
    FOR EACH ROW EXECUTE FUNCTION sharaka_touch();

-- ---------------------------------------------------------------- partnerships
CREATE TABLE partnerships (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    title                text NOT NULL CHECK (length(title) BETWEEN 1 AND 500),
    title_ar             text CHECK (length(title_ar) <= 500),
    type_id              uuid NOT NULL REFERENCES partnership_types (id),
    ministry_id          uuid NOT NULL REFERENCES ministries (id),
    programme            text CHECK (length(programme) <= 200),
    instrument           text CHECK (instrument IN ('contract', 'mou', 'decree', 'grant-agreement', 'informal')),
    instrument_reference text CHECK (length(instrument_reference) <= 200),
    legal_basis          text CHECK (length(legal_basis) <= 2000),
    start_date           date,
    end_date             date,
    amount               numeric(18, 2) CHECK (amount >= 0),
    currency             text CHECK (currency ~ '^[A-Z]{3}$'),
    status               text NOT NULL DEFAULT 'planned' CHECK (status IN ('planned', 'active', 'completed', 'suspended', 'terminated')),
    governorates         governorate[] NOT NULL DEFAULT '{}',
    description          text CHECK (length(description) <= 10000),
    source               text NOT NULL DEFAULT 'sharaka',
    version              integer NOT NULL DEFAULT 1,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    deleted_at           timestamptz,
    search               tsvector GENERATED ALWAYS AS (sharaka_tsv(
                             title, title_ar, programme, description)) STORED,
    CONSTRAINT partnerships_end_date_check CHECK (end_date >= start_date),
    CONSTRAINT partnerships_amount_currency_check CHECK ((amount IS NULL) = (currency IS NULL))
);
CREATE INDEX partnerships_title ON partnerships (title, id) WHERE deleted_at IS NULL;
CREATE INDEX partnerships_type ON partnerships (type_id, id) WHERE deleted_at IS NULL;
CREATE INDEX partnerships_ministry ON partnerships (ministry_id, id) WHERE deleted_at IS NULL;
CREATE INDEX partnerships_status ON partnerships (status, id) WHERE deleted_at IS NULL;
CREATE INDEX partnerships_programme ON partnerships (programme) WHERE deleted_at IS NULL;
CREATE INDEX partnerships_instrument ON partnerships (instrument) WHERE deleted_at IS NULL;
CREATE INDEX partnerships_start_date ON partnerships (start_date, id) WHERE deleted_at IS NULL;
CREATE INDEX partnerships_end_date ON partnerships (end_date, id) WHERE deleted_at IS NULL;
CREATE INDEX partnerships_amount ON partnerships (amount, id) WHERE deleted_at IS NULL;
CREATE INDEX partnerships_currency ON partnerships (currency) WHERE deleted_at IS NULL;
CREATE INDEX partnerships_created_at ON partnerships (created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX partnerships_updated_at ON partnerships (updated_at, id) WHERE deleted_at IS NULL;
CREATE INDEX partnerships_source ON partnerships (source) WHERE deleted_at IS NULL;
CREATE INDEX partnerships_governorates ON partnerships USING gin (governorates);
CREATE INDEX partnerships_search ON partnerships USING gin (search);
CREATE TRIGGER partnerships_touch BEFORE UPDATE ON partnerships
    FOR EACH ROW EXECUTE FUNCTION sharaka_touch();

CREATE TABLE partnership_organizations (
    partnership_id  uuid NOT NULL REFERENCES partnerships (id),
    organization_id uuid NOT NULL REFERENCES organizations (id),
    role            text NOT NULL CHECK (role IN ('lead', 'partner', 'implementer', 'funder')),
    position        integer NOT NULL,
    PRIMARY KEY (partnership_id, organization_id)
);
CREATE INDEX partnership_organizations_org ON partnership_organizations (organization_id, partnership_id);

-- ---------------------------------------------------------------- charters and signatories
CREATE TABLE charters (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    kind          text NOT NULL CHECK (kind IN ('citizen', 'partnership', 'other')),
    title         text NOT NULL CHECK (length(title) BETWEEN 1 AND 500),
    title_ar      text CHECK (length(title_ar) <= 500),
    version_label text CHECK (length(version_label) <= 50),
    adopted_on    date,
    status        text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'adopted', 'revised', 'retired')),
    summary       text CHECK (length(summary) <= 10000),
    sections      jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(sections) = 'array'),
    document_url  text CHECK (sharaka_is_http_url(document_url)),
    source        text NOT NULL DEFAULT 'sharaka',
    version       integer NOT NULL DEFAULT 1,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    deleted_at    timestamptz,
    search        tsvector GENERATED ALWAYS AS (sharaka_tsv(
                      title, title_ar, summary)) STORED
);
CREATE INDEX charters_title ON charters (title, id) WHERE deleted_at IS NULL;
CREATE INDEX charters_kind ON charters (kind, id) WHERE deleted_at IS NULL;
CREATE INDEX charters_status ON charters (status, id) WHERE deleted_at IS NULL;
CREATE INDEX charters_adopted_on ON charters (adopted_on, id) WHERE deleted_at IS NULL;
CREATE INDEX charters_created_at ON charters (created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX charters_updated_at ON charters (updated_at, id) WHERE deleted_at IS NULL;
CREATE INDEX charters_source ON charters (source) WHERE deleted_at IS NULL;
CREATE INDEX charters_search ON charters USING gin (search);
CREATE TRIGGER charters_touch BEFORE UPDATE ON charters
    FOR EACH ROW EXECUTE FUNCTION sharaka_touch();

CREATE TABLE charter_signatories (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    charter_id   uuid NOT NULL REFERENCES charters (id),
    party_type   text NOT NULL CHECK (party_type IN ('organization', 'ministry')),
    party_id     uuid NOT NULL,
    signed_on    date NOT NULL,
    signed_by    text CHECK (length(signed_by) <= 200),
    withdrawn_on date,
    source       text NOT NULL DEFAULT 'sharaka',
    version      integer NOT NULL DEFAULT 1,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    deleted_at   timestamptz,
    CONSTRAINT charter_signatories_withdrawn_on_check CHECK (withdrawn_on >= signed_on)
);
CREATE UNIQUE INDEX charter_signatories_active_key ON charter_signatories (charter_id, party_type, party_id)
    WHERE withdrawn_on IS NULL AND deleted_at IS NULL;
CREATE INDEX charter_signatories_charter ON charter_signatories (charter_id, signed_on, id) WHERE deleted_at IS NULL;
CREATE INDEX charter_signatories_withdrawn ON charter_signatories (charter_id, withdrawn_on) WHERE deleted_at IS NULL;
CREATE INDEX charter_signatories_party ON charter_signatories (party_id) WHERE deleted_at IS NULL;
CREATE TRIGGER charter_signatories_touch BEFORE UPDATE ON charter_signatories
    FOR EACH ROW EXECUTE FUNCTION sharaka_touch();

-- ---------------------------------------------------------------- monitoring records
CREATE TABLE monitoring_records (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    partnership_id  uuid NOT NULL REFERENCES partnerships (id),
    period_start    date NOT NULL,
    period_end      date NOT NULL,
    indicator       text NOT NULL CHECK (length(indicator) BETWEEN 1 AND 500),
    unit            text CHECK (length(unit) <= 50),
    baseline        numeric,
    target          numeric,
    actual          numeric,
    rating          text NOT NULL DEFAULT 'not-rated' CHECK (rating IN ('on-track', 'at-risk', 'off-track', 'not-rated')),
    findings        text CHECK (length(findings) <= 10000),
    recommendations text CHECK (length(recommendations) <= 10000),
    evidence_urls   text[] NOT NULL DEFAULT '{}',
    status          text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'submitted', 'verified')),
    verified_by     uuid,
    verified_at     timestamptz,
    source          text NOT NULL DEFAULT 'sharaka',
    version         integer NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    deleted_at      timestamptz,
    search          tsvector GENERATED ALWAYS AS (sharaka_tsv(
                        indicator, findings, recommendations)) STORED,
    CONSTRAINT monitoring_records_period_end_check CHECK (period_end >= period_start)
);
CREATE INDEX monitoring_records_partnership ON monitoring_records (partnership_id, id) WHERE deleted_at IS NULL;
CREATE INDEX monitoring_records_period_start ON monitoring_records (period_start, id) WHERE deleted_at IS NULL;
CREATE INDEX monitoring_records_period_end ON monitoring_records (period_end, id) WHERE deleted_at IS NULL;
CREATE INDEX monitoring_records_rating ON monitoring_records (rating, id) WHERE deleted_at IS NULL;
CREATE INDEX monitoring_records_status ON monitoring_records (status, id) WHERE deleted_at IS NULL;
CREATE INDEX monitoring_records_indicator ON monitoring_records (indicator) WHERE deleted_at IS NULL;
CREATE INDEX monitoring_records_created_at ON monitoring_records (created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX monitoring_records_updated_at ON monitoring_records (updated_at, id) WHERE deleted_at IS NULL;
CREATE INDEX monitoring_records_source ON monitoring_records (source) WHERE deleted_at IS NULL;
CREATE INDEX monitoring_records_search ON monitoring_records USING gin (search);
CREATE TRIGGER monitoring_records_touch BEFORE UPDATE ON monitoring_records
    FOR EACH ROW EXECUTE FUNCTION sharaka_touch();

ALTER TABLE users ADD CONSTRAINT users_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES organizations (id);
ALTER TABLE users ADD CONSTRAINT users_ministry_id_fkey FOREIGN KEY (ministry_id) REFERENCES ministries (id);
