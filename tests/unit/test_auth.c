/* test_auth.c - token checks: signature, pinned algorithm, exp/nbf leeway, iss, aud, claim types.
 */
#include <jwt.h>
#include <sodium.h>

#include "check.h"
#include "sharaka/auth.h"
#include "sharaka/config.h"

#define SECRET "0123456789abcdef0123456789abcdef-unit"

/* Signs claims (a JSON object text) with alg and key; returns new memory. */
static char *
sign(jwt_alg_t alg, const char *key, const char *claims)
{
    jwt_t *jwt = NULL;
    CHECK(jwt_new(&jwt) == 0);
    CHECK(jwt_add_grants_json(jwt, claims) == 0);
    CHECK(jwt_set_alg(jwt, alg, (const unsigned char *)key, key ? (int)strlen(key) : 0) == 0);
    char *out = jwt_encode_str(jwt);
    jwt_free(jwt);
    return out;
}

static bool
verifies(const char *token)
{
    struct principal p;
    struct error err = {0};
    bool ok = auth_token_verify(token, &p, &err);
    if (!ok) {
        CHECK(err.status == 401);
        CHECK(err.www_authenticate != NULL);
    }
    error_clear(&err);
    return ok;
}

static char *
claims(long exp_offset, const char *extra)
{
    static char buf[512];
    long now = (long)now_unix();
    snprintf(buf, sizeof(buf),
             "{\"sub\":\"5eed0000-0000-4000-8000-000000000001\",\"role\":\"admin\","
             "\"iss\":\"sharaka\",\"aud\":\"sharaka\",\"iat\":%ld,\"exp\":%ld%s}",
             now, now + exp_offset, extra ? extra : "");
    return buf;
}

int
main(void)
{
    char err[300];
    CHECK(sodium_init() >= 0);
    setenv("SHARAKA_JWT_SECRET", SECRET, 1);
    CHECK(config_load(true, err, sizeof(err)));
    CHECK(auth_init());

    char *good = sign(JWT_ALG_HS256, SECRET, claims(300, NULL));
    CHECK(verifies(good));

    /* A flipped bit in the signature. */
    char *flipped = xstrdup(good);
    size_t n = strlen(flipped);
    flipped[n - 2] = flipped[n - 2] == 'A' ? 'B' : 'A';
    CHECK(!verifies(flipped));

    /* Another key; another algorithm of the same family; none. */
    char *other = sign(JWT_ALG_HS256, "another-secret-of-at-least-32-bytes!!", claims(300, NULL));
    CHECK(!verifies(other));
    char *hs512 = sign(JWT_ALG_HS512, SECRET, claims(300, NULL));
    CHECK(!verifies(hs512));
    char *none = sign(JWT_ALG_NONE, NULL, claims(300, NULL));
    CHECK(!verifies(none));

    /* exp: past beyond the leeway, within it; nbf in the future. */
    char *expired = sign(JWT_ALG_HS256, SECRET, claims(-120, NULL));
    CHECK(!verifies(expired));
    char *leeway = sign(JWT_ALG_HS256, SECRET, claims(-30, NULL));
    CHECK(verifies(leeway));
    char nbf[64];
    snprintf(nbf, sizeof(nbf), ",\"nbf\":%ld", (long)now_unix() + 600);
    char *early = sign(JWT_ALG_HS256, SECRET, claims(900, nbf));
    CHECK(!verifies(early));

    /* Missing or ill-typed claims. */
    char *noexp =
        sign(JWT_ALG_HS256, SECRET,
             "{\"sub\":\"x\",\"role\":\"admin\",\"iss\":\"sharaka\",\"aud\":\"sharaka\"}");
    CHECK(!verifies(noexp));
    char *strexp = sign(JWT_ALG_HS256, SECRET,
                        "{\"sub\":\"x\",\"role\":\"admin\",\"iss\":\"sharaka\",\"aud\":\"sharaka\","
                        "\"exp\":\"99999999999\"}");
    CHECK(!verifies(strexp));
    char *wrong_iss = sign(JWT_ALG_HS256, SECRET,
                           "{\"sub\":\"x\",\"role\":\"admin\",\"iss\":\"evil\","
                           "\"aud\":\"sharaka\",\"exp\":99999999999}");
    CHECK(!verifies(wrong_iss));
    char *wrong_aud = sign(JWT_ALG_HS256, SECRET,
                           "{\"sub\":\"x\",\"role\":\"admin\",\"iss\":\"sharaka\","
                           "\"aud\":\"someone-else\",\"exp\":99999999999}");
    CHECK(!verifies(wrong_aud));
    char *role = sign(JWT_ALG_HS256, SECRET,
                      "{\"sub\":\"x\",\"role\":\"superuser\",\"iss\":\"sharaka\","
                      "\"aud\":\"sharaka\",\"exp\":99999999999}");
    CHECK(!verifies(role));

    /* Tokens this module issues verify, and carry the configured lifetime. */
    struct principal p = {.role = ROLE_EDITOR};
    snprintf(p.sub, sizeof(p.sub), "5eed0000-0000-4000-8000-000000000002");
    snprintf(p.org, sizeof(p.org), "5eed0002-0000-4000-8000-000000000001");
    int64_t expires_in = 0;
    char *issued = auth_token_issue(&p, &expires_in);
    struct principal back;
    struct error e = {0};
    CHECK(issued != NULL && auth_token_verify(issued, &back, &e));
    CHECK(expires_in == 900 && back.exp - back.iat == 900);
    CHECK_STR(back.org, p.org);
    CHECK(back.role == ROLE_EDITOR);

    free(good);
    free(flipped);
    free(other);
    free(hs512);
    free(none);
    free(expired);
    free(leeway);
    free(early);
    free(noexp);
    free(strexp);
    free(wrong_iss);
    free(wrong_aud);
    free(role);
    free(issued);
    return check_done("auth");
}
