/* A cluster lease in Redis: one key that at most one node holds, the way
 * scheduled pulls (relay/pull.h) and running casters (studio/caster.h) run
 * on exactly one node (docs/RELAY.md "Scheduled pulls", docs/STUDIO.md
 * "Running a caster").
 *
 *  - claim: SET key token NX PX lease_ms; a token is "node/pid/n", never
 *    reused by a process;
 *  - renew: a script that extends the key only while it holds our token
 *    and never creates it (a renewal Redis runs late cannot bring back a
 *    lease given up); the key found gone (expired, Redis restarted empty)
 *    is claimed again with the same token;
 *  - release: a compare-and-delete script, sent again at every
 *    le_lease_flush until Redis ran it (a command Redis runs late cannot
 *    keep the key alive); up to LE_LEASE_RELEASES tokens wait, the oldest
 *    is forgotten first. A claim whose outcome is unknown (no answer) is
 *    released too;
 *  - a lease that cannot be renewed (Redis unreachable) is kept only while
 *    it cannot expire in Redis before the next tick with margin_ms to spare,
 *    counted from when the last successful claim or renewal was sent
 *    (le_lease_held); its owner then stops and releases it.
 *
 * The owner embeds an le_lease in its own object and keeps that object
 * while le_lease_busy(): every reply ends with ops->reply, the owner's
 * chance to free it. The fields are the module's: read them only through
 * the functions below. Everything runs on the loop thread. */
#ifndef LE_CONTROL_LEASE_H
#define LE_CONTROL_LEASE_H
#include <stddef.h>
#include <stdint.h>

#define LE_LEASE_KEY_MAX 1024
#define LE_LEASE_TOKEN_MAX 128
#define LE_LEASE_RELEASES 4
#define LE_LEASE_RETRY_MS 1000   /* between claims; a failed renewal's retry */

/* The owner's timings (its LE_*_LEASE_MS constants). */
typedef struct le_lease_opts {
    int lease_ms;     /* PX of the key */
    int renew_ms;     /* a renewal every renew_ms */
    int margin_ms;    /* kept while it cannot expire before the next tick with this to spare */
    int tick_ms;      /* how often the owner calls le_lease_held/le_lease_renew */
} le_lease_opts;

/* The results, called with ctx. Any may be NULL. */
typedef struct le_lease_ops {
    /* The owner was reaped or stops: a claim won now is given back at once
     * (and an unknown outcome is not followed). */
    int (*gone)(void *ctx);
    /* A claim won: the lease is ours (it was not held before). */
    void (*won)(void *ctx);
    /* Another node holds the lease we held: the owner stops and calls
     * le_lease_release. */
    void (*lost)(void *ctx);
    /* A renewal failed (ok 0, the first of a run) or worked after failures
     * (ok 1): for the owner's log. */
    void (*renewal)(void *ctx, int ok);
    /* Last, after every reply counted by le_lease_busy. */
    void (*reply)(void *ctx);
} le_lease_ops;

typedef struct le_lease {
    char key[LE_LEASE_KEY_MAX];
    char token[LE_LEASE_TOKEN_MAX];                  /* ours while we hold or claim it */
    char rel[LE_LEASE_RELEASES][LE_LEASE_TOKEN_MAX]; /* given back, until Redis ran the release */
    int nrel, releasing;
    int holding, claiming, renewing, renew_failed;
    int pending;                                     /* replies outstanding */
    uint64_t lease_sent;     /* mono ms the last successful claim/renewal was sent */
    uint64_t renew_sent;     /* mono ms of the renewal in flight / last sent */
    uint64_t claim_sent;     /* mono ms of the claim in flight / last sent */
    uint64_t next_claim;     /* mono ms of the next claim attempt */
    le_lease_opts o;
    const le_lease_ops *ops;
    void *ctx;
} le_lease;

/* key: the full Redis key (le_store_key); longer than LE_LEASE_KEY_MAX - 1
 * is cut. */
void le_lease_init(le_lease *l, const char *key, const le_lease_opts *o, const le_lease_ops *ops, void *ctx);

/* Claims the lease when it is not held, no claim or renewal is in flight,
 * now is past the next claim time and the store is connected: 1 when a
 * claim went out (the next one not before now + LE_LEASE_RETRY_MS), else
 * 0. A new token each time it is not held. */
int le_lease_claim(le_lease *l, uint64_t now);

/* The holder's renewal, when one is due (every renew_ms, LE_LEASE_RETRY_MS
 * after a failure) and no claim or renewal is in flight. */
void le_lease_renew(le_lease *l, uint64_t now);

/* Gives the lease up when held (the release is sent, then retried). */
void le_lease_release(le_lease *l);

/* Every tick: sends again a release Redis has not run yet. */
void le_lease_flush(le_lease *l);

/* No claim before until (mono ms). */
void le_lease_defer(le_lease *l, uint64_t until);

/* We hold it (the last claim won and it was not given up or lost). */
int le_lease_holding(const le_lease *l);
/* Held and it cannot expire in Redis before the next tick with margin_ms
 * to spare: now + tick_ms < lease_sent + lease_ms - margin_ms. Pure. */
int le_lease_held(const le_lease *l, uint64_t now);
/* A claim is in flight. */
int le_lease_claiming(const le_lease *l);
/* Releases Redis has not run yet. */
int le_lease_releasing(const le_lease *l);
/* Replies outstanding: the owner keeps the lease's memory meanwhile. */
int le_lease_busy(const le_lease *l);
/* Our token ("" before the first claim). */
const char *le_lease_token(const le_lease *l);
/* Mono ms the last successful claim or renewal was sent. */
uint64_t le_lease_sent(const le_lease *l);

/* A token: "node/pid/seq" into out, node cut short when the whole would
 * not fit (the part that keeps tokens unique stays whole). Pure. LE_OK, or
 * LE_ETOOBIG when not even "/pid/seq" fits (out then holds "" when n > 0). */
int le_lease_make_token(char *out, size_t n, const char *node, long pid, uint64_t seq);

#endif
