/* The Redis store (store.h): hiredis 0.14.1 async on the node's libevent
 * base. Two connections, commands and SUBSCRIBE, each redialled on its own
 * timer with backoff; a write queue that keeps every accepted write until
 * Redis acknowledged it (at-least-once: a write in flight when the connection
 * dies is sent again, which is why callers only write idempotent commands);
 * a watchdog standing in for the command timeout 0.14 lacks; and, for
 * `redis embedded`, a private redis-server we fork, supervise and stop.
 *
 * hiredis 0.14.1 rules this file leans on (async.c of that version):
 *  - after a failed connect (onConnect with REDIS_ERR) or a disconnect
 *    (onDisconnect) hiredis frees the context itself: our pointer is cleared
 *    in those callbacks and never used again;
 *  - redisAsyncFree() runs every pending reply callback with a NULL reply, at
 *    once, or when called from inside a reply callback, right after it
 *    returns; onDisconnect follows. Before freeing a context ourselves we
 *    clear ac->data, so our onDisconnect ignores it and we do the bookkeeping;
 *  - redisAsyncConnect() resolves names with a blocking getaddrinfo(), so a
 *    host name is resolved with evdns first and the address handed over;
 *  - no command timeout: see the watchdog. */
#define _GNU_SOURCE
#include "store/store.h"
#include "conf/conf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libevent.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MOD "store"

#define BACKOFF_MIN_MS 100          /* first redial after a loss */
#define BACKOFF_MAX_MS 2000         /* doubling stops here */
#define STALL_MS 3000               /* commands pending and no reply this long: reconnect */
#define CONNECT_TIMEOUT_MS 3000     /* connect(2) not done in this long: retry */
#define RESOLVE_TIMEOUT_MS 10000
#define WATCHDOG_MS 500
#define HEARTBEAT_MS 5000           /* idle command connection: PING this often */
#define QUIET_MS 60000              /* repeated failures: one line a minute */
#define REPLAY_WINDOW_N 1000        /* replayed writes in flight at once ... */
#define REPLAY_WINDOW_BYTES (1u << 20) /* ... and their bytes: hiredis 0.14 memmoves its whole output buffer per write(2) */
#define QUEUE_COUNT_DEFAULT 100000
#define QUEUE_BYTES_DEFAULT ((size_t)64 << 20)
#define STOP_FLUSH_MS 1000
#define EMB_STOP_WAIT_MS 2000
#define EMB_STABLE_MS 10000         /* an embedded server up this long resets its restart backoff */
#define EMB_QUIET_MS 5000           /* connect failures right after a spawn are expected */

enum { M_EMBEDDED, M_UNIX, M_TCP };
enum { C_IDLE, C_RESOLVING, C_CONNECTING, C_HANDSHAKE, C_REPLAYING, C_UP };

/* One connection. The command connection goes IDLE -> (RESOLVING) ->
 * CONNECTING -> HANDSHAKE (PING answered, so not -LOADING) -> REPLAYING
 * (queued writes sent, windowed) -> UP. The subscribe connection uses
 * HANDSHAKE for "SUBSCRIBEs sent, not all confirmed". */
typedef struct conn {
    redisAsyncContext *ac;          /* NULL unless CONNECTING or later; hiredis may free it (see top) */
    int state;                      /* C_* */
    int backoff_ms;                 /* delay of the next redial */
    uint64_t since_ms;              /* when the current state began */
    struct event *retry_ev;         /* redial timer */
    struct evdns_getaddrinfo_request *dns_req; /* RESOLVING only */
    uint64_t fails;                 /* failed attempts since last UP */
    uint64_t last_warn_ms;          /* rate limit of failure lines */
    uint64_t quiet_until_ms;        /* failures before this are logged at debug */
} conn;

/* A queued write: RESP bytes from redisFormatCommand, owned here. */
typedef struct wentry {
    char *cmd;
    size_t len;
    int inflight;                   /* sent, reply callback pending */
    int orphan;                     /* dropped by the bound while in flight: the reply callback frees it */
    struct wentry *prev, *next;
} wentry;

typedef struct req {                /* a le_store_cmd waiting for its reply or its deferred failure */
    le_store_cb cb;
    void *arg;
    struct req *next;
} req;

typedef struct sub {
    char *channel;
    le_store_msg_cb cb;
    void *arg;
    struct sub *next;
} sub;

typedef struct evcb {
    le_store_event_cb cb;
    void *arg;
} evcb;

/* Registrations live outside S: they may come before le_store_start. */
static sub *subs, *subs_tail;
static evcb *evcbs;
static size_t n_evcbs;
static char *key_prefix;            /* NULL: "livedge:" */
static size_t q_max_count = QUEUE_COUNT_DEFAULT, q_max_bytes = QUEUE_BYTES_DEFAULT;

static struct {
    struct event_base *base;
    int running, stopping;
    int mode;                       /* M_* */
    char *host;                     /* M_TCP */
    int port;
    char *path;                     /* unix socket, M_UNIX and M_EMBEDDED */
    char *where;                    /* for log lines */
    struct evdns_base *dns;         /* created on first name lookup */
    conn cmd, sub;
    struct event *watchdog_ev, *fail_ev;
    req *fail_head, *fail_tail;     /* cmds failing from fail_ev, FIFO */
    uint64_t pending;               /* reply callbacks outstanding on the command connection */
    uint64_t progress_ms;           /* last reply, or when pending went 0 -> 1 */
    int announced;                  /* last value given to the event callbacks */
    int sub_wait;                   /* SUBSCRIBE confirmations still expected */
    /* Write queue, oldest first. Entries before q_next were sent on the
     * current connection and await their reply; q_next onwards are unsent. */
    wentry *q_head, *q_tail, *q_next;
    size_t q_count, q_bytes;
    size_t w_inflight_n, w_inflight_bytes;
    uint64_t replay_n;              /* writes replayed on this connection */
    uint64_t drop_episode;          /* writes dropped since last UP */
    uint64_t last_drop_warn_ms, last_fail_warn_ms;
    /* embedded */
    char *emb_bin, *emb_dir;
    char **emb_argv;
    pid_t emb_pid;                  /* 0: not running */
    uint64_t emb_started_ms, emb_last_warn_ms;
    int emb_backoff_ms;
    struct event *sigchld_ev, *emb_restart_ev;
    le_store_stats stats;
    le_store_xstats xstats;
} S;

static void conn_start(conn *c);
static void conn_close(conn *c, const char *why);
static void pump(void);

/* ---- small helpers ---- */

static void announce(int up)
{
    if (S.announced == up)
        return;
    S.announced = up;
    /* by index: a callback may register another */
    for (size_t i = 0; i < n_evcbs; i++)
        evcbs[i].cb(up, evcbs[i].arg);
}

static void maybe_announce_up(void)
{
    if (S.cmd.state == C_UP && (!subs || S.sub.state == C_UP))
        announce(1);
}

static void sent(void)
{
    if (S.pending++ == 0)
        S.progress_ms = le_mono_ms();
}

static void replied(const redisReply *r)
{
    if (S.pending > 0)
        S.pending--;
    if (r)
        S.progress_ms = le_mono_ms();
}

/* The command name of a RESP array ("*N\r\n$L\r\nNAME\r\n..."), for logs. */
static const char *cmd_name(const char *cmd, size_t len, char *buf, size_t bufsz)
{
    const char *p = memchr(cmd, '\n', len);
    const char *end = cmd + len;
    if (p)
        p = memchr(p + 1, '\n', (size_t)(end - p - 1));
    if (!p)
        return "?";
    p++;
    const char *e = memchr(p, '\r', (size_t)(end - p));
    return le_log_esc(p, e ? (size_t)(e - p) : 0, buf, bufsz);
}

/* Redis answers these while it cannot serve yet; the command may succeed later. */
static int err_transient(const char *s)
{
    static const char *const pre[] = { "LOADING", "BUSY", "MASTERDOWN", "TRYAGAIN" };
    for (size_t i = 0; i < sizeof(pre) / sizeof(pre[0]); i++)
        if (strncmp(s, pre[i], strlen(pre[i])) == 0)
            return 1;
    return 0;
}

/* ---- the write queue ---- */

static void q_unlink(wentry *e)
{
    if (S.q_next == e)
        S.q_next = e->next;
    if (e->prev)
        e->prev->next = e->next;
    else
        S.q_head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        S.q_tail = e->prev;
    e->prev = e->next = NULL;
    S.q_count--;
    S.q_bytes -= e->len;
}

static void wentry_free(wentry *e)
{
    redisFreeCommand(e->cmd);
    free(e);
}

/* Past the bound the oldest write goes: it is the one most likely already
 * superseded by a later write to the same key. */
static void q_enforce_bound(void)
{
    uint64_t n = 0;
    while (S.q_head && (S.q_count > q_max_count || S.q_bytes > q_max_bytes)) {
        wentry *e = S.q_head;
        q_unlink(e);
        if (e->inflight)
            e->orphan = 1;
        else
            wentry_free(e);
        n++;
    }
    if (!n)
        return;
    S.stats.writes_dropped += n;
    S.drop_episode += n;
    uint64_t now = le_mono_ms();
    if (S.last_drop_warn_ms == 0 || now - S.last_drop_warn_ms >= QUIET_MS) {
        S.last_drop_warn_ms = now;
        le_warn(MOD, "write queue over its bound (%zu writes, %zu bytes): dropping the oldest; "
                "%llu dropped so far", q_max_count, q_max_bytes,
                (unsigned long long)S.stats.writes_dropped);
    }
}

static void write_cb(redisAsyncContext *ac, void *rv, void *priv)
{
    redisReply *r = rv;
    wentry *e = priv;
    replied(r);
    e->inflight = 0;
    S.w_inflight_n--;
    S.w_inflight_bytes -= e->len;
    if (e->orphan) {
        wentry_free(e);
        return;
    }
    if (!r)
        return;     /* connection lost: stays queued, replayed on reconnect */
    if (r->type == REDIS_REPLY_ERROR) {
        if (err_transient(r->str)) {
            /* keep it; conn_close resets q_next so it is sent again */
            if (S.cmd.ac == ac)
                conn_close(&S.cmd, r->str);
            return;
        }
        S.xstats.writes_failed++;
        uint64_t now = le_mono_ms();
        if (S.last_fail_warn_ms == 0 || now - S.last_fail_warn_ms >= QUIET_MS) {
            char nb[64], eb[256];
            le_warn(MOD, "redis refused a write (%s): %s (%llu refused writes so far; not retried)",
                    cmd_name(e->cmd, e->len, nb, sizeof(nb)), le_log_esc(r->str, r->len, eb, sizeof(eb)),
                    (unsigned long long)S.xstats.writes_failed);
            S.last_fail_warn_ms = now;
        }
    }
    q_unlink(e);
    wentry_free(e);
    if (S.cmd.state == C_REPLAYING)
        pump();
}

static void go_up(void)
{
    conn *c = &S.cmd;
    c->state = C_UP;
    c->since_ms = le_mono_ms();
    c->backoff_ms = BACKOFF_MIN_MS;
    c->fails = 0;
    c->last_warn_ms = 0;
    S.stats.connects++;
    if (S.replay_n || S.drop_episode)
        le_info(MOD, "connected to %s; replayed %llu queued writes, %llu dropped over the bound while down",
                S.where, (unsigned long long)S.replay_n, (unsigned long long)S.drop_episode);
    else
        le_info(MOD, "connected to %s", S.where);
    S.drop_episode = 0;
    maybe_announce_up();
}

/* Sends unsent writes in order: all of them when UP, a window at a time
 * while REPLAYING (the rest follow as replies come back). */
static void pump(void)
{
    conn *c = &S.cmd;
    while (S.q_next && c->ac &&
           (c->state == C_UP ||
            (c->state == C_REPLAYING && S.w_inflight_n < REPLAY_WINDOW_N &&
             S.w_inflight_bytes < REPLAY_WINDOW_BYTES))) {
        wentry *e = S.q_next;
        if (redisAsyncFormattedCommand(c->ac, write_cb, e, e->cmd, e->len) != REDIS_OK)
            break;  /* context is going away; the disconnect resets q_next */
        e->inflight = 1;
        S.w_inflight_n++;
        S.w_inflight_bytes += e->len;
        sent();
        if (c->state == C_REPLAYING) {
            S.replay_n++;
            S.stats.writes_replayed++;
        }
        S.q_next = e->next;
    }
    if (c->state == C_REPLAYING && c->ac && !S.q_next)
        go_up();
}

static int enqueue(char *cmd, int len)
{
    if (len < 0)
        return LE_EINVAL;
    wentry *e = le_xcalloc(1, sizeof(*e));
    e->cmd = cmd;
    e->len = (size_t)len;
    e->prev = S.q_tail;
    if (S.q_tail)
        S.q_tail->next = e;
    else
        S.q_head = e;
    S.q_tail = e;
    S.q_count++;
    S.q_bytes += e->len;
    if (!S.q_next)
        S.q_next = e;
    q_enforce_bound();
    pump();
    return 0;
}

/* ---- commands ---- */

static void fail_cb(evutil_socket_t fd, short what, void *arg)
{
    req *q = S.fail_head;
    S.fail_head = S.fail_tail = NULL;
    while (q) {
        req *n = q->next;
        if (q->cb)
            q->cb(NULL, q->arg);
        free(q);
        q = n;
    }
}

static void fail_later(req *q)
{
    q->next = NULL;
    if (S.fail_tail)
        S.fail_tail->next = q;
    else
        S.fail_head = q;
    S.fail_tail = q;
    event_active(S.fail_ev, EV_TIMEOUT, 0);
}

static void cmd_cb(redisAsyncContext *ac, void *rv, void *priv)
{
    req *q = priv;
    replied(rv);
    if (q->cb)
        q->cb(rv, q->arg);
    free(q);
}

static int cmd_send(le_store_cb cb, void *arg, const char *cmd, int len)
{
    if (len < 0)
        return LE_EINVAL;
    req *q = le_xcalloc(1, sizeof(*q));
    q->cb = cb;
    q->arg = arg;
    if (S.cmd.state == C_UP && S.cmd.ac &&
        redisAsyncFormattedCommand(S.cmd.ac, cmd_cb, q, cmd, (size_t)len) == REDIS_OK) {
        sent();
        return 0;
    }
    fail_later(q);
    return 0;
}

int le_store_cmd(le_store_cb cb, void *arg, const char *fmt, ...)
{
    if (!S.running || S.stopping)
        return LE_EIO;
    char *cmd = NULL;
    va_list ap;
    va_start(ap, fmt);
    int len = redisvFormatCommand(&cmd, fmt, ap);
    va_end(ap);
    int rc = cmd_send(cb, arg, cmd, len);
    if (len >= 0)
        redisFreeCommand(cmd);
    return rc;
}

int le_store_cmdargv(le_store_cb cb, void *arg, int argc, const char **argv, const size_t *argvlen)
{
    if (!S.running || S.stopping)
        return LE_EIO;
    char *cmd = NULL;
    int len = redisFormatCommandArgv(&cmd, argc, argv, argvlen);
    int rc = cmd_send(cb, arg, cmd, len);
    if (len >= 0)
        redisFreeCommand(cmd);
    return rc;
}

int le_store_write(const char *fmt, ...)
{
    if (!S.running || S.stopping)
        return LE_EIO;
    char *cmd = NULL;
    va_list ap;
    va_start(ap, fmt);
    int len = redisvFormatCommand(&cmd, fmt, ap);
    va_end(ap);
    return enqueue(cmd, len);
}

int le_store_writeargv(int argc, const char **argv, const size_t *argvlen)
{
    if (!S.running || S.stopping)
        return LE_EIO;
    char *cmd = NULL;
    return enqueue(cmd, redisFormatCommandArgv(&cmd, argc, argv, argvlen));
}

/* ---- pub/sub ---- */

static int channel_seen_before(const sub *s)
{
    for (const sub *o = subs; o && o != s; o = o->next)
        if (strcmp(o->channel, s->channel) == 0)
            return 1;
    return 0;
}

static void sub_cb(redisAsyncContext *ac, void *rv, void *priv)
{
    redisReply *r = rv;
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 3)
        return;
    redisReply *kind = r->element[0], *ch = r->element[1], *msg = r->element[2];
    if (kind->type != REDIS_REPLY_STRING || ch->type != REDIS_REPLY_STRING)
        return;
    if (strcasecmp(kind->str, "subscribe") == 0) {
        /* confirmations come in order: the first sub_wait ones are the batch
         * sent on connect */
        if (S.sub.ac == ac && S.sub.state == C_HANDSHAKE && S.sub_wait > 0 && --S.sub_wait == 0) {
            S.sub.state = C_UP;
            S.sub.since_ms = le_mono_ms();
            S.sub.backoff_ms = BACKOFF_MIN_MS;
            S.sub.fails = 0;
            le_debug(MOD, "subscriptions active on %s", S.where);
            maybe_announce_up();
        }
        return;
    }
    if (strcasecmp(kind->str, "message") != 0 || msg->type != REDIS_REPLY_STRING)
        return;
    for (sub *s = subs; s; s = s->next)
        if (strlen(s->channel) == ch->len && memcmp(s->channel, ch->str, ch->len) == 0)
            s->cb(ch->str, msg->str, msg->len, s->arg);
}

static int sub_send(const char *channel)
{
    return redisAsyncCommand(S.sub.ac, sub_cb, NULL, "SUBSCRIBE %s", channel) == REDIS_OK ? LE_OK : LE_EIO;
}

int le_store_subscribe(const char *channel, le_store_msg_cb cb, void *arg)
{
    if (!channel || !*channel || !cb || S.stopping)
        return LE_EINVAL;
    sub *s = le_xcalloc(1, sizeof(*s));
    s->channel = le_xstrdup(channel);
    s->cb = cb;
    s->arg = arg;
    int had = subs != NULL;
    if (subs_tail)
        subs_tail->next = s;
    else
        subs = s;
    subs_tail = s;
    if (!S.running)
        return 0;
    if (!had && S.sub.state == C_IDLE && !evtimer_pending(S.sub.retry_ev, NULL))
        conn_start(&S.sub);
    else if ((S.sub.state == C_UP || S.sub.state == C_HANDSHAKE) && !channel_seen_before(s))
        sub_send(channel);  /* a failure means the connection is going: resubscribed on reconnect */
    return 0;
}

void le_store_on_event(le_store_event_cb cb, void *arg)
{
    if (!cb)
        return;
    evcbs = le_xrealloc(evcbs, (n_evcbs + 1) * sizeof(*evcbs));
    evcbs[n_evcbs].cb = cb;
    evcbs[n_evcbs].arg = arg;
    n_evcbs++;
}

/* ---- connections ---- */

static void conn_schedule(conn *c)
{
    if (!S.running || S.stopping)
        return;
    if (c == &S.sub && !subs)
        return;
    struct timeval tv = { c->backoff_ms / 1000, (c->backoff_ms % 1000) * 1000 };
    evtimer_add(c->retry_ev, &tv);
    c->backoff_ms = c->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : c->backoff_ms * 2;
}

/* Bookkeeping once c->ac is gone (freed by hiredis or by conn_close). */
static void conn_lost(conn *c, const char *why)
{
    int was = c->state;
    uint64_t now = le_mono_ms();
    c->state = C_IDLE;
    c->since_ms = now;
    if (c == &S.cmd) {
        S.q_next = S.q_head;    /* everything unacknowledged goes again, in order */
        S.replay_n = 0;
    }
    if (S.stopping || !S.running)
        return;     /* no events and no redial during le_store_stop */
    char eb[160];
    if (!why || !*why)
        why = "connection closed";
    why = le_log_esc(why, strlen(why), eb, sizeof(eb));
    if (c == &S.cmd) {
        if (was == C_UP) {
            S.stats.disconnects++;
            c->backoff_ms = BACKOFF_MIN_MS;
            c->last_warn_ms = now;
            le_warn(MOD, "lost connection to %s: %s; reconnecting (%zu writes queued)", S.where, why, S.q_count);
        } else {
            c->fails++;
            if (now >= c->quiet_until_ms && (c->last_warn_ms == 0 || now - c->last_warn_ms >= QUIET_MS)) {
                c->last_warn_ms = now;
                le_warn(MOD, "cannot connect to %s: %s (%llu attempts; %zu writes queued); retrying",
                        S.where, why, (unsigned long long)c->fails, S.q_count);
            } else {
                le_debug(MOD, "cannot connect to %s: %s", S.where, why);
            }
        }
    } else {
        /* When the server goes, both connections drop and the command one
         * tells; a subscribe connection that alone cannot come back warns. */
        if (was == C_UP) {
            c->backoff_ms = BACKOFF_MIN_MS;
            c->fails = 0;
            c->last_warn_ms = 0;
        } else {
            c->fails++;
        }
        if (was != C_UP && S.cmd.state == C_UP && now >= c->quiet_until_ms &&
            (c->last_warn_ms == 0 || now - c->last_warn_ms >= QUIET_MS)) {
            c->last_warn_ms = now;
            le_warn(MOD, "cannot resubscribe on %s: %s (%llu attempts); retrying", S.where, why,
                    (unsigned long long)c->fails);
        } else {
            le_debug(MOD, "subscribe connection to %s: %s", S.where, why);
        }
    }
    if (c == &S.cmd || was == C_UP)
        announce(0);
    conn_schedule(c);
}

static void conn_close(conn *c, const char *why)
{
    if (c->dns_req) {
        evdns_getaddrinfo_cancel(c->dns_req);   /* its callback sees EVUTIL_EAI_CANCEL and returns */
        c->dns_req = NULL;
    }
    redisAsyncContext *ac = c->ac;
    if (ac) {
        c->ac = NULL;
        ac->data = NULL;
        redisAsyncFree(ac);     /* NULL replies now (or after the running callback) */
    }
    if (c->state != C_IDLE)
        conn_lost(c, why);
}

static void handshake_cb(redisAsyncContext *ac, void *rv, void *priv)
{
    redisReply *r = rv;
    replied(r);
    if (!r || S.cmd.ac != ac || S.cmd.state != C_HANDSHAKE)
        return;
    if (r->type == REDIS_REPLY_ERROR) {     /* -LOADING after a restart, -NOAUTH ... */
        conn_close(&S.cmd, r->str);
        return;
    }
    S.cmd.state = C_REPLAYING;
    S.replay_n = 0;
    pump();
}

static void on_connect(const redisAsyncContext *cac, int status)
{
    redisAsyncContext *ac = (redisAsyncContext *)cac;
    conn *c = ac->data;
    if (!c)
        return;
    if (status != REDIS_OK) {
        c->ac = NULL;   /* hiredis frees it when we return */
        conn_lost(c, ac->c.errstr);
        return;
    }
    /* hiredis 0.14 calls this outside REDIS_IN_CALLBACK: never free ac here */
    c->since_ms = le_mono_ms();
    if (c == &S.cmd) {
        c->state = C_HANDSHAKE;
        if (redisAsyncCommand(ac, handshake_cb, NULL, "PING") == REDIS_OK)
            sent();
        return;
    }
    c->state = C_HANDSHAKE;
    S.sub_wait = 0;
    for (sub *s = subs; s; s = s->next)
        if (!channel_seen_before(s) && sub_send(s->channel) == 0)
            S.sub_wait++;
}

static void on_disconnect(const redisAsyncContext *cac, int status)
{
    redisAsyncContext *ac = (redisAsyncContext *)cac;
    conn *c = ac->data;
    if (!c)
        return;     /* we freed it: conn_close did the bookkeeping */
    c->ac = NULL;
    conn_lost(c, ac->c.errstr[0] ? ac->c.errstr : "closed by the server");
}

static void conn_open(conn *c, const char *ip)
{
    redisAsyncContext *ac = S.mode == M_TCP ? redisAsyncConnect(ip, S.port) : redisAsyncConnectUnix(S.path);
    c->state = C_CONNECTING;
    c->since_ms = le_mono_ms();
    if (!ac) {
        conn_lost(c, "out of memory");
        return;
    }
    if (ac->err) {  /* e.g. ENOENT / ECONNREFUSED on a unix socket, at once */
        char why[128];
        snprintf(why, sizeof(why), "%s", ac->errstr);
        redisAsyncFree(ac);
        conn_lost(c, why);
        return;
    }
    if (S.mode == M_TCP)
        redisEnableKeepAlive(&ac->c);
    ac->data = c;
    if (redisLibeventAttach(ac, S.base) != REDIS_OK) {
        redisAsyncFree(ac);
        conn_lost(c, "cannot attach to the event loop");
        return;
    }
    c->ac = ac;
    /* after attach: setting the connect callback arms the write event */
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
}

static void dns_cb(int result, struct evutil_addrinfo *res, void *arg)
{
    if (result == EVUTIL_EAI_CANCEL) {
        if (res)
            evutil_freeaddrinfo(res);
        return;     /* conn_close or stop cancelled us; arg may be stale */
    }
    conn *c = arg;
    c->dns_req = NULL;
    if (c->state != C_RESOLVING) {
        if (res)
            evutil_freeaddrinfo(res);
        return;
    }
    const struct evutil_addrinfo *pick = NULL;
    for (const struct evutil_addrinfo *a = res; a; a = a->ai_next) {
        if (a->ai_family == AF_INET) {
            pick = a;
            break;
        }
        if (a->ai_family == AF_INET6 && !pick)
            pick = a;
    }
    char ip[INET6_ADDRSTRLEN] = "";
    if (pick && pick->ai_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)pick->ai_addr)->sin_addr, ip, sizeof(ip));
    else if (pick)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)pick->ai_addr)->sin6_addr, ip, sizeof(ip));
    if (res)
        evutil_freeaddrinfo(res);
    if (result != 0 || !ip[0]) {
        char why[256];
        snprintf(why, sizeof(why), "cannot resolve %s: %s", S.host,
                 result ? evutil_gai_strerror(result) : "no address");
        conn_lost(c, why);
        return;
    }
    conn_open(c, ip);
}

static int host_numeric(const char *h)
{
    unsigned char buf[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, h, buf) == 1 || inet_pton(AF_INET6, h, buf) == 1;
}

static void conn_start(conn *c)
{
    if (!S.running || S.stopping || c->state != C_IDLE)
        return;
    if (c == &S.sub && !subs)
        return;
    if (S.mode != M_TCP || host_numeric(S.host)) {
        conn_open(c, S.host);
        return;
    }
    if (!S.dns)
        S.dns = evdns_base_new(S.base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
    if (!S.dns) {
        c->state = C_CONNECTING;
        conn_lost(c, "cannot set up DNS");
        return;
    }
    struct evutil_addrinfo hints;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    c->state = C_RESOLVING;
    c->since_ms = le_mono_ms();
    /* may call dns_cb before returning (then returns NULL) */
    struct evdns_getaddrinfo_request *r = evdns_getaddrinfo(S.dns, S.host, NULL, &hints, dns_cb, c);
    if (r && c->state == C_RESOLVING)
        c->dns_req = r;
}

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
    conn_start(arg);
}

/* hiredis 0.14 has no command or connect timeout; a stopped (SIGSTOP) or
 * black-holed server would keep callbacks pending forever. The criterion is
 * "commands pending and no reply for STALL_MS", not the age of the oldest
 * command: a long replay to a slow but live server keeps making progress
 * and must not be cut. */
static void watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
    uint64_t now = le_mono_ms();
    conn *conns[2] = { &S.cmd, &S.sub };
    for (int i = 0; i < 2; i++) {
        conn *c = conns[i];
        if (c->state == C_CONNECTING && now - c->since_ms > CONNECT_TIMEOUT_MS)
            conn_close(c, "connect timed out");
        else if (c->state == C_RESOLVING && now - c->since_ms > RESOLVE_TIMEOUT_MS)
            conn_close(c, "name lookup timed out");
    }
    if (S.cmd.state >= C_HANDSHAKE && S.pending > 0 && now - S.progress_ms > STALL_MS) {
        S.xstats.watchdog_trips++;
        le_warn(MOD, "no reply from %s for %d ms with %llu commands pending; reconnecting",
                S.where, STALL_MS, (unsigned long long)S.pending);
        /* both: same server, and a stalled subscribe connection cannot be probed */
        conn_close(&S.cmd, "no reply");
        conn_close(&S.sub, "reset with the command connection");
    } else if (S.cmd.state == C_UP && S.pending == 0 && now - S.progress_ms > HEARTBEAT_MS) {
        /* an idle link to a vanished host shows up only when used */
        req *q = le_xcalloc(1, sizeof(*q));
        if (redisAsyncCommand(S.cmd.ac, cmd_cb, q, "PING") == REDIS_OK)
            sent();
        else
            free(q);
    }
}

/* ---- embedded redis-server ---- */

static char *find_redis_server(void)
{
    const char *path = getenv("PATH");
    if (path) {
        char *dup = le_xstrdup(path), *save = NULL;
        for (char *d = strtok_r(dup, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
            char cand[4096];
            if (!*d || snprintf(cand, sizeof(cand), "%s/redis-server", d) >= (int)sizeof(cand))
                continue;
            if (access(cand, X_OK) == 0) {
                free(dup);
                return le_xstrdup(cand);
            }
        }
        free(dup);
    }
    static const char *const fallback[] = { "/usr/bin/redis-server", "/usr/local/bin/redis-server" };
    for (size_t i = 0; i < 2; i++)
        if (access(fallback[i], X_OK) == 0)
            return le_xstrdup(fallback[i]);
    return NULL;
}

/* mkdir -p with mode 0750 for the parts it creates. */
static int mkdir_p(const char *dir)
{
    char *p = le_xstrdup(dir);
    int rc = 0;
    for (char *s = p + 1; ; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char c = *s;
        *s = '\0';
        if (mkdir(p, 0750) != 0 && errno != EEXIST) {
            rc = LE_EIO;
            break;
        }
        *s = c;
        if (c == '\0')
            break;
    }
    int saved = errno;
    struct stat st;
    if (rc == 0 && (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)))
        rc = LE_EIO, saved = ENOTDIR;
    free(p);
    errno = saved;
    return rc;
}

static void build_argv(void)
{
    const char *d = S.emb_dir;
    char *sock = le_xstrdup(S.path);
    size_t n = strlen(d) + 16;
    char *log = le_xmalloc(n);
    snprintf(log, n, "%s/redis.log", d);
    const char *args[] = {
        S.emb_bin, "--port", "0", "--unixsocket", sock, "--unixsocketperm", "700",
        "--dir", d, "--appendonly", "yes", "--appendfsync", "everysec", "--save", "",
        "--daemonize", "no", "--logfile", log,
    };
    size_t na = sizeof(args) / sizeof(args[0]);
    S.emb_argv = le_xcalloc(na + 1, sizeof(char *));
    for (size_t i = 0; i < na; i++)
        S.emb_argv[i] = (args[i] == sock || args[i] == log) ? (char *)args[i] : le_xstrdup(args[i]);
}

static void emb_spawn(void)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        le_error(MOD, "cannot fork redis-server: %s; retrying", strerror(errno));
        struct timeval tv = { BACKOFF_MAX_MS / 1000, (BACKOFF_MAX_MS % 1000) * 1000 };
        evtimer_add(S.emb_restart_ev, &tv);
        return;
    }
    if (pid == 0) {
        /* async-signal-safe calls only until exec */
        prctl(PR_SET_PDEATHSIG, SIGTERM);   /* a crashed node leaves no orphan */
        if (getppid() != parent)
            _exit(1);
        setpgid(0, 0);  /* a terminal's ^C reaches the node, which stops redis in order */
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        static const int sigs[] = { SIGPIPE, SIGHUP, SIGINT, SIGTERM, SIGCHLD, SIGQUIT, SIGUSR1, SIGUSR2 };
        for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
            signal(sigs[i], SIG_DFL);
        int fd = open("/dev/null", O_RDONLY);
        if (fd > 0) {
            dup2(fd, 0);
            close(fd);
        }
        closefrom(3);   /* listeners, client sockets, libevent's fds */
        execv(S.emb_bin, S.emb_argv);
        _exit(127);
    }
    S.emb_pid = pid;
    S.emb_started_ms = le_mono_ms();
    /* redis needs a moment to listen: redial soon and quietly */
    conn *conns[2] = { &S.cmd, &S.sub };
    for (int i = 0; i < 2; i++) {
        conns[i]->quiet_until_ms = S.emb_started_ms + EMB_QUIET_MS;
        conns[i]->backoff_ms = BACKOFF_MIN_MS;
        if (evtimer_pending(conns[i]->retry_ev, NULL)) {
            evtimer_del(conns[i]->retry_ev);
            conn_schedule(conns[i]);
        }
    }
}

static void emb_restart_cb(evutil_socket_t fd, short what, void *arg)
{
    if (!S.running || S.stopping || S.emb_pid)
        return;
    S.stats.embedded_restarts++;
    emb_spawn();
}

static void sigchld_cb(evutil_socket_t fd, short what, void *arg)
{
    if (S.emb_pid <= 0)
        return;
    int st = 0;
    pid_t r = waitpid(S.emb_pid, &st, WNOHANG);     /* our child only: others reap theirs */
    if (r == 0 || (r < 0 && errno != ECHILD))
        return;
    char how[64];
    if (r < 0)
        snprintf(how, sizeof(how), "was reaped elsewhere");
    else if (WIFEXITED(st))
        snprintf(how, sizeof(how), "exited with status %d", WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        snprintf(how, sizeof(how), "was killed by signal %d", WTERMSIG(st));
    else
        return;     /* stopped/continued: not an exit */
    uint64_t now = le_mono_ms();
    uint64_t up = now - S.emb_started_ms;
    if (up >= EMB_STABLE_MS)
        S.emb_backoff_ms = BACKOFF_MIN_MS;
    if (up >= EMB_STABLE_MS || S.emb_last_warn_ms == 0 || now - S.emb_last_warn_ms >= QUIET_MS) {
        S.emb_last_warn_ms = now;
        le_warn(MOD, "embedded redis-server (pid %d) %s after %llu ms; restarting in %d ms (log: %s/redis.log)",
                (int)S.emb_pid, how, (unsigned long long)up, S.emb_backoff_ms, S.emb_dir);
    }
    S.emb_pid = 0;
    struct timeval tv = { S.emb_backoff_ms / 1000, (S.emb_backoff_ms % 1000) * 1000 };
    evtimer_add(S.emb_restart_ev, &tv);
    S.emb_backoff_ms = S.emb_backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : S.emb_backoff_ms * 2;
}

/* Shutdown only: blocks up to EMB_STOP_WAIT_MS. */
static void emb_stop(void)
{
    if (S.emb_pid <= 0)
        return;
    pid_t pid = S.emb_pid;
    S.emb_pid = 0;
    int st;
    kill(pid, SIGTERM);     /* redis fsyncs the append-only file and exits */
    for (int waited = 0; waited < EMB_STOP_WAIT_MS; waited += 10) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid || (r < 0 && errno == ECHILD)) {
            le_info(MOD, "embedded redis-server (pid %d) stopped", (int)pid);
            return;
        }
        struct timespec ts = { 0, 10 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    le_warn(MOD, "embedded redis-server (pid %d) did not stop in %d ms; killing it", (int)pid, EMB_STOP_WAIT_MS);
    kill(pid, SIGKILL);
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
}

/* ---- lifecycle ---- */

static int parse_redis(const char *r, const char *data_dir, char *err, size_t errlen)
{
    struct sockaddr_un sun;
    if (strcmp(r, "embedded") == 0) {
        S.mode = M_EMBEDDED;
        S.emb_dir = le_xstrdup(data_dir && *data_dir ? data_dir : "/var/lib/livedge");
        size_t n = strlen(S.emb_dir) + 16;
        S.path = le_xmalloc(n);
        snprintf(S.path, n, "%s/redis.sock", S.emb_dir);
        if (strlen(S.path) >= sizeof(sun.sun_path)) {
            snprintf(err, errlen, "data_dir too long for a unix socket path (%s)", S.path);
            return LE_EINVAL;
        }
        n = strlen(S.path) + 40;
        S.where = le_xmalloc(n);
        snprintf(S.where, n, "embedded redis at unix:%s", S.path);
        return 0;
    }
    if (strncmp(r, "unix:", 5) == 0) {
        S.mode = M_UNIX;
        if (!r[5] || strlen(r + 5) >= sizeof(sun.sun_path)) {
            snprintf(err, errlen, "invalid redis '%s': bad unix socket path", r);
            return LE_EINVAL;
        }
        S.path = le_xstrdup(r + 5);
        S.where = le_xstrdup(r);
        return 0;
    }
    S.mode = M_TCP;
    const char *colon, *hs = r;
    size_t hl;
    if (r[0] == '[') {
        const char *rb = strchr(r, ']');
        if (!rb || rb[1] != ':')
            goto bad;
        hs = r + 1;
        hl = (size_t)(rb - hs);
        colon = rb + 1;
    } else {
        colon = strrchr(r, ':');
        if (!colon)
            goto bad;
        hl = (size_t)(colon - r);
    }
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (hl == 0 || *end || end == colon + 1 || port < 1 || port > 65535)
        goto bad;
    S.host = le_xstrndup(hs, hl);
    S.port = (int)port;
    S.where = le_xstrdup(r);
    return 0;
bad:
    snprintf(err, errlen, "invalid redis '%s' (want embedded, HOST:PORT or unix:/path)", r);
    return LE_EINVAL;
}

static void reset_state(void)
{
    free(S.host);
    free(S.path);
    free(S.where);
    free(S.emb_bin);
    free(S.emb_dir);
    if (S.emb_argv) {
        for (char **a = S.emb_argv; *a; a++)
            free(*a);
        free(S.emb_argv);
    }
    memset(&S, 0, sizeof(S));
}

int le_store_start(struct event_base *base, const struct le_conf *conf, char *err, size_t errlen)
{
    if (S.running) {
        snprintf(err, errlen, "store already started");
        return LE_EEXIST;
    }
    reset_state();
    S.base = base;
    if (parse_redis(conf && conf->redis ? conf->redis : "embedded", conf ? conf->data_dir : NULL,
                    err, errlen) != 0) {
        reset_state();
        return LE_EINVAL;
    }
    free(key_prefix);
    key_prefix = le_xstrdup(conf && conf->redis_prefix ? conf->redis_prefix : "livedge:");
    conn *conns[2] = { &S.cmd, &S.sub };
    for (int i = 0; i < 2; i++) {
        conns[i]->backoff_ms = BACKOFF_MIN_MS;
        conns[i]->retry_ev = evtimer_new(base, retry_cb, conns[i]);
    }
    S.watchdog_ev = event_new(base, -1, EV_PERSIST, watchdog_cb, NULL);
    S.fail_ev = event_new(base, -1, 0, fail_cb, NULL);
    struct timeval wd = { 0, WATCHDOG_MS * 1000 };
    event_add(S.watchdog_ev, &wd);
    S.running = 1;

    if (S.mode == M_EMBEDDED) {
        S.emb_backoff_ms = BACKOFF_MIN_MS;
        S.emb_bin = find_redis_server();
        if (!S.emb_bin) {
            le_error(MOD, "redis embedded: redis-server not found in PATH or /usr/bin; running without a "
                     "state store (install redis-server, or set redis HOST:PORT)");
            S.cmd.quiet_until_ms = S.sub.quiet_until_ms = le_mono_ms() + QUIET_MS;
        } else if (mkdir_p(S.emb_dir) != 0) {
            le_error(MOD, "redis embedded: cannot create data_dir %s: %s; running without a state store",
                     S.emb_dir, strerror(errno));
            S.cmd.quiet_until_ms = S.sub.quiet_until_ms = le_mono_ms() + QUIET_MS;
        } else {
            build_argv();
            S.sigchld_ev = evsignal_new(base, SIGCHLD, sigchld_cb, NULL);
            event_add(S.sigchld_ev, NULL);
            S.emb_restart_ev = evtimer_new(base, emb_restart_cb, NULL);
            emb_spawn();
            if (S.emb_pid)
                le_info(MOD, "started embedded redis-server (pid %d, data_dir %s)", (int)S.emb_pid, S.emb_dir);
        }
    } else {
        le_info(MOD, "using redis at %s", S.where);
    }
    conn_start(&S.cmd);
    conn_start(&S.sub);
    return 0;
}

static void flush_tick(evutil_socket_t fd, short what, void *arg) { }

/* Runs the base until the queue is acknowledged or ms elapse. Only outside
 * the loop: event_base_loop refuses a reentrant call (returns -1). */
static void flush_queue(int ms)
{
    struct event *tick = event_new(S.base, -1, EV_PERSIST, flush_tick, NULL);
    struct timeval tv = { 0, 20 * 1000 };
    event_add(tick, &tv);
    uint64_t deadline = le_mono_ms() + (uint64_t)ms;
    while (S.q_count > 0 && le_mono_ms() < deadline)
        if (event_base_loop(S.base, EVLOOP_ONCE) < 0)
            break;
    event_free(tick);
}

void le_store_stop(void)
{
    if (!S.running)
        return;
    if (S.q_count > 0)
        flush_queue(STOP_FLUSH_MS);
    S.stopping = 1;
    if (S.q_count > 0)
        le_warn(MOD, "stopping with %zu writes not acknowledged by %s; they are lost", S.q_count, S.where);
    int lookups = S.cmd.dns_req || S.sub.dns_req;
    conn_close(&S.sub, "stopping");
    conn_close(&S.cmd, "stopping");
    if (S.dns) {
        /* a cancelled lookup's callback is deferred to the loop; give it one pass */
        if (lookups)
            event_base_loop(S.base, EVLOOP_NONBLOCK);
        evdns_base_free(S.dns, 0);
    }
    fail_cb(-1, 0, NULL);
    while (S.q_head) {
        wentry *e = S.q_head;
        q_unlink(e);
        wentry_free(e);     /* orphans were freed by their NULL reply in conn_close */
    }
    emb_stop();
    struct event *evs[] = { S.cmd.retry_ev, S.sub.retry_ev, S.watchdog_ev, S.fail_ev,
                            S.sigchld_ev, S.emb_restart_ev };
    for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
        if (evs[i])
            event_free(evs[i]);
    while (subs) {
        sub *s = subs;
        subs = s->next;
        free(s->channel);
        free(s);
    }
    subs_tail = NULL;
    free(evcbs);
    evcbs = NULL;
    n_evcbs = 0;
    free(key_prefix);
    key_prefix = NULL;
    reset_state();
}

int le_store_connected(void)
{
    return S.running && S.cmd.state == C_UP;
}

char *le_store_key(char *out, size_t outsz, const char *fmt, ...)
{
    if (!outsz)
        return out;
    int n = snprintf(out, outsz, "%s", key_prefix ? key_prefix : "livedge:");
    if (n < 0 || (size_t)n >= outsz)
        return out;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out + n, outsz - (size_t)n, fmt, ap);
    va_end(ap);
    return out;
}

void le_store_set_queue_limit(size_t count, size_t bytes)
{
    q_max_count = count ? count : QUEUE_COUNT_DEFAULT;
    q_max_bytes = bytes ? bytes : QUEUE_BYTES_DEFAULT;
    q_enforce_bound();
}

int le_store_embedded_pid(void)
{
    return (int)S.emb_pid;
}

int le_store_running(void)
{
    return S.running && !S.stopping;
}

typedef struct claim {
    le_store_claim_cb cb;
    void *arg;
} claim;

static void claim_cb(redisReply *r, void *arg)
{
    claim *c = arg;
    int rc = LE_EIO;
    if (r && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "OK") == 0)
        rc = LE_OK;
    else if (r && r->type == REDIS_REPLY_NIL)
        rc = LE_EEXIST;
    c->cb(rc, c->arg);
    free(c);
}

int le_store_claim(const char *key, int64_t ttl_ms, le_store_claim_cb cb, void *arg)
{
    char ttl[32];
    snprintf(ttl, sizeof(ttl), "%lld", (long long)(ttl_ms > 0 ? ttl_ms : 1));
    claim *c = le_xmalloc(sizeof(*c));
    c->cb = cb;
    c->arg = arg;
    if (le_store_cmd(claim_cb, c, "SET %s 1 NX PX %s", key, ttl) != 0) {
        free(c);
        return LE_EIO;
    }
    return LE_OK;
}

const le_store_stats *le_store_get_stats(void)
{
    S.stats.writes_queued_now = S.q_count;
    return &S.stats;
}

const le_store_xstats *le_store_get_xstats(void)
{
    S.xstats.cmds_pending = S.pending;
    S.xstats.queue_bytes_now = S.q_bytes;
    return &S.xstats;
}
