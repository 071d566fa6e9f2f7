/* framing.c - checks of a request's header section: token names, clean values, one framing. */
#include "sharaka/framing.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "sharaka/util.h"

#define NAME_SHOWN 40

static bool
fail(struct framing_error *err, const char *code, const char *fmt, ...)
{
    va_list ap;
    err->status = 400;
    err->code = code;
    va_start(ap, fmt);
    vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
    va_end(ap);
    return false;
}

/* RFC 9110 section 5.6.2: tchar. */
static bool
is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Copies a name into out for a message: printable ASCII kept, anything else as \xNN. */
static const char *
shown(const struct framing_header *h, char *out, size_t outlen)
{
    size_t o = 0;
    for (size_t i = 0; i < h->name_len && o + 5 < outlen && i < NAME_SHOWN; i++) {
        unsigned char c = (unsigned char)h->name[i];
        if (c >= 0x21 && c <= 0x7e && c != '"' && c != '\\')
            out[o++] = (char)c;
        else
            o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", c);
    }
    out[o] = '\0';
    return out;
}

/* True when the n bytes at s are want, ignoring ASCII case. */
static bool
equal_nocase(const char *s, size_t n, const char *want)
{
    if (strlen(want) != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        char a = s[i], b = want[i];
        if (a >= 'A' && a <= 'Z')
            a = (char)(a - 'A' + 'a');
        if (b >= 'A' && b <= 'Z')
            b = (char)(b - 'A' + 'a');
        if (a != b)
            return false;
    }
    return true;
}

static bool
check_field(const struct framing_header *h, struct framing_error *err)
{
    char nm[NAME_SHOWN * 4 + 8];
    if (h->name_len == 0)
        return fail(err, "bad-header", "a header line has no field name before its colon");
    for (size_t i = 0; i < h->name_len; i++) {
        unsigned char c = (unsigned char)h->name[i];
        if (c == ' ' || c == '\t')
            return fail(err, "bad-header",
                        "the header name \"%s\" has whitespace before its colon or inside it; "
                        "a field name is a token followed directly by ':'",
                        shown(h, nm, sizeof(nm)));
        if (!is_tchar(c))
            return fail(err, "bad-header",
                        "the header name \"%s\" holds a character that is not allowed in a "
                        "field name (letters, digits and !#$%%&'*+-.^_`|~)",
                        shown(h, nm, sizeof(nm)));
    }
    if (h->folded)
        return fail(err, "bad-header",
                    "the header %s is folded over several lines (obs-fold); send each field on "
                    "one line",
                    shown(h, nm, sizeof(nm)));
    if (h->bad_line_end)
        return fail(err, "bad-header",
                    "the line of the header %s, or the line after it, is malformed (a NUL, a bare "
                    "LF, or a line without a field name); header lines are name: value and end in "
                    "CR LF",
                    shown(h, nm, sizeof(nm)));
    for (size_t i = 0; i < h->value_len; i++) {
        unsigned char c = (unsigned char)h->value[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return fail(err, "bad-header",
                        "the value of the header %s holds the control character 0x%02x; "
                        "only visible characters, spaces and tabs are allowed",
                        shown(h, nm, sizeof(nm)), c);
    }
    if (!utf8_valid(h->value, h->value_len))
        return fail(err, "invalid-utf8", "the value of the header %s is not valid UTF-8",
                    shown(h, nm, sizeof(nm)));
    return true;
}

bool
framing_check(const struct framing_header *h, size_t n, struct framing_error *err)
{
    int hosts = 0, lengths = 0, codings = 0;
    const struct framing_header *cl = NULL, *te = NULL;

    err->code = NULL;
    err->detail[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (!check_field(&h[i], err))
            return false;
        if (equal_nocase(h[i].name, h[i].name_len, "Host"))
            hosts++;
        else if (equal_nocase(h[i].name, h[i].name_len, "Content-Length"))
            lengths++, cl = &h[i];
        else if (equal_nocase(h[i].name, h[i].name_len, "Transfer-Encoding"))
            codings++, te = &h[i];
    }
    if (hosts > 1)
        return fail(err, "bad-framing", "the request has %d Host headers; exactly one is allowed",
                    hosts);
    if (lengths > 1 || codings > 1 || (lengths && codings))
        return fail(err, "bad-framing",
                    "a request may carry one Content-Length or one Transfer-Encoding, not both "
                    "and not twice");
    if (cl != NULL) {
        bool digits = cl->value_len > 0;
        for (size_t i = 0; i < cl->value_len; i++)
            digits = digits && cl->value[i] >= '0' && cl->value[i] <= '9';
        if (!digits)
            return fail(err, "bad-framing", "Content-Length must be a decimal number of bytes");
    }
    if (te != NULL && !equal_nocase(te->value, te->value_len, "chunked"))
        return fail(err, "bad-framing",
                    "Transfer-Encoding must be exactly \"chunked\"; no other coding, and no list "
                    "of codings, is accepted");
    if (te != NULL) {
        fail(err, "length-required",
             "a request body must be sent with a Content-Length header; chunked request bodies "
             "are not accepted");
        err->status = 411;
        return false;
    }
    return true;
}
