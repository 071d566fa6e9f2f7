/* fuzz_framing.c - libFuzzer harness for the header-section checks: lines split at LF, name at ':'.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sharaka/framing.h"

#define MAX_FIELDS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct framing_header h[MAX_FIELDS];
    struct framing_error err;
    size_t n = 0;
    const char *p = (const char *)data, *end = p + size;

    while (p < end && n < MAX_FIELDS) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *line_end = nl ? nl : end;
        size_t len = (size_t)(line_end - p);
        bool crlf = len > 0 && p[len - 1] == '\r';
        if (crlf)
            len--;
        const char *colon = memchr(p, ':', len);
        struct framing_header *f = &h[n++];
        memset(f, 0, sizeof(*f));
        if (colon == NULL) {
            /* A line without a colon: a continuation of the previous field, as obs-fold. */
            f->name = p;
            f->name_len = len;
            f->folded = n > 1;
        } else {
            f->name = p;
            f->name_len = (size_t)(colon - p);
            const char *v = colon + 1;
            while (v < p + len && (*v == ' ' || *v == '\t'))
                v++;
            f->value = v;
            f->value_len = (size_t)(p + len - v);
        }
        f->bad_line_end = nl != NULL && !crlf;
        p = nl ? nl + 1 : end;
    }
    bool ok = framing_check(h, n, &err);
    if (!ok &&
        (err.code == NULL || strlen(err.detail) == 0 || strlen(err.detail) >= sizeof(err.detail)))
        __builtin_trap();
    return 0;
}
