/* read.c - GET of a list and of one record, for every resource, from its descriptor. */
#include "sharaka/engine.h"

#include <stdlib.h>
#include <string.h>

#include "sharaka/cursor.h"
#include "sharaka/sql.h"
#include "sharaka/values.h"
#include "sharaka/xlsx.h"

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
    q->lang = engine_read_language(r, q->lang);
    q->parent_id = engine_parent_id(r, res);
    if (q->parent_id != NULL && !value_is_uuid(q->parent_id)) {
        engine_parent_not_found(err, res, q->parent_id);
        return false;
    }
    return true;
}

/* The cursor of the page after this one, from its last row's keyset (JSON text); Link names
 * that page. */
static const char *
next_cursor(struct request *r, const struct arg_list *args, const struct list_query *q,
            const char *keyset)
{
    const char *cursor = cursor_encode(&r->arena, q->sort_spec, keyset);
    http_add_header(r, "Link", next_link(r, args, cursor));
    return cursor;
}

/*
 * Sends a page as a workbook (takes pg): its records are the lines of the NDJSON text the nbody
 * pieces of body make, one row each below the header; the next page is in Link, the total in
 * X-Total-Count. Made on a blocking thread (the route sends format=xlsx there): libxlsxwriter
 * writes and compresses a file.
 */
static void
send_sheet(struct request *r, const struct resource *res, bool internal, const struct list_query *q,
           const char *total, const struct MHD_IoVec *body, unsigned int nbody, PGresult *pg)
{
    struct buf text = {0};
    for (unsigned int i = 0; i < nbody; i++)
        buf_append(&text, body[i].iov_base, body[i].iov_len);
    if (total != NULL)
        http_add_header(r, "X-Total-Count", arena_strdup(&r->arena, total));
    PQclear(pg); /* total and the body lay in it */
    struct xlsx *x = xlsx_open_records(res, internal, q, query_lang_rtl(q->lang));
    for (size_t at = 0; x != NULL && at < text.len;) {
        const char *line = text.data + at;
        size_t n = strcspn(line, "\n");
        json_t *record = json_loadb(line, n, 0, NULL);
        if (record != NULL)
            xlsx_record(x, res, internal, q, record);
        json_decref(record);
        at += n + 1;
    }
    buf_free(&text);
    struct error err = {0};
    if (!engine_send_workbook(r, x, res->name, &err))
        http_error(r, &err);
}

/*
 * Sends a page (takes pg) whose records are the nbody pieces of text in body: for JSON the
 * array, else the lines. JSON wraps it in the envelope with the next cursor and the total; CSV
 * puts its header first; NDJSON and CSV give the total in X-Total-Count.
 */
static void
send_page(struct request *r, const struct resource *res, bool internal, const struct list_query *q,
          const char *cursor, const char *total, const struct MHD_IoVec *body, unsigned int nbody,
          PGresult *pg)
{
    if (q->format == FORMAT_XLSX) {
        send_sheet(r, res, internal, q, total, body, nbody, pg);
        return;
    }
    struct buf around = {0}; /* the envelope's tail, or the CSV header */
    struct MHD_IoVec *iov = arena_alloc(&r->arena, sizeof(*iov) * (nbody + 2));
    unsigned int n = 0;
    const char *ctype = "application/x-ndjson";

    if (q->format == FORMAT_JSON) {
        ctype = "application/json";
        iov[n++] = (struct MHD_IoVec){"{\"data\":", 8};
    } else {
        if (total != NULL)
            http_add_header(r, "X-Total-Count", arena_strdup(&r->arena, total));
        if (q->format == FORMAT_CSV) {
            ctype = "text/csv; charset=utf-8";
            buf_puts(&around, "\xEF\xBB\xBF"); /* UTF-8 byte-order mark, for spreadsheets */
            sql_csv_header(&around, res, internal, q);
            buf_puts(&around, "\r\n");
            iov[n++] = (struct MHD_IoVec){around.data, around.len};
        }
    }
    memcpy(iov + n, body, sizeof(*iov) * nbody);
    n += nbody;
    if (q->format == FORMAT_JSON) {
        if (cursor != NULL)
            buf_printf(&around, ",\"next_cursor\":\"%s\"", cursor);
        else
            buf_puts(&around, ",\"next_cursor\":null");
        if (total != NULL)
            buf_printf(&around, ",\"total\":%s", total);
        buf_putc(&around, '}');
        iov[n++] = (struct MHD_IoVec){around.data, around.len};
    }
    http_iov(r, 200, ctype, iov, n, pg, buf_take(&around));
}

/* Sends the page the one-row list statement returned (takes pg): its text, with the next cursor
 * and the total the statement made. */
static void
answer_list(struct request *r, const struct resource *res, bool internal,
            const struct arg_list *args, const struct list_query *q, PGresult *pg)
{
    const char *cursor =
        PQgetisnull(pg, 0, 1) ? NULL : next_cursor(r, args, q, PQgetvalue(pg, 0, 1));
    const char *total = PQgetisnull(pg, 0, 2) ? NULL : PQgetvalue(pg, 0, 2);
    struct MHD_IoVec body = {PQgetvalue(pg, 0, 0), (size_t)PQgetlength(pg, 0, 0)};
    send_page(r, res, internal, q, cursor, total, &body, 1, pg);
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
 * where they lie in the result, as a JSON array's items or as lines. */
static void
answer_rows(struct request *r, const struct resource *res, bool internal,
            const struct arg_list *args, const struct list_query *q, PGresult *pg)
{
    int rows = PQntuples(pg);
    const char *cursor = NULL;
    if (rows > q->limit) {
        rows = q->limit;
        cursor = next_cursor(r, args, q, row_keyset(&r->arena, q, pg, rows - 1));
    }
    bool json = q->format == FORMAT_JSON;
    const char *eol = q->format == FORMAT_CSV ? "\r\n" : "\n";
    struct MHD_IoVec *body = arena_alloc(&r->arena, sizeof(*body) * ((size_t)rows * 2 + 1));
    unsigned int n = 0;
    for (int i = 0; i < rows; i++) {
        if (json)
            body[n++] = (struct MHD_IoVec){i == 0 ? "[" : ",", 1};
        body[n++] = (struct MHD_IoVec){PQgetvalue(pg, i, 0), (size_t)PQgetlength(pg, i, 0)};
        if (!json)
            body[n++] = (struct MHD_IoVec){eol, strlen(eol)};
    }
    if (json)
        body[n++] = (struct MHD_IoVec){rows == 0 ? "[]" : "]", rows == 0 ? 2 : 1};
    send_page(r, res, internal, q, cursor, NULL, body, n, pg);
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
    st->q.lang = engine_read_language(r, st->q.lang);
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
