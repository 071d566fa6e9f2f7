/* stats.c - GET /v1/stats/partnerships and /v1/stats/monitoring: counts (and amounts summed per
 * currency) grouped by one or two keys, over the same filters as the lists. */
#include <stdlib.h>
#include <string.h>

#include "sharaka/access.h"
#include "sharaka/db.h"
#include "sharaka/handlers.h"
#include "sharaka/query.h"
#include "sharaka/sql.h"
#include "sharaka/resource.h"
#include "sharaka/router.h"

/* A grouping key: its name in group_by and in the answer, and its SQL expression (alias a). */
struct group_key {
    const char *name;
    const char *output;
    const char *expr;
    const char *join; /* extra FROM item it needs, or NULL */
};

static const struct group_key partnership_keys[] = {
    {"type", "type_id", "a.type_id", NULL},
    {"ministry", "ministry_id", "a.ministry_id", NULL},
    {"status", "status", "a.status", NULL},
    {"year", "year", "extract(year FROM a.start_date)::int", NULL},
    {"governorate", "governorate", "g.governorate::text",
     " LEFT JOIN LATERAL unnest(a.governorates) AS g(governorate) ON true"},
};

static const struct group_key monitoring_keys[] = {
    {"rating", "rating", "a.rating", NULL},
    {"ministry", "ministry_id", "sp.ministry_id", NULL},
    {"status", "status", "a.status", NULL},
};

struct stats_kind {
    const char *name;
    const struct resource *res;
    const struct group_key *keys;
    size_t nkeys;
    bool amounts;
    const char *join;
};

const struct stats_kind stats_partnerships_kind = {"partnerships",
                                                   &partnerships_resource,
                                                   partnership_keys,
                                                   ARRAY_LEN(partnership_keys),
                                                   true,
                                                   NULL};
const struct stats_kind stats_monitoring_kind = {
    "monitoring",    &monitoring_records_resource,
    monitoring_keys, ARRAY_LEN(monitoring_keys),
    false,           " JOIN partnerships sp ON sp.id = a.partnership_id"};

static const struct group_key *
find_key(const struct stats_kind *k, const char *name, size_t len)
{
    for (size_t i = 0; i < k->nkeys; i++)
        if (strlen(k->keys[i].name) == len && strncmp(k->keys[i].name, name, len) == 0)
            return &k->keys[i];
    return NULL;
}

/* A checked statistics request: the grouping keys, the output format and the list filters. */
struct stats_query {
    const struct group_key *group[2];
    int ngroup;
    bool csv;
    struct list_query q;
};

/* Reads group_by into sq; false with err set. allowed lists the kind's keys, for messages. */
static bool
parse_group_by(const struct stats_kind *kind, const char *v, const char *allowed,
               struct stats_query *sq, struct error *err)
{
    size_t vlen = strlen(v);
    if (vlen == 0 || v[0] == ',' || v[vlen - 1] == ',')
        return error_set(err, 400, "invalid-parameter",
                         "group_by takes one or two different keys of: %s", allowed);
    for (const char *p = v; *p && sq->ngroup <= 2;) {
        size_t n = strcspn(p, ",");
        const struct group_key *g = find_key(kind, p, n);
        if (g == NULL || sq->ngroup == 2 || (sq->ngroup == 1 && sq->group[0] == g))
            return error_set(err, 400, "invalid-parameter",
                             "group_by takes one or two different keys of: %s", allowed);
        sq->group[sq->ngroup++] = g;
        p += n;
        if (*p == ',')
            p++;
    }
    return true;
}

/* Checks the request's parameters: group_by, format, and the list filters of the resource. */
static bool
parse_stats(struct request *r, const struct stats_kind *kind, struct stats_query *sq,
            struct error *err)
{
    struct query_arg args[QUERY_MAX_ARGS] = {{0}};
    struct query_arg filters[QUERY_MAX_ARGS] = {{0}};
    struct buf allowed = {0};
    int nargs = 0, nfilters = 0;
    bool ok = false;

    for (size_t i = 0; i < kind->nkeys; i++)
        buf_printf(&allowed, "%s%s", i ? ", " : "", kind->keys[i].name);
    if (!http_query_args(r, args, QUERY_MAX_ARGS, &nargs, err))
        goto out;
    for (int i = 0; i < nargs; i++) {
        const char *k = args[i].key, *v = args[i].value;
        if (strcmp(k, "group_by") == 0) {
            if (!parse_group_by(kind, v, allowed.data, sq, err))
                goto out;
        } else if (strcmp(k, "format") == 0) {
            if (strcmp(v, "csv") != 0 && strcmp(v, "json") != 0) {
                error_set(err, 400, "invalid-parameter", "format must be json or csv");
                goto out;
            }
            sq->csv = strcmp(v, "csv") == 0;
        } else if (strcmp(k, "limit") == 0 || strcmp(k, "cursor") == 0 || strcmp(k, "sort") == 0 ||
                   strcmp(k, "fields") == 0 || strcmp(k, "include") == 0 ||
                   strcmp(k, "count") == 0) {
            error_set(err, 400, "unknown-parameter",
                      "'%s' does not apply to statistics; allowed: group_by, format and the list "
                      "filters of %s",
                      k, kind->res->name);
            goto out;
        } else {
            filters[nfilters++] = args[i];
        }
    }
    if (sq->ngroup == 0) {
        error_set(err, 400, "invalid-parameter", "group_by is required: one or two of %s",
                  allowed.data);
        goto out;
    }
    const char *accept = http_header(r, MHD_HTTP_HEADER_ACCEPT);
    if (accept != NULL && strstr(accept, "text/csv") != NULL && http_query(r, "format") == NULL)
        sq->csv = true;
    if (!query_parse(&r->arena, kind->res, filters, nfilters, true, false, &sq->q, err)) {
        struct buf names = {0};
        buf_puts(&names, "group_by, format, q");
        query_allowed_filters(&names, kind->res, true);
        query_restate_allowed(err, names.data);
        buf_free(&names);
        goto out;
    }
    ok = true;
out:
    buf_free(&allowed);
    return ok;
}

/* Appends the group columns "k0, k1": followed by ", " when trailing. */
static void
key_list(struct sql *s, int n, bool trailing)
{
    for (int i = 0; i < n; i++)
        buf_printf(&s->text, "%sk%d", i ? ", " : "", i);
    if (trailing && n > 0)
        buf_puts(&s->text, ", ");
}

/* The statement: counts per group and currency, the currencies folded into one object per
 * group, the groups as one JSON array or CSV text. */
static void
build_stats(struct sql *s, struct arena *a, const struct stats_kind *kind,
            const struct stats_query *sq)
{
    int ng = sq->ngroup;
    buf_puts(&s->text, "WITH f AS (SELECT ");
    for (int i = 0; i < ng; i++)
        buf_printf(&s->text, "%s AS k%d, ", sq->group[i]->expr, i);
    buf_printf(&s->text, "%s FROM %s a%s",
               kind->amounts ? "a.amount, a.currency"
                             : "NULL::numeric "
                               "AS amount, NULL::text AS currency",
               kind->res->table, kind->join ? kind->join : "");
    for (int i = 0; i < ng; i++)
        if (sq->group[i]->join)
            buf_puts(&s->text, sq->group[i]->join);
    sql_build_where(s, a, kind->res, &sq->q);
    buf_puts(&s->text, "), g AS (SELECT ");
    key_list(s, ng, true);
    buf_puts(&s->text, "currency, count(*) AS n, sum(amount) AS total FROM f GROUP BY ");
    key_list(s, ng, true);
    buf_puts(&s->text, "currency), x AS (SELECT ");
    key_list(s, ng, true);
    buf_puts(&s->text, "sum(n)::bigint AS n, coalesce(json_object_agg(currency, total::text) "
                       "FILTER (WHERE currency IS NOT NULL), '{}') AS amounts FROM g GROUP BY ");
    key_list(s, ng, false);
    buf_puts(&s->text, ") SELECT ");
    if (sq->csv) {
        buf_puts(&s->text, "coalesce(string_agg(concat_ws(','");
        for (int i = 0; i < ng; i++)
            buf_printf(&s->text, ", sharaka_csv(k%d::text)", i);
        buf_printf(&s->text, ", n::text%s), E'\\r\\n' ORDER BY ",
                   kind->amounts ? ", sharaka_csv(amounts::text)" : "");
    } else {
        buf_puts(&s->text, "coalesce('[' || string_agg(json_build_object(");
        for (int i = 0; i < ng; i++)
            buf_printf(&s->text, "'%s', k%d, ", sq->group[i]->output, i);
        buf_printf(&s->text, "'count', n%s)::text, ',' ORDER BY ",
                   kind->amounts ? ", 'amounts', amounts" : "");
    }
    for (int i = 0; i < ng; i++)
        buf_printf(&s->text, "%sk%d NULLS LAST", i ? ", " : "", i);
    buf_puts(&s->text, sq->csv ? ") || E'\\r\\n', '') FROM x" : ") || ']', '[]') FROM x");
}

/* Sends the statement's text with its header: a CSV header line, or the JSON envelope. */
static void
answer_stats(struct request *r, const struct stats_kind *kind, const struct stats_query *sq,
             PGresult *pg)
{
    struct buf head = {0};
    struct MHD_IoVec iov[3];
    size_t len = (size_t)PQgetlength(pg, 0, 0);
    if (sq->csv) {
        buf_puts(&head, "\xEF\xBB\xBF"); /* UTF-8 byte-order mark, for spreadsheets */
        for (int i = 0; i < sq->ngroup; i++)
            buf_printf(&head, "%s,", sq->group[i]->output);
        buf_printf(&head, "count%s\r\n", kind->amounts ? ",amounts" : "");
        iov[0] = (struct MHD_IoVec){head.data, head.len};
        iov[1] = (struct MHD_IoVec){PQgetvalue(pg, 0, 0), len};
        http_iov(r, 200, "text/csv; charset=utf-8", iov, 2, pg, buf_take(&head));
    } else {
        buf_puts(&head, "{\"group_by\":[");
        for (int i = 0; i < sq->ngroup; i++)
            buf_printf(&head, "%s\"%s\"", i ? "," : "", sq->group[i]->name);
        buf_puts(&head, "],\"data\":");
        iov[0] = (struct MHD_IoVec){head.data, head.len};
        iov[1] = (struct MHD_IoVec){PQgetvalue(pg, 0, 0), len};
        iov[2] = (struct MHD_IoVec){"}", 1};
        http_iov(r, 200, "application/json", iov, 3, pg, buf_take(&head));
    }
}

/*
 * True when a request to /v1/stats/partnerships is of the general statistics: a sum, avg, min or
 * max, a spreadsheet, or a group_by key that is a field rather than one of this endpoint's own
 * names.
 */
static bool
general(struct request *r, const struct stats_kind *kind)
{
    static const char *const metrics[] = {"sum", "avg", "min", "max"};
    if (kind->res != &partnerships_resource)
        return false;
    const char *format = http_query(r, "format");
    if ((format != NULL && strcmp(format, "xlsx") == 0) || http_query(r, "lang") != NULL)
        return true;
    for (size_t i = 0; i < ARRAY_LEN(metrics); i++)
        if (http_query(r, metrics[i]) != NULL)
            return true;
    const char *by = http_query(r, "group_by");
    for (const char *p = by ? by : ""; *p;) {
        size_t n = strcspn(p, ",");
        if (find_key(kind, p, n) == NULL)
            return true;
        p += n;
        if (*p == ',')
            p++;
    }
    return false;
}

void
stats_get(struct request *r)
{
    const struct stats_kind *kind = r->route->arg;
    if (general(r, kind)) {
        stats_of(r, kind->res);
        return;
    }
    struct error err = {0};
    struct stats_query sq = {0};
    struct sql s = {0};
    PGresult *pg = NULL;

    if (!parse_stats(r, kind, &sq, &err))
        goto out;
    build_stats(&s, &r->arena, kind, &sq);
    struct db_conn *c = db_thread_conn(&err);
    if (c == NULL)
        goto out;
    pg = db_exec_sql(c, s.text.data, s.nparams, s.params, &err);
    if (pg == NULL)
        goto out;
    answer_stats(r, kind, &sq, pg); /* takes pg */
    pg = NULL;
out:
    http_error(r, &err);
    PQclear(pg);
    sql_free(&s);
}
