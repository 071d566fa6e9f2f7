/*
 * fuzz_token.c - access-token verification with a fixed secret. The input is verified as token
 * text as it would come after "Bearer ". It is also signed as a token's parts and verified, so
 * that the checks behind the signature see arbitrary headers and claims: "HEADER\nCLAIMS" signs
 * both as given, anything else is the claims under {"alg":"HS256","typ":"JWT"}.
 */
#include "fuzz.h"
#include "sharaka/auth.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_setup();
    if (!auth_init())
        abort();
    return 0;
}

static void
verify(const char *token)
{
    struct principal p;
    struct error err = {0};
    memset(&p, 0, sizeof(p));
    if (auth_token_verify(token, &p, &err)) {
        /* What a verified token yields fits its fields. */
        FUZZ_ASSERT(memchr(p.sub, '\0', sizeof(p.sub)) != NULL);
        FUZZ_ASSERT(memchr(p.org, '\0', sizeof(p.org)) != NULL);
        FUZZ_ASSERT(memchr(p.ministry, '\0', sizeof(p.ministry)) != NULL);
        FUZZ_ASSERT(memchr(p.source, '\0', sizeof(p.source)) != NULL);
    } else {
        FUZZ_ASSERT(err.status == 401);
        FUZZ_ASSERT(err.www_authenticate != NULL);
        FUZZ_ASSERT(memchr(err.detail, '\0', sizeof(err.detail)) != NULL);
    }
    error_clear(&err);
}

/* Appends the URL-safe base64 of len bytes to out at *at. */
static void
put_b64(char *out, size_t *at, const void *bin, size_t len)
{
    size_t cap = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_bin2base64(out + *at, cap, bin, len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    *at += strlen(out + *at);
}

/* A token over header and claims, signed HS256 with the server's secret. New memory. */
static char *
sign(const uint8_t *header, size_t hlen, const uint8_t *claims, size_t clen)
{
    size_t cap = sodium_base64_ENCODED_LEN(hlen, sodium_base64_VARIANT_URLSAFE_NO_PADDING) +
                 sodium_base64_ENCODED_LEN(clen, sodium_base64_VARIANT_URLSAFE_NO_PADDING) +
                 sodium_base64_ENCODED_LEN(crypto_auth_hmacsha256_BYTES,
                                           sodium_base64_VARIANT_URLSAFE_NO_PADDING) +
                 3;
    char *out = xmalloc(cap);
    size_t at = 0;
    put_b64(out, &at, header, hlen);
    out[at++] = '.';
    put_b64(out, &at, claims, clen);

    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)FUZZ_SECRET, strlen(FUZZ_SECRET));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)out, at);
    crypto_auth_hmacsha256_final(&st, mac);
    out[at++] = '.';
    put_b64(out, &at, mac, sizeof(mac));
    return out;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char hs256[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
    char *text = fuzz_text(data, size);
    verify(text);
    free(text);

    const uint8_t *nl = memchr(data, '\n', size);
    char *token = nl != NULL
                      ? sign(data, (size_t)(nl - data), nl + 1, size - (size_t)(nl - data) - 1)
                      : sign((const uint8_t *)hs256, strlen(hs256), data, size);
    verify(token);
    free(token);
    return 0;
}
