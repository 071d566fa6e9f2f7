-- 0012_languages.sql: descriptions, titles, summaries and charter sections in Arabic, English and
-- French beside the text as given, like names; all of them searched.
--
-- A search column is generated from the columns it reads, so each is dropped (with its index) and
-- made again over the new columns; PostgreSQL rewrites each table once doing so.

-- The text of a charter's sections, every language, for the search document: each section's
-- heading and body and their translations, in order.
CREATE FUNCTION sharaka_sections_text(sections jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT string_agg(concat_ws(' ', s->>'heading', s->>'heading_ar', s->>'heading_en',
                                s->>'heading_fr', s->>'body', s->>'body_ar', s->>'body_en',
                                s->>'body_fr'), ' ' ORDER BY n)
    FROM jsonb_array_elements(CASE jsonb_typeof(sections) WHEN 'array' THEN sections ELSE '[]' END)
         WITH ORDINALITY AS e(s, n)
$$;

-- A charter's sections in one language: each heading and body in lang (ar, en or fr) where it is
-- given, else as given.
CREATE FUNCTION sharaka_sections_in(sections jsonb, lang text) RETURNS json
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT coalesce(json_agg(json_build_object(
               'heading', coalesce(s->>('heading_' || lang), s->>'heading'),
               'body', coalesce(s->>('body_' || lang), s->>'body')) ORDER BY n), '[]')
    FROM jsonb_array_elements(CASE jsonb_typeof(sections) WHEN 'array' THEN sections ELSE '[]' END)
         WITH ORDINALITY AS e(s, n)
$$;

-- ---------------------------------------------------------------- organizations
ALTER TABLE organizations
    DROP COLUMN search,
    ADD COLUMN description_ar text CHECK (length(description_ar) <= 10000),
    ADD COLUMN description_en text CHECK (length(description_en) <= 10000),
    ADD COLUMN description_fr text CHECK (length(description_fr) <= 10000),
    ADD COLUMN search tsvector GENERATED ALWAYS AS (sharaka_tsv(
        name, name_ar, name_en, name_fr, acronym, description, description_ar, description_en,
        description_fr)) STORED;
CREATE INDEX organizations_search ON organizations USING gin (search);

-- ---------------------------------------------------------------- partnership types
ALTER TABLE partnership_types
    DROP COLUMN search,
    ADD COLUMN description_ar text CHECK (length(description_ar) <= 10000),
    ADD COLUMN description_en text CHECK (length(description_en) <= 10000),
    ADD COLUMN description_fr text CHECK (length(description_fr) <= 10000),
    ADD COLUMN search tsvector GENERATED ALWAYS AS (sharaka_tsv(
        code, name, name_ar, name_en, name_fr, description, description_ar, description_en,
        description_fr)) STORED;
CREATE INDEX partnership_types_search ON partnership_types USING gin (search);

-- ---------------------------------------------------------------- partnerships
ALTER TABLE partnerships
    DROP COLUMN search,
    ADD COLUMN title_en text CHECK (length(title_en) <= 500),
    ADD COLUMN title_fr text CHECK (length(title_fr) <= 500),
    ADD COLUMN description_ar text CHECK (length(description_ar) <= 10000),
    ADD COLUMN description_en text CHECK (length(description_en) <= 10000),
    ADD COLUMN description_fr text CHECK (length(description_fr) <= 10000),
    ADD COLUMN search tsvector GENERATED ALWAYS AS (sharaka_tsv(
        title, title_ar, title_en, title_fr, programme, description, description_ar,
        description_en, description_fr)) STORED;
CREATE INDEX partnerships_search ON partnerships USING gin (search);
CREATE INDEX partnerships_title_en_fold ON partnerships USING gin (sharaka_fold(title_en) gin_trgm_ops);
CREATE INDEX partnerships_title_fr_fold ON partnerships USING gin (sharaka_fold(title_fr) gin_trgm_ops);

-- ---------------------------------------------------------------- charters
ALTER TABLE charters
    DROP COLUMN search,
    ADD COLUMN title_en text CHECK (length(title_en) <= 500),
    ADD COLUMN title_fr text CHECK (length(title_fr) <= 500),
    ADD COLUMN summary_ar text CHECK (length(summary_ar) <= 10000),
    ADD COLUMN summary_en text CHECK (length(summary_en) <= 10000),
    ADD COLUMN summary_fr text CHECK (length(summary_fr) <= 10000),
    ADD COLUMN search tsvector GENERATED ALWAYS AS (sharaka_tsv(
        title, title_ar, title_en, title_fr, summary, summary_ar, summary_en, summary_fr,
        sharaka_sections_text(sections))) STORED;
CREATE INDEX charters_search ON charters USING gin (search);
CREATE INDEX charters_title_en_fold ON charters USING gin (sharaka_fold(title_en) gin_trgm_ops);
CREATE INDEX charters_title_fr_fold ON charters USING gin (sharaka_fold(title_fr) gin_trgm_ops);
