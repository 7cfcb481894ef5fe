/* An ingest keeps one local stream published from a remote source: it
 * opens sources (relay/client.h) in turn, publishes what arrives through
 * the publish lifecycle (control/publish.h) as the kind it was given, and
 * retries with the relay backoff (relay/relay.h) until stopped:
 *  - source URLs are tried in order, the next after each failure (wrapping);
 *  - the publish begins with the first packet and lasts across source
 *    reconnects only as long as a source is up: a failed source ends it
 *    (LE_PUB_END_DROPPED, so players wait publish_reconnect_grace);
 *  - a source that sends no media for LE_RELAY_NO_MEDIA_MS is dropped;
 *  - le_ingest_stop ends the publish (LE_PUB_END_UNPUBLISHED) so the
 *    publish_done callback fires once, and frees the ingest.
 * A kick of the local stream (takeover, ForbidLiveStream) ends the publish
 * and is reported through ops->kicked; the ingest then idles (no retry)
 * until the owner stops it or calls le_ingest_retry. */
#ifndef LE_RELAY_INGEST_H
#define LE_RELAY_INGEST_H
#include <stddef.h>
#include "control/publish.h"
#include "relay/relay.h"

typedef struct le_ingest le_ingest;
struct event_base;

/* The loop ingests run on. Set once at start. */
void le_ingest_init(struct event_base *base);

typedef struct le_ingest_ops {
    /* The local stream was kicked (reason as given to the kick). May call
     * le_ingest_stop. May be NULL. */
    void (*kicked)(void *ctx, const char *reason);
    /* A source failed; n consecutive failures so far. May stop the ingest
     * or change its URLs. May be NULL. */
    void (*failed)(void *ctx, int err, const char *why, unsigned n);
    /* The local publish began (ok: 1) or a packet was refused by the
     * publish lifecycle (ok: 0, why as le_publish_begin gives it). May be
     * NULL. */
    void (*published)(void *ctx, int ok, const char *why);
} le_ingest_ops;

typedef struct le_ingest_opts {
    const char *domain, *app, *name;   /* the local stream (on a play domain) */
    const char *const *urls;           /* sources, tried in order */
    size_t nurls;
    const char *connect_to;            /* passed to the clients, or NULL */
    le_relay_kind relay_kind;          /* LE_RELAY_PULL or LE_RELAY_EDGE */
    le_pub_info info;                  /* kind and skip flags; source_url is
                                        * filled by the ingest per source */
} le_ingest_opts;

/* Copies what it needs from o and starts connecting (from a deferred
 * event, never inside this call). NULL when o names no URL or no domain
 * (LE_EINVAL is logged). */
le_ingest *le_ingest_start(const le_ingest_opts *o, const le_ingest_ops *ops, void *ctx);
/* Replaces the source list (edge: the origin moved); the current source
 * is kept until it fails. */
void le_ingest_set_urls(le_ingest *in, const char *const *urls, size_t nurls, const char *connect_to);
/* After kicked: tries again now. */
void le_ingest_retry(le_ingest *in);
/* Ends the publish (publish_done once) and frees. Safe from any ops
 * callback. */
void le_ingest_stop(le_ingest *in, const char *reason);
/* The local stream while published, else NULL. */
struct le_stream *le_ingest_stream(const le_ingest *in);
const le_relay *le_ingest_relay(const le_ingest *in);

#endif
