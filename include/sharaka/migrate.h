/* migrate.h - applies migrations/NNNN_name.sql in order, recorded with checksums. */
#ifndef SHARAKA_MIGRATE_H
#define SHARAKA_MIGRATE_H

#include <stdbool.h>

/*
 * Applies every pending migration from cfg.migrations_dir, each in its own transaction, under an
 * advisory lock. Refuses (returns 1) when an applied file changed since. Returns 0 on success.
 */
int migrate_run(void);

/*
 * Checks that the database is up to date. Returns 0 when nothing is pending; otherwise prints why
 * on stderr and returns 1.
 */
int migrate_check(void);

#endif
