/* documents.c - the triggers that keep each record's JSON beside it, made from the descriptors. */
#include "sharaka/documents.h"

#include <stdio.h>
#include <string.h>

#include "sharaka/sql.h"
#include "sharaka/util.h"

/* The statement that writes the documents of res's records a; rows follows "FROM t a": a WHERE
 * for one record, or the ORDER BY in which all of them are written. */
static void
write_documents(struct buf *b, const struct resource *res, const char *rows)
{
    struct sql pub = {0}, internal = {0};
    sql_row_json(&pub, res, "a", false, NULL);
    sql_row_json(&internal, res, "a", true, NULL);
    buf_printf(b,
               "INSERT INTO %s_documents (id, public, internal) SELECT a.id, (%s)::text, "
               "(%s)::text FROM %s a%s ON CONFLICT (id) DO UPDATE SET public = EXCLUDED.public, "
               "internal = EXCLUDED.internal",
               res->table, pub.text.data, internal.text.data, res->table, rows);
    sql_free(&pub);
    sql_free(&internal);
}

/*
 * " ORDER BY" the resource's default sort: the documents of all records are written in the order
 * lists and exports read them by default, so that such a read finds them side by side on disk
 * rather than one page each. default_sort is a descriptor's "field,-other".
 */
static void
default_order(struct buf *b, const struct resource *res)
{
    const char *p = res->default_sort != NULL ? res->default_sort : "";
    buf_puts(b, " ORDER BY ");
    while (*p != '\0') {
        bool desc = *p == '-';
        p += desc;
        size_t n = strcspn(p, ",");
        buf_printf(b, "a.%.*s%s, ", (int)n, p, desc ? " DESC" : "");
        p += n + (p[n] == ',');
    }
    buf_puts(b, "a.id");
}

/*
 * The definition of res's triggers: a function that writes the documents of one record from its
 * row, the trigger on the table, and one on the link table when there is one. Identifiers come
 * from the descriptors only.
 */
static void
definition(struct buf *b, const struct resource *res)
{
    buf_printf(b,
               "CREATE OR REPLACE FUNCTION sharaka_document_refresh_%s(uuid) RETURNS void "
               "LANGUAGE sql AS $fn$ ",
               res->table);
    write_documents(b, res, " WHERE a.id = $1");
    buf_puts(b, " $fn$;\n");
    buf_printf(b,
               "CREATE OR REPLACE FUNCTION sharaka_document_%s() RETURNS trigger LANGUAGE plpgsql "
               "AS $fn$ BEGIN PERFORM sharaka_document_refresh_%s(NEW.id); RETURN NULL; END "
               "$fn$;\n"
               "CREATE OR REPLACE TRIGGER %s_document AFTER INSERT OR UPDATE ON %s FOR EACH ROW "
               "EXECUTE FUNCTION sharaka_document_%s();\n",
               res->table, res->table, res->table, res->table, res->table);
    if (res->link != NULL) {
        const struct link *l = res->link;
        buf_printf(b,
                   "CREATE OR REPLACE FUNCTION sharaka_document_%s() RETURNS trigger LANGUAGE "
                   "plpgsql AS $fn$ BEGIN IF TG_OP <> 'INSERT' THEN PERFORM "
                   "sharaka_document_refresh_%s(OLD.%s); END IF; IF TG_OP <> 'DELETE' THEN "
                   "PERFORM sharaka_document_refresh_%s(NEW.%s); END IF; RETURN NULL; END $fn$;\n"
                   "CREATE OR REPLACE TRIGGER %s_document AFTER INSERT OR UPDATE OR DELETE ON %s "
                   "FOR EACH ROW EXECUTE FUNCTION sharaka_document_%s();\n",
                   l->table, res->table, l->owner, res->table, l->owner, l->table, l->table,
                   l->table);
    }
}

/* The definition res's triggers were made from, or NULL (none yet, or no table: *failed). */
static char *
recorded(PGconn *pg, const struct resource *res, bool *failed)
{
    const char *values[] = {res->name};
    PGresult *r = PQexecParams(pg, "SELECT definition FROM sharaka_documents WHERE resource = $1",
                               1, NULL, values, NULL, NULL, 0);
    char *out = NULL;
    *failed = PQresultStatus(r) != PGRES_TUPLES_OK;
    if (*failed)
        fprintf(stderr, "sharaka: reading sharaka_documents failed: %s", PQresultErrorMessage(r));
    else if (PQntuples(r) == 1)
        out = xstrdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    return out;
}

/* True when res's triggers are made from its descriptor as it is; *failed on a database error. */
static bool
current(PGconn *pg, const struct resource *res, const char *def, bool *failed)
{
    char *was = recorded(pg, res, failed);
    bool same = was != NULL && strcmp(was, def) == 0;
    free(was);
    return same;
}

int
documents_stale(PGconn *pg)
{
    int stale = 0;
    for (size_t i = 0; i < resources_count; i++) {
        struct buf def = {0};
        bool failed;
        definition(&def, resources_all[i]);
        if (!current(pg, resources_all[i], def.data, &failed))
            stale++;
        buf_free(&def);
        if (failed)
            return -1;
    }
    return stale;
}

static bool
exec_step(PGconn *pg, const char *sql, int nparams, const char *const *values, const char *what,
          const struct resource *res, char *rows)
{
    PGresult *r =
        nparams ? PQexecParams(pg, sql, nparams, NULL, values, NULL, NULL, 0) : PQexec(pg, sql);
    ExecStatusType st = PQresultStatus(r);
    bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok)
        fprintf(stderr, "sharaka: %s for %s failed: %s", what, res->name, PQresultErrorMessage(r));
    else if (rows != NULL)
        snprintf(rows, 24, "%s", PQcmdTuples(r));
    PQclear(r);
    return ok;
}

/* Makes res's triggers from def and writes the documents of all its records, in one transaction. */
static bool
install(PGconn *pg, const struct resource *res, const char *def)
{
    char rows[24] = "0";
    uint64_t t0 = now_us_monotonic();
    struct buf fill = {0}, order = {0};
    default_order(&order, res);
    write_documents(&fill, res, order.data);
    buf_free(&order);
    const char *values[] = {res->name, def};
    /* Writing every document of a large table takes what it takes. */
    bool ok = exec_step(pg, "BEGIN", 0, NULL, "starting", res, NULL) &&
              exec_step(pg, "SET LOCAL statement_timeout = 0", 0, NULL, "starting", res, NULL) &&
              exec_step(pg, def, 0, NULL, "making the document triggers", res, NULL) &&
              exec_step(pg, fill.data, 0, NULL, "writing the documents", res, rows) &&
              exec_step(pg,
                        "INSERT INTO sharaka_documents (resource, definition) VALUES ($1, $2) "
                        "ON CONFLICT (resource) DO UPDATE SET definition = EXCLUDED.definition, "
                        "made_at = now()",
                        2, values, "recording the definition", res, NULL) &&
              exec_step(pg, "COMMIT", 0, NULL, "committing", res, NULL);
    if (!ok)
        (void)exec_step(pg, "ROLLBACK", 0, NULL, "rolling back", res, NULL);
    else
        printf("documents of %s made anew: %s records (%.1f ms)\n", res->name, rows,
               (double)(now_us_monotonic() - t0) / 1000.0);
    buf_free(&fill);
    return ok;
}

bool
documents_install(PGconn *pg)
{
    for (size_t i = 0; i < resources_count; i++) {
        struct buf def = {0};
        bool failed;
        definition(&def, resources_all[i]);
        bool ok = current(pg, resources_all[i], def.data, &failed);
        if (!ok && !failed)
            ok = install(pg, resources_all[i], def.data);
        buf_free(&def);
        if (!ok)
            return false;
    }
    return true;
}
