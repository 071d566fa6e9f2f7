-- 0011_text_filters.sql: indexes for the folded text filters (.contains, .startswith) on names and
-- titles, and the typeahead search (the last word of q as a prefix).

-- Trigram indexes on the folded text answer LIKE '%...%' and LIKE '...%' without a scan, for the
-- expression the list statements use: sharaka_fold(column).
CREATE INDEX organizations_name_fold ON organizations USING gin (sharaka_fold(name) gin_trgm_ops);
CREATE INDEX organizations_name_ar_fold ON organizations USING gin (sharaka_fold(name_ar) gin_trgm_ops);
CREATE INDEX organizations_name_en_fold ON organizations USING gin (sharaka_fold(name_en) gin_trgm_ops);
CREATE INDEX organizations_name_fr_fold ON organizations USING gin (sharaka_fold(name_fr) gin_trgm_ops);
CREATE INDEX ministries_name_fold ON ministries USING gin (sharaka_fold(name) gin_trgm_ops);
CREATE INDEX ministries_name_ar_fold ON ministries USING gin (sharaka_fold(name_ar) gin_trgm_ops);
CREATE INDEX ministries_name_en_fold ON ministries USING gin (sharaka_fold(name_en) gin_trgm_ops);
CREATE INDEX ministries_name_fr_fold ON ministries USING gin (sharaka_fold(name_fr) gin_trgm_ops);
CREATE INDEX partnerships_title_fold ON partnerships USING gin (sharaka_fold(title) gin_trgm_ops);
CREATE INDEX partnerships_title_ar_fold ON partnerships USING gin (sharaka_fold(title_ar) gin_trgm_ops);
CREATE INDEX charters_title_fold ON charters USING gin (sharaka_fold(title) gin_trgm_ops);
CREATE INDEX charters_title_ar_fold ON charters USING gin (sharaka_fold(title_ar) gin_trgm_ops);
CREATE INDEX monitoring_records_indicator_fold ON monitoring_records
    USING gin (sharaka_fold(indicator) gin_trgm_ops);

-- The search as one types: every word of q as sharaka_tsq reads it, and the last word also as
-- the beginning of a word ("yout" finds Youth, "جمع" finds جمعية), unless q ends with a space
-- (the word is finished). The prefix is matched on the folded words of the search document;
-- "or" before the last word keeps its meaning.
CREATE FUNCTION sharaka_tsq_typeahead(q text) RETURNS tsquery
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE STRICT AS $$
DECLARE
    head text;
    last text;
    prefix tsquery;
BEGIN
    -- a finished word, a quoted phrase or an excluded word (-word) is read as typed
    IF q ~ '\s$' OR btrim(q) = '' OR position('"' IN q) > 0 THEN
        RETURN sharaka_tsq(q);
    END IF;
    last := substring(q FROM '(\S+)$');
    IF last ~ '^-' THEN
        RETURN sharaka_tsq(q);
    END IF;
    head := left(q, length(q) - length(last));
    -- the last word's lexemes as the simple parser splits them, each a prefix
    SELECT string_agg(quote_literal(t.lexeme) || ':*', ' & ' ORDER BY t.lexeme)::tsquery
    INTO prefix
    FROM unnest(to_tsvector('simple'::regconfig, sharaka_fold(last))) t;
    IF prefix IS NULL THEN -- no word in it (punctuation, a quote): as typed
        RETURN sharaka_tsq(q);
    END IF;
    prefix := prefix || sharaka_tsq(last);
    -- "akkar or beir": the words before "or" or the prefix
    IF head ~* '(^|\s)or\s+$' THEN
        head := regexp_replace(head, '(^|\s)or\s+$', '', 'i');
        IF btrim(head) = '' OR numnode(sharaka_tsq(head)) = 0 THEN
            RETURN prefix;
        END IF;
        RETURN sharaka_tsq(head) || prefix;
    END IF;
    IF btrim(head) = '' OR numnode(sharaka_tsq(head)) = 0 THEN
        RETURN prefix;
    END IF;
    RETURN sharaka_tsq(head) && prefix;
END
$$;
