/* cursor.c - the keyset cursor codec: the sort spec and the last row's values, MAC-protected
 * under a key derived from the server's secret, URL-safe. */
#include "sharaka/cursor.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "sharaka/values.h"

#define CURSOR_MAC_BYTES 16
#define CURSOR_MAX_LEN   2048

static unsigned char cursor_key[crypto_generichash_KEYBYTES];

void
cursor_init(const char *secret)
{
    crypto_generichash(cursor_key, sizeof(cursor_key), (const unsigned char *)secret,
                       strlen(secret), (const unsigned char *)"sharaka-cursor-key-v1-padding-32",
                       32);
}

static void
cursor_mac(unsigned char out[CURSOR_MAC_BYTES], const char *payload, size_t len)
{
    crypto_generichash(out, CURSOR_MAC_BYTES, (const unsigned char *)payload, len, cursor_key,
                       sizeof(cursor_key));
}

char *
cursor_encode(struct arena *a, const char *sort_spec, const char *keyset_json)
{
    struct buf payload = {0};
    unsigned char mac[CURSOR_MAC_BYTES];

    buf_puts(&payload, "[\"");
    buf_json_escape(&payload, sort_spec, strlen(sort_spec));
    buf_puts(&payload, "\",");
    buf_append(&payload, keyset_json + 1, strlen(keyset_json) - 1); /* drop the '[' */
    cursor_mac(mac, payload.data, payload.len);
    size_t b64len =
        sodium_base64_ENCODED_LEN(payload.len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    size_t maclen =
        sodium_base64_ENCODED_LEN(CURSOR_MAC_BYTES, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *out = arena_alloc(a, b64len + maclen + 1);
    sodium_bin2base64(out, b64len, (const unsigned char *)payload.data, payload.len,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    size_t n = strlen(out);
    out[n] = '.';
    sodium_bin2base64(out + n + 1, maclen, mac, sizeof(mac),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    buf_free(&payload);
    return out;
}

static bool
bad_cursor(struct error *err)
{
    return error_set(err, 400, "invalid-cursor",
                     "cursor is not one this server issued for this list; start again without "
                     "cursor");
}

bool
cursor_decode(struct arena *a, const char *cursor, const char *sort_spec, int nvalues,
              const char **values, struct error *err)
{
    size_t len = strlen(cursor);
    const char *dot = strchr(cursor, '.');
    unsigned char mac[CURSOR_MAC_BYTES], want[CURSOR_MAC_BYTES];
    size_t binlen = 0, maclen = 0;

    if (len == 0 || len > CURSOR_MAX_LEN || dot == NULL)
        return bad_cursor(err);
    unsigned char *bin = arena_alloc(a, len);
    if (sodium_base642bin(bin, len, cursor, (size_t)(dot - cursor), NULL, &binlen, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        sodium_base642bin(mac, sizeof(mac), dot + 1, strlen(dot + 1), NULL, &maclen, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        maclen != sizeof(mac))
        return bad_cursor(err);
    cursor_mac(want, (const char *)bin, binlen);
    if (crypto_verify_16(mac, want) != 0)
        return bad_cursor(err);
    json_t *arr = json_loadb((const char *)bin, binlen, 0, NULL);
    bool ok = json_is_array(arr) && (int)json_array_size(arr) == nvalues + 1 &&
              json_is_string(json_array_get(arr, 0));
    if (ok && strcmp(json_string_value(json_array_get(arr, 0)), sort_spec) != 0) {
        /* Formatted before the array (which owns the string) is released. */
        error_set(err, 400, "invalid-cursor",
                  "cursor was issued for sort=%s; keep the same sort while paging, or "
                  "start again without cursor",
                  json_string_value(json_array_get(arr, 0)));
        json_decref(arr);
        return false;
    }
    for (int i = 0; ok && i < nvalues; i++) {
        json_t *v = json_array_get(arr, (size_t)i + 1);
        if (json_is_null(v)) {
            values[i] = NULL;
        } else if (json_is_string(v)) {
            values[i] = arena_strdup(a, json_string_value(v));
        } else if (json_is_number(v) || json_is_boolean(v)) {
            char *t = json_dumps(v, JSON_ENCODE_ANY);
            values[i] = arena_strdup(a, t);
            free(t);
        } else {
            ok = false;
        }
    }
    if (ok && (values[nvalues - 1] == NULL || !value_is_uuid(values[nvalues - 1])))
        ok = false;
    json_decref(arr);
    return ok ? true : bad_cursor(err);
}
