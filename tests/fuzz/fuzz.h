/* fuzz.h - what the libFuzzer harnesses share: the entry points, input as text, a fixed setup. */
#ifndef SHARAKA_FUZZ_H
#define SHARAKA_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "sharaka/config.h"
#include "sharaka/cursor.h"
#include "sharaka/query.h"
#include "sharaka/util.h"

/* The secret the harnesses sign tokens and cursors with; the seeds were made with it. */
#define FUZZ_SECRET "fuzz-secret-0123456789abcdef-0123456789"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A property the code under test must keep; a broken one is reported like a crash. */
#define FUZZ_ASSERT(cond)                                                                          \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: property broken: %s\n", __FILE__, __LINE__, #cond);            \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* The input as a NUL-terminated string (it ends at its first NUL, as a C string would). New
 * memory. */
static inline char *
fuzz_text(const uint8_t *data, size_t size)
{
    char *s = xmalloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* Loads the settings as the server would, with FUZZ_SECRET as the token and cursor secret, and
 * derives the cursor key from it, as serve does. */
static inline void
fuzz_setup(void)
{
    char err[300];
    if (sodium_init() < 0) {
        fprintf(stderr, "sodium_init failed\n");
        abort();
    }
    setenv("SHARAKA_JWT_SECRET", FUZZ_SECRET, 1);
    if (!config_load(true, err, sizeof(err))) {
        fprintf(stderr, "config_load: %s\n", err);
        abort();
    }
    cursor_init(cfg.jwt_secret);
}

/* The LLVMFuzzerInitialize of a harness that needs only the settings (fuzz_setup). */
#define FUZZ_INITIALIZE_WITH_SETTINGS                                                              \
    int LLVMFuzzerInitialize(int *argc, char ***argv)                                              \
    {                                                                                              \
        (void)argc;                                                                                \
        (void)argv;                                                                                \
        fuzz_setup();                                                                              \
        return 0;                                                                                  \
    }

#endif
