/* The publish lifecycle: one pair of calls for every publisher kind (an
 * RTMP socket, a relay pull, an edge copy, a transcoder or studio output).
 * The owner describes its source in a le_pub_info, keeps a le_publish
 * handle, and calls le_publish_begin when it wants the stream and
 * le_publish_end whatever ends it. docs/ARCHITECTURE.md, "The publish
 * lifecycle", walks through the same steps.
 *
 * le_publish_begin, in this order (a failing step undoes nothing, as
 * nothing before it holds state):
 *   1. access policy: IP black list, IP white list, domain online, URL
 *      signature (auth/access.h)                   skipped by no_access_check
 *   2. block list: a ForbidLiveStream entry whose ResumeTime has not passed
 *                                                   skipped by no_blocklist
 *      1 and 2 fail with LE_EDENIED and the reason in why (for the log).
 *   3. stream slot: le_stream_find(create) and le_stream_publish; a held
 *      slot follows publish_takeover: LE_EEXIST, or the old publisher is
 *      kicked, its own le_publish_end runs first (the old publish ends
 *      completely before this one starts)
 *   4. stream hooks, inside le_stream_publish: le_stream_on_publish (the
 *      HLS segmenter attaches; time-shift follows the HLS ring) and the
 *      subscribers' publish
 *   5. online list and history (pubhist ZADD, the online hash field)
 *                                                   skipped by no_online_entry
 *   6. publish callback: a publish record; its callback is held until
 *      onMetaData or 1 s (asynchronous; begin never waits)
 *                                                   skipped by no_callbacks
 * le_publish_end, exactly once per successful begin (later calls do
 * nothing), the reverse:
 *   6. publish_done callback, queued behind its publish (no_callbacks: none)
 *   5. history entry gets its StopTime, online field deleted (no_online_entry:
 *      none)
 *   4+3. the slot is released: LE_PUB_END_DROPPED leaves players waiting
 *      (publish_reconnect_grace), LE_PUB_END_UNPUBLISHED ends them now; the
 *      HLS segmenter seals its last segment and detaches. */
#ifndef LE_PUBLISH_H
#define LE_PUBLISH_H
#include <stddef.h>
#include <stdint.h>
#include "conf/conf.h"
#include "media/stream.h"

typedef enum le_pub_kind {
    LE_PUB_RTMP = 0,           /* an encoder on an RTMP socket */
    LE_PUB_RELAY_PULL,         /* pulled from an origin (source_url) */
    LE_PUB_EDGE,               /* a copy of a stream published on another node */
    LE_PUB_TRANSCODE,          /* a transcoder's output of a local stream */
    LE_PUB_STUDIO,             /* a studio (mixing) output */
} le_pub_kind;

typedef struct le_pub_info {
    le_pub_kind kind;
    const char *client_ip;     /* the broadcaster, or the origin's address */
    const char *local_ip;      /* our address on that connection (EdgeNodeAddr) */
    const char *source_url;    /* where a pulled or derived stream comes from; NULL for RTMP */
    const char *push_domain;   /* host it came in on if a push domain, else NULL */
    const char *usrargs;       /* query string of the publish, "" if none */
    uint64_t conn_id;          /* the connection's id for logs, 0 if none */
    /* Steps this kind skips (numbers as above). An edge copy, a transcode
     * or a studio output sets all four: the stream it serves was checked,
     * listed and announced where it was published. */
    unsigned no_access_check : 1;   /* 1 */
    unsigned no_blocklist : 1;      /* 2 */
    unsigned no_online_entry : 1;   /* 5 */
    unsigned no_callbacks : 1;      /* 6 */
} le_pub_info;

/* One publish, kept by its owner (zeroed before begin). st is the stream
 * while the publish runs, NULL otherwise. */
typedef struct le_publish {
    le_stream *st;
    void *owner;
    le_pub_kind kind;
    unsigned no_online_entry : 1, no_callbacks : 1;
    char *usrargs;             /* a copy of info->usrargs while the publish runs */
} le_publish;

enum { LE_PUB_END_DROPPED = 0, LE_PUB_END_UNPUBLISHED = 1 };

const char *le_pub_kind_name(le_pub_kind kind);

/* Runs steps 1-6 for domain dom, app/name. ops->kick(owner, reason) is how
 * the stream (takeover, ForbidLiveStream, node stop) tells the owner to
 * leave; the owner then calls le_publish_end. LE_OK with p->st set, or
 * LE_EDENIED (steps 1-2, reason in why) or LE_EEXIST (slot held, takeover
 * refused) with p->st NULL. */
int le_publish_begin(le_publish *p, const le_conf_domain *dom, const char *app, const char *name,
                     const le_pub_info *info, const le_pub_ops *ops, void *owner, char *why, size_t whylen);
/* Ends the publish (how: LE_PUB_END_*); nothing when none runs. */
void le_publish_end(le_publish *p, int how, const char *reason);

/* The kind (le_pub_kind) of st's current publisher, or LE_ENOTFOUND when
 * the stream is not live. Valid from the stream's publish hooks on. */
int le_publish_kind(const le_stream *st);
/* The query string st's current publish came with ("" if none), or NULL
 * when the stream is not live. Valid from the stream's publish hooks on. */
const char *le_publish_usrargs(const le_stream *st);

/* Steps 1-2 alone: 0, or LE_EDENIED with the reason in why. */
int le_publish_check(const le_conf_domain *dom, const char *app, const char *name,
                     const le_pub_info *info, char *why, size_t whylen);

#endif
