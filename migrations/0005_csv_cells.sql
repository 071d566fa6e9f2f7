-- One CSV cell (RFC 4180), safe to open in a spreadsheet: a text starting with =, +, -, @, tab or
-- carriage return would be read as a formula, so it is prefixed with a single quote (OWASP CSV
-- injection). The cell is quoted when it holds a quote, comma, line break or outer space. Numbers
-- do not pass through here: they are written as they are.
CREATE OR REPLACE FUNCTION sharaka_csv(v text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN v IS NULL THEN ''
                WHEN w ~ '[",\r\n]' OR w <> btrim(w) THEN '"' || replace(w, '"', '""') || '"'
                ELSE w END
    FROM (SELECT CASE WHEN v ~ '^[=+@\t\r-]' THEN '''' || v ELSE v END AS w) AS cell
$$;
