/* log.c - leveled log lines on stderr. */
#include "sharaka/log.h"

#include <stdio.h>
#include <string.h>

enum log_level log_threshold = LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void
log_write(enum log_level level, const char *rid, const char *fmt, ...)
{
    char when[40];
    char msg[1024];
    va_list ap;

    format_time_rfc3339(when, sizeof(when));
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (rid != NULL)
        fprintf(stderr, "%s %s [%s] %s\n", when, level_names[level], rid, msg);
    else
        fprintf(stderr, "%s %s %s\n", when, level_names[level], msg);
}

#define ACCESS_BUFFER 16384

static _Thread_local struct {
    char data[ACCESS_BUFFER];
    size_t len;
} access_lines;

void
log_access_flush(void)
{
    if (access_lines.len == 0)
        return;
    fwrite(access_lines.data, 1, access_lines.len, stdout);
    fflush(stdout);
    access_lines.len = 0;
}

void
log_access(const char *line, size_t len)
{
    if (access_lines.len + len > sizeof(access_lines.data))
        log_access_flush();
    if (len > sizeof(access_lines.data)) {
        fwrite(line, 1, len, stdout);
        fflush(stdout);
        return;
    }
    memcpy(access_lines.data + access_lines.len, line, len);
    access_lines.len += len;
}
