/* util.h - allocation that aborts on failure, a per-request arena and a growable string buffer. */
#ifndef SHARAKA_UTIL_H
#define SHARAKA_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MUSTCHECK         __attribute__((warn_unused_result))
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#define ARRAY_LEN(a)      (sizeof(a) / sizeof((a)[0]))

/* Allocation: out of memory aborts the process, so callers never check for NULL. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* An arena hands out memory that is released all at once by arena_free(). */
struct arena_chunk;
struct arena {
    struct arena_chunk *head;
};

void *arena_alloc(struct arena *a, size_t n);
char *arena_strdup(struct arena *a, const char *s);
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_printf(struct arena *a, const char *fmt, ...) PRINTF_LIKE(2, 3);
void arena_free(struct arena *a);

/* A growable NUL-terminated byte buffer. buf_free() releases it; buf_take() hands the bytes over.
 */
struct buf {
    char *data;
    size_t len;
    size_t cap;
};

void buf_reserve(struct buf *b, size_t extra);
void buf_append(struct buf *b, const void *data, size_t n);
void buf_puts(struct buf *b, const char *s);
void buf_putc(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...) PRINTF_LIKE(2, 3);
void buf_vprintf(struct buf *b, const char *fmt, va_list ap) PRINTF_LIKE(2, 0);
/* Appends s as the inside of a JSON string (no quotes), escaping as RFC 8259 requires. */
void buf_json_escape(struct buf *b, const char *s, size_t n);
void buf_reset(struct buf *b);
char *buf_take(struct buf *b);
void buf_free(struct buf *b);

/* Time helpers. */
uint64_t now_us_monotonic(void);
int64_t now_unix(void);
/* Writes an RFC 3339 UTC time with milliseconds into out (at least 32 bytes). */
void format_time_rfc3339(char *out, size_t len);

/* Reads a whole file of at most max bytes into new memory (NUL-terminated); NULL on failure. */
char *read_file(const char *path, size_t max, size_t *len);

/* FNV-1a over a string, continuing from h (start with HASH_SEED). */
#define HASH_SEED 1469598103934665603ull
uint64_t hash_text(uint64_t h, const char *s);

/* String helpers. */
bool str_has_prefix(const char *s, const char *prefix);

/* The value of a hexadecimal digit (either case), or -1. */
int hex_digit(char c);
bool str_parse_i64(const char *s, int64_t *out) MUSTCHECK;

/* UTF-8. utf8_sequence: length (1-4) of the valid sequence at s (n bytes left), 0 if none. */
size_t utf8_sequence(const unsigned char *s, size_t n);
/* True when the n bytes at s are valid UTF-8 (NUL counts as a character). */
bool utf8_valid(const char *s, size_t n);
/* The length of the longest prefix of s, at most max bytes, that does not split a character. */
size_t utf8_prefix(const char *s, size_t max);
/* Appends s (n bytes) to b as valid UTF-8: each byte that isn't part of a character as \xNN. */
void buf_utf8_shown(struct buf *b, const char *s, size_t n);

#endif
