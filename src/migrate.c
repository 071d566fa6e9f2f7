/* migrate.c - schema migrations: plain SQL files applied in order, checksummed, under a lock. */
#include "sharaka/migrate.h"

#include <dirent.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sharaka/config.h"
#include "sharaka/db.h"
#include "sharaka/documents.h"
#include "sharaka/log.h"
#include "sharaka/util.h"

/* The largest migration file read. */
#define MIGRATION_MAX (16 * 1024 * 1024)

/* The advisory lock key that serialises concurrent migrate runs. */
#define MIGRATE_LOCK_KEY "23498561237552449"

struct migration {
    int version;
    char *name;
    char *sql;
    char checksum[2 * crypto_hash_sha256_BYTES + 1];
};

struct applied {
    int version;
    char *name;
    char *checksum;
};

static int
migration_filter(const struct dirent *e)
{
    const char *n = e->d_name;
    size_t len = strlen(n);
    if (len < 10 || strcmp(n + len - 4, ".sql") != 0 || n[4] != '_')
        return 0;
    for (int i = 0; i < 4; i++)
        if (n[i] < '0' || n[i] > '9')
            return 0;
    return 1;
}

/* Loads the migration files in version order. Returns the count, or -1 after printing why. */
static int
load_files(struct migration **out)
{
    struct dirent **names = NULL;
    int n = scandir(cfg.migrations_dir, &names, migration_filter, alphasort);
    if (n < 0) {
        fprintf(stderr, "sharaka: cannot read the migrations folder %s: %s\n", cfg.migrations_dir,
                strerror(errno));
        return -1;
    }
    struct migration *m = xcalloc((size_t)n + 1, sizeof(*m));
    int count = 0;
    for (int i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", cfg.migrations_dir, names[i]->d_name);
        char *sql = read_file(path, MIGRATION_MAX, NULL);
        if (sql == NULL) {
            fprintf(stderr, "sharaka: cannot read %s: %s\n", path, strerror(errno));
            count = -1;
        } else if (count >= 0) {
            unsigned char digest[crypto_hash_sha256_BYTES];
            crypto_hash_sha256(digest, (const unsigned char *)sql, strlen(sql));
            m[count].version = atoi(names[i]->d_name);
            m[count].name = xstrdup(names[i]->d_name);
            m[count].sql = sql;
            sodium_bin2hex(m[count].checksum, sizeof(m[count].checksum), digest, sizeof(digest));
            if (count > 0 && m[count - 1].version == m[count].version) {
                fprintf(stderr, "sharaka: %s and %s have the same number\n", m[count - 1].name,
                        m[count].name);
                count = -1;
            } else {
                count++;
            }
        } else {
            free(sql);
        }
        free(names[i]);
    }
    free(names);
    *out = m;
    return count;
}

static void
free_files(struct migration *m, int n)
{
    for (int i = 0; i < n; i++) {
        free(m[i].name);
        free(m[i].sql);
    }
    free(m);
}

static bool
exec_ok(PGconn *pg, const char *sql, const char *what)
{
    PGresult *res = PQexec(pg, sql);
    ExecStatusType st = PQresultStatus(res);
    bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok)
        fprintf(stderr, "sharaka: %s failed: %s", what, PQresultErrorMessage(res));
    PQclear(res);
    return ok;
}

static const char CREATE_TABLE[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,"
    " applied_at timestamptz NOT NULL DEFAULT now())";

/* Compares the files with the recorded rows. Returns the number pending, or -1 on a mismatch. */
static int
compare(PGconn *pg, struct migration *m, int n, bool *applied_flags)
{
    PGresult *res = PQexec(pg, "SELECT version, name, checksum FROM schema_migrations "
                               "ORDER BY version");
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        /* No table yet: everything is pending. */
        PQclear(res);
        return n;
    }
    int pending = n, bad = 0;
    for (int row = 0; row < PQntuples(res); row++) {
        int version = atoi(PQgetvalue(res, row, 0));
        const char *name = PQgetvalue(res, row, 1);
        const char *sum = PQgetvalue(res, row, 2);
        int i;
        for (i = 0; i < n && m[i].version != version; i++)
            ;
        if (i == n) {
            log_warn("migration %s is recorded as applied but its file is missing", name);
            continue;
        }
        applied_flags[i] = true;
        pending--;
        if (strcmp(m[i].checksum, sum) != 0) {
            fprintf(stderr,
                    "sharaka: migration %s was edited after it was applied (checksum %.12s..., "
                    "recorded %.12s...); restore the file and put the change in a new migration\n",
                    m[i].name, m[i].checksum, sum);
            bad++;
        }
    }
    PQclear(res);
    return bad ? -1 : pending;
}

static int
apply_one(PGconn *pg, const struct migration *m)
{
    uint64_t t0 = now_us_monotonic();
    char version[16];
    if (!exec_ok(pg, "BEGIN", "BEGIN"))
        return 1;
    if (!exec_ok(pg, m->sql, m->name)) {
        exec_ok(pg, "ROLLBACK", "ROLLBACK");
        return 1;
    }
    snprintf(version, sizeof(version), "%d", m->version);
    const char *vals[] = {version, m->name, m->checksum};
    PGresult *res = PQexecParams(pg,
                                 "INSERT INTO schema_migrations (version, name, checksum) "
                                 "VALUES ($1, $2, $3)",
                                 3, NULL, vals, NULL, NULL, 0);
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok)
        fprintf(stderr, "sharaka: recording %s failed: %s", m->name, PQresultErrorMessage(res));
    PQclear(res);
    if (!ok || !exec_ok(pg, "COMMIT", "COMMIT")) {
        exec_ok(pg, "ROLLBACK", "ROLLBACK");
        return 1;
    }
    printf("applied %s (%.1f ms)\n", m->name, (double)(now_us_monotonic() - t0) / 1000.0);
    return 0;
}

static int
run(bool apply)
{
    struct error err = {0};
    struct migration *m = NULL;
    int rc = 1;
    int n = load_files(&m);
    if (n < 0) {
        free_files(m, 0);
        return 1;
    }
    PGconn *pg = db_connect(&err);
    if (pg == NULL) {
        fprintf(stderr, "sharaka: cannot connect to the database (SHARAKA_DATABASE_URL)\n");
        free_files(m, n);
        return 1;
    }
    bool *applied = xcalloc((size_t)n + 1, sizeof(bool));
    if (apply) {
        if (!exec_ok(pg, "SET client_min_messages = warning", "setup") ||
            !exec_ok(pg, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", "taking the lock") ||
            !exec_ok(pg, CREATE_TABLE, "creating schema_migrations"))
            goto out;
    }
    int pending = compare(pg, m, n, applied);
    if (pending < 0)
        goto out;
    if (!apply) {
        int stale = pending > 0 ? 0 : documents_stale(pg);
        if (stale != 0) {
            fprintf(stderr,
                    "sharaka: the documents of %d resource(s) are not made from this release's "
                    "descriptors; run `sharaka migrate` before `sharaka serve`\n",
                    stale);
            goto out;
        }
        if (pending > 0) {
            fprintf(stderr,
                    "sharaka: %d migration(s) pending; run `sharaka migrate` before `sharaka "
                    "serve`\n",
                    pending);
            goto out;
        }
        rc = 0;
        goto out;
    }
    int done = 0;
    for (int i = 0; i < n; i++) {
        if (applied[i])
            continue;
        if (apply_one(pg, &m[i]) != 0)
            goto out;
        done++;
    }
    if (done == 0)
        printf("nothing to migrate: %d migration(s) already applied\n", n);
    else
        printf("%d migration(s) applied, %d in all\n", done, n);
    if (!documents_install(pg))
        goto out;
    rc = 0;
out:
    if (apply)
        (void)exec_ok(pg, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")", "releasing the lock");
    free(applied);
    PQfinish(pg);
    free_files(m, n);
    return rc;
}

int
migrate_run(void)
{
    return run(true);
}

int
migrate_check(void)
{
    return run(false);
}
