/* iati.h - the IATI Activity Standard 2.03 export of partnerships: its statement, head and tail. */
#ifndef SHARAKA_IATI_H
#define SHARAKA_IATI_H

#include <stdbool.h>

#include "sharaka/sql.h"

/* The end of the document, after the last activity. */
#define IATI_DOCUMENT_TAIL "</iati-activities>\n"

/*
 * Builds the export's statement over the partnerships q selects (its filters, search and sort;
 * deleted ones never): one row per partnership, its iati-activity element as text. With results,
 * each live monitoring record of a partnership becomes a result with one indicator.
 */
void iati_build_export(struct sql *s, struct arena *a, const struct list_query *q, bool results);

/* Appends the XML declaration and the iati-activities start tag, generated now. */
void iati_document_head(struct buf *b);

#endif
