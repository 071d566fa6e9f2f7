/* log.c - leveled log lines on stderr. */
#include "sharaka/log.h"

#include <stdio.h>

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
