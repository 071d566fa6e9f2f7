/* seed.c - the demo data: the embedded seed SQL run in one transaction. */
#include "sharaka/engine.h"

#include <stdio.h>

/* Generated from src/seed/demo.sql at build time. */
extern const char seed_demo_sql[];

int
resource_seed_demo(void)
{
    struct error err = {0};
    PGconn *pg = db_connect(&err);
    if (pg == NULL) {
        fprintf(stderr, "sharaka: cannot connect to the database (SHARAKA_DATABASE_URL)\n");
        return 1;
    }
    /* The transaction and the data: the first result that fails is the one reported. */
    PGresult *res = PQexec(pg, "BEGIN");
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    if (ok) {
        PQclear(res);
        res = PQexec(pg, seed_demo_sql);
        ok = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK;
    }
    if (!ok)
        fprintf(stderr, "sharaka: loading the demo data failed: %s", PQresultErrorMessage(res));
    PQclear(res);
    res = PQexec(pg, ok ? "COMMIT" : "ROLLBACK");
    ok = ok && PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    PQfinish(pg);
    if (ok)
        printf("demo data loaded\n");
    return ok ? 0 : 1;
}
