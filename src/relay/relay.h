/* The relay registry: every pull, push and edge copy the node runs is a
 * le_relay entry its owner embeds, registers while it exists and keeps up
 * to date. The admin action DescribeLiveRelays and /metrics list them; the
 * backoff every relay uses lives here too.
 *
 * Reconnect backoff: 1 s after the first failure, doubling to at most 30 s,
 * each wait drawn uniformly from [3/4, 5/4] of its step (jitter, so nodes
 * that lost one origin do not come back in step) and never over 30 s; a relay that stayed up
 * LE_RELAY_STABLE_MS starts again from 1 s. */
#ifndef LE_RELAY_H
#define LE_RELAY_H
#include <stddef.h>
#include <stdint.h>

#define LE_RELAY_BACKOFF_MIN_MS 1000
#define LE_RELAY_BACKOFF_MAX_MS 30000
#define LE_RELAY_STABLE_MS 30000
/* A source that delivers no media for this long is dropped and retried. */
#define LE_RELAY_NO_MEDIA_MS 10000

typedef enum le_relay_kind { LE_RELAY_PULL = 0, LE_RELAY_PUSH, LE_RELAY_EDGE, LE_RELAY_KINDS } le_relay_kind;
typedef enum le_relay_state {
    LE_RELAY_IDLE = 0,      /* waiting (outside its time window, no viewer, ...) */
    LE_RELAY_CONNECTING,
    LE_RELAY_ACTIVE,        /* media flowing */
    LE_RELAY_BACKOFF,       /* failed, retrying after a wait */
    LE_RELAY_STOPPING,
} le_relay_state;

typedef struct le_relay {
    struct le_relay *prev, *next;
    le_relay_kind kind;
    le_relay_state state;
    char stream[768];        /* local "domain/app/name" */
    char url[1024];          /* current source or target, masked */
    char last_error[256];    /* "" if none */
    uint64_t bytes;          /* in (pull, edge) or out (push), over all attempts */
    uint64_t since_ms;       /* wall ms of the last state change */
    uint32_t attempts;       /* connection attempts in all */
    uint32_t failures;       /* consecutive failures (backoff step) */
    int registered;
} le_relay;

const char *le_relay_kind_name(le_relay_kind k);    /* "pull", "push", "edge" */
const char *le_relay_state_name(le_relay_state s);  /* "idle", "connecting", ... */

/* Zeroes r's fields and lists it (kind, stream); le_relay_remove unlists. */
void le_relay_add(le_relay *r, le_relay_kind kind, const char *stream);
void le_relay_remove(le_relay *r);
void le_relay_set_state(le_relay *r, le_relay_state s);
/* Sets url (masking it). */
void le_relay_set_url(le_relay *r, const char *url);
/* A failure: records why (already masked by the clients), logs one warning
 * line "kind stream url: why (retry in N ms)", counts it in /metrics under
 * reason (a short literal: "connect", "refused", "no-media", "protocol",
 * "http-status", "dns", "redis", ...), sets BACKOFF and returns the wait. */
int64_t le_relay_failed(le_relay *r, const char *reason, const char *why);
/* The relay is up (media flowing): ACTIVE; a later failure after
 * LE_RELAY_STABLE_MS of this resets the backoff. */
void le_relay_up(le_relay *r);
/* The wait before attempt n+1 after n consecutive failures (n >= 1), with
 * jitter from rnd (uniform in [0,1)). Pure. */
int64_t le_relay_backoff_ms(uint32_t failures, double rnd);

typedef void (*le_relay_iter_fn)(const le_relay *r, void *arg);
void le_relay_foreach(le_relay_iter_fn fn, void *arg);
size_t le_relay_count(le_relay_kind k);

#endif
