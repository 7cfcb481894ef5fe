/* Relay URLs (internal to src/relay): rtmp(s):// and http(s):// parsed into
 * what the clients need, redirect targets resolved, and the masking behind
 * le_relay_mask_url. Pure. */
#ifndef LE_RELAY_URL_H
#define LE_RELAY_URL_H
#include <stddef.h>

enum { LE_URL_RTMP = 1, LE_URL_HTTP, LE_URL_HTTPS, LE_URL_RTMPS };

/* RTMP over a socket or over TLS (rtmps). */
#define LE_URL_IS_RTMP(s) ((s) == LE_URL_RTMP || (s) == LE_URL_RTMPS)
/* TLS: https and rtmps. */
#define LE_URL_IS_TLS(s) ((s) == LE_URL_HTTPS || (s) == LE_URL_RTMPS)

typedef struct le_relay_url {
    int scheme;                 /* LE_URL_* */
    char host[256];             /* without brackets for IPv6 */
    int port;                   /* default 1935 / 80 / 443 (https, rtmps) */
    char authority[300];        /* host[:port] as written, credentials dropped */
    char app[512];              /* rtmp: path up to the last '/' */
    char stream[1024];          /* rtmp: the last segment with the ?query */
    char tcurl[1024];           /* rtmp[s]://authority/app */
    char target[2048];          /* http: /path?query */
} le_relay_url;

/* LE_OK, or LE_EINVAL: scheme not rtmp/rtmps/http/https, no host, bad
 * port, (rtmp, rtmps) no stream name, or a part too long. */
int le_relay_url_parse(const char *url, le_relay_url *u);
/* "host:port" (or "[v6]:port") into host/port: LE_OK or LE_EINVAL. */
int le_relay_hostport(const char *s, char *host, size_t hostsz, int *port);
/* A Location header resolved against the URL it came from (absolute,
 * scheme-relative "//host/...", absolute path, or relative path), into out.
 * LE_OK or LE_EINVAL (too long). */
int le_relay_url_resolve(const char *base, const char *loc, char *out, size_t n);

#endif
