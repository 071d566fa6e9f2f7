/* descriptor.h - resource descriptors and their registry: what a resource is, as data. The engine,
 * the query layer and the spec generator read these tables; nothing here knows about HTTP or SQL
 * connections. */
#ifndef SHARAKA_DESCRIPTOR_H
#define SHARAKA_DESCRIPTOR_H

#include <stdbool.h>
#include <stddef.h>

enum field_type {
    FT_UUID,
    FT_TEXT,
    FT_ENUM,
    FT_DATE,
    FT_TIMESTAMP,
    FT_BOOL,
    FT_NUMBER,  /* JSON number, numeric column */
    FT_DECIMAL, /* decimal string, numeric column: "1500.00" */
    FT_URL,     /* http or https URL */
    FT_EMAIL,
    FT_CURRENCY, /* ISO 4217 code */
    FT_SLUG,     /* a-z0-9 words joined by '-' */
    FT_TAGS,     /* array of short strings, text[] */
    FT_ENUMS,    /* array of enum values */
    FT_URLS,     /* array of http(s) URLs, text[] */
    FT_STRMAP,   /* object of string to string, jsonb */
    FT_SECTIONS, /* array of {heading, body}, jsonb */
    FT_LINKS,    /* [{<key>, <attribute>}] kept in the resource's link table (struct link) */
    FT_JSON,     /* any JSON, stored as jsonb (read-only: the audit trail) */
    FT_PASSWORD, /* write-only: stored as an argon2id hash in the column password_hash */
};

enum {
    F_REQUIRED = 1u << 0,    /* required on create */
    F_READONLY = 1u << 1,    /* set by the server only */
    F_INTERNAL = 1u << 2,    /* never shown to anonymous callers */
    F_FILTER = 1u << 3,      /* usable as ?name= */
    F_SORT = 1u << 4,        /* usable in ?sort= */
    F_CREATE_ONLY = 1u << 5, /* writable on create, read-only afterwards */
    F_PARENT = 1u << 6,      /* taken from the path (a sub-collection's parent id) */
    F_NOTNULL = 1u << 7,     /* never null in the table (a default fills it) */
};

struct field {
    const char *name; /* JSON name and column name */
    enum field_type type;
    unsigned flags;
    const char *const *values; /* FT_ENUM / FT_ENUMS: allowed values, NULL-terminated */
    int max_len;               /* FT_TEXT and friends: most characters; arrays: most items */
    const char *ref;           /* FT_UUID, FT_LINKS: table the value must name a live row of,
                                  or "@other_field" when other_field's value names it (see
                                  struct ref_choice) */
    const char *pgtype;        /* cast for parameters when not implied by type (e.g. governorate) */
};

struct resource;

/* An embeddable relation for ?include=: a to-one reference through fk, or with fk NULL the
 * records the resource's link table names (each item then carries its record). */
struct include {
    const char *name;              /* "ministry" */
    const struct resource *target; /* its descriptor */
    const char *fk;                /* column of this table holding the target's id, or NULL */
};

/*
 * The items of the resource's FT_LINKS field, kept in a table of their own, one row per item in
 * the order given: a partnership's organizations [{organization_id, role}] are rows of
 * partnership_organizations (partnership_id, organization_id, role, position). The record is
 * filtered by ?<key>=, and a change of items is a change of the record.
 */
struct link {
    const char *table;                   /* "partnership_organizations" */
    const char *owner;                   /* its column naming the record: "partnership_id" */
    const char *key;                     /* item member and column naming the linked record */
    const struct resource *target;       /* the resource key names */
    const char *attribute;               /* the item's other member and column: "role" */
    const char *const *attribute_values; /* its allowed values, NULL-terminated */
    const char *position;                /* the column keeping the items' order */
};

/* For a reference "@by": the value of the field by that makes field name a record of target. */
struct ref_choice {
    const char *field;             /* "party_id" */
    const char *by;                /* "party_type" */
    const char *value;             /* "organization" */
    const struct resource *target; /* organizations */
};

/*
 * A status that someone with the verify permission must set: moving field to value stamps who
 * (by) and when (at); moving away clears them; a record in that status changes only by a
 * verifier.
 */
struct verification {
    const char *field; /* "status" */
    const char *value; /* "verified" */
    const char *by;    /* column of the verifier's user id */
    const char *at;    /* column of the time of verification */
};

/* Who may still reference a record: checked before a delete (409 names them). */
struct referrer {
    const char *resource; /* name shown to the caller, e.g. "partnerships" */
    const char *sql;      /* SELECT id::text ... WHERE <col> = $1::uuid AND live LIMIT 20 */
};

/* A database constraint whose violation is reported on a field with a message (a unique one
 * as a 409 with that message). */
struct constraint_message {
    const char *constraint;
    const char *field;
    const char *message;
};

/* Two fields bound by a rule: {earlier, later} dates, or both-or-neither. */
struct field_pair {
    const char *first;
    const char *second;
};

/* In a descriptor: a member array and its count, e.g. LIST_OF(fields, organization_fields). */
#define LIST_OF(member, array) .member = (array), .n##member = (sizeof(array) / sizeof((array)[0]))

struct resource {
    const char *name;     /* "organizations": path segment */
    const char *table;    /* SQL table */
    const char *singular; /* "organization" */
    const struct field *fields;
    size_t nfields;
    bool searchable; /* has a "search" tsvector column: ?q= */
    /* For GET /v1/search: the field a hit is named by, and the fields its search column is made
     * of (NULL-terminated), whose text the hit's snippet is cut from. */
    const char *display_field;
    const char *const *search_fields;
    const char *default_sort;
    const struct include *includes;
    size_t nincludes;
    const struct referrer *referrers;
    size_t nreferrers;
    const struct field_pair *date_order; /* first <= second when both are set */
    size_t ndate_order;
    const struct field_pair *together; /* both set or both null */
    size_t ntogether;
    const struct resource *parent; /* sub-collection: the resource its F_PARENT field names;
                                      its records live at /v1/<parent>/{id}/<name> and are read
                                      and written only while the parent is live */
    bool no_soft_delete;           /* rows are never hidden by deleted_at (users, keys, audit) */
    const char *delete_column;     /* DELETE sets this timestamp; NULL means deleted_at */
    bool unversioned;              /* no version column: no ETag on reads */
    const struct link *link;       /* where the FT_LINKS field's items live; NULL without one */
    const struct ref_choice *ref_choices; /* what "@by" references name */
    size_t nref_choices;
    const struct verification *verification;   /* NULL: no status needs a verifier */
    const struct constraint_message *messages; /* database rules explained in the caller's terms */
    size_t nmessages;
};

extern const struct resource organizations_resource;
extern const struct resource ministries_resource;
extern const struct resource partnership_types_resource;
extern const struct resource partnerships_resource;
extern const struct resource charters_resource;
extern const struct resource signatories_resource;
extern const struct resource monitoring_records_resource;
extern const struct resource users_resource;
extern const struct resource api_keys_resource;
extern const struct resource audit_log_resource;

/* Every top-level resource, for listings. */
extern const struct resource *const resources_all[];
extern const size_t resources_count;

/* The resource of resources_all named by the len bytes at name ("organizations" in a path or in
 * a comma-separated list), or NULL. */
const struct resource *resource_by_name(const char *name, size_t len);

/* Appends the names of resources_all, separated by sep ("organizations, ministries, ..."). */
struct buf;
void resource_names(struct buf *b, const char *sep);

/* res's place in resources_all, or -1 when it is not one of them. */
int resource_index(const struct resource *res);

/* True when res's whole records are kept as JSON documents beside them (documents.h): the
 * resources of resources_all. */
bool resource_documents_kept(const struct resource *res);

/* Finds a field by name; NULL when the resource has none. */
const struct field *resource_field(const struct resource *res, const char *name);

#endif
