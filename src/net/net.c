/* Listeners and connections (net.h). One reap list and one deferred reap
 * event for every listener; each listener has its connections in accept
 * order (the head is the oldest), a 1 s sweep for the output stall timeout,
 * and a retry timer for accepts paused on EMFILE. */
#include "net/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/dns.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "conf/conf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "tls/tls.h"

#define MOD "net"

#define RETRY_MIN_MS 100        /* first accept retry after EMFILE */
#define RETRY_MAX_MS 1600       /* backing off, doubling, to this */
#define WARN_EVERY_MS 10000     /* one warning line per kind and listener */
#define SWEEP_MS 1000

/* At most one line per WARN_EVERY_MS; the next line says how many were
 * held back. */
typedef struct ratelog {
    uint64_t last_ms;
    uint64_t held;
} ratelog;

struct le_net_conn {
    uint64_t id;
    struct bufferevent *bev;
    le_net_listener *lis;
    void *ctx;                  /* the server's state */
    char peer[INET6_ADDRSTRLEN + 8];
    char peer_ip[INET6_ADDRSTRLEN];
    char local_ip[INET6_ADDRSTRLEN];
    int closing;                /* marked; on the reap list */
    int want_read;              /* the server's wish */
    int out_paused;             /* reading held off by the output bound */
    int unbounded;              /* output bound off (le_net_conn_set_unbounded) */
    int idle;                   /* may be evicted */
    int tls;                    /* an OpenSSL bufferevent */
    int tls_done;               /* its handshake completed */
    uint64_t idle_since_ms;     /* monotonic */
    uint64_t paused_since_ms;   /* monotonic: paused, or last seen draining */
    size_t paused_len;          /* unsent output then */
    le_net_conn *prev, *next;   /* the listener's open connections, oldest first */
    le_net_conn *reap_next;
};

struct le_net_listener {
    const le_net_ops *ops;
    struct event_base *base;
    struct evconnlistener *lis;
    struct event *retry_ev;     /* re-enables accepting after EMFILE */
    struct event *sweep_ev;
    int64_t retry_ms;           /* next retry delay; RETRY_MIN_MS after a good accept */
    int paused;                 /* accepting stopped until retry_ev */
    le_net_conn *head, *tail;
    int nconns;                 /* open (not closing) */
    uint64_t next_id;
    int port;
    int tls;                    /* le_net_listener_set_tls: 1 + alpn_http */
    ratelog accept_log, refuse_log, evict_log;
    le_net_limits lim;          /* as read at the last accept or sweep */
};

static struct {
    le_net_conn *reap;
    struct event *reap_ev;
    int nlisteners;
    int shared_conns;           /* open connections on ops.shared listeners */
    char *ca_file;              /* le_net_client_tls_conf */
    char **skip;
} net;

static void conn_update_read(le_net_conn *c);

/* ---- small helpers ---- */

struct bufferevent *le_net_conn_bev(le_net_conn *c) { return c->bev; }
void *le_net_conn_ctx(const le_net_conn *c) { return c->ctx; }
uint64_t le_net_conn_id(const le_net_conn *c) { return c->id; }
const char *le_net_conn_peer(const le_net_conn *c) { return c->peer; }
const char *le_net_conn_peer_ip(const le_net_conn *c) { return c->peer_ip; }
const char *le_net_conn_local_ip(const le_net_conn *c) { return c->local_ip; }
int le_net_conn_closing(const le_net_conn *c) { return c->closing; }
int le_net_listener_port(const le_net_listener *l) { return l ? l->port : 0; }
int le_net_listener_conns(const le_net_listener *l) { return l ? l->nconns : 0; }
le_net_conn *le_net_listener_first(le_net_listener *l) { return l ? l->head : NULL; }
le_net_conn *le_net_conn_next(le_net_conn *c) { return c->next; }

/* 1 if a line may be logged now; *held is what was held back before it. */
static int ratelog_ok(ratelog *r, uint64_t *held)
{
    uint64_t now = le_mono_ms();
    if (r->last_ms && now - r->last_ms < WARN_EVERY_MS) {
        r->held++;
        return 0;
    }
    *held = r->held;
    r->held = 0;
    r->last_ms = now;
    return 1;
}

static void limits_of(const le_net_listener *l, le_net_limits *lim)
{
    memset(lim, 0, sizeof(*lim));
    if (l->ops->limits)
        l->ops->limits(lim);
}

/* "ip" and "ip:port" of a socket address; "?" for other families. */
static void addr_str(const struct sockaddr *sa, char *ip, size_t iplen, int *port)
{
    snprintf(ip, iplen, "?");
    *port = 0;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &s4->sin_addr, ip, (socklen_t)iplen);
        *port = ntohs(s4->sin_port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &s6->sin6_addr, ip, (socklen_t)iplen);
        *port = ntohs(s6->sin6_port);
    }
}

/* ---- lifetimes ---- */

static void unlink_conn(le_net_conn *c);

static void conn_free(le_net_conn *c)
{
    unlink_conn(c);
    if (c->ctx && c->lis->ops->free)
        c->lis->ops->free(c->ctx);
    bufferevent_free(c->bev);
    free(c);
}

static void reap_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    while (net.reap) {
        le_net_conn *c = net.reap;
        net.reap = c->reap_next;
        conn_free(c);
    }
}

static void unlink_conn(le_net_conn *c)
{
    le_net_listener *l = c->lis;
    if (c->prev)
        c->prev->next = c->next;
    else
        l->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        l->tail = c->prev;
    c->prev = c->next = NULL;
}

/* Counted out of the limits at once; unlinked only when reaped, so a server
 * iterating its connections may close any of them on the way. */
static void uncount_conn(le_net_conn *c)
{
    c->lis->nconns--;
    if (c->lis->ops->shared)
        net.shared_conns--;
}

void le_net_conn_close(le_net_conn *c, const char *why)
{
    if (c->closing)
        return;
    c->closing = 1;
    bufferevent_disable(c->bev, EV_READ | EV_WRITE);
    uncount_conn(c);
    if (c->ctx && c->lis->ops->closing)
        c->lis->ops->closing(c->ctx, why);
    c->reap_next = net.reap;
    net.reap = c;
    event_active(net.reap_ev, EV_TIMEOUT, 0);
}

/* ---- reading and the output bound ---- */

static void conn_update_read(le_net_conn *c)
{
    if (c->closing)
        return;
    if (c->want_read && !c->out_paused)
        bufferevent_enable(c->bev, EV_READ);
    else
        bufferevent_disable(c->bev, EV_READ);
}

void le_net_conn_want_read(le_net_conn *c, int on)
{
    c->want_read = on != 0;
    conn_update_read(c);
}

void le_net_conn_set_idle(le_net_conn *c, int on)
{
    if (on && !c->idle)
        c->idle_since_ms = le_mono_ms();
    c->idle = on != 0;
}

void le_net_conn_set_unbounded(le_net_conn *c, int on)
{
    c->unbounded = on != 0;
    if (c->unbounded && c->out_paused) {
        c->out_paused = 0;
        conn_update_read(c);
    }
}

int le_net_conn_out_full(le_net_conn *c)
{
    if (c->closing)
        return 1;
    if (c->unbounded)
        return 0;
    if (c->out_paused)
        return 1;
    const le_net_limits *lim = &c->lis->lim;
    if (!lim->out_high || evbuffer_get_length(bufferevent_get_output(c->bev)) <= lim->out_high)
        return 0;
    c->out_paused = 1;
    c->paused_since_ms = le_mono_ms();
    c->paused_len = evbuffer_get_length(bufferevent_get_output(c->bev));
    le_debug(c->lis->ops->mod, "#%llu %s: output over %zu bytes unread, reading paused",
             (unsigned long long)c->id, c->peer, lim->out_high);
    /* Told once the output is down to out_low (bufferevent write watermark). */
    bufferevent_setwatermark(c->bev, EV_WRITE, lim->out_low, 0);
    conn_update_read(c);
    return 1;
}

static void read_cb(struct bufferevent *bev, void *arg)
{
    le_net_conn *c = arg;
    (void)bev;
    if (c->closing)
        return;
    c->lis->ops->read(c->ctx);
    if (!c->closing)
        le_net_conn_out_full(c);
}

static void write_cb(struct bufferevent *bev, void *arg)
{
    le_net_conn *c = arg;
    if (c->closing)
        return;
    size_t len = evbuffer_get_length(bufferevent_get_output(bev));
    if (c->out_paused) {
        if (len <= c->lis->lim.out_low) {
            c->out_paused = 0;
            bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
            conn_update_read(c);
            /* Input may be waiting that no read event will announce. */
            if (c->want_read && evbuffer_get_length(bufferevent_get_input(bev)) > 0)
                read_cb(bev, c);
            if (c->closing)
                return;
            len = evbuffer_get_length(bufferevent_get_output(bev));
        }
    }
    if (len == 0 && c->lis->ops->drained)
        c->lis->ops->drained(c->ctx);
}

/* A TLS connection's events: the handshake's end is counted here and not
 * passed on; an OpenSSL error is one line and a close. */
static int tls_event(le_net_conn *c, short what)
{
    SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
    if (what & BEV_EVENT_CONNECTED) {
        c->tls_done = 1;
        le_tls_handshake_done(ssl, 1);
        le_debug(c->lis->ops->mod, "#%llu %s: TLS handshake done (%s, %s%s%s)", (unsigned long long)c->id,
                 c->peer, SSL_get_version(ssl), SSL_get_cipher_name(ssl),
                 SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name) ? ", SNI " : "",
                 SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name)
                     ? SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name) : "");
        return 1;
    }
    /* libevent stacks SSL_get_error()'s code, then the OpenSSL queue, and
     * gives them back last first: keep the earliest queued error (the
     * cause), else that code. */
    unsigned long e = 0, code = 0, last;
    while ((last = bufferevent_get_openssl_error(c->bev)) != 0) {
        if (ERR_GET_LIB(last))
            e = last;
        else
            code = last;
    }
    if (!(what & (BEV_EVENT_ERROR | BEV_EVENT_EOF)) || (!e && !code && c->tls_done))
        return 0;
    if (!e && code == SSL_ERROR_SYSCALL && c->tls_done)
        return 0;   /* a socket error: the server's as for a plain connection */
    /* EOF or a socket error mid-handshake, or any OpenSSL error. */
    char reason[200];
    if (e)
        ERR_error_string_n(e, reason, sizeof(reason));
    else if (code == SSL_ERROR_SSL)
        snprintf(reason, sizeof(reason), "protocol error");
    else
        snprintf(reason, sizeof(reason), "%s", (what & BEV_EVENT_EOF) ? "peer closed"
                 : evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
    ERR_clear_error();
    if (!c->tls_done)
        le_tls_handshake_done(ssl, 0);
    le_info(c->lis->ops->mod, "#%llu %s: TLS %s: %s", (unsigned long long)c->id, c->peer,
            c->tls_done ? "error" : "handshake failed", reason);
    le_net_conn_close(c, c->tls_done ? "TLS error" : "TLS handshake failed");
    return 1;
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
    le_net_conn *c = arg;
    (void)bev;
    if (c->closing)
        return;
    if (c->tls && tls_event(c, what))
        return;
    c->lis->ops->event(c->ctx, what);
}

/* ---- accepting ---- */

/* The oldest idle connection of l (of the address ip if given). */
static le_net_conn *oldest_idle(le_net_listener *l, const char *ip)
{
    le_net_conn *best = NULL;
    for (le_net_conn *c = l->head; c; c = c->next)
        if (c->idle && !c->closing && (!ip || strcmp(c->peer_ip, ip) == 0) &&
            (!best || c->idle_since_ms < best->idle_since_ms))
            best = c;
    return best;
}

static int addr_conns(const le_net_listener *l, const char *ip)
{
    int n = 0;
    for (const le_net_conn *c = l->head; c; c = c->next)
        n += !c->closing && strcmp(c->peer_ip, ip) == 0;
    return n;
}

/* 1 if the new connection from ip may be accepted, after an eviction if
 * the limits allow one. */
static int admit(le_net_listener *l, const le_net_limits *lim, const char *peer, const char *ip)
{
    const char *mod = l->ops->mod;
    const char *what = NULL;
    int limit = 0;
    le_net_conn *victim = NULL;
    if (lim->max_per_addr > 0 && addr_conns(l, ip) >= lim->max_per_addr) {
        what = "connections from one address";
        limit = lim->max_per_addr;
        victim = lim->evict_idle ? oldest_idle(l, ip) : NULL;
    } else if (lim->max_conns > 0 && l->nconns >= lim->max_conns) {
        what = "connections";
        limit = lim->max_conns;
        victim = lim->evict_idle ? oldest_idle(l, NULL) : NULL;
    } else if (l->ops->shared && lim->max_total > 0 && net.shared_conns >= lim->max_total) {
        what = "max_connections";
        limit = lim->max_total;
    }
    if (!what)
        return 1;
    uint64_t held;
    if (victim) {
        if (ratelog_ok(&l->evict_log, &held))
            le_info(mod, "#%llu %s: closed (idle) to make room for %s: %d %s open (%llu more since the "
                    "last line)", (unsigned long long)victim->id, victim->peer, peer, limit, what,
                    (unsigned long long)held);
        le_net_conn_close(victim, "evicted, idle at the connection limit");
        return 1;
    }
    if (ratelog_ok(&l->refuse_log, &held))
        le_warn(mod, "%s refused: %d %s open (%llu more refused since the last line)", peer, limit,
                what, (unsigned long long)held);
    return 0;
}

static void accept_cb(struct evconnlistener *el, evutil_socket_t fd, struct sockaddr *sa, int salen,
                      void *arg)
{
    le_net_listener *l = arg;
    (void)el;
    (void)salen;
    le_net_limits lim;
    char ip[INET6_ADDRSTRLEN], peer[INET6_ADDRSTRLEN + 8];
    int port;

    l->retry_ms = RETRY_MIN_MS;
    limits_of(l, &l->lim);
    lim = l->lim;
    addr_str(sa, ip, sizeof(ip), &port);
    snprintf(peer, sizeof(peer), "%s:%d", ip, port);
    if (!admit(l, &lim, peer, ip)) {
        evutil_closesocket(fd);
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct bufferevent *bev = NULL;
    if (l->tls) {
        /* The handshake runs as the first reads and writes; the server's
         * own timers (from its accept) bound a client that stalls in it. */
        SSL *ssl = le_tls_server_ssl(l->tls > 1);
        if (ssl) {
            bev = bufferevent_openssl_socket_new(l->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                                 BEV_OPT_CLOSE_ON_FREE);
            if (!bev)
                SSL_free(ssl);
            else
                bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
        } else {
            uint64_t held;
            if (ratelog_ok(&l->refuse_log, &held))
                le_warn(l->ops->mod, "%s refused: no TLS certificate loaded (%llu more since the last line)",
                        peer, (unsigned long long)held);
        }
    } else {
        bev = bufferevent_socket_new(l->base, fd, BEV_OPT_CLOSE_ON_FREE);
    }
    if (!bev) {
        evutil_closesocket(fd);
        return;
    }
    le_net_conn *c = le_xcalloc(1, sizeof(*c));
    c->id = ++l->next_id;
    c->bev = bev;
    c->lis = l;
    c->tls = l->tls != 0;
    c->want_read = 1;
    snprintf(c->peer, sizeof(c->peer), "%s", peer);
    snprintf(c->peer_ip, sizeof(c->peer_ip), "%s", ip);
    struct sockaddr_storage local;
    socklen_t llen = sizeof(local);
    if (getsockname(fd, (struct sockaddr *)&local, &llen) == 0)
        addr_str((struct sockaddr *)&local, c->local_ip, sizeof(c->local_ip), &port);
    c->prev = l->tail;
    if (l->tail)
        l->tail->next = c;
    else
        l->head = c;
    l->tail = c;
    l->nconns++;
    if (l->ops->shared)
        net.shared_conns++;
    bufferevent_setcb(bev, read_cb, write_cb, event_cb, c);
    c->ctx = l->ops->accept(c);
    if (!c->ctx) {
        uncount_conn(c);
        conn_free(c);
        return;
    }
    conn_update_read(c);
    bufferevent_enable(bev, EV_WRITE);
}

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
    le_net_listener *l = arg;
    (void)fd;
    (void)what;
    l->paused = 0;
    evconnlistener_enable(l->lis);
}

/* Out of descriptors, libevent's listener would be called again at once for
 * the connection still waiting in the backlog, spinning the loop: accepting
 * pauses instead and is retried from a timer, backing off while it fails. */
static void accept_error_cb(struct evconnlistener *el, void *arg)
{
    le_net_listener *l = arg;
    int e = EVUTIL_SOCKET_ERROR();
    int out_of_fds = e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM;
    uint64_t held;
    if (ratelog_ok(&l->accept_log, &held))
        le_warn(l->ops->mod, "accept: %s%s (%llu more since the last line)", evutil_socket_error_to_string(e),
                out_of_fds ? "; accepting paused, retried from a timer" : "", (unsigned long long)held);
    if (!out_of_fds)
        return;
    evconnlistener_disable(el);
    l->paused = 1;
    struct timeval tv = { (time_t)(l->retry_ms / 1000), (suseconds_t)(l->retry_ms % 1000) * 1000 };
    evtimer_add(l->retry_ev, &tv);
    l->retry_ms *= 2;
    if (l->retry_ms > RETRY_MAX_MS)
        l->retry_ms = RETRY_MAX_MS;
}

/* Closes connections whose output stayed over the bound, not draining at
 * all, for out_stall_ms: a slow reader that makes progress stays. */
static void sweep_cb(evutil_socket_t fd, short what, void *arg)
{
    le_net_listener *l = arg;
    (void)fd;
    (void)what;
    limits_of(l, &l->lim);
    const le_net_limits lim = l->lim;
    if (lim.out_stall_ms <= 0)
        return;
    uint64_t now = le_mono_ms();
    le_net_conn *next;
    for (le_net_conn *c = l->head; c; c = next) {
        next = c->next;
        if (c->closing || !c->out_paused || c->unbounded)
            continue;
        size_t len = evbuffer_get_length(bufferevent_get_output(c->bev));
        if (len < c->paused_len) {
            c->paused_len = len;
            c->paused_since_ms = now;
        } else if (now - c->paused_since_ms > (uint64_t)lim.out_stall_ms) {
            le_info(l->ops->mod, "#%llu %s: peer does not read: %zu bytes unsent, none taken for %lld ms, "
                    "closing", (unsigned long long)c->id, c->peer, len, (long long)(now - c->paused_since_ms));
            le_net_conn_close(c, "peer does not read");
        }
    }
}

int le_net_listen(le_net_listener **out, struct event_base *base, const char *addr, int backlog,
                  const le_net_ops *ops, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t sslen = sizeof(ss);
    memset(&ss, 0, sizeof(ss));
    /* Not evutil_parse_sockaddr_port: it refuses port 0 (ephemeral). */
    if (!addr || le_conf_listen_addr(addr, &ss, &sslen) != 0) {
        snprintf(err, errlen, "cannot parse address \"%s\"", addr ? addr : "");
        return LE_EINVAL;
    }
    le_net_listener *l = le_xcalloc(1, sizeof(*l));
    l->ops = ops;
    limits_of(l, &l->lim);
    l->base = base;
    l->retry_ms = RETRY_MIN_MS;
    l->lis = evconnlistener_new_bind(base, accept_cb, l,
                                     LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
                                     backlog, (struct sockaddr *)&ss, (int)sslen);
    if (!l->lis) {
        snprintf(err, errlen, "%s: %s", addr, evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
        free(l);
        return LE_EIO;
    }
    evconnlistener_set_error_cb(l->lis, accept_error_cb);
    l->retry_ev = evtimer_new(base, retry_cb, l);
    l->sweep_ev = event_new(base, -1, EV_PERSIST, sweep_cb, l);
    struct timeval tv = { SWEEP_MS / 1000, (SWEEP_MS % 1000) * 1000 };
    event_add(l->sweep_ev, &tv);
    struct sockaddr_storage bound;
    socklen_t blen = sizeof(bound);
    if (getsockname(evconnlistener_get_fd(l->lis), (struct sockaddr *)&bound, &blen) == 0) {
        char ip[INET6_ADDRSTRLEN];
        addr_str((struct sockaddr *)&bound, ip, sizeof(ip), &l->port);
    }
    if (!net.reap_ev)
        net.reap_ev = event_new(base, -1, 0, reap_cb, NULL);
    net.nlisteners++;
    *out = l;
    return LE_OK;
}

void le_net_listener_free(le_net_listener *l, const char *why)
{
    if (!l)
        return;
    evconnlistener_free(l->lis);
    for (le_net_conn *c = l->head; c; c = c->next)
        le_net_conn_close(c, why);
    reap_cb(-1, 0, NULL);
    event_free(l->retry_ev);
    event_free(l->sweep_ev);
    free(l);
    if (--net.nlisteners == 0 && net.reap_ev) {
        event_free(net.reap_ev);
        net.reap_ev = NULL;
    }
}

uint64_t le_net_raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 0;
    if (rl.rlim_cur < rl.rlim_max) {
        struct rlimit want = rl;
        want.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &want) == 0)
            rl = want;
    }
    return rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t)rl.rlim_cur;
}

void le_net_client_init(struct event_base *base, const char *what, struct evdns_base **dns, SSL_CTX **ssl)
{
    *dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS | EVDNS_BASE_DISABLE_WHEN_INACTIVE);
    if (!*dns) {
        le_warn(MOD, "no DNS configuration (resolv.conf): %s need an IP address", what);
        *dns = evdns_base_new(base, EVDNS_BASE_DISABLE_WHEN_INACTIVE);
    }
    *ssl = SSL_CTX_new(TLS_client_method());
    if (!*ssl) {
        le_warn(MOD, "cannot create a TLS context: https:// %s will fail", what);
        ERR_clear_error();
        return;
    }
    SSL_CTX_set_min_proto_version(*ssl, TLS1_2_VERSION);
    SSL_CTX_set_verify(*ssl, SSL_VERIFY_PEER, NULL);
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
    SSL_CTX_set_options(*ssl, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
    if (SSL_CTX_set_default_verify_paths(*ssl) != 1)
        le_warn(MOD, "no CA certificates: https:// %s will fail verification", what);
    if (net.ca_file && SSL_CTX_load_verify_locations(*ssl, net.ca_file, NULL) != 1) {
        char reason[160] = "";
        ERR_error_string_n(ERR_peek_last_error(), reason, sizeof(reason));
        le_warn(MOD, "tls_ca_file %s: not loaded (%s): %s trust the system store only", net.ca_file, reason,
                what);
    }
    ERR_clear_error();
}

/* ---- TLS ---- */

void le_net_listener_set_tls(le_net_listener *l, int alpn_http)
{
    if (l)
        l->tls = alpn_http ? 2 : 1;
}

int le_net_listener_tls(const le_net_listener *l) { return l && l->tls; }
int le_net_conn_tls(const le_net_conn *c) { return c && c->tls; }

const char *le_net_conn_sni(const le_net_conn *c)
{
    if (!c || !c->tls)
        return NULL;
    return le_tls_sni(bufferevent_openssl_get_ssl(c->bev));
}

void le_net_client_tls_conf(const char *ca_file, const char *const *skip)
{
    free(net.ca_file);
    net.ca_file = ca_file && *ca_file ? le_xstrdup(ca_file) : NULL;
    if (net.skip) {
        for (char **p = net.skip; *p; p++)
            free(*p);
        free(net.skip);
        net.skip = NULL;
    }
    size_t n = 0;
    while (skip && skip[n])
        n++;
    if (!n)
        return;
    net.skip = le_xcalloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        net.skip[i] = le_xstrdup(skip[i]);
}

/* 1 when host:port is in tls_verify_skip ("host" or "host:port", any case;
 * an IPv6 literal may be bracketed). */
static int skipped(const char *host, int port)
{
    if (!net.skip || !host)
        return 0;
    size_t hl = strlen(host);
    for (char **p = net.skip; *p; p++) {
        const char *s = *p;
        const char *h = s;
        size_t sl = strlen(s);
        const char *colon = NULL;
        if (s[0] == '[') {
            const char *rb = strchr(s, ']');
            if (!rb)
                continue;
            h = s + 1;
            sl = (size_t)(rb - h);
            colon = rb[1] == ':' ? rb + 1 : NULL;
        } else if (strchr(s, ':') == strrchr(s, ':') && strchr(s, ':')) {
            colon = strchr(s, ':');     /* one colon: host:port (more: a bare IPv6 address) */
            sl = (size_t)(colon - s);
        }
        if (sl != hl || strncasecmp(h, host, hl) != 0)
            continue;
        if (!colon || atoi(colon + 1) == port)
            return 1;
    }
    return 0;
}

static int ip_literal(const char *host)
{
    unsigned char buf[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

void le_net_client_ssl_target(struct ssl_st *ssl, const char *host, int port)
{
    if (!ssl || !host || !*host)
        return;
    char h[256];
    snprintf(h, sizeof(h), "%s", host);
    size_t n = strlen(h);
    if (h[0] == '[' && n > 2 && h[n - 1] == ']') {     /* "[::1]" */
        memmove(h, h + 1, n - 2);
        h[n - 2] = '\0';
    }
    int ip = ip_literal(h);
    if (!ip)
        SSL_set_tlsext_host_name(ssl, h);
    if (skipped(h, port)) {
        SSL_set_verify(ssl, SSL_VERIFY_NONE, NULL);
    } else if (ip) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), h);
    } else {
        SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        SSL_set1_host(ssl, h);
    }
    ERR_clear_error();
}
