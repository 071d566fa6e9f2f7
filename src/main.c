/* main.c - the command line: serve, migrate, user add, apikey create, seed demo, version, help. */
#include <jansson.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build_config.h"
#include "sharaka/access.h"
#include "sharaka/auth.h"
#include "sharaka/changes.h"
#include "sharaka/config.h"
#include "sharaka/db.h"
#include "sharaka/handlers.h"
#include "sharaka/log.h"
#include "sharaka/migrate.h"
#include "sharaka/query.h"
#include "sharaka/resource.h"
#include "sharaka/server.h"
#include "sharaka/users.h"
#include "sharaka/validate.h"
#include "sharaka/values.h"

#define EXIT_USAGE 2

struct flag {
    const char *name; /* "--email" */
    bool takes_value;
    const char *value; /* filled by parse_flags; "" for a set boolean flag */
};

struct command {
    const char *name;
    const char *sub; /* second word, e.g. "add" for "user add", or NULL */
    int (*run)(int argc, char **argv);
    const char *usage;
    const char *help;
};

static int cmd_serve(int argc, char **argv);
static int cmd_migrate(int argc, char **argv);
static int cmd_user_add(int argc, char **argv);
static int cmd_seed_demo(int argc, char **argv);
static int cmd_apikey_create(int argc, char **argv);
static int cmd_version(int argc, char **argv);
static int cmd_help(int argc, char **argv);

static const struct command commands[] = {
    {"serve", NULL, cmd_serve, "sharaka serve",
     "Serves the HTTP API on SHARAKA_LISTEN. Refuses to start while migrations are pending.\n"
     "SIGTERM or SIGINT lets in-flight requests finish, then exits with status 0."},
    {"migrate", NULL, cmd_migrate, "sharaka migrate",
     "Applies the pending migrations in SHARAKA_MIGRATIONS_DIR, each in its own transaction.\n"
     "Refuses (status 1) when an applied migration file was edited since."},
    {"user", "add", cmd_user_add,
     "sharaka user add --email E --role R [--organization ID | --ministry ID] --password-stdin",
     "Creates a user who signs in with POST /v1/auth/token. Roles: analyst, editor, admin.\n"
     "An editor is bound to exactly one organization or ministry. The password is the first\n"
     "line of standard input."},
    {"apikey", "create", cmd_apikey_create, "sharaka apikey create --name N --role R --source S",
     "Creates an API key and prints it once; only its hash is stored. Roles: partner, analyst,\n"
     "admin. A partner's writes are stamped with its source name (e.g. annd); the sources\n"
     "sharaka (that of direct writes) and system are reserved."},
    {"seed", "demo", cmd_seed_demo, "sharaka seed demo",
     "Loads the demo data: the AFKAR programme office, the Ministry of Social Affairs, the\n"
     "Economic and Social Council, five organizations, the five partnership types, the citizen\n"
     "and partnership charters with their signatories, partnerships and monitoring records.\n"
     "Running it again changes nothing."},
    {"version", NULL, cmd_version, "sharaka version", "Prints the version."},
    {"help", NULL, cmd_help, "sharaka help [COMMAND | settings | policy]",
     "Shows help for a command, every setting with its default, or the access policy table\n"
     "(resource, action, role, scope: one allowed combination per line)."},
};

static void
usage(FILE *out)
{
    fprintf(out,
            "sharaka %s - the registry of partnerships between Lebanon's civil society and "
            "its public sector\n\nUsage:\n",
            SHARAKA_VERSION);
    for (size_t i = 0; i < ARRAY_LEN(commands); i++)
        fprintf(out, "  %s\n", commands[i].usage);
    fprintf(out, "\nSettings come from the environment: see `sharaka help settings`.\n");
}

static int usage_error(const char *fmt, ...) PRINTF_LIKE(1, 2);

/* Prints "sharaka: <message>" and the usage on stderr; returns the usage exit status. */
static int
usage_error(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "sharaka: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n\n");
    usage(stderr);
    return EXIT_USAGE;
}

/* Fills flags from argv (after the command words). Returns false after printing the usage. */
static bool
parse_flags(int argc, char **argv, struct flag *flags, size_t nflags)
{
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        const char *eq = strchr(arg, '=');
        size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
        struct flag *f = NULL;
        for (size_t k = 0; k < nflags; k++) {
            if (strlen(flags[k].name) == len && strncmp(flags[k].name, arg, len) == 0)
                f = &flags[k];
        }
        if (f == NULL) {
            usage_error("unknown argument '%s'", arg);
            return false;
        }
        if (!f->takes_value) {
            if (eq != NULL) {
                usage_error("%s takes no value", f->name);
                return false;
            }
            f->value = "";
        } else if (eq != NULL) {
            f->value = eq + 1;
        } else if (i + 1 < argc) {
            f->value = argv[++i];
        } else {
            usage_error("%s needs a value", f->name);
            return false;
        }
    }
    return true;
}

static bool
load_settings(bool need_secret)
{
    char err[300];
    if (!config_load(need_secret, err, sizeof(err))) {
        fprintf(stderr, "sharaka: %s\n", err);
        return false;
    }
    return true;
}

static int
cmd_serve(int argc, char **argv)
{
    if (!parse_flags(argc, argv, NULL, 0))
        return EXIT_USAGE;
    if (!load_settings(true))
        return EXIT_USAGE;
    if (!auth_init()) {
        fprintf(stderr, "sharaka: cannot prepare password verification\n");
        return 1;
    }
    if (migrate_check() != 0)
        return 1;
    resource_init();
    changes_init();
    search_init();
    return server_run();
}

static int
cmd_migrate(int argc, char **argv)
{
    if (!parse_flags(argc, argv, NULL, 0))
        return EXIT_USAGE;
    if (!load_settings(false))
        return EXIT_USAGE;
    return migrate_run();
}

static int
cmd_user_add(int argc, char **argv)
{
    struct flag flags[] = {{"--email", true, NULL},
                           {"--role", true, NULL},
                           {"--organization", true, NULL},
                           {"--ministry", true, NULL},
                           {"--password-stdin", false, NULL}};
    enum role role;
    char password[1100];
    struct error err = {0};

    if (!parse_flags(argc, argv, flags, ARRAY_LEN(flags)))
        return EXIT_USAGE;
    if (flags[0].value == NULL || flags[1].value == NULL || flags[4].value == NULL)
        return usage_error("%s", "user add needs --email, --role and --password-stdin");
    if (!auth_role_parse(flags[1].value, &role) || role == ROLE_PARTNER)
        return usage_error("unknown role '%s': allowed analyst, editor, admin", flags[1].value);
    if (role == ROLE_EDITOR && (flags[2].value == NULL) == (flags[3].value == NULL))
        return usage_error("%s", "an editor needs exactly one of --organization or --ministry");
    if (role != ROLE_EDITOR && (flags[2].value != NULL || flags[3].value != NULL))
        return usage_error("%s", "only an editor is bound to an organization or a ministry");
    for (int i = 2; i <= 3; i++)
        if (flags[i].value != NULL && !value_is_uuid(flags[i].value))
            return usage_error("%s must be the id (a UUID) of a record; got '%s'", flags[i].name,
                               flags[i].value);
    if (!load_settings(false))
        return EXIT_USAGE;
    if (fgets(password, sizeof(password), stdin) == NULL) {
        fprintf(stderr, "sharaka: no password on standard input\n");
        return 1;
    }
    password[strcspn(password, "\r\n")] = '\0';
    if (strlen(password) < 8 || strlen(password) > 1024) {
        sodium_memzero(password, sizeof(password));
        fprintf(stderr, "sharaka: the password must be 8 to 1024 characters\n");
        return 1;
    }
    bool ok = users_add(flags[0].value, role, flags[2].value, flags[3].value, password, &err);
    sodium_memzero(password, sizeof(password));
    if (!ok) {
        fprintf(stderr, "sharaka: %s\n", err.detail);
        error_clear(&err);
        return 1;
    }
    return 0;
}

static int
cmd_apikey_create(int argc, char **argv)
{
    struct flag flags[] = {
        {"--name", true, NULL}, {"--role", true, NULL}, {"--source", true, NULL}};
    enum role role;
    struct error err = {0};
    char key[USERS_KEY_LEN];
    char *record = NULL;

    if (!parse_flags(argc, argv, flags, ARRAY_LEN(flags)))
        return EXIT_USAGE;
    if (flags[0].value == NULL || flags[1].value == NULL || flags[2].value == NULL)
        return usage_error("%s", "apikey create needs --name, --role and --source");
    if (!auth_role_parse(flags[1].value, &role) || role == ROLE_EDITOR)
        return usage_error("unknown role '%s': allowed partner, analyst, admin", flags[1].value);
    /* The same checks as POST /v1/api-keys. */
    json_t *body = json_pack("{s:s, s:s, s:s}", "name", flags[0].value, "role", flags[1].value,
                             "source", flags[2].value);
    json_t *errors = json_array();
    users_check_key(body, errors);
    json_decref(body);
    if (json_array_size(errors) > 0) {
        json_t *first = json_array_get(errors, 0);
        int rc = usage_error("--%s: %s", json_string_value(json_object_get(first, "field")),
                             json_string_value(json_object_get(first, "message")));
        json_decref(errors);
        return rc;
    }
    json_decref(errors);
    if (!load_settings(false))
        return EXIT_USAGE;
    if (migrate_check() != 0)
        return 1;
    PGconn *pg = db_connect(&err);
    if (pg == NULL) {
        fprintf(stderr, "sharaka: cannot connect to the database (SHARAKA_DATABASE_URL)\n");
        return 1;
    }
    bool ok = users_create_key(pg, flags[0].value, flags[1].value, flags[2].value, NULL, NULL,
                               &record, key, &err);
    PQfinish(pg);
    if (!ok) {
        fprintf(stderr, "sharaka: %s\n", err.detail);
        error_clear(&err);
        return 1;
    }
    printf("%s\n", key);
    fprintf(stderr, "API key created: %s\nIt is shown only this once; store it now.\n", record);
    sodium_memzero(key, sizeof(key));
    free(record);
    return 0;
}

static int
cmd_seed_demo(int argc, char **argv)
{
    if (!parse_flags(argc, argv, NULL, 0))
        return EXIT_USAGE;
    if (!load_settings(false))
        return EXIT_USAGE;
    if (migrate_check() != 0)
        return 1;
    return resource_seed_demo();
}

static int
cmd_version(int argc, char **argv)
{
    if (!parse_flags(argc, argv, NULL, 0))
        return EXIT_USAGE;
    printf("sharaka %s\n", SHARAKA_VERSION);
    return 0;
}

static int
cmd_help(int argc, char **argv)
{
    if (argc == 0) {
        usage(stdout);
        return 0;
    }
    if (argc == 1 && strcmp(argv[0], "settings") == 0) {
        config_print_table(stdout);
        return 0;
    }
    if (argc == 1 && strcmp(argv[0], "policy") == 0) {
        access_print_table(stdout);
        return 0;
    }
    for (size_t i = 0; argc == 1 && i < ARRAY_LEN(commands); i++) {
        if (strcmp(commands[i].name, argv[0]) == 0) {
            printf("Usage: %s\n\n%s\n", commands[i].usage, commands[i].help);
            return 0;
        }
    }
    return usage_error("no help for '%s'", argv[0]);
}

int
main(int argc, char **argv)
{
    if (argc < 2)
        return usage_error("%s", "a command is needed");
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0)
        return cmd_version(0, NULL);
    if (sodium_init() < 0) {
        fprintf(stderr, "sharaka: libsodium could not start\n");
        return 1;
    }
    json_object_seed(0);
    for (size_t i = 0; i < ARRAY_LEN(commands); i++) {
        const struct command *c = &commands[i];
        if (strcmp(c->name, argv[1]) != 0)
            continue;
        if (c->sub == NULL)
            return c->run(argc - 2, argv + 2);
        if (argc < 3 || strcmp(argv[2], c->sub) != 0)
            return usage_error("unknown subcommand; expected '%s'", c->usage);
        return c->run(argc - 3, argv + 3);
    }
    return usage_error("unknown command '%s'", argv[1]);
}
