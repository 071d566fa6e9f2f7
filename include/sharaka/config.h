/* config.h - settings read from the environment through one declarative table. */
#ifndef SHARAKA_CONFIG_H
#define SHARAKA_CONFIG_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "sharaka/forwarded.h"
#include "sharaka/util.h"

#define CONFIG_MAX_REPLICAS 8
#define CONFIG_MAX_RETRIES  16

struct config {
    const char *database_url;
    const char *listen;
    struct sockaddr_storage listen_addr;
    socklen_t listen_addr_len;
    int64_t threads;
    int64_t blocking_threads;
    int64_t max_body;
    const char *log_level;
    const char *cors_origins;
    const char *jwt_secret;
    int64_t token_ttl;
    int64_t refresh_ttl;
    const char *jwt_issuer;
    const char *jwt_audience;
    const char *migrations_dir;
    int64_t statement_timeout_ms;
    int64_t export_connections;
    int64_t export_connections_per_ip;
    int64_t export_timeout;
    const char *iati_publisher_ref; /* IATI organisation identifier of the publisher */
    const char *iati_publisher_name;
    const char *iati_publisher_type; /* an IATI OrganisationType code */
    int64_t max_connections;
    int64_t max_connections_per_ip;
    int64_t connection_timeout;
    int64_t header_timeout;
    int64_t body_timeout;
    int64_t shutdown_timeout;
    int64_t rate_limit;
    int64_t rate_limit_anonymous;
    int64_t login_rate_limit;
    int64_t idempotency_retention;
    int64_t janitor_interval;
    const char *jwt_algorithm;
    const char *jwt_public_key;
    const char *jwt_private_key;
    const char *database_read_url;
    const char *read_urls[CONFIG_MAX_REPLICAS]; /* database_read_url, one URL each */
    int nread_urls;
    int64_t replica_max_lag;
    int64_t drain_seconds;
    const char *trusted_proxies;
    struct proxy_set proxies; /* trusted_proxies, parsed */
    const char *forwarded_header;
    bool forwarded_rfc7239; /* Forwarded, not X-Forwarded-For */
    const char *webhook_retry_schedule;
    int64_t webhook_retries[CONFIG_MAX_RETRIES]; /* webhook_retry_schedule, in seconds */
    int nwebhook_retries;
    int64_t webhook_timeout;
    int64_t webhook_concurrency;
    const char *webhook_allow_private;
    bool webhook_private; /* webhook_allow_private is true */
};

extern struct config cfg;

/*
 * Reads every setting from the environment into cfg. On a bad value, writes one line naming the
 * setting and the problem into err and returns false. need_secret makes SHARAKA_JWT_SECRET
 * required.
 */
bool config_load(bool need_secret, char *err, size_t errlen) MUSTCHECK;

/* Prints the settings table: NAME<TAB>DEFAULT<TAB>DESCRIPTION, one per line. */
void config_print_table(FILE *out);

/* True when origin is listed in SHARAKA_CORS_ORIGINS (or the list is "*"). */
bool config_origin_allowed(const char *origin);

#endif
