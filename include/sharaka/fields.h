/* fields.h - building blocks shared by the resource descriptors in src/resources/. */
#ifndef SHARAKA_FIELDS_H
#define SHARAKA_FIELDS_H

#include "sharaka/descriptor.h"
#include "sharaka/util.h"

extern const char *const governorate_values[];
extern const char *const body_status_values[];

/* The fields every record has: id first (the engine relies on it), then the rest at the end. */
#define FIELD_ID                                                                                   \
    {                                                                                              \
        "id", FT_UUID, F_CREATE_ONLY | F_FILTER | F_NOTNULL, NULL, 0, NULL, NULL                   \
    }
#define FIELDS_COMMON                                                                              \
    {"source", FT_TEXT, F_READONLY | F_FILTER | F_NOTNULL, NULL, 64, NULL, NULL},                  \
        {"version", FT_NUMBER, F_READONLY | F_NOTNULL, NULL, 0, NULL, NULL},                       \
        {"created_at", FT_TIMESTAMP, F_READONLY | F_FILTER | F_SORT | F_NOTNULL, NULL, 0,          \
         NULL,         NULL},                                                                      \
    {                                                                                              \
        "updated_at", FT_TIMESTAMP, F_READONLY | F_FILTER | F_SORT | F_NOTNULL, NULL, 0, NULL,     \
            NULL                                                                                   \
    }

/* The multilingual names: name as registered (required), then Arabic, English, French. */
#define FIELDS_NAMES                                                                               \
    {"name", FT_TEXT, F_REQUIRED | F_FILTER | F_SORT, NULL, 300, NULL, NULL},                      \
        {"name_ar", FT_TEXT, F_FILTER, NULL, 300, NULL, NULL},                                     \
        {"name_en", FT_TEXT, F_FILTER, NULL, 300, NULL, NULL},                                     \
    {                                                                                              \
        "name_fr", FT_TEXT, F_FILTER, NULL, 300, NULL, NULL                                        \
    }

/* A text field's translations: base_ar, base_en, base_fr, beside base (the text as given). A field
 * with all three gets display_<base> in the language a read asks for (lang=, Accept-Language). */
#define FIELDS_TRANSLATIONS(base, flags, max)                                                      \
    {#base "_ar", FT_TEXT, (flags), NULL, (max), NULL, NULL},                                      \
        {#base "_en", FT_TEXT, (flags), NULL, (max), NULL, NULL},                                  \
    {                                                                                              \
#base "_fr", FT_TEXT, (flags), NULL, (max), NULL, NULL                                     \
    }

#define FIELD_GOVERNORATE                                                                          \
    {                                                                                              \
        "governorate", FT_ENUM, F_FILTER | F_SORT, governorate_values, 0, NULL, "governorate"      \
    }

#endif
