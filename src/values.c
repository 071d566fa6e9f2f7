/* values.c - the checks of single values: uuid, dates, numbers, decimals, URLs, e-mail, slugs,
 * enum lists. Pure functions; the callers say what the value is for. */
#include "sharaka/values.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool
value_is_uuid(const char *s)
{
    static const int dashes[] = {8, 13, 18, 23};
    if (strlen(s) != 36)
        return false;
    for (int i = 0, d = 0; i < 36; i++) {
        if (d < 4 && i == dashes[d]) {
            if (s[i] != '-')
                return false;
            d++;
        } else if (!isxdigit((unsigned char)s[i])) {
            return false;
        }
    }
    return true;
}

static bool
digits(const char *s, int n)
{
    for (int i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    return true;
}

bool
value_is_date(const char *s)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (strlen(s) != 10 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' ||
        !digits(s + 8, 2))
        return false;
    int y = atoi(s), m = atoi(s + 5), d = atoi(s + 8);
    if (y < 1 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
        return false;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return !(m == 2 && d == 29 && !leap);
}

bool
value_is_timestamp(const char *s)
{
    char date[11];
    if (strlen(s) < 10)
        return false;
    memcpy(date, s, 10);
    date[10] = '\0';
    if (!value_is_date(date))
        return false;
    s += 10;
    if (*s == '\0')
        return true;
    if ((*s != 'T' && *s != 't' && *s != ' ') || !digits(s + 1, 2) || s[3] != ':' ||
        !digits(s + 4, 2) || atoi(s + 1) > 23 || atoi(s + 4) > 59)
        return false;
    s += 6;
    if (*s == ':') {
        if (!digits(s + 1, 2) || atoi(s + 1) > 60)
            return false;
        s += 3;
        if (*s == '.') {
            s++;
            if (!isdigit((unsigned char)*s))
                return false;
            while (isdigit((unsigned char)*s))
                s++;
        }
    }
    if (*s == 'Z' || *s == 'z')
        return s[1] == '\0';
    if (*s == '+' || *s == '-')
        return digits(s + 1, 2) && s[3] == ':' && digits(s + 4, 2) && s[6] == '\0' &&
               atoi(s + 1) <= 14 && atoi(s + 4) <= 59;
    return *s == '\0';
}

bool
value_is_number(const char *s)
{
    char *end = NULL;
    if (*s == '\0' || isspace((unsigned char)*s))
        return false;
    double v = strtod(s, &end);
    return *end == '\0' && isfinite(v) && strpbrk(s, "xXpP") == NULL && strlen(s) <= 40;
}

bool
value_in_list(const char *const *values, const char *v)
{
    for (; values && *values; values++)
        if (strcmp(*values, v) == 0)
            return true;
    return false;
}

void
value_join_list(struct buf *b, const char *const *values)
{
    for (int i = 0; values && values[i]; i++)
        buf_printf(b, "%s%s", i ? ", " : "", values[i]);
}

void
value_list_text(char *out, size_t len, const char *const *values)
{
    struct buf b = {0};
    value_join_list(&b, values);
    snprintf(out, len, "%s", b.data ? b.data : "");
    buf_free(&b);
}

size_t
value_utf8_len(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

bool
value_text_ok(json_t *v, size_t max)
{
    if (!json_is_string(v))
        return false;
    size_t n = value_utf8_len(json_string_value(v));
    return n >= 1 && n <= max && strlen(json_string_value(v)) == json_string_length(v);
}

bool
value_is_url(const char *s, size_t max)
{
    const char *host;
    if (strlen(s) > max)
        return false;
    if (strncmp(s, "https://", 8) == 0)
        host = s + 8;
    else if (strncmp(s, "http://", 7) == 0)
        host = s + 7;
    else
        return false;
    if (*host == '\0' || *host == '/' || *host == '?' || *host == '#')
        return false;
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f)
            return false;
    return true;
}

bool
value_is_email(const char *s)
{
    const char *at = strchr(s, '@');
    if (at == NULL || at == s || at[1] == '\0' || strchr(at + 1, '@') != NULL ||
        strchr(at + 1, '.') == NULL || strlen(s) > 320)
        return false;
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p <= 0x20)
            return false;
    return true;
}

bool
value_is_slug(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max || s[0] == '-' || s[n - 1] == '-')
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-'))
            return false;
        if (s[i] == '-' && s[i + 1] == '-')
            return false;
    }
    return true;
}

bool
value_is_decimal(const char *s)
{
    int intd = 0, fracd = 0;
    const char *p = s;
    while (isdigit((unsigned char)*p)) {
        p++;
        intd++;
    }
    if (*p == '.') {
        p++;
        while (isdigit((unsigned char)*p)) {
            p++;
            fracd++;
        }
        if (fracd == 0)
            return false;
    }
    return *p == '\0' && intd >= 1 && intd <= 16 && fracd <= 2;
}
