/* framing.h - checks of a request's header section (RFC 9112 section 5 and 6): pure, fuzzable. */
#ifndef SHARAKA_FRAMING_H
#define SHARAKA_FRAMING_H

#include <stdbool.h>
#include <stddef.h>

/* One header field as the HTTP parser handed it over; name and value need not be terminated. */
struct framing_header {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
    bool folded;       /* the parser saw an obs-fold continuation line for this field */
    bool bad_line_end; /* its line held a NUL or ended in a bare LF, or the next line is broken */
};

/* Why a header section was refused: the status, a short code and a sentence naming the field. */
struct framing_error {
    int status; /* 400, or 411 for a chunked body */
    const char *code;
    char detail[256];
};

/*
 * Checks n header fields: every name is a token (so no whitespace before the colon), no line
 * folding, no control character (NUL, CR, DEL...) in a value, names and values are valid UTF-8,
 * one Host, at most one Content-Length made of digits, at most one Transfer-Encoding, never both.
 * A body must come with its Content-Length: a chunked one is refused with 411 (RFC 9112 section
 * 6.3), because the HTTP library decodes chunk lines itself and would accept ones that end in a
 * bare LF, which a front end may read differently. Returns true when the section is sound;
 * otherwise false with *err naming the first problem.
 */
bool framing_check(const struct framing_header *h, size_t n, struct framing_error *err);

#endif
