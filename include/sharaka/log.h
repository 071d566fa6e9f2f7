/* log.h - leveled logging to stderr; the macros check the level before formatting. */
#ifndef SHARAKA_LOG_H
#define SHARAKA_LOG_H

#include "sharaka/util.h"

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR };

extern enum log_level log_threshold;

/* Writes one line "time level [request id] message" to stderr. rid may be NULL. */
void log_write(enum log_level level, const char *rid, const char *fmt, ...) PRINTF_LIKE(3, 4);

/*
 * The access log: one JSON line per request on stdout. A line is kept in its thread's buffer and
 * written with the others of the same turn of the event loop by log_access_flush() (the loops call
 * it after each turn), or at once when the buffer passes 16 KiB.
 */
void log_access(const char *line, size_t len);
void log_access_flush(void);

#define log_at(lvl, rid, ...)                                                                      \
    do {                                                                                           \
        if ((lvl) >= log_threshold)                                                                \
            log_write((lvl), (rid), __VA_ARGS__);                                                  \
    } while (0)

#define log_debug(...)       log_at(LOG_DEBUG, NULL, __VA_ARGS__)
#define log_info(...)        log_at(LOG_INFO, NULL, __VA_ARGS__)
#define log_warn(...)        log_at(LOG_WARN, NULL, __VA_ARGS__)
#define log_error(...)       log_at(LOG_ERROR, NULL, __VA_ARGS__)
#define rlog_warn(rid, ...)  log_at(LOG_WARN, (rid), __VA_ARGS__)
#define rlog_error(rid, ...) log_at(LOG_ERROR, (rid), __VA_ARGS__)

#endif
