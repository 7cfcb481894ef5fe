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
 * because Redis is down. -1 only for a bad `redis` value (err filled). */
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

#endif
