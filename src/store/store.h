/* The Redis store: hiredis 0.14 async on the node's libevent base. Two
 * connections (commands, and SUBSCRIBE which accepts nothing else), reconnect
 * on a timer with backoff, and for `redis embedded` a private redis-server
 * that we start, watch (restarted if it dies) and stop.
 *
 * Two kinds of command:
 *  - le_store_cmd: a request whose answer somebody waits for (admin reads).
 *    While disconnected it fails at once: cb(NULL, arg) from a deferred
 *    event, never from inside le_store_cmd.
 *  - le_store_write: durable state the node accepted (history, block list,
 *    index). While disconnected it is queued (bounded by count and bytes)
 *    and replayed in order on reconnect; past the bound the oldest is
 *    dropped, logged and counted (le_store_stats()->writes_dropped).
 * Keys: every caller builds keys with le_store_key() so redis_prefix applies. */
#ifndef LE_STORE_H
#define LE_STORE_H
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct redisReply;
struct le_conf;

typedef void (*le_store_cb)(struct redisReply *reply, void *arg);  /* reply NULL: failed */
typedef void (*le_store_msg_cb)(const char *channel, const char *msg, size_t len, void *arg);
typedef void (*le_store_event_cb)(int connected, void *arg);

/* Starts connecting (and the embedded server). Never blocks; never fails
 * because Redis is down. LE_EINVAL only for a bad `redis` value (err
 * filled), LE_EEXIST when already started. */
int le_store_start(struct event_base *base, const struct le_conf *conf, char *err, size_t errlen);
void le_store_stop(void);          /* flushes queued writes for up to 1 s, stops embedded */
int le_store_connected(void);

/* printf-like like redisAsyncCommand (%s, %b with pointer+size, %d, %lld). */
int le_store_cmd(le_store_cb cb, void *arg, const char *fmt, ...);
int le_store_cmdargv(le_store_cb cb, void *arg, int argc, const char **argv, const size_t *argvlen);
int le_store_write(const char *fmt, ...);
int le_store_writeargv(int argc, const char **argv, const size_t *argvlen);

/* Channel subscription (re-subscribed after every reconnect). */
int le_store_subscribe(const char *channel, le_store_msg_cb cb, void *arg);
/* Told on every connect and disconnect, e.g. to reload mirrors. */
void le_store_on_event(le_store_event_cb cb, void *arg);

/* "{redis_prefix}{fmt...}" into out; returns out. */
char *le_store_key(char *out, size_t outsz, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

typedef struct le_store_stats {
    uint64_t connects, disconnects;
    uint64_t writes_queued_now, writes_replayed, writes_dropped;
    uint64_t embedded_restarts;
} le_store_stats;
const le_store_stats *le_store_get_stats(void);

/* Return values: le_store_cmd/cmdargv return 0 when cb will be called
 * exactly once (with the reply, or NULL when disconnected, dropped or timed
 * out); LE_EIO, and cb is never called, when the store is not running
 * (before start, during and after stop), LE_EINVAL when the command cannot
 * be formatted. le_store_write/writeargv return 0 when the write is queued
 * or sent, the same codes otherwise. cb may be NULL (answer ignored).
 * Events: le_store_on_event(1) fires once the command connection is up, the
 * writes queued while down have been sent ahead of anything new, and every
 * subscription is active; (0) when either connection is lost. Reload mirrors
 * on 1. le_store_connected() is the command path alone (admin 503 when 0).
 * Stop: call le_store_stop() after event_base_loop() has returned; it then
 * runs the base for up to 1 s to flush the queue (called from inside a
 * callback it cannot, and queued writes are lost and logged). Never call it
 * from a store callback. It forgets subscriptions and event callbacks. A
 * changed `redis` value needs a restart; le_store_start copies what it uses.
 * During a graceful stop, le_store_get_stats()->writes_queued_now == 0 means
 * every accepted write has been acknowledged by Redis. */

/* Write queue bound (count of writes, bytes of RESP); 0 keeps the default
 * (100000, 64 MiB). Applies at once: over the bound the oldest are dropped. */
void le_store_set_queue_limit(size_t count, size_t bytes);
/* The embedded redis-server's pid, 0 when none is running. */
int le_store_embedded_pid(void);
/* 1 between le_store_start and le_store_stop (connected or not). */
int le_store_running(void);

/* Claims key once across every node sharing the Redis: SET key 1 NX PX
 * ttl_ms. cb(rc, arg) is called exactly once, never from inside this call:
 * LE_OK when this call created the key, LE_EEXIST when it existed already,
 * LE_EIO when Redis is unreachable or refused the command (callers fail
 * closed). Returns LE_EIO, and cb is never called, when the store is not
 * running. */
typedef void (*le_store_claim_cb)(int rc, void *arg);
int le_store_claim(const char *key, int64_t ttl_ms, le_store_claim_cb cb, void *arg);

typedef struct le_store_xstats {
    uint64_t cmds_pending;      /* commands and writes awaiting a reply now */
    uint64_t queue_bytes_now;   /* RESP bytes in the write queue */
    uint64_t writes_failed;     /* writes Redis refused with an error: not retried */
    uint64_t watchdog_trips;    /* connections dropped after 3 s without a reply */
} le_store_xstats;
const le_store_xstats *le_store_get_xstats(void);

#endif
