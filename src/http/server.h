/* The HTTP playback listener (http_listen). The server reads and validates
 * request heads, resolves the domain and runs the access checks; what is
 * served is a table of routes that modules register (HTTP-FLV, live HLS,
 * time-shift: flv_play.h, hls_play.h, timeshift/ts_http.h).
 *
 * The lower half of this header is the face the request handlers see: a
 * connection they write a response into, and the routed, validated
 * request. */
#ifndef LE_HTTP_SERVER_H
#define LE_HTTP_SERVER_H
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct evbuffer;
struct le_conf_domain;
struct le_http_req;

/* Binds and starts accepting on "HOST:PORT". 0, or a negative LE_E* with err
 * filled. */
int le_http_listen(struct event_base *base, const char *addr, char *err, size_t errlen);
/* The bound port (after "…:0" binds an ephemeral one); 0 if not listening. */
int le_http_port(void);
/* https_listen: everything above over TLS (ALPN http/1.1); le_tls_init must
 * have loaded the default certificate. With it, a plaintext request for a
 * domain whose https_force is on is answered 301 to the same URL on this
 * listener (livedge.8). */
int le_https_listen(struct event_base *base, const char *addr, char *err, size_t errlen);
int le_https_port(void);
/* Stops accepting on both and closes every HTTP connection (shutdown). Call before
 * le_stream_shutdown(): closing an HTTP-FLV viewer detaches it from its
 * stream. */
void le_http_shutdown(void);

/* ---- for request handlers ---- */

typedef struct le_http_conn le_http_conn;

typedef struct le_http_route le_http_route;
typedef struct le_http_route_def le_http_route_def;

/* A request that passed every syntactic and naming check (livedge.8): names are
 * decoded, within the charset, and safe to use in keys, files and logs. */
struct le_http_route {
    const le_http_route_def *def;       /* the route that matched */
    int head;                           /* HEAD: headers only */
    int version_minor;                  /* HTTP/1.x */
    const struct le_conf_domain *dom;   /* resolved play domain */
    char app[256], name[256];
    uint64_t seq;                       /* set by the route's match, if it wants */
    char vhost[256];                    /* the vhost argument, "" if none */
    const struct le_aliauth_grant *grant; /* how the URL signature passed (auth/access.h):
                                           * playlists sign their segment URIs with it */
    const struct le_http_req *req;      /* valid during the handler call only */
    const char *file;                   /* last path segment, decoded; same lifetime */
};

/* ---- the route table ---- */

/* A route serves /App/File (or the signed /p1/p2/App/File) when match
 * accepts File, or, with path set, exactly that decoded path.
 *   match(file, n, query, qn, &stem, &seq): 1 = served here, *stem = the
 *     length of the stream name in file (checked against the name charset
 *     by the server), *seq optional; 0 = not this route; negative = this
 *     kind of file but malformed (404 "no such segment").
 *   LE_HTTP_ROUTE_OPEN: the handler resolves the domain and checks access
 *     itself (rt->dom may be NULL; the `domain` argument may name it);
 *     app/name are then empty unless match set them.
 * Routes are tried highest prio first, then in the order added; adding the
 * same def again is a no-op. Modules add theirs from their init function. */
/*   LE_HTTP_ROUTE_PREFIX (with LE_HTTP_ROUTE_OPEN): path is a prefix
 *     ending in '/'; every request whose raw path starts with it and goes
 *     on goes to this route, whatever its depth; the handler decodes and
 *     checks rt->req->path itself (rt->file is ""). */
enum { LE_HTTP_ROUTE_OPEN = 1, LE_HTTP_ROUTE_PREFIX = 2 };
struct le_http_route_def {
    const char *name;                   /* for logs */
    const char *path;                   /* exact path, or NULL for a file route */
    int (*match)(const char *file, size_t n, const char *query, size_t qn, size_t *stem, uint64_t *seq);
    void (*serve)(le_http_conn *c, const le_http_route *rt);
    int prio;
    int flags;                          /* LE_HTTP_ROUTE_* */
};
void le_http_route_add(const le_http_route_def *def);
/* For match functions: whether file (n bytes) ends in suf with at least one
 * byte before it; *stem is then the length before suf. */
int le_http_suffix(const char *file, size_t n, const char *suf, size_t *stem);
/* Forgets every route (tests). */
void le_http_route_reset(void);

/* Chunked / close-delimited bodies for le_http_reply_head's clen. */
#define LE_HTTP_LEN_CHUNKED (-2)
#define LE_HTTP_LEN_CLOSE   (-1)
#define LE_HTTP_LEN_NONE    (-3)    /* no body and no length (204) */

struct evbuffer *le_http_conn_output(le_http_conn *c);
int le_http_conn_fd(le_http_conn *c);          /* the socket (for the feed's direct write); -1 over TLS */
uint64_t le_http_conn_id(const le_http_conn *c);
const char *le_http_conn_peer(const le_http_conn *c);
const char *le_http_conn_peer_ip(const le_http_conn *c);   /* the address alone */
/* Writes the status line and headers, CORS and Connection included. extra:
 * more header lines, each ending in CRLF, or NULL. */
void le_http_reply_head(le_http_conn *c, int status, const char *ctype, int64_t clen,
                        const char *extra);
/* A complete error response with the Alibaba-style JSON error body, then
 * le_http_conn_done(). */
void le_http_reply_error(le_http_conn *c, int status, const char *code, const char *msg);
/* The response is fully queued: keep-alive goes back to reading the next
 * request, otherwise the connection closes once the output is flushed. */
void le_http_conn_done(le_http_conn *c);
/* The handler takes the connection over for a long response (HTTP-FLV): no
 * keep-alive, no header timeout, input discarded. on_close runs from the
 * reaper, never inside a stream callback, and is where the handler detaches
 * and frees its state. */
void le_http_conn_stream(le_http_conn *c, void *ctx, void (*on_close)(void *ctx));
/* The handler answers later (an LL-HLS blocking playlist reload,
 * docs/HLS.md): no header timeout, and pipelined requests wait unread
 * until the answer. If the connection closes first, on_close runs from the
 * reaper. To answer: le_http_conn_resume (on_close is then forgotten), the
 * reply, le_http_conn_done. Keep-alive is kept. */
void le_http_conn_hold(le_http_conn *c, void *ctx, void (*on_close)(void *ctx));
void le_http_conn_resume(le_http_conn *c);
/* Closes once the output is flushed / now (marks; the reaper frees). */
void le_http_conn_close_after_flush(le_http_conn *c);
void le_http_conn_close(le_http_conn *c);
int le_http_conn_closing(const le_http_conn *c);

/* Conditional GET (RFC 9110 13): etag is the response's strong validator,
 * quoted ("\"…\""). When the request's If-None-Match matches it, answers
 * 304 Not Modified with the ETag and returns 1 (the handler is done);
 * otherwise returns 0 and the handler sends the body with
 * "ETag: <etag>" among its headers. */
int le_http_fresh(le_http_conn *c, const le_http_route *rt, const char *etag);

/* Files on a local disk, served from the loop: le_http_open_file opens path
 * read-only (no symlink at the end, non-blocking) and fstats it: a regular
 * file's fd with *size, or LE_ENOTFOUND. le_http_send_file, after
 * le_http_reply_head, queues len bytes of fd from off with sendfile (none
 * for HEAD or len 0), takes fd, counts the bytes out and ends the response
 * (le_http_conn_done); a queueing failure closes the connection, logged
 * with path. */
int le_http_open_file(const char *path, int64_t *size);
void le_http_send_file(le_http_conn *c, int fd, int64_t off, int64_t len, int head, const char *path);

#endif
