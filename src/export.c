/* export.c - GET /v1/exports/{resource}.csv|.ndjson and iati-activities.xml: a whole filtered
 * list, streamed.
 *
 * An export runs in single-row mode on a connection leased from the small export pool, so the
 * server holds one row at a time whatever the size of the result, and libmicrohttpd sends it with
 * chunked encoding as the client reads. The statement is sent and its first row read on a
 * blocking thread; the rows after it are read on the event loop without waiting: when none has
 * arrived, the request is suspended and the loop watches the connection's socket. The lease ends
 * when the export ends: read to the end, abandoned, or past SHARAKA_EXPORT_TIMEOUT (the stream
 * then ends broken). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sharaka/access.h"
#include "sharaka/config.h"
#include "sharaka/db.h"
#include "sharaka/engine.h"
#include "sharaka/handlers.h"
#include "sharaka/iati.h"
#include "sharaka/xlsx.h"
#include "sharaka/log.h"
#include "sharaka/loop.h"
#include "sharaka/query.h"
#include "sharaka/sql.h"
#include "sharaka/resource.h"
#include "sharaka/router.h"

#define EXPORT_BLOCK (64 * 1024)

struct export_stream {
    PGconn *pg;
    int slot;        /* the export pool's slot leased to pg */
    time_t deadline; /* monotonic seconds: past it the stream ends broken */
    PGresult *row;   /* the row being sent */
    size_t offset;   /* bytes of it already sent, its line break included */
    const char *eol; /* "\r\n" for CSV (RFC 4180), "\n" for NDJSON */
    size_t eol_len;
    char *header; /* the CSV header line or the document's head, sent first */
    size_t header_len, header_sent;
    const char *footer; /* the document's tail, sent after the last row (static) */
    size_t footer_len, footer_sent;
    bool done;
    bool failed; /* the query ended in an error */
    struct MHD_Connection *conn;
    struct loop_watch watch; /* the connection's socket, while no row has arrived */
};

static time_t
now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

static void
stream_free(void *cls)
{
    struct export_stream *st = cls;
    loop_unwatch(&st->watch);
    PQclear(st->row);
    if (st->pg != NULL) {
        /* Stop a query the client did not read to the end and drop its connection: only one
         * left idle after a complete result goes back to the pool. */
        if (!st->done) {
            PGcancel *cancel = PQgetCancel(st->pg);
            char errbuf[256];
            if (cancel != NULL) {
                (void)PQcancel(cancel, errbuf, sizeof(errbuf));
                PQfreeCancel(cancel);
            }
            PQfinish(st->pg);
            st->pg = NULL;
        }
        db_export_release(st->slot, st->pg);
    }
    free(st->header);
    free(st);
}

/* Moves to the next row. Returns false at the end of the result or on an error. */
static bool
next_row(struct export_stream *st)
{
    PQclear(st->row);
    st->row = NULL;
    st->offset = 0;
    PGresult *res = PQgetResult(st->pg);
    if (res != NULL && PQresultStatus(res) == PGRES_SINGLE_TUPLE) {
        st->row = res;
        return true;
    }
    if (res != NULL && PQresultStatus(res) != PGRES_TUPLES_OK) {
        log_error("export failed: %s", PQresultErrorMessage(res));
        st->failed = true;
    }
    PQclear(res);
    while ((res = PQgetResult(st->pg)) != NULL)
        PQclear(res);
    st->done = true;
    return false;
}

/* The export's socket is readable: the request goes on (on the loop's thread). */
static void
rows_arrived(void *arg)
{
    struct export_stream *st = arg;
    MHD_resume_connection(st->conn);
}

/*
 * Takes the next row when it has arrived: 1 when st->row holds it, 0 when none has yet (with wait,
 * the request is then suspended until the socket is readable), -1 at the end or on an error.
 */
static int
take_row(struct export_stream *st, bool wait)
{
    /* Read from the socket only when what libpq holds has no whole row left: reading ahead
     * would move the result from the kernel's buffers into ours. */
    if (PQisBusy(st->pg) && !PQconsumeInput(st->pg)) {
        log_error("export failed: %s", PQerrorMessage(st->pg));
        st->failed = st->done = true;
        return -1;
    }
    if (!PQisBusy(st->pg))
        return next_row(st) ? 1 : -1;
    if (!wait)
        return 0;
    st->watch.fd = PQsocket(st->pg);
    st->watch.ready = rows_arrived;
    st->watch.arg = st;
    if (!loop_watch_readable(&st->watch)) {
        /* The loop is stopping: the stream ends broken (the query is cancelled). */
        st->failed = true;
        return -1;
    }
    MHD_suspend_connection(st->conn);
    return 0;
}

static ssize_t
stream_read(void *cls, uint64_t pos, char *out, size_t max)
{
    struct export_stream *st = cls;
    size_t n = 0;

    if (!st->done && now_seconds() > st->deadline) {
        log_warn("export stopped after SHARAKA_EXPORT_TIMEOUT (%llds)",
                 (long long)cfg.export_timeout);
        return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    while (n < max && st->header_sent < st->header_len)
        out[n++] = st->header[st->header_sent++];
    while (n < max) {
        if (st->row == NULL) {
            if (st->done)
                break;
            int got = take_row(st, n == 0);
            if (got == 0 && n == 0)
                return 0; /* suspended: called again once rows arrive */
            if (got <= 0)
                break;
        }
        const char *text = PQgetvalue(st->row, 0, 0);
        size_t len = (size_t)PQgetlength(st->row, 0, 0);
        if (st->offset < len) {
            size_t take = len - st->offset < max - n ? len - st->offset : max - n;
            memcpy(out + n, text + st->offset, take);
            n += take;
            st->offset += take;
        }
        while (st->offset >= len && st->offset < len + st->eol_len && n < max)
            out[n++] = st->eol[st->offset++ - len];
        if (st->offset == len + st->eol_len) {
            PQclear(st->row);
            st->row = NULL;
        }
    }
    /* The tail only after every row: a stream that failed must not look complete. */
    while (st->done && !st->failed && st->row == NULL && n < max &&
           st->footer_sent < st->footer_len)
        out[n++] = st->footer[st->footer_sent++];
    if (n == 0)
        /* A query that failed midway must not look complete: the client sees a broken stream. */
        return st->failed ? MHD_CONTENT_READER_END_WITH_ERROR : MHD_CONTENT_READER_END_OF_STREAM;
    return (ssize_t)n;
}

/* The resource a path names among the top-level ones; NULL with a 404 that lists them. */
static const struct resource *
export_resource(const char *name, struct error *err)
{
    const struct resource *res = resource_by_name(name, strlen(name));
    if (res != NULL && res->parent == NULL)
        return res;
    struct buf names = {0};
    for (size_t i = 0; i < resources_count; i++)
        if (resources_all[i]->parent == NULL)
            buf_printf(&names, "%s%s", names.len ? ", " : "", resources_all[i]->name);
    error_set(err, 404, "not-found", "no export of '%s'; exports: %s", name, names.data);
    buf_free(&names);
    return NULL;
}

/* Takes every key=value out of args; returns how many there were, their values in values. */
static int
take_param(struct query_arg *args, int *nargs, const char *key, const char **values)
{
    int n = 0, kept = 0;
    for (int i = 0; i < *nargs; i++) {
        if (strcmp(args[i].key, key) == 0)
            values[n++] = args[i].value != NULL ? args[i].value : "";
        else
            args[kept++] = args[i];
    }
    *nargs = kept;
    return n;
}

/* The options an export takes beside the list language, each checked wherever it is given:
 * hxl=true|false (CSV only: *hxl says whether the hashtag row is wanted) and lang=ar|en|fr (on a
 * spreadsheet *rtl says whether the sheet reads right to left, as it does in Arabic; NDJSON
 * leaves it to the list language, which adds the display_ fields). */
static bool
take_options(struct query_arg *args, int *nargs, bool csv, bool xlsx, bool *hxl, bool *rtl,
             struct error *err)
{
    bool ndjson = !csv && !xlsx;
    const char *values[QUERY_MAX_ARGS];
    int n = take_param(args, nargs, "hxl", values);
    *hxl = *rtl = false;
    for (int i = 0; i < n; i++) {
        if (!csv)
            return error_set(err, 400, "unknown-parameter",
                             "hxl applies to CSV exports only (/v1/exports/{resource}.csv)");
        if (strcmp(values[i], "true") != 0 && strcmp(values[i], "false") != 0)
            return error_set(err, 400, "invalid-parameter", "hxl must be true or false, not '%s'",
                             values[i]);
        *hxl = strcmp(values[i], "true") == 0;
    }
    if (ndjson)
        return true;
    n = take_param(args, nargs, "lang", values);
    for (int i = 0; i < n; i++) {
        if (!xlsx)
            return error_set(err, 400, "unknown-parameter",
                             "lang applies to the .xlsx and .ndjson exports only");
        const char *lang;
        if (!query_lang_param(values[i], &lang, err))
            return false;
        *rtl = query_lang_rtl(lang);
    }
    return true;
}

/* Checks the parameters: the list language without paging, counting, format or include, and
 * hxl on CSV; without fields in the IATI document, whose elements the standard fixes. */
static bool
parse_export(struct request *r, const struct resource *res, bool internal, bool csv, bool iati,
             bool *hxl, bool *rtl, struct list_query *q, struct error *err)
{
    struct query_arg args[QUERY_MAX_ARGS] = {{0}};
    int nargs = 0;
    bool xlsx = strcmp(r->route->arg, "xlsx") == 0;
    if (!http_query_args(r, args, QUERY_MAX_ARGS, &nargs, err) ||
        !take_options(args, &nargs, csv, xlsx, hxl, rtl, err))
        return false;
    for (int i = 0; i < nargs; i++) {
        const char *k = args[i].key;
        if (strcmp(k, "limit") == 0 || strcmp(k, "cursor") == 0 || strcmp(k, "count") == 0 ||
            strcmp(k, "format") == 0 || strcmp(k, "include") == 0)
            return error_set(err, 400, "unknown-parameter",
                             "'%s' does not apply to an export, which streams every matching "
                             "record; allowed: the list filters, q, sort and fields (and hxl "
                             "on CSV)",
                             k);
        if (iati && (strcmp(k, "fields") == 0 || strcmp(k, "lang") == 0))
            return error_set(err, 400, "unknown-parameter",
                             "'%s' does not apply to the IATI export, whose elements the "
                             "standard fixes (every language it holds is in it); allowed: the "
                             "partnerships list's filters, q and sort",
                             k);
    }
    if (!query_parse(&r->arena, res, args, nargs, internal, false, q, err)) {
        struct buf allowed = {0};
        buf_printf(&allowed, "%ssort%s%s%s", res->searchable ? "q, " : "", iati ? "" : ", fields",
                   csv ? ", hxl" : "", csv || iati ? "" : ", lang");
        query_allowed_filters(&allowed, res, internal);
        query_restate_allowed(err, allowed.data);
        buf_free(&allowed);
        return false;
    }
    return true;
}

/* Leases an export connection and sends the statement in single-row mode; the first row (or
 * the error) arrives before the answer's status is chosen. Returns the stream, or NULL. */
static struct export_stream *
start_stream(struct request *r, const struct sql *s, bool csv, struct error *err)
{
    struct export_stream *st = xcalloc(1, sizeof(*st));
    st->eol = csv ? "\r\n" : "\n";
    st->eol_len = strlen(st->eol);
    st->pg = db_export_acquire(r->client_ip, &st->slot, err);
    if (st->pg == NULL)
        goto fail;
    st->deadline = now_seconds() + cfg.export_timeout;
    if (!PQsendQueryParams(st->pg, s->text.data, s->nparams, NULL, s->params, NULL, NULL, 0) ||
        !PQsetSingleRowMode(st->pg)) {
        error_set(err, 503, "database-unavailable", "the export could not start; try again");
        goto fail;
    }
    if (!next_row(st) && (st->failed || PQstatus(st->pg) != CONNECTION_OK)) {
        error_set(err, 503, "database-unavailable", "the export failed; try again");
        goto fail;
    }
    return st;
fail:
    stream_free(st);
    return NULL;
}

/* Queues the streamed answer; it owns st from here on. */
static void
queue_stream(struct request *r, const struct resource *res, bool internal,
             const struct list_query *q, bool csv, bool hxl, struct export_stream *st)
{
    const char *type = csv ? "text/csv; charset=utf-8" : "application/x-ndjson";
    const char *file = arena_printf(&r->arena, "%s.%s", res->name, csv ? "csv" : "ndjson");
    if (strcmp(r->route->arg, "iati") == 0) {
        struct buf h = {0};
        iati_document_head(&h);
        st->header_len = h.len;
        st->header = buf_take(&h);
        st->footer = IATI_DOCUMENT_TAIL;
        st->footer_len = strlen(IATI_DOCUMENT_TAIL);
        type = "application/xml";
        file = "iati-activities.xml";
    } else if (csv) {
        struct buf h = {0};
        buf_puts(&h, "\xEF\xBB\xBF"); /* UTF-8 byte-order mark, for spreadsheets */
        sql_csv_header(&h, res, internal, q);
        buf_puts(&h, "\r\n");
        if (hxl) {
            sql_hxl_row(&h, res, internal, q);
            buf_puts(&h, "\r\n");
        }
        st->header_len = h.len;
        st->header = buf_take(&h);
    }
    st->conn = r->conn;
    struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, EXPORT_BLOCK,
                                                                  stream_read, st, stream_free);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(resp, "Content-Disposition",
                            arena_printf(&r->arena, "attachment; filename=\"%s\"", file));
    http_queue(r, 200, resp);
}

/*
 * The export as a spreadsheet: its rows are pulled on this (blocking) thread, one at a time in
 * single-row mode, into a workbook that keeps constant memory; the finished file is sent.
 */
static void
answer_xlsx(struct request *r, const struct resource *res, bool internal,
            const struct list_query *q, const struct sql *s, bool rtl, struct error *err)
{
    int slot;
    PGconn *pg = db_export_acquire(r->client_ip, &slot, err);
    if (pg == NULL)
        return;
    struct xlsx *x = xlsx_open_records(res, internal, q, rtl);
    if (x == NULL ||
        !PQsendQueryParams(pg, s->text.data, s->nparams, NULL, s->params, NULL, NULL, 0) ||
        !PQsetSingleRowMode(pg)) {
        xlsx_abandon(x);
        PQfinish(pg);
        db_export_release(slot, NULL);
        error_set(err, 503, "database-unavailable", "the export could not start; try again");
        return;
    }
    bool failed = false, full = false;
    uint64_t rows = 0;
    PGresult *row;
    while ((row = PQgetResult(pg)) != NULL) {
        ExecStatusType st = PQresultStatus(row);
        if (st == PGRES_SINGLE_TUPLE && !full) {
            json_t *record =
                json_loadb(PQgetvalue(row, 0, 0), (size_t)PQgetlength(row, 0, 0), 0, NULL);
            if (++rows >= XLSX_MAX_ROWS)
                full = true; /* the rest is read and dropped; the answer is a 400 */
            else
                xlsx_record(x, res, internal, q, record);
            json_decref(record);
        } else if (st != PGRES_SINGLE_TUPLE && st != PGRES_TUPLES_OK) {
            log_error("export failed: %s", PQresultErrorMessage(row));
            failed = true;
        }
        PQclear(row);
    }
    bool sound = PQstatus(pg) == CONNECTION_OK && PQtransactionStatus(pg) == PQTRANS_IDLE;
    db_export_release(slot, sound ? pg : (PQfinish(pg), NULL));
    if (failed || full) {
        xlsx_abandon(x);
        if (full)
            error_set(err, 400, "too-many-rows",
                      "a sheet holds at most %d rows; narrow the filters, or export CSV",
                      XLSX_MAX_ROWS - 1);
        else
            error_set(err, 503, "database-unavailable", "the export failed; try again");
        return;
    }
    engine_send_workbook(r, x, res->name, err);
}

void
export_get(struct request *r)
{
    struct error err = {0};
    struct list_query q;
    struct sql s = {0};
    bool csv = strcmp(r->route->arg, "csv") == 0, hxl = false, rtl = false;
    bool iati = strcmp(r->route->arg, "iati") == 0;
    bool xlsx = strcmp(r->route->arg, "xlsx") == 0;
    bool internal = access_sees_internal(&r->who);

    /* The IATI document is of partnerships; its results only for who may read monitoring. */
    const struct resource *res =
        iati ? &partnerships_resource : export_resource(r->params[0], &err);
    if (res == NULL || !access_route(&r->who, res->name, ACT_READ, &err) ||
        !parse_export(r, res, internal, csv, iati, &hxl, &rtl, &q, &err))
        goto out;
    q.format = csv ? FORMAT_CSV : FORMAT_NDJSON;
    /* NDJSON records carry display_ fields in the language asked for, as lists do */
    if (!csv && !xlsx && !iati)
        q.lang = engine_read_language(r, q.lang);
    if (xlsx) {
        sql_build_export(&s, &r->arena, res, internal, &q);
        answer_xlsx(r, res, internal, &q, &s, rtl, &err);
        goto out;
    }
    if (iati) {
        struct error no = {0};
        bool results = access_route(&r->who, monitoring_records_resource.name, ACT_READ, &no);
        error_clear(&no);
        iati_build_export(&s, &r->arena, &q, results);
    } else {
        sql_build_export(&s, &r->arena, res, internal, &q);
    }
    struct export_stream *st = start_stream(r, &s, csv, &err);
    if (st != NULL)
        queue_stream(r, res, internal, &q, csv, hxl, st);
out:
    http_error(r, &err);
    sql_free(&s);
}
