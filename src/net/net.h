/* Listeners and connections, shared by the RTMP, HTTP and admin servers:
 * bind and accept (paused and retried from a timer when the process is out
 * of file descriptors), connection limits (per listener, node-wide, per peer
 * address, with the oldest idle connection evicted first where a server asks
 * for it), the output bound (reading stops while a peer leaves too much
 * unread, and a peer that stays so is closed), peer address strings, and
 * mark-and-reap lifetimes: le_net_conn_close() marks a connection, a deferred
 * event frees it from the top of the loop, never inside its own callbacks.
 *
 * A server supplies a le_net_ops; its callbacks receive the state it returned
 * from accept, and none runs once the connection is closing. */
#ifndef LE_NET_H
#define LE_NET_H
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct bufferevent;

typedef struct le_net_listener le_net_listener;
typedef struct le_net_conn le_net_conn;

typedef struct le_net_limits {
    int max_conns;          /* open connections on this listener; 0: no bound */
    int max_total;          /* open connections on every ops.shared listener; 0: no bound */
    int max_per_addr;       /* from one peer address on this listener; 0: no bound */
    int evict_idle;         /* at max_conns / max_per_addr, close the oldest idle
                             * connection (le_net_conn_set_idle) instead of refusing */
    size_t out_high;        /* unsent output over this stops reading; 0: no bound */
    size_t out_low;         /* ... and reading resumes at or under this */
    int64_t out_stall_ms;   /* over out_high and not draining this long: closed; 0: never */
} le_net_limits;

typedef struct le_net_ops {
    const char *mod;                        /* log prefix */
    int shared;                             /* counted in le_net_limits.max_total */
    /* The limits now; read at every accept and every sweep, so a
     * configuration reload applies to the next one. */
    void (*limits)(le_net_limits *out);
    /* A new connection: the bufferevent exists, reading and writing are
     * enabled when this returns. Returns the server's state, or NULL to
     * refuse (the socket is closed, free is not called). */
    void *(*accept)(le_net_conn *c);
    void (*read)(void *ctx);                /* input arrived (or reading resumed with input buffered) */
    void (*drained)(void *ctx);             /* the output is empty (optional) */
    void (*event)(void *ctx, short what);   /* BEV_EVENT_* (EOF, ERROR, TIMEOUT) */
    /* le_net_conn_close() ran: release what refers to the connection
     * (stream roles, timers). Runs once, synchronously. */
    void (*closing)(void *ctx, const char *why);
    void (*free)(void *ctx);                /* from the reaper: free the state */
} le_net_ops;

/* Binds "HOST:PORT" (port 0: ephemeral) and accepts. 0, or LE_EINVAL (a bad
 * address) / LE_EIO (bind or listen failed) with err filled. */
int le_net_listen(le_net_listener **out, struct event_base *base, const char *addr, int backlog,
                  const le_net_ops *ops, char *err, size_t errlen);
int le_net_listener_port(const le_net_listener *l);
int le_net_listener_conns(const le_net_listener *l);   /* open (not closing) */
/* The listener's connections, oldest first, closing ones included until
 * they are reaped: a loop may close any connection on its way. */
le_net_conn *le_net_listener_first(le_net_listener *l);
le_net_conn *le_net_conn_next(le_net_conn *c);
/* Stops accepting, closes every connection with `why` and frees them and
 * the listener now. */
void le_net_listener_free(le_net_listener *l, const char *why);

/* Serves TLS on this listener (rtmps_listen, https_listen, admin_tls): each
 * accepted socket gets le_tls_server_ssl(alpn_http) and a server handshake
 * before ops.accept sees it (the bufferevent is an OpenSSL one; servers use
 * it as any other). A failed handshake is one log line and a close. */
void le_net_listener_set_tls(le_net_listener *l, int alpn_http);
int le_net_listener_tls(const le_net_listener *l);

struct bufferevent *le_net_conn_bev(le_net_conn *c);
int le_net_conn_tls(const le_net_conn *c);               /* 1: a TLS connection */
const char *le_net_conn_sni(const le_net_conn *c);       /* its SNI server name, or NULL */
void *le_net_conn_ctx(const le_net_conn *c);
uint64_t le_net_conn_id(const le_net_conn *c);           /* per listener, from 1 */
const char *le_net_conn_peer(const le_net_conn *c);      /* "ip:port", for logs */
const char *le_net_conn_peer_ip(const le_net_conn *c);   /* the address alone */
const char *le_net_conn_local_ip(const le_net_conn *c);  /* the address it reached */
int le_net_conn_closing(const le_net_conn *c);

/* Marks the connection closed: no callback of the server runs after this
 * but ops.closing (now) and ops.free (from the reaper). Safe anywhere, more
 * than once. */
void le_net_conn_close(le_net_conn *c, const char *why);
/* Whether the server wants input (the output bound may still hold reading
 * off while this is on). */
void le_net_conn_want_read(le_net_conn *c, int on);
/* An idle connection (no request in progress) may be evicted for a new one
 * where the listener's limits say evict_idle. */
void le_net_conn_set_idle(le_net_conn *c, int on);
/* The output is governed elsewhere (a viewer, under the feed's slow-viewer
 * policy): the output bound no longer applies. */
void le_net_conn_set_unbounded(le_net_conn *c, int on);
/* 1 when the unsent output is over the bound: reading is stopped until it
 * drains (a server parsing buffered requests stops too). */
int le_net_conn_out_full(le_net_conn *c);

/* Open-file limit: raises the soft RLIMIT_NOFILE to the hard limit. Returns
 * the soft limit now (0 if unknown). */
uint64_t le_net_raise_fd_limit(void);

/* What an outbound client needs (net/httpc, relay/client): an evdns base
 * (without a usable resolv.conf, one that takes IP literals only) and a
 * TLS 1.2+ client context that verifies peers against the default CA paths
 * and treats a close without close_notify as the end of a body read until
 * close (NULL when it cannot be made). what names the users in the
 * warnings, e.g. "outbound HTTP URLs". */
struct evdns_base;
struct ssl_ctx_st;
struct ssl_st;
/* Outbound TLS settings, set before the first le_net_client_init:
 * ca_file (tls_ca_file) is trusted besides the system store; skip
 * (tls_verify_skip, NULL-terminated "host" or "host:port" entries) names the
 * targets whose certificates are not verified. Copies both. */
void le_net_client_tls_conf(const char *ca_file, const char *const *skip);
/* Arms an outbound SSL for host:port: SNI, and the host name check unless
 * the target is in tls_verify_skip (then verification is off for it). */
void le_net_client_ssl_target(struct ssl_st *ssl, const char *host, int port);
void le_net_client_init(struct event_base *base, const char *what, struct evdns_base **dns,
                        struct ssl_ctx_st **ssl);

#endif
