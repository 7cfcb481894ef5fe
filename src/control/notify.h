/* Publish callbacks (livedge.conf(5), CALLBACKS): an HTTP GET to the play
 * domain's notify_url with action=publish when a publish starts and
 * action=publish_done when it ends, exactly one of each per publish whose
 * domain had callbacks on at its start.
 *
 * The I/O side is the outbound HTTP client (net/httpc.h) on the node's
 * loop, which never blocks it: one connection per attempt. Success is HTTP 200; a failure or a 5 s
 * timeout is retried 5 times 1 s apart, then given up (log + metric). Per
 * publish, publish_done waits until its publish has finished (succeeded or
 * given up). The publish callback waits for onMetaData (width/height) for
 * at most 1 s; the publish itself never waits for anything here.
 *
 * Outstanding work is bounded (LE_NOTIFY_MAX_QUEUED callbacks); past that the
 * oldest callback not yet sent is dropped and counted. The client's limits
 * hold (LE_HTTPC_MAX_INFLIGHT in flight, LE_HTTPC_MAX_PER_TARGET to one
 * scheme://host:port), so one hanging server cannot hold back another's. */
#ifndef LE_NOTIFY_H
#define LE_NOTIFY_H
#include <stddef.h>
#include <stdint.h>
#include "control/publish.h"
#include "core/util.h"
#include "media/stream.h"

#define LE_NOTIFY_TIMEOUT_MS 5000
#define LE_NOTIFY_RETRIES 5
#define LE_NOTIFY_RETRY_GAP_MS 1000
#define LE_NOTIFY_META_WAIT_MS 1000
#define LE_NOTIFY_MAX_QUEUED 10000

/* ---- pure part (no loop, no logging; unit-tested) ---- */

/* RFC 3986 percent-encoding: A-Z a-z 0-9 - _ . ~ kept, every other byte
 * %XY with upper-case hex. Appends to out. */
void le_notify_pct(le_buf *out, const char *s, size_t n);

typedef struct le_notify_params {
    const char *action;        /* "publish" | "publish_done" */
    const char *ip;            /* the broadcaster */
    const char *id;            /* StreamName */
    const char *app;           /* push domain if the publish came in on one, else play domain */
    const char *appname;       /* AppName */
    int64_t time_s;            /* unix seconds of the event */
    const char *usrargs;       /* query string of the publish, "" if none */
    const char *node;          /* node_name */
    int width, height;         /* > 0: added (publish only) */
} le_notify_params;

/* Appends "action=..&ip=..&id=..&app=..&appname=..&time=..&usrargs=..&node=..
 * [&width=..&height=..]", every value percent-encoded. */
void le_notify_query(le_buf *out, const le_notify_params *p);

/* The request target for a notify URL's path and query (either may be NULL
 * or ""): path ("/" if empty), '?', the URL's own query and '&' if it has
 * one, then params. Appends to out. */
void le_notify_target(le_buf *out, const char *path, const char *url_query, const char *params);

/* ALI-LIVE-SIGNATURE = md5hex("{domain}|{timestamp}|{key}"), lower-case. */
void le_notify_sign(const char *domain, int64_t ts, const char *key, char out[33]);

/* ---- the module ---- */

void le_notify_init(void);
/* Abandons what is still outstanding (one log line each) and frees all. */
void le_notify_free(void);

/* From le_publish_begin / le_publish_end (control/publish.c). */
void le_notify_publish_started(le_stream *st, const le_pub_info *info);
void le_notify_publish_ended(le_stream *st, const char *reason);

/* The node is stopping (SIGTERM), called after the publishers were closed:
 * from now on a callback waits only for the first attempt of the earlier
 * one of its stream, not for its outcome (see notify.c). */
void le_notify_stop(void);

/* Callbacks not yet finished (queued, waiting, in flight or between
 * retries). The node's graceful stop waits for 0 (bounded by its deadline). */
size_t le_notify_pending(void);

typedef struct le_notify_stats {
    uint64_t sent;             /* callbacks whose first attempt went out */
    uint64_t succeeded;        /* answered 200 */
    uint64_t failed;           /* given up after every attempt failed */
    uint64_t retried;          /* attempts after the first */
    uint64_t dropped;          /* dropped unsent by the queue bound */
    uint64_t abandoned;        /* still outstanding when the node stopped */
    uint64_t attempts;         /* HTTP requests made */
} le_notify_stats;
const le_notify_stats *le_notify_get_stats(void);

#endif
