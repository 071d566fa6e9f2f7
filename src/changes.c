/* changes.c - GET /v1/changes: the change feed partner networks keep their copies in sync with.
 *
 * Writers' triggers append (xid, seq) rows in their own transactions. A reader returns only rows
 * whose transaction id is below the oldest transaction still running, in (xid, seq) order: every
 * such transaction has ended, so nothing can later appear behind the cursor. A transaction that
 * started early and commits late holds the horizon back until it commits; it is never skipped. */
#include <stdlib.h>
#include <string.h>

#include "sharaka/changes.h"
#include "sharaka/db.h"
#include "sharaka/handlers.h"
#include "sharaka/query.h"
#include "sharaka/sql.h"
#include "sharaka/resource.h"

#define CHANGES_DEFAULT_LIMIT 100
#define CHANGES_MAX_LIMIT     1000

static char *statement; /* the feed's SQL, built once from the descriptors */

void
changes_item_sql(struct sql *s, const char *p)
{
    buf_printf(&s->text,
               "json_build_object('cursor', %s.xid::text || '-' || %s.seq, 'resource', "
               "%s.resource, 'id', %s.record_id, 'op', %s.op, 'version', %s.version, "
               "'changed_at', to_char(%s.changed_at AT TIME ZONE 'UTC', "
               "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), 'record', CASE WHEN %s.op = 'delete' "
               "THEN NULL ELSE CASE %s.resource",
               p, p, p, p, p, p, p, p, p);
    for (size_t i = 0; i < resources_count; i++) {
        buf_printf(&s->text, " WHEN '%s' THEN (SELECT ", resources_all[i]->name);
        sql_row_json(s, resources_all[i], "a", true, NULL);
        buf_printf(&s->text, " FROM %s a WHERE a.id = %s.record_id)", resources_all[i]->table, p);
    }
    buf_puts(&s->text, " END END)");
}

void
changes_init(void)
{
    struct sql s = {0};
    buf_puts(&s.text,
             "WITH page AS (SELECT c.seq, c.xid, c.resource, c.record_id, c.op, c.version, "
             "c.changed_at, row_number() OVER (ORDER BY c.xid, c.seq) AS rn FROM changes c "
             "WHERE c.xid < pg_snapshot_xmin(pg_current_snapshot()) "
             "AND (c.xid, c.seq) > ($1::xid8, $2::bigint) AND c.resource = ANY($3::text[]) "
             "ORDER BY c.xid, c.seq LIMIT $4::int + 1) "
             "SELECT coalesce(string_agg(");
    changes_item_sql(&s, "p");
    buf_puts(&s.text,
             "::text, $5 ORDER BY p.rn) FILTER (WHERE p.rn <= $4::int), ''), "
             "(array_agg(p.xid::text || '-' || p.seq ORDER BY p.rn DESC) FILTER (WHERE p.rn <= "
             "$4::int))[1], count(*) > $4::int FROM page p");
    statement = buf_take(&s.text);
}

/*
 * Parses "xid-seq" (two non-negative decimal numbers, nothing else) and writes both back in
 * canonical form, so only text this server made is ever echoed. "" or NULL is the beginning.
 */
static bool
parse_cursor(const char *cursor, char *xid, char *seq, size_t len)
{
    int64_t a = 0, b = 0;
    if (cursor != NULL && *cursor != '\0') {
        const char *dash = strchr(cursor, '-');
        char head[24];
        if (dash == NULL || dash == cursor || (size_t)(dash - cursor) >= sizeof(head))
            return false;
        memcpy(head, cursor, (size_t)(dash - cursor));
        head[dash - cursor] = '\0';
        if (head[0] == '-' || dash[1] == '-' || !str_parse_i64(head, &a) ||
            !str_parse_i64(dash + 1, &b) || a < 0 || b < 0)
            return false;
    }
    snprintf(xid, len, "%lld", (long long)a);
    snprintf(seq, len, "%lld", (long long)b);
    return true;
}

static enum MHD_Result
check_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    const char **bad = cls;
    if (strcmp(key, "after") != 0 && strcmp(key, "resources") != 0 && strcmp(key, "limit") != 0) {
        *bad = key;
        return MHD_NO;
    }
    return MHD_YES;
}

/* The PostgreSQL array literal of the resources asked for (all of them when none is named);
 * false with err set when one is not in the feed. */
static bool
parse_resources(const char *wanted, struct buf *names, struct error *err)
{
    buf_putc(names, '{');
    if (wanted == NULL || *wanted == '\0') {
        resource_names(names, ",");
        buf_putc(names, '}');
        return true;
    }
    for (const char *p = wanted; *p;) {
        size_t n = strcspn(p, ",");
        const struct resource *res = resource_by_name(p, n);
        if (res == NULL) {
            struct buf all = {0};
            resource_names(&all, ", ");
            error_set(err, 400, "invalid-parameter",
                      "resources: '%.*s' is not in the feed; allowed: %s", (int)n, p, all.data);
            buf_free(&all);
            return false;
        }
        buf_printf(names, "%s%s", names->len > 1 ? "," : "", res->name);
        p += n;
        if (*p == ',')
            p++;
    }
    buf_putc(names, '}');
    return true;
}

/* Sends the page (takes pg): NDJSON lines, or the JSON envelope with the next cursor. */
static void
answer_changes(struct request *r, PGresult *pg, const char *xid, const char *seq, bool ndjson)
{
    const char *next =
        PQgetisnull(pg, 0, 1) ? arena_printf(&r->arena, "%s-%s", xid, seq) : PQgetvalue(pg, 0, 1);
    bool more = strcmp(PQgetvalue(pg, 0, 2), "t") == 0;
    const char *next_copy = arena_strdup(&r->arena, next);
    http_add_header(r, "X-Next-Cursor", next_copy);
    struct buf tail = {0};
    struct MHD_IoVec iov[3];
    size_t len = (size_t)PQgetlength(pg, 0, 0);
    if (ndjson) {
        iov[0] = (struct MHD_IoVec){PQgetvalue(pg, 0, 0), len};
        buf_puts(&tail, len ? "\n" : "");
        iov[1] = (struct MHD_IoVec){tail.data ? tail.data : "", tail.len};
        http_add_header(r, "X-Has-More", more ? "true" : "false");
        http_iov(r, 200, "application/x-ndjson", iov, 2, pg, buf_take(&tail));
    } else {
        buf_printf(&tail, "],\"next_cursor\":\"%s\",\"has_more\":%s}", next_copy,
                   more ? "true" : "false");
        iov[0] = (struct MHD_IoVec){"{\"data\":[", 9};
        iov[1] = (struct MHD_IoVec){PQgetvalue(pg, 0, 0), len};
        iov[2] = (struct MHD_IoVec){tail.data, tail.len};
        http_iov(r, 200, "application/json", iov, 3, pg, buf_take(&tail));
    }
}

void
changes_list(struct request *r)
{
    struct error err = {0};
    PGresult *pg = NULL;
    char xid[24], seq[24];
    const char *bad = NULL;
    struct buf names = {0};
    int64_t limit = CHANGES_DEFAULT_LIMIT;

    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, check_arg, &bad);
    if (bad != NULL) {
        error_set(&err, 400, "unknown-parameter",
                  "unknown query parameter '%s'; allowed: after, resources, limit", bad);
        goto out;
    }
    const char *after = http_query(r, "after");
    const char *lim = http_query(r, "limit");
    if (!parse_cursor(after, xid, seq, sizeof(xid))) {
        error_set(&err, 400, "invalid-cursor",
                  "after must be a cursor from this feed, e.g. 1234-56; omit it to start over");
        goto out;
    }
    if (lim != NULL && (!str_parse_i64(lim, &limit) || limit < 1 || limit > CHANGES_MAX_LIMIT)) {
        error_set(&err, 400, "invalid-limit", "limit must be a number from 1 to %d",
                  CHANGES_MAX_LIMIT);
        goto out;
    }
    if (!parse_resources(http_query(r, "resources"), &names, &err))
        goto out;
    const char *accept = http_header(r, MHD_HTTP_HEADER_ACCEPT);
    bool ndjson = accept != NULL && strstr(accept, "application/x-ndjson") != NULL;
    char limit_text[16];
    snprintf(limit_text, sizeof(limit_text), "%lld", (long long)limit);
    const char *values[] = {xid, seq, names.data, limit_text, ndjson ? "\n" : ","};
    struct db_conn *c = db_thread_conn(&err);
    if (c == NULL)
        goto out;
    pg = db_exec_sql(c, statement, 5, values, &err);
    if (pg == NULL)
        goto out;
    answer_changes(r, pg, xid, seq, ndjson);
    pg = NULL;
out:
    http_error(r, &err);
    PQclear(pg);
    buf_free(&names);
}
