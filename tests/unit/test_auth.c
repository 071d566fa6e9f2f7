/* test_auth.c - token checks: signature, pinned algorithm, exp/nbf/iat leeway, iss, aud, claim
 * types, crit headers and duplicate names. */
#include <jwt.h>
#include <sodium.h>
#include <unistd.h>

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

/* base64url without padding of len bytes, appended to out. */
static void
b64url(char *out, size_t cap, const void *data, size_t len)
{
    size_t used = strlen(out);
    sodium_bin2base64(out + used, cap - used, data, len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/*
 * An HS256 token over these exact header and claims texts, so that a test can send what
 * libjwt would never write (duplicate names, crit). Returns new memory.
 */
static char *
sign_raw(const char *header, const char *payload)
{
    size_t cap = 4 * (strlen(header) + strlen(payload)) + 128;
    char *out = calloc(1, cap);
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    b64url(out, cap, header, strlen(header));
    strcat(out, ".");
    b64url(out, cap, payload, strlen(payload));
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)SECRET, strlen(SECRET));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)out, strlen(out));
    crypto_auth_hmacsha256_final(&st, mac);
    strcat(out, ".");
    b64url(out, cap, mac, sizeof(mac));
    return out;
}

#define HS256_HEADER "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"

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
    CHECK(verifies(good)); /* now from the tokens this thread has verified */

    /* A token kept as verified still expires: valid by a second within the leeway, then not. */
    char *ending = sign(JWT_ALG_HS256, SECRET, claims(-(AUTH_LEEWAY - 1), NULL));
    CHECK(verifies(ending));
    sleep(2);
    CHECK(!verifies(ending));
    CHECK(!verifies(ending));

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

    /* Raw tokens: the harness's own signing is right, then each RFC 8725 refusal. */
    char *raw_good = sign_raw(HS256_HEADER, claims(300, NULL));
    CHECK(verifies(raw_good));
    /* Any crit header: this server understands no extension, known name or not. */
    char *crit = sign_raw("{\"alg\":\"HS256\",\"crit\":[\"exp\"],\"exp\":1}", claims(300, NULL));
    CHECK(!verifies(crit));
    char *crit_unknown =
        sign_raw("{\"alg\":\"HS256\",\"crit\":[\"x-new\"],\"x-new\":true}", claims(300, NULL));
    CHECK(!verifies(crit_unknown));
    char *crit_empty = sign_raw("{\"alg\":\"HS256\",\"crit\":[]}", claims(300, NULL));
    CHECK(!verifies(crit_empty));
    /* iat: a day ahead is refused; within the leeway is accepted. */
    char iat[64];
    snprintf(iat, sizeof(iat), ",\"iat\":%ld", (long)now_unix() + 86400);
    char body[600];
    snprintf(body, sizeof(body),
             "{\"sub\":\"5eed0000-0000-4000-8000-000000000001\",\"role\":\"admin\","
             "\"iss\":\"sharaka\",\"aud\":\"sharaka\",\"exp\":%ld%s}",
             (long)now_unix() + 300, iat);
    char *future = sign_raw(HS256_HEADER, body);
    CHECK(!verifies(future));
    snprintf(iat, sizeof(iat), ",\"iat\":%ld", (long)now_unix() + 30);
    snprintf(body, sizeof(body),
             "{\"sub\":\"5eed0000-0000-4000-8000-000000000001\",\"role\":\"admin\","
             "\"iss\":\"sharaka\",\"aud\":\"sharaka\",\"exp\":%ld%s}",
             (long)now_unix() + 300, iat);
    char *skewed = sign_raw(HS256_HEADER, body);
    CHECK(verifies(skewed));
    /* The ends of int64: no overflow (UBSan), and the comparisons still hold. */
    char *exp_max =
        sign_raw(HS256_HEADER, "{\"sub\":\"5eed0000-0000-4000-8000-000000000001\",\"role\":"
                               "\"admin\",\"iss\":\"sharaka\",\"aud\":\"sharaka\","
                               "\"exp\":9223372036854775807}");
    CHECK(verifies(exp_max));
    char *exp_min =
        sign_raw(HS256_HEADER, "{\"sub\":\"5eed0000-0000-4000-8000-000000000001\",\"role\":"
                               "\"admin\",\"iss\":\"sharaka\",\"aud\":\"sharaka\","
                               "\"exp\":-9223372036854775808}");
    CHECK(!verifies(exp_min));
    char *nbf_min =
        sign_raw(HS256_HEADER, "{\"sub\":\"5eed0000-0000-4000-8000-000000000001\",\"role\":"
                               "\"admin\",\"iss\":\"sharaka\",\"aud\":\"sharaka\","
                               "\"exp\":9223372036854775807,\"nbf\":-9223372036854775808,"
                               "\"iat\":-9223372036854775808}");
    CHECK(verifies(nbf_min));
    char *iat_max =
        sign_raw(HS256_HEADER, "{\"sub\":\"5eed0000-0000-4000-8000-000000000001\",\"role\":"
                               "\"admin\",\"iss\":\"sharaka\",\"aud\":\"sharaka\","
                               "\"exp\":9223372036854775807,\"iat\":9223372036854775807}");
    CHECK(!verifies(iat_max));
    /* Duplicate names, in the claims (an expired exp hidden behind a valid one) or the header. */
    snprintf(body, sizeof(body),
             "{\"sub\":\"5eed0000-0000-4000-8000-000000000001\",\"role\":\"analyst\","
             "\"iss\":\"sharaka\",\"aud\":\"sharaka\",\"exp\":1,\"exp\":%ld}",
             (long)now_unix() + 300);
    char *dup_exp = sign_raw(HS256_HEADER, body);
    CHECK(!verifies(dup_exp));
    snprintf(body, sizeof(body),
             "{\"sub\":\"5eed0000-0000-4000-8000-000000000001\",\"role\":\"analyst\","
             "\"role\":\"admin\",\"iss\":\"sharaka\",\"aud\":\"sharaka\",\"exp\":%ld}",
             (long)now_unix() + 300);
    char *dup_role = sign_raw(HS256_HEADER, body);
    CHECK(!verifies(dup_role));
    char *dup_alg = sign_raw("{\"alg\":\"HS256\",\"alg\":\"HS256\"}", claims(300, NULL));
    CHECK(!verifies(dup_alg));
    /* Not three parts; claims that are not an object; padding or stray characters. */
    CHECK(!verifies("a.b"));
    CHECK(!verifies("a.b.c.d"));
    char *array_claims = sign_raw(HS256_HEADER, "[1,2]");
    CHECK(!verifies(array_claims));
    char padded[1200];
    snprintf(padded, sizeof(padded), "%s", raw_good);
    char *dot = strchr(padded, '.');
    memmove(dot + 1, dot, strlen(dot) + 1);
    *dot = '=';
    CHECK(!verifies(padded));

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
    free(ending);
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
    free(raw_good);
    free(crit);
    free(crit_unknown);
    free(crit_empty);
    free(future);
    free(skewed);
    free(exp_max);
    free(exp_min);
    free(nbf_min);
    free(iat_max);
    free(dup_exp);
    free(dup_role);
    free(dup_alg);
    free(array_claims);
    return check_done("auth");
}
