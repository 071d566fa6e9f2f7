/* test_config.c - settings: defaults, bounds, bad values named, CORS origin matching. */
#include "check.h"
#include "sharaka/config.h"

static void
test_defaults(void)
{
    char err[300] = "";
    unsetenv("SHARAKA_JWT_SECRET");
    CHECK(config_load(false, err, sizeof(err)));
    CHECK_STR(cfg.listen, "127.0.0.1:8080");
    CHECK(cfg.max_body == 1048576);
    CHECK(cfg.token_ttl == 900);
    CHECK(cfg.threads >= 1);
    CHECK(!config_load(true, err, sizeof(err)));
    CHECK(strstr(err, "SHARAKA_JWT_SECRET") != NULL);
}

static void
test_bad_values(void)
{
    static const char *const cases[][2] = {
        {"SHARAKA_THREADS", "abc"},
        {"SHARAKA_THREADS", "65"},
        {"SHARAKA_LISTEN", "nonsense"},
        {"SHARAKA_LISTEN", "127.0.0.1:0"},
        {"SHARAKA_LISTEN", "1.2.3:80"},
        {"SHARAKA_MAX_BODY", "-1"},
        {"SHARAKA_TOKEN_TTL", "7200"},
        {"SHARAKA_LOG_LEVEL", "loud"},
        {"SHARAKA_JWT_SECRET", "short"},
        {"SHARAKA_CORS_ORIGINS", "ftp://x"},
        {"SHARAKA_CORS_ORIGINS", "https://a.example/path"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char err[300] = "";
        setenv(cases[i][0], cases[i][1], 1);
        CHECK(!config_load(false, err, sizeof(err)));
        CHECK(strncmp(err, cases[i][0], strlen(cases[i][0])) == 0);
        unsetenv(cases[i][0]);
    }
}

static void
test_origins(void)
{
    char err[300];
    setenv("SHARAKA_CORS_ORIGINS", "https://app.example.org, http://localhost:3000", 1);
    CHECK(config_load(false, err, sizeof(err)));
    CHECK(config_origin_allowed("https://app.example.org"));
    CHECK(config_origin_allowed("http://localhost:3000"));
    CHECK(!config_origin_allowed("https://app.example.or"));
    CHECK(!config_origin_allowed("https://app.example.org.evil"));
    CHECK(!config_origin_allowed("http://localhost:300"));
    CHECK(!config_origin_allowed(NULL));
    setenv("SHARAKA_CORS_ORIGINS", "*", 1);
    CHECK(config_load(false, err, sizeof(err)));
    CHECK(config_origin_allowed("https://anything.example"));
    unsetenv("SHARAKA_CORS_ORIGINS");
    CHECK(config_load(false, err, sizeof(err)));
    CHECK(!config_origin_allowed("https://app.example.org"));
}

int
main(void)
{
    test_defaults();
    test_bad_values();
    test_origins();
    return check_done("config");
}
