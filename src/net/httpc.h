/* Outbound HTTP client on the node's loop: http:// and https:// (TLS 1.2+,
 * certificate and host verified), host names through evdns, one
 * connection per attempt ("Connection: close"). Never blocks the loop.
 *
 * A request is queued behind the limits (LE_HTTPC_MAX_INFLIGHT in flight in
 * all, LE_HTTPC_MAX_PER_TARGET to one scheme://host:port, so one hanging
 * server cannot hold back another's; the queue is served one request per
 * target per round), then tried up to 1 + retries times, retry_gap_ms
 * apart, each attempt bounded by timeout_ms. The response body is read up
 * to max_body bytes (more is a failed attempt). The callback runs exactly
 * once (never from inside le_httpc_request), unless the request is
 * cancelled first. */
#ifndef LE_HTTPC_H
#define LE_HTTPC_H
#include <stddef.h>
#include <stdint.h>

struct event_base;

#define LE_HTTPC_MAX_INFLIGHT 512
#define LE_HTTPC_MAX_PER_TARGET 64
#define LE_HTTPC_MAX_BODY (64 * 1024)      /* max_body 0 means this */

typedef struct le_httpc_req le_httpc_req;

typedef struct le_httpc_resp {
    int status;                 /* HTTP status of the last attempt, 0 if none */
    const char *why;            /* the last failure ("" on success) */
    const uint8_t *body;        /* the last answer's body (valid during the callback) */
    size_t body_len;
    int attempts;
    uint64_t took_ms;           /* from the first attempt */
} le_httpc_resp;

typedef void (*le_httpc_cb)(const le_httpc_resp *r, void *arg);
/* Before each attempt goes out (attempt counts from 1): the place to add
 * per-attempt headers (le_httpc_set_header), e.g. a signature timestamp. */
typedef void (*le_httpc_start_cb)(le_httpc_req *rq, int attempt, void *arg);

typedef struct le_httpc_opts {
    const char *method;         /* "GET" (NULL), "POST", "PUT", "DELETE", "HEAD" */
    const char *url;            /* http(s)://host[:port][/path][?query] */
    const char *target;         /* request target instead of the URL's path?query, or NULL */
    const char *const *headers; /* "Name: value" strings, NULL-terminated, or NULL */
    const void *body;           /* copied */
    size_t body_len;
    int timeout_ms;             /* per attempt; <= 0: 5000 */
    int retries;                /* attempts after the first */
    int retry_gap_ms;           /* <= 0: 1000 */
    int ok_status;              /* nonzero: only this status ends the request, any
                                 * other is retried; 0: any status below 500 does */
    size_t max_body;
    le_httpc_start_cb on_start; /* or NULL */
} le_httpc_opts;

/* Takes a reference on the module (the first one creates the DNS base and
 * the TLS context); le_httpc_free drops it, the last one cancels what is
 * left and frees all. */
void le_httpc_init(struct event_base *base);
void le_httpc_free(void);

/* Checks that url is a usable http(s) URL (host, port 1-65535) and gives
 * its path ("/" when empty) and query (NULL when none), both the caller's to
 * free. 0 or LE_EINVAL. */
int le_httpc_url_parts(const char *url, char **path, char **query);

/* 0 and *out set, or LE_EINVAL (URL not a usable http(s) URL, bad method or
 * header). cb runs later with the outcome. */
int le_httpc_request(const le_httpc_opts *o, le_httpc_cb cb, void *arg, le_httpc_req **out);
/* No callback after this; safe in any state before the callback ran. */
void le_httpc_cancel(le_httpc_req *rq);
/* From on_start: sets a header for this and later attempts. */
void le_httpc_set_header(le_httpc_req *rq, const char *name, const char *value);

enum { LE_HTTPC_QUEUED = 0, LE_HTTPC_INFLIGHT, LE_HTTPC_BACKOFF };
int le_httpc_state(const le_httpc_req *rq);
int le_httpc_attempts(const le_httpc_req *rq);
/* The host to connect to, as "scheme://host:port" (logs, grouping). */
const char *le_httpc_target(const le_httpc_req *rq);

typedef struct le_httpc_stats {
    uint64_t attempts;          /* HTTP attempts started */
    size_t inflight, queued;
} le_httpc_stats;
void le_httpc_get_stats(le_httpc_stats *s);

#endif
