/* read.c - GET of a list and of one record, for every resource, from its descriptor. */
#include "sharaka/engine.h"

#include <stdlib.h>
#include <string.h>

#include "sharaka/cursor.h"
#include "sharaka/sql.h"
#include "sharaka/values.h"

static void
url_encode(struct buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~' || c == ',')
            buf_putc(b, (char)c);
        else
            buf_printf(b, "%%%c%c", hex[c >> 4], hex[c & 15]);
    }
}

static const char *
next_link(struct request *r, const struct arg_list *l, const char *cursor)
{
    struct buf b = {0};
    buf_printf(&b, "<%s?", r->path);
    for (int i = 0; i < l->n; i++) {
        if (strcmp(l->args[i].key, "cursor") == 0)
            continue;
        url_encode(&b, l->args[i].key);
        buf_putc(&b, '=');
        url_encode(&b, l->args[i].value);
        buf_putc(&b, '&');
    }
    buf_puts(&b, "cursor=");
    url_encode(&b, cursor);
    buf_puts(&b, ">; rel=\"next\"");
    const char *out = arena_strdup(&r->arena, b.data);
    buf_free(&b);
    return out;
}

/* Checks a list request: its parameters, the format the Accept header asks for when format= is
 * not given, and the sub-collection's parent id. */
static bool
parse_list(struct request *r, const struct resource *res, bool internal, struct arg_list *args,
           struct list_query *q, struct error *err)
{
    if (!engine_collect_args(r, args, err) ||
        !query_parse(&r->arena, res, args->args, args->n, internal, false, q, err))
        return false;
    bool format_given = false;
    for (int i = 0; i < args->n; i++)
        format_given |= strcmp(args->args[i].key, "format") == 0;
    const char *accept = http_header(r, MHD_HTTP_HEADER_ACCEPT);
    if (!format_given && accept != NULL) {
        if (strstr(accept, "text/csv") != NULL)
            q->format = FORMAT_CSV;
        else if (strstr(accept, "application/x-ndjson") != NULL)
            q->format = FORMAT_NDJSON;
    }
    q->parent_id = engine_parent_id(r, res);
    if (q->parent_id != NULL && !value_is_uuid(q->parent_id)) {
        engine_parent_not_found(err, res, q->parent_id);
        return false;
    }
    return true;
}

/* Sends the page the list statement returned (takes pg): the JSON envelope with the next
 * cursor and total, or CSV / NDJSON text with the total in a header; Link names the next page. */
static void
answer_list(struct request *r, const struct resource *res, bool internal,
            const struct arg_list *args, const struct list_query *q, PGresult *pg)
{
    const char *cursor = NULL;
    if (!PQgetisnull(pg, 0, 1)) {
        cursor = cursor_encode(&r->arena, q->sort_spec, PQgetvalue(pg, 0, 1));
        http_add_header(r, "Link", next_link(r, args, cursor));
    }
    const char *total = PQgetisnull(pg, 0, 2) ? NULL : PQgetvalue(pg, 0, 2);
    struct buf tail = {0};
    struct MHD_IoVec iov[3];
    if (q->format == FORMAT_JSON) {
        if (cursor != NULL)
            buf_printf(&tail, ",\"next_cursor\":\"%s\"", cursor);
        else
            buf_puts(&tail, ",\"next_cursor\":null");
        if (total != NULL)
            buf_printf(&tail, ",\"total\":%s", total);
        buf_putc(&tail, '}');
        iov[0] = (struct MHD_IoVec){"{\"data\":", 8};
        iov[1] = (struct MHD_IoVec){PQgetvalue(pg, 0, 0), (size_t)PQgetlength(pg, 0, 0)};
        iov[2] = (struct MHD_IoVec){tail.data, tail.len};
        http_iov(r, 200, "application/json", iov, 3, pg, buf_take(&tail));
        return;
    }
    if (total != NULL)
        http_add_header(r, "X-Total-Count", arena_strdup(&r->arena, total));
    unsigned int n = 0;
    if (q->format == FORMAT_CSV) {
        buf_puts(&tail, "\xEF\xBB\xBF"); /* UTF-8 byte-order mark, for spreadsheets */
        sql_csv_header(&tail, res, internal, q);
        buf_puts(&tail, "\r\n");
        iov[n++] = (struct MHD_IoVec){tail.data, tail.len};
    }
    iov[n++] = (struct MHD_IoVec){PQgetvalue(pg, 0, 0), (size_t)PQgetlength(pg, 0, 0)};
    http_iov(r, 200, q->format == FORMAT_CSV ? "text/csv; charset=utf-8" : "application/x-ndjson",
             iov, n, pg, buf_take(&tail));
}

/* The keyset of row i of a page sent one row per record, as the JSON array the cursor holds:
 * each sort key's text, then the id. */
static const char *
row_keyset(struct arena *a, const struct list_query *q, const PGresult *pg, int i)
{
    struct buf b = {0};
    buf_putc(&b, '[');
    for (int k = 1; k <= q->nsort + 1; k++) {
        if (k > 1)
            buf_puts(&b, ", ");
        if (PQgetisnull(pg, i, k)) {
            buf_puts(&b, "null");
            continue;
        }
        buf_putc(&b, '"');
        buf_json_escape(&b, PQgetvalue(pg, i, k), (size_t)PQgetlength(pg, i, k));
        buf_putc(&b, '"');
    }
    buf_putc(&b, ']');
    const char *out = arena_strdup(a, b.data);
    buf_free(&b);
    return out;
}

/* Sends a page the statement returned one row per record (takes pg): the rows' texts are sent
 * where they lie in the result, joined by the format's separators. */
static void
answer_rows(struct request *r, const struct resource *res, bool internal,
            const struct arg_list *args, const struct list_query *q, PGresult *pg)
{
    int rows = PQntuples(pg);
    const char *cursor = NULL;
    if (rows > q->limit) {
        rows = q->limit;
        cursor = cursor_encode(&r->arena, q->sort_spec, row_keyset(&r->arena, q, pg, rows - 1));
        http_add_header(r, "Link", next_link(r, args, cursor));
    }
    struct buf tail = {0};
    struct MHD_IoVec *iov = arena_alloc(&r->arena, sizeof(*iov) * ((size_t)rows * 2 + 2));
    unsigned int n = 0;
    const char *sep = q->format == FORMAT_CSV ? "\r\n" : "\n";
    const char *ctype =
        q->format == FORMAT_CSV ? "text/csv; charset=utf-8" : "application/x-ndjson";
    if (q->format == FORMAT_JSON) {
        sep = ",";
        ctype = "application/json";
        iov[n++] = (struct MHD_IoVec){"{\"data\":[", 9};
        buf_putc(&tail, ']');
        if (cursor != NULL)
            buf_printf(&tail, ",\"next_cursor\":\"%s\"", cursor);
        else
            buf_puts(&tail, ",\"next_cursor\":null");
        buf_putc(&tail, '}');
    } else if (q->format == FORMAT_CSV) {
        buf_puts(&tail, "\xEF\xBB\xBF"); /* UTF-8 byte-order mark, for spreadsheets */
        sql_csv_header(&tail, res, internal, q);
        buf_puts(&tail, "\r\n");
        iov[n++] = (struct MHD_IoVec){NULL, 0}; /* the header, once tail is complete */
    }
    for (int i = 0; i < rows; i++) {
        if (q->format == FORMAT_JSON && i > 0)
            iov[n++] = (struct MHD_IoVec){sep, 1};
        iov[n++] = (struct MHD_IoVec){PQgetvalue(pg, i, 0), (size_t)PQgetlength(pg, i, 0)};
        if (q->format != FORMAT_JSON)
            iov[n++] = (struct MHD_IoVec){sep, strlen(sep)};
    }
    if (q->format == FORMAT_JSON)
        iov[n++] = (struct MHD_IoVec){tail.data, tail.len};
    else if (q->format == FORMAT_CSV)
        iov[0] = (struct MHD_IoVec){tail.data, tail.len};
    http_iov(r, 200, ctype, iov, n, pg, buf_take(&tail));
}

/* What a read keeps while its statement is in flight: the statement lives in the arena. */
struct read_state {
    const struct resource *res;
    bool internal;
    const char *id;
    struct arg_list args;
    struct list_query q;
    const char *sql;
    const char *params[QUERY_MAX_PARAMS];
    int nparams;
};

static struct read_state *
read_state_new(struct request *r)
{
    struct read_state *st = arena_alloc(&r->arena, sizeof(*st));
    memset(st, 0, sizeof(*st));
    st->res = engine_resource_of(r);
    st->internal = engine_sees_internal(r);
    r->await_arg = st;
    return st;
}

/* Moves the statement built in s into the request's arena and sends it; done gets its result. */
static void
read_send(struct request *r, struct read_state *st, struct sql *s, http_done_fn done)
{
    st->sql = arena_strndup(&r->arena, s->text.data, s->text.len);
    st->nparams = s->nparams;
    memcpy(st->params, s->params, sizeof(st->params));
    sql_free(s);
    http_await(r, st->sql, st->nparams, st->params, done);
}

static void
list_answer(struct request *r, PGresult *pg, struct error *err)
{
    struct read_state *st = r->await_arg;
    if (pg == NULL)
        goto out;
    if (sql_list_by_rows(st->res, &st->q)) {
        answer_rows(r, st->res, st->internal, &st->args, &st->q, pg);
        return;
    }
    if (strcmp(PQgetvalue(pg, 0, 3), "t") != 0) {
        engine_parent_not_found(err, st->res, st->q.parent_id);
        goto out;
    }
    long long embedded = atoll(PQgetvalue(pg, 0, 4));
    if (embedded > QUERY_MAX_EMBEDDED) {
        error_set(err, 400, "too-many-embedded",
                  "include: this page of up to %d %s would embed %lld records; one answer embeds "
                  "at most %d: lower limit= or drop include=",
                  st->q.limit, st->res->name, embedded, QUERY_MAX_EMBEDDED);
        goto out;
    }
    answer_list(r, st->res, st->internal, &st->args, &st->q, pg);
    pg = NULL;
out:
    http_error(r, err);
    PQclear(pg);
}

void
resource_list(struct request *r)
{
    struct read_state *st = read_state_new(r);
    struct error err = {0};
    struct sql s = {0};

    if (!parse_list(r, st->res, st->internal, &st->args, &st->q, &err)) {
        http_error(r, &err);
        return;
    }
    sql_build_list(&s, &r->arena, st->res, st->internal, &st->q);
    read_send(r, st, &s, list_answer);
}

static void
get_answer(struct request *r, PGresult *pg, struct error *err)
{
    struct read_state *st = r->await_arg;
    if (pg == NULL)
        goto out;
    if (PQntuples(pg) != 1) {
        engine_not_found(err, st->res, st->id);
        goto out;
    }
    if (!st->res->unversioned) {
        const char *etag = engine_etag_of(r, pg);
        http_add_header(r, "ETag", etag);
        const char *inm = http_header(r, MHD_HTTP_HEADER_IF_NONE_MATCH);
        if (inm != NULL && engine_etag_listed(inm, etag, false)) {
            http_empty(r, 304);
            goto out;
        }
    }
    http_pgresult(r, 200, "application/json", pg);
    pg = NULL;
out:
    http_error(r, err);
    PQclear(pg);
}

void
resource_get(struct request *r)
{
    struct read_state *st = read_state_new(r);
    struct error err = {0};
    struct sql s = {0};

    st->id = engine_record_id(r);
    if (!engine_collect_args(r, &st->args, &err) ||
        !query_parse(&r->arena, st->res, st->args.args, st->args.n, st->internal, true, &st->q,
                     &err)) {
        http_error(r, &err);
        return;
    }
    st->q.parent_id = engine_parent_id(r, st->res);
    if (!value_is_uuid(st->id) || (st->q.parent_id != NULL && !value_is_uuid(st->q.parent_id))) {
        engine_not_found(&err, st->res, st->id);
        http_error(r, &err);
        return;
    }
    const char *whole = sql_get_whole(st->res, st->internal, &st->q);
    if (whole != NULL) {
        st->sql = whole;
        st->nparams = 1;
        st->params[0] = st->id;
        http_await(r, st->sql, st->nparams, st->params, get_answer);
        return;
    }
    sql_build_get(&s, st->res, st->internal, &st->q);
    s.params[0] = st->id;
    read_send(r, st, &s, get_answer);
}
