/* documents.h - each record's JSON kept beside it (migrations/0006_documents.sql).
 *
 * For every resource, <table>_documents holds the public and the internal JSON of each record.
 * Triggers made here from the descriptors keep them in the writer's transaction: on the record's
 * own insert and update, and on any change of its link-table items (a partnership's
 * organizations). Reads of whole records answer that text (sql.c). sharaka_documents records the
 * definition each resource's triggers were made from. */
#ifndef SHARAKA_DOCUMENTS_H
#define SHARAKA_DOCUMENTS_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "sharaka/descriptor.h"

/* How many resources' triggers are missing or were made from other descriptors; -1 when it cannot
 * be told (the message is printed). */
int documents_stale(PGconn *pg);

/*
 * Makes the triggers of every stale resource anew and refreshes its documents, each resource in
 * one transaction (the caller holds the migration lock). Prints what it refreshed. False (with
 * the message printed) when a statement failed; what it did for earlier resources stays.
 */
bool documents_install(PGconn *pg);

#endif
