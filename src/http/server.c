/* HTTP playback server: read and validate request heads, route through the
 * registered table (server.h), write errors. Accepting, limits and lifetimes are
 * net/net.h's: le_http_conn_close() marks a connection, and the reaper frees
 * it from the top of the loop, where no stream is iterating viewers and no
 * libevent callback of that connection is on the stack.
 *
 * What a hostile client can cost: at most the head limits of input
 * (the read high-watermark stops reading beyond them), one header timer for
 * http_header_timeout_ms measured from the first byte it could send (not
 * reset by each trickled byte: the slowloris guard), and a write timeout.
 * Every bad request gets its 4xx and closes only that connection. */
#include "http/server.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/access.h"
#include "core/err.h"
#include "core/json.h"
#include "core/log.h"
#include "core/util.h"
#include "http/parser.h"
#include "net/net.h"
#include "node.h"

#define HEAD_MAX (LE_HTTP_MAX_REQLINE + LE_HTTP_MAX_HEADERS + 64)
/* Pipelined requests wait while this much response is still unsent. */
#define OUT_PAUSE_BYTES (1u << 20)
#define OUT_RESUME_BYTES (256u << 10)
#define WRITE_TIMEOUT_S 30
/* libevent writes at most 16 KiB per write() by default: a 600 KB HLS segment
 * took ~40 system calls and loop turns; one writev of up to this many bytes
 * cut the HLS CPU per delivered GB from 0.89 to 0.32 s at 1,000 players
 * (docs/BENCHMARKS.md, "HLS"). It bounds a write, not memory. */
#define MAX_SINGLE_WRITE (1 << 20)
#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0"
#endif

enum { ST_HEAD = 0, ST_STREAM, ST_DRAIN, ST_HOLD };

struct le_http_conn {
    le_net_conn *nc;
    uint64_t id;                    /* nc's, for logs */
    struct bufferevent *bev;
    struct event *timer;            /* header / keep-alive idle deadline */
    int state;                      /* ST_*: reading heads, streaming, finishing */
    int closing;                    /* marked; the net reaper frees it */
    int close_after_flush;
    int keep_alive;                 /* for the response being written */
    int head;                       /* the request being answered is HEAD */
    const char *cors;               /* domain's cors_origin; owned by the conf */
    /* nc's strings: it outlives this struct (net.h frees it after
     * conn_free), so they are not copied per connection. */
    const char *peer;               /* "ip:port" for logs */
    const char *peer_ip;            /* the address alone, for access lists */
    void *h_ctx;                    /* stream handler state (flv_play) */
    void (*h_close)(void *ctx);
};

static struct {
    le_net_listener *lis;
    le_net_listener *tls_lis;       /* https_listen; NULL: off */
    int force_warned;               /* https_force without https_listen: logged once */
    struct event_base *base;
    uint64_t rid_state;             /* request-id generator */
    const le_http_route_def **routes;   /* highest prio first, then as added */
    size_t nroutes;
    struct evbuffer *stage;         /* the staged response (stage_begin) */
    le_http_conn *stage_owner;      /* whose it is; NULL: none */
} srv;

static void process(le_http_conn *c);

/* ---- small helpers ---- */

struct evbuffer *le_http_conn_output(le_http_conn *c)
{
    return srv.stage_owner == c ? srv.stage : bufferevent_get_output(c->bev);
}
/* A TLS connection has no socket to write to directly: every byte goes
 * through the bufferevent's encryption. */
int le_http_conn_fd(le_http_conn *c) { return le_net_conn_tls(c->nc) ? -1 : (int)bufferevent_getfd(c->bev); }
uint64_t le_http_conn_id(const le_http_conn *c) { return c->id; }
const char *le_http_conn_peer(const le_http_conn *c) { return c->peer; }
const char *le_http_conn_peer_ip(const le_http_conn *c) { return c->peer_ip; }
int le_http_conn_closing(const le_http_conn *c) { return c->closing; }

static const char *reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 416: return "Range Not Satisfiable";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Error";
    }
}

/* A random-looking uuid-shaped RequestId (xorshift64*; not a secret). */
static void request_id(char out[37])
{
    uint64_t a, b;
    if (!srv.rid_state)
        srv.rid_state = (uint64_t)le_wall_ms() * 0x9e3779b97f4a7c15ull ^ (uint64_t)getpid();
    srv.rid_state ^= srv.rid_state >> 12;
    srv.rid_state ^= srv.rid_state << 25;
    srv.rid_state ^= srv.rid_state >> 27;
    a = srv.rid_state * 0x2545f4914f6cdd1dull;
    srv.rid_state ^= srv.rid_state >> 12;
    srv.rid_state ^= srv.rid_state << 25;
    srv.rid_state ^= srv.rid_state >> 27;
    b = srv.rid_state * 0x2545f4914f6cdd1dull;
    snprintf(out, 37, "%08X-%04X-4%03X-%04X-%012llX", (unsigned)(a >> 32), (unsigned)(a >> 16) & 0xffff,
             (unsigned)a & 0xfff, (unsigned)(0x8000 | ((b >> 48) & 0x3fff)),
             (unsigned long long)(b & 0xffffffffffffull));
}

/* The response head is assembled by copies into a stack buffer and
 * queued with one evbuffer_add: a formatted append was a visible share of
 * a playlist answer (docs/HLS.md, "Serving"). A piece that does not fit
 * spills what is gathered so far. */
struct head_buf {
    struct evbuffer *out;
    size_t n;
    char p[1024];
};

static void hb_put(struct head_buf *b, const char *s, size_t n)
{
    if (b->n + n > sizeof(b->p)) {
        evbuffer_add(b->out, b->p, b->n);
        b->n = 0;
        if (n > sizeof(b->p)) {
            evbuffer_add(b->out, s, n);
            return;
        }
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
}

static void hb_str(struct head_buf *b, const char *s) { hb_put(b, s, strlen(s)); }

static void hb_num(struct head_buf *b, uint64_t v)
{
    char d[24];
    size_t i = sizeof(d);
    do {
        d[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    hb_put(b, d + i, sizeof(d) - i);
}

void le_http_reply_head(le_http_conn *c, int status, const char *ctype, int64_t clen,
                        const char *extra)
{
    struct head_buf b;
    if (clen == LE_HTTP_LEN_CLOSE)
        c->keep_alive = 0;
    b.out = le_http_conn_output(c);
    b.n = 0;
    hb_str(&b, "HTTP/1.1 ");
    hb_num(&b, (uint64_t)(status > 0 ? status : 0));
    hb_put(&b, " ", 1);
    hb_str(&b, reason(status));
    hb_str(&b, "\r\nServer: livedge/" PACKAGE_VERSION "\r\n");
    if (ctype) {
        hb_str(&b, "Content-Type: ");
        hb_str(&b, ctype);
        hb_put(&b, "\r\n", 2);
    }
    if (clen >= 0) {
        hb_str(&b, "Content-Length: ");
        hb_num(&b, (uint64_t)clen);
        hb_put(&b, "\r\n", 2);
    } else if (clen == LE_HTTP_LEN_CHUNKED) {
        hb_str(&b, "Transfer-Encoding: chunked\r\n");
    }
    hb_str(&b, "Access-Control-Allow-Origin: ");
    hb_str(&b, c->cors ? c->cors : "*");
    hb_str(&b, c->keep_alive ? "\r\nConnection: keep-alive\r\n" : "\r\nConnection: close\r\n");
    if (extra)
        hb_str(&b, extra);
    hb_put(&b, "\r\n", 2);
    evbuffer_add(b.out, b.p, b.n);
}

/* The body (the Alibaba-style error JSON, rendered by core/json) is left out for HEAD, its
 * length still announced. */
static void reply_error_ex(le_http_conn *c, int status, const char *code, const char *msg,
                           const char *extra)
{
    char rid[37];
    const le_conf *conf = le_node_conf();
    request_id(rid);
    le_jv *o = le_jv_obj();
    le_jv_set_str(o, "RequestId", rid);
    le_jv_set_str(o, "HostId", conf && conf->node_name ? conf->node_name : "livedge");
    le_jv_set_str(o, "Code", code);
    le_jv_set_str(o, "Message", msg);
    le_buf body = { 0 };
    le_jv_to_json(o, &body);
    le_jv_free(o);
    le_buf_u8(&body, '\n');
    le_http_reply_head(c, status, "application/json", (int64_t)body.len, extra);
    if (!c->head)
        evbuffer_add(le_http_conn_output(c), body.p, body.len);
    le_buf_free(&body);
    le_http_conn_done(c);
}

void le_http_reply_error(le_http_conn *c, int status, const char *code, const char *msg)
{
    reply_error_ex(c, status, code, msg, NULL);
}

/* A protocol-level refusal: answer and close just this client. */
static void bad_client_ex(le_http_conn *c, int status, const char *code, const char *msg,
                          const char *extra)
{
    le_node_stats_get()->bad_clients++;
    c->keep_alive = 0;
    reply_error_ex(c, status, code, msg, extra);
}

static void bad_client(le_http_conn *c, int status, const char *code, const char *msg)
{
    bad_client_ex(c, status, code, msg, NULL);
}

/* A refusal before any request was dispatched: no domain's CORS, a body. */
static void bad_head(le_http_conn *c, int status, const char *code, const char *msg)
{
    c->cors = NULL;
    c->head = 0;
    bad_client(c, status, code, msg);
}

/* ---- the staged response ----
 *
 * A response queued on the bufferevent costs two epoll_ctl calls (the
 * write event armed, then disarmed once empty) and a loop turn before its
 * writev. Most answers (a playlist, a part, a segment) fit in the socket's
 * send buffer, so while a request is served on a plaintext connection with
 * nothing unsent, le_http_conn_output() hands out one shared stage instead,
 * and stage_flush() writes it straight to the socket: only what the socket
 * does not take goes to the bufferevent (docs/HLS.md, "Serving"). One
 * connection owns the stage at a time; a second one staging flushes the
 * first. */

static void stage_flush(le_http_conn *c);

static void stage_begin(le_http_conn *c)
{
    if (c->closing || le_net_conn_tls(c->nc) || evbuffer_get_length(bufferevent_get_output(c->bev)) > 0)
        return;
    if (!srv.stage) {
        if (!(srv.stage = evbuffer_new()))
            return;
        evbuffer_set_flags(srv.stage, EVBUFFER_FLAG_DRAINS_TO_FD);   /* files stay sendfile chains */
    }
    if (srv.stage_owner && srv.stage_owner != c)
        stage_flush(srv.stage_owner);
    srv.stage_owner = c;
}

/* The stage's bytes are no one's (a closing owner, or no socket to take them). */
static void stage_drop(void)
{
    srv.stage_owner = NULL;
    evbuffer_drain(srv.stage, evbuffer_get_length(srv.stage));
}

static void stage_flush(le_http_conn *c)
{
    if (srv.stage_owner != c)
        return;
    struct evbuffer *st = srv.stage;
    if (c->closing || evbuffer_get_length(st) == 0) {
        stage_drop();
        return;
    }
    int n = evbuffer_write_atmost(st, bufferevent_getfd(c->bev), MAX_SINGLE_WRITE);
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        le_debug("http", "#%llu %s: write failed", (unsigned long long)c->id, c->peer);
        le_http_conn_close(c);   /* drops the stage */
        return;
    }
    srv.stage_owner = NULL;
    if (evbuffer_get_length(st) > 0)
        evbuffer_add_buffer(bufferevent_get_output(c->bev), st);   /* the rest, by its chains */
    else if (c->close_after_flush)
        le_http_conn_close(c);
}

/* ---- connection lifetime ---- */

void le_http_conn_close(le_http_conn *c)
{
    if (srv.stage_owner == c)
        stage_drop();
    le_net_conn_close(c->nc, "closed");
}

void le_http_conn_close_after_flush(le_http_conn *c)
{
    if (c->closing)
        return;
    c->close_after_flush = 1;
    c->state = c->state == ST_STREAM ? ST_STREAM : ST_DRAIN;
    if (evbuffer_get_length(le_http_conn_output(c)) == 0)
        le_http_conn_close(c);
}

static void arm_header_timer(le_http_conn *c)
{
    const le_conf *conf = le_node_conf();
    int64_t ms = conf && conf->http_header_timeout_ms > 0 ? conf->http_header_timeout_ms : 10000;
    struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
    evtimer_add(c->timer, &tv);
}

void le_http_conn_done(le_http_conn *c)
{
    stage_flush(c);
    if (c->closing || c->state != ST_HEAD)
        return;
    if (!c->keep_alive) {
        le_http_conn_close_after_flush(c);
        return;
    }
    arm_header_timer(c);   /* the idle wait for the next request */
}

void le_http_conn_stream(le_http_conn *c, void *ctx, void (*on_close)(void *ctx))
{
    stage_flush(c);   /* the handler may keep the output, and the feed writes the socket itself */
    c->state = ST_STREAM;
    c->keep_alive = 0;
    c->h_ctx = ctx;
    c->h_close = on_close;
    event_del(c->timer);
    /* Input is only watched for EOF from here on; no need to buffer it.
     * The output is the feed's (its slow-viewer policy). */
    bufferevent_setwatermark(c->bev, EV_READ, 0, 0);
    le_net_conn_set_unbounded(c->nc, 1);
}

/* A held request (le_http_conn_hold): ST_HOLD reads nothing more (pipelined
 * requests wait in the input, bounded by the read watermark) and keeps the
 * keep-alive decision of the held request for its answer. */
void le_http_conn_hold(le_http_conn *c, void *ctx, void (*on_close)(void *ctx))
{
    stage_flush(c);
    c->state = ST_HOLD;
    c->h_ctx = ctx;
    c->h_close = on_close;
    event_del(c->timer);
}

void le_http_conn_resume(le_http_conn *c)
{
    /* The holder's state goes with the answer, even if the connection
     * left ST_HOLD meanwhile (a half-close drains it). */
    c->h_ctx = NULL;
    c->h_close = NULL;
    if (c->state != ST_HOLD)
        return;
    c->state = ST_HEAD;
    stage_begin(c);   /* the answer the caller queues next; le_http_conn_done writes it */
    /* Requests that arrived meanwhile: served from the loop, after the
     * answer the caller is about to queue. */
    if (!c->closing && evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
        bufferevent_trigger(c->bev, EV_READ, BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
}

/* ---- routing ---- */

/* Decodes one path segment. its length, or LE_EINVAL for anything that must
 * never reach a name: bad escapes, encoded '/' or '\', NUL, "." and "..". */
static int decode_segment(const char *s, size_t n, char *out, size_t outsz)
{
    int len = le_url_decode(s, n, out, outsz, 0);
    if (len <= 0)
        return LE_EINVAL;
    if (memchr(out, '/', (size_t)len) || memchr(out, '\\', (size_t)len) ||
        memchr(out, '\0', (size_t)len))
        return LE_EINVAL;
    if (strcmp(out, ".") == 0 || strcmp(out, "..") == 0)
        return LE_EINVAL;
    return len;
}

/* Host header: strips the port, lower-cases; 0, or LE_EINVAL if it holds bytes no host
 * name has (it goes into a lookup and maybe a log). */
static int clean_host(const le_http_req *r, char *out, size_t outsz)
{
    out[0] = '\0';
    if (!r->host.p || r->host.n == 0)
        return 0;
    const char *p = r->host.p;
    size_t n = r->host.n;
    if (n >= outsz)
        return LE_EINVAL;
    if (p[0] == '[') {   /* [v6]:port */
        const char *e = memchr(p, ']', n);
        if (!e)
            return LE_EINVAL;
        n = (size_t)(e - p) + 1;
    } else {
        const char *colon = memchr(p, ':', n);
        if (colon)
            n = (size_t)(colon - p);
    }
    for (size_t i = 0; i < n; i++) {
        char ch = p[i];
        if (ch >= 'A' && ch <= 'Z')
            ch = (char)(ch + 32);
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' ||
              ch == '_' || ch == ':' || ch == '[' || ch == ']'))
            return LE_EINVAL;
        out[i] = ch;
    }
    out[n] = '\0';
    return 0;
}

static int valid_host_arg(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '.' || *s == '-' || *s == '_'))
            return 0;
    return 1;
}

int le_http_open_file(const char *path, int64_t *size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        if (fd >= 0)
            close(fd);
        return LE_ENOTFOUND;
    }
    *size = (int64_t)sb.st_size;
    return fd;
}

void le_http_send_file(le_http_conn *c, int fd, int64_t off, int64_t len, int head, const char *path)
{
    if (head || len == 0) {
        close(fd);
    } else if (evbuffer_add_file(le_http_conn_output(c), fd, off, len) != 0) {
        /* evbuffer_add_file closes fd on failure too (libevent 2.1). */
        le_warn("http", "#%llu: cannot queue %s", (unsigned long long)c->id, path);
        le_http_conn_close(c);
        return;
    } else {
        le_node_stats_get()->bytes_out += (uint64_t)len;
    }
    le_http_conn_done(c);
}

int le_http_suffix(const char *s, size_t n, const char *suf, size_t *stem)
{
    size_t k = strlen(suf);
    if (n <= k || memcmp(s + n - k, suf, k) != 0)
        return 0;
    *stem = n - k;
    return 1;
}

static void log_refusal(le_http_conn *c, const le_http_req *r, int status, const char *why)
{
    char esc[512];
    le_info("http", "#%llu %s: %d %s: \"%s\"", (unsigned long long)c->id, c->peer, status, why,
            le_log_esc(r->target.p, r->target.n, esc, sizeof(esc)));
}

static void options_reply(le_http_conn *c, const le_http_req *r)
{
    char extra[512];
    const le_http_hdr *acrh = le_http_find(r, "access-control-request-headers");
    int n = snprintf(extra, sizeof(extra),
                     "Access-Control-Allow-Methods: GET, HEAD, OPTIONS\r\n"
                     "Access-Control-Max-Age: 86400\r\nAllow: GET, HEAD, OPTIONS\r\n");
    /* Echo the requested headers only if they are plain tokens. */
    if (acrh && acrh->value.n < 256) {
        int clean = 1;
        for (size_t i = 0; i < acrh->value.n; i++) {
            char ch = acrh->value.p[i];
            if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                  ch == '-' || ch == ',' || ch == ' ' || ch == '_'))
                clean = 0;
        }
        if (clean)
            snprintf(extra + n, sizeof(extra) - (size_t)n, "Access-Control-Allow-Headers: %.*s\r\n",
                     (int)acrh->value.n, acrh->value.p);
    }
    le_http_reply_head(c, 204, NULL, LE_HTTP_LEN_NONE, extra);
    le_http_conn_done(c);
}

/* The https_force domain function (livedge.8): a plaintext request for
 * the domain's content is sent to https://HOST[:PORT]{path}[?query], PORT
 * the https_listen port unless 443. Returns 1 when it answered. */
static int https_redirect(le_http_conn *c, const le_http_req *r, const le_conf_domain *dom, const char *host)
{
    if (!dom || !le_access_current(dom)->https_force || le_net_conn_tls(c->nc))
        return 0;
    if (!srv.tls_lis) {
        if (!srv.force_warned)
            le_warn("http", "domain %s has https_force on but https_listen is not set: not redirecting",
                    dom->name);
        srv.force_warned = 1;
        return 0;
    }
    /* The Host header's name (already checked by clean_host), else the domain's. */
    const char *h = host && *host ? host : dom->name;
    int port = le_net_listener_port(srv.tls_lis);
    char portpart[16] = "";
    if (port != 443)
        snprintf(portpart, sizeof(portpart), ":%d", port);
    /* path and query come from the parsed request line: no CR, LF or blank. */
    le_buf loc = { 0 };
    le_buf_printf(&loc, "Location: https://%s%s%.*s%s%.*s\r\nCache-Control: no-cache\r\n", h, portpart,
                  (int)r->path.n, r->path.p, r->query.p ? "?" : "", r->query.p ? (int)r->query.n : 0,
                  r->query.p ? r->query.p : "");
    le_buf_u8(&loc, 0);
    le_debug("http", "#%llu %s: https_force: 301 to https (%s)", (unsigned long long)c->id, c->peer, dom->name);
    le_http_reply_head(c, 301, NULL, 0, (const char *)loc.p);
    le_buf_free(&loc);
    le_http_conn_done(c);
    return 1;
}

static void dispatch(le_http_conn *c, const le_http_req *r)
{
    le_http_route rt;
    memset(&rt, 0, sizeof(rt));
    rt.req = r;
    rt.version_minor = r->version_minor;
    c->keep_alive = r->keep_alive;
    c->head = r->method == LE_HTTP_HEAD;
    c->cors = NULL;

    if (r->method == LE_HTTP_OPTIONS) {
        /* A CORS preflight touches no stream; answered for any target. */
        options_reply(c, r);
        return;
    }
    if (r->method != LE_HTTP_GET && r->method != LE_HTTP_HEAD) {
        log_refusal(c, r, 405, "method");
        bad_client_ex(c, 405, "MethodNotAllowed", "only GET, HEAD and OPTIONS are served",
                      "Allow: GET, HEAD, OPTIONS\r\n");
        return;
    }
    rt.head = r->method == LE_HTTP_HEAD;
    if (r->content_length > 0 || r->chunked_body) {
        /* We read no bodies; the connection cannot be reused after one. */
        log_refusal(c, r, 413, "request body");
        bad_client(c, 413, "PayloadTooLarge", "request bodies are not accepted");
        return;
    }

    /* Split and decode the path before anything looks at the names. Four
     * segments are a type B/C signed path, /{p1}/{p2}/App/File (livedge.conf(5), aliauth). */
    const le_http_route_def *def = NULL;
    for (size_t k = 0; k < srv.nroutes && !def; k++) {
        const le_http_route_def *d = srv.routes[k];
        size_t pl = (d->flags & LE_HTTP_ROUTE_PREFIX) && d->path ? strlen(d->path) : 0;
        if (pl && r->path.n > pl && memcmp(r->path.p, d->path, pl) == 0)
            def = d;
    }
    char seg[4][256];
    int nseg = 0;
    size_t i = 1;
    const char *p = r->path.p;
    size_t n = def ? 0 : r->path.n;   /* a prefix route splits nothing here */
    while (i <= n) {
        size_t e = i;
        while (e < n && p[e] != '/')
            e++;
        if (nseg == 4) {
            nseg++;
            break;
        }
        if (e == i || decode_segment(p + i, e - i, seg[nseg], sizeof(seg[0])) < 0) {
            if (e == i && e == n && nseg > 0) {   /* trailing slash: not a file */
                nseg = 5;
                break;
            }
            log_refusal(c, r, 400, "bad path");
            bad_client(c, 400, "InvalidParameter", "malformed path");
            return;
        }
        nseg++;
        i = e + 1;
    }
    for (int k = 0; k < nseg && k < 4; k++) {
        if (!le_name_valid(seg[k], strlen(seg[k]))) {
            log_refusal(c, r, 400, "bad name");
            bad_client(c, 400, "InvalidParameter", "app and stream names are [A-Za-z0-9_.-]{1,255}");
            return;
        }
    }
    /* A fixed-path route (decoded path), else a file route on the last
     * segment of /App/File or /p1/p2/App/File. */
    char dpath[4 * 257 + 1];
    size_t dl = 0;
    dpath[0] = '\0';
    for (int k = 0; k < nseg && k < 4; k++)
        dl += (size_t)snprintf(dpath + dl, sizeof(dpath) - dl, "/%s", seg[k]);
    for (size_t k = 0; k < srv.nroutes && nseg <= 4 && !def; k++)
        if (srv.routes[k]->path && !(srv.routes[k]->flags & LE_HTTP_ROUTE_PREFIX) &&
            strcmp(srv.routes[k]->path, dpath) == 0) {
            def = srv.routes[k];
            break;
        }
    if (!def && nseg != 2 && nseg != 4) {
        log_refusal(c, r, 404, "no such resource");
        le_http_reply_error(c, 404, "NotFound", "no such resource");
        return;
    }
    const char *pre1 = nseg == 4 ? seg[0] : NULL, *pre2 = nseg == 4 ? seg[1] : NULL;
    const char *file = nseg ? seg[nseg - 1] : "";
    size_t flen = strlen(file), stem = 0;
    if (def) {
        pre1 = pre2 = NULL;
    } else {
        snprintf(rt.app, sizeof(rt.app), "%s", seg[nseg - 2]);
        int bad = 0;
        for (size_t k = 0; k < srv.nroutes && !def; k++) {
            const le_http_route_def *d = srv.routes[k];
            if (d->path || !d->match)
                continue;
            int m = d->match(file, flen, r->query.p, r->query.p ? r->query.n : 0, &stem, &rt.seq);
            if (m > 0)
                def = d;
            else if (m < 0)
                bad = 1;
        }
        if (!def) {
            log_refusal(c, r, 404, bad ? "no such segment" : "unknown type");
            le_http_reply_error(c, 404, "NotFound", bad ? "no such segment" : "no such resource");
            return;
        }
    }
    rt.def = def;
    int open = (def->flags & LE_HTTP_ROUTE_OPEN) != 0;
    if (def->path) {
        rt.file = file;
    } else {
        if (!le_name_valid(file, stem)) {
            log_refusal(c, r, 400, "bad name");
            bad_client(c, 400, "InvalidParameter", "app and stream names are [A-Za-z0-9_.-]{1,255}");
            return;
        }
        memcpy(rt.name, file, stem);
        rt.name[stem] = '\0';
        rt.file = file;
    }

    /* The domain: the vhost argument, else the Host header, else
     * default_domain (livedge.8). */
    char host[256];
    if (r->query.p && le_query_get(r->query.p, r->query.n, "vhost", rt.vhost, sizeof(rt.vhost)) > 0 &&
        !valid_host_arg(rt.vhost)) {
        log_refusal(c, r, 400, "bad vhost");
        bad_client(c, 400, "InvalidParameter", "malformed vhost");
        return;
    }
    if (clean_host(r, host, sizeof(host)) < 0) {
        log_refusal(c, r, 400, "bad host");
        bad_client(c, 400, "InvalidParameter", "malformed Host header");
        return;
    }
    /* An open route may name its domain with `domain`. */
    int bad_domain = 0;
    if (open && !rt.vhost[0] && r->query.p &&
        le_query_get(r->query.p, r->query.n, "domain", rt.vhost, sizeof(rt.vhost)) > 0)
        bad_domain = !valid_host_arg(rt.vhost);
    int is_push = 0;
    rt.dom = bad_domain ? NULL
                        : le_node_resolve_domain(rt.vhost[0] ? rt.vhost : NULL, host[0] ? host : NULL, &is_push);
    if (rt.dom)
        c->cors = rt.dom->cors_origin;
    if (https_redirect(c, r, rt.dom, host))
        return;
    if (open) {
        /* Every answer in the handler's own envelope, its own access check. */
        if (rt.dom)
            c->cors = rt.dom->cors_origin;
        def->serve(c, &rt);
        return;
    }
    if (!rt.dom) {
        /* 403, as every refusal over HTTP is answered: the domain is not
         * served by this node. */
        log_refusal(c, r, 403, "unknown domain");
        le_http_reply_error(c, 403, "InvalidDomain.NotFound", "the domain is not served here");
        return;
    }
    c->cors = rt.dom->cors_origin;
    const le_conf_domain *cur = le_access_current(rt.dom);
    if (pre1 && cur->auth_type != LE_AUTH_B && cur->auth_type != LE_AUTH_C) {
        log_refusal(c, r, 404, "no such resource");
        le_http_reply_error(c, 404, "NotFound", "no such resource");
        return;
    }

    /* Access: IP lists, referer lists, domain online, URL signature; the
     * reason goes to the log only. */
    char uri[600], query[LE_HTTP_MAX_REQLINE + 1], referer[1024], why[256];
    snprintf(uri, sizeof(uri), "/%s/%s", rt.app, file);
    snprintf(query, sizeof(query), "%.*s", r->query.p ? (int)r->query.n : 0, r->query.p ? r->query.p : "");
    snprintf(referer, sizeof(referer), "%.*s", r->referer.p ? (int)r->referer.n : 0,
             r->referer.p ? r->referer.p : "");
    le_aliauth_grant grant;
    if (le_access_check_http(rt.dom, c->peer_ip, r->referer.p ? referer : NULL, rt.name, uri, query, pre1,
                             pre2, le_wall_ms() / 1000, &grant, why, sizeof(why)) != 0) {
        log_refusal(c, r, 403, why);
        le_http_reply_error(c, 403, "AccessDenied", "Access denied.");
        return;
    }
    rt.grant = &grant;

    def->serve(c, &rt);
}

/* Parses and serves the requests in the input buffer (pipelining included)
 * while the connection is reading heads and the output is not backed up. */
static void process(le_http_conn *c)
{
    struct bufferevent *bev = c->bev;
    struct evbuffer *in = bufferevent_get_input(bev);
    while (!c->closing && c->state == ST_HEAD) {
        size_t len = evbuffer_get_length(in);
        if (len == 0)
            return;
        if (le_net_conn_out_full(c->nc))
            return;   /* net.h resumes reading once the output drains */
        if (len > HEAD_MAX)
            len = HEAD_MAX;
        const char *buf = (const char *)evbuffer_pullup(in, (ev_ssize_t)len);
        le_http_req req;
        int rc = le_http_parse(buf, len, &req);
        if (rc == LE_EAGAIN) {
            if (len >= HEAD_MAX) {   /* cannot happen: the parser's limits are lower */
                bad_client(c, 431, "RequestHeaderFieldsTooLarge", "request head too large");
            }
            return;
        }
        if (rc != LE_OK) {
            char esc[128];
            le_info("http", "#%llu %s: %d bad request head \"%s\"", (unsigned long long)c->id, c->peer,
                    req.status, le_log_esc(buf, len < 80 ? len : 80, esc, sizeof(esc)));
            const char *code = req.status == 414 ? "RequestURITooLong"
                             : req.status == 431 ? "RequestHeaderFieldsTooLarge"
                             : req.status == 505 ? "HTTPVersionNotSupported" : "MalformedRequest";
            bad_head(c, req.status, code, "the request could not be parsed");
            evbuffer_drain(in, evbuffer_get_length(in));
            return;
        }
        event_del(c->timer);
        if (le_log_level <= LE_LOG_DEBUG) {
            char esc[512];
            le_debug("http", "#%llu %s %s", (unsigned long long)c->id, le_http_method_name(req.method),
                     le_log_esc(req.target.p, req.target.n, esc, sizeof(esc)));
        }
        stage_begin(c);
        dispatch(c, &req);
        stage_flush(c);   /* a handler that neither answered nor held */
        evbuffer_drain(in, req.head_len);
    }
    if (c->state != ST_HEAD && c->state != ST_HOLD && !c->closing)
        evbuffer_drain(in, evbuffer_get_length(in));
}

/* ---- connection callbacks (net.h) ---- */

static void conn_read(void *ctx)
{
    le_http_conn *c = ctx;
    struct evbuffer *in = bufferevent_get_input(c->bev);
    if (c->state == ST_HOLD)
        return;   /* read after the held answer (le_http_conn_resume) */
    if (c->state != ST_HEAD) {
        evbuffer_drain(in, evbuffer_get_length(in));
        return;
    }
    process(c);
}

static void conn_drained(void *ctx)
{
    le_http_conn *c = ctx;
    if (c->close_after_flush)
        le_http_conn_close(c);
}

static void conn_event(void *ctx, short what)
{
    le_http_conn *c = ctx;
    if ((what & BEV_EVENT_EOF) && c->state != ST_STREAM &&
        evbuffer_get_length(bufferevent_get_output(c->bev)) > 0) {
        /* Half-closed after its request: finish writing the answer. */
        c->keep_alive = 0;
        le_http_conn_close_after_flush(c);
        return;
    }
    if (what & BEV_EVENT_TIMEOUT)
        le_debug("http", "#%llu %s: write timeout", (unsigned long long)c->id, c->peer);
    le_http_conn_close(c);
}

static void conn_closing(void *ctx, const char *why)
{
    le_http_conn *c = ctx;
    (void)why;
    c->closing = 1;
    event_del(c->timer);
}

/* From the reaper: the handler detaches (an HTTP-FLV viewer leaves its
 * stream) before the bufferevent goes. */
static void conn_free(void *ctx)
{
    le_http_conn *c = ctx;
    if (c->h_close)
        c->h_close(c->h_ctx);
    event_free(c->timer);
    if (le_node_stats_get()->conns_http)
        le_node_stats_get()->conns_http--;
    le_debug("http", "#%llu closed", (unsigned long long)c->id);
    free(c);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
    le_http_conn *c = arg;
    if (c->closing || c->state != ST_HEAD)
        return;
    struct evbuffer *in = bufferevent_get_input(c->bev);
    if (evbuffer_get_length(in) == 0) {
        le_http_conn_close(c);   /* idle (keep-alive or never spoke): just close */
        return;
    }
    le_info("http", "#%llu %s: request head not complete in time", (unsigned long long)c->id, c->peer);
    bad_head(c, 408, "RequestTimeout", "the request head did not arrive in time");
}

static void *conn_accept(le_net_conn *nc)
{
    le_node_stats *ns = le_node_stats_get();
    le_http_conn *c = le_xcalloc(1, sizeof(*c));
    c->nc = nc;
    c->id = le_net_conn_id(nc);
    c->bev = le_net_conn_bev(nc);
    c->timer = evtimer_new(srv.base, timer_cb, c);
    c->keep_alive = 1;
    c->peer = le_net_conn_peer(nc);
    c->peer_ip = le_net_conn_peer_ip(nc);
    ns->conns_http++;
    ns->conns_total++;
    bufferevent_setwatermark(c->bev, EV_READ, 0, HEAD_MAX + 1);
    bufferevent_set_max_single_write(c->bev, MAX_SINGLE_WRITE);
    struct timeval wtv = { WRITE_TIMEOUT_S, 0 };
    bufferevent_set_timeouts(c->bev, NULL, &wtv);
    arm_header_timer(c);
    le_debug("http", "#%llu accepted from %s", (unsigned long long)c->id, c->peer);
    return c;
}

static void conn_limits(le_net_limits *l)
{
    const le_conf *conf = le_node_conf();
    l->max_total = conf ? conf->max_connections : 0;
    l->out_high = OUT_PAUSE_BYTES;
    l->out_low = OUT_RESUME_BYTES;
    l->out_stall_ms = conf ? conf->idle_timeout_ms : 0;
}

static const le_net_ops http_net_ops = {
    .mod = "http",
    .shared = 1,
    .limits = conn_limits,
    .accept = conn_accept,
    .read = conn_read,
    .drained = conn_drained,
    .event = conn_event,
    .closing = conn_closing,
    .free = conn_free,
};

static int listen_on(le_net_listener **lis, const char *key, struct event_base *base, const char *addr,
                     char *err, size_t errlen)
{
    char e[256];
    if (*lis) {
        snprintf(err, errlen, "%s: already listening", key);
        return LE_EEXIST;
    }
    srv.base = base;
    if (le_net_listen(lis, base, addr, 1024, &http_net_ops, e, sizeof(e)) != LE_OK) {
        snprintf(err, errlen, "%s %s", key, e);
        return LE_EIO;
    }
    if (lis == &srv.tls_lis)
        le_net_listener_set_tls(*lis, 1);   /* ALPN http/1.1 */
    le_info("http", "%s on %s (port %d)", lis == &srv.tls_lis ? "https listening" : "listening", addr,
            le_net_listener_port(*lis));
    return LE_OK;
}

int le_http_listen(struct event_base *base, const char *addr, char *err, size_t errlen)
{
    return listen_on(&srv.lis, "http_listen", base, addr, err, errlen);
}

int le_https_listen(struct event_base *base, const char *addr, char *err, size_t errlen)
{
    return listen_on(&srv.tls_lis, "https_listen", base, addr, err, errlen);
}

int le_http_port(void)
{
    return le_net_listener_port(srv.lis);
}

int le_https_port(void)
{
    return le_net_listener_port(srv.tls_lis);
}

void le_http_route_add(const le_http_route_def *def)
{
    for (size_t i = 0; i < srv.nroutes; i++)
        if (srv.routes[i] == def)
            return;
    srv.routes = le_xrealloc(srv.routes, (srv.nroutes + 1) * sizeof(*srv.routes));
    size_t at = srv.nroutes;
    while (at > 0 && srv.routes[at - 1]->prio < def->prio) {
        srv.routes[at] = srv.routes[at - 1];
        at--;
    }
    srv.routes[at] = def;
    srv.nroutes++;
}

void le_http_route_reset(void)
{
    free(srv.routes);
    srv.routes = NULL;
    srv.nroutes = 0;
}

void le_http_shutdown(void)
{
    le_net_listener_free(srv.lis, "node stopping");
    le_net_listener_free(srv.tls_lis, "node stopping");
    srv.lis = srv.tls_lis = NULL;
    srv.force_warned = 0;
    srv.stage_owner = NULL;
    if (srv.stage)
        evbuffer_free(srv.stage);
    srv.stage = NULL;
}

/* Conditional GET (RFC 9110 13.1.2, 13.2.2): If-None-Match is evaluated
 * for GET and HEAD, over every If-None-Match field of the request (a list
 * may be split across fields). If-Modified-Since is ignored: nothing here
 * sends Last-Modified, and with If-None-Match present it would be ignored
 * anyway. A 304 carries the ETag and no body or length; keep-alive goes on. */
int le_http_fresh(le_http_conn *c, const le_http_route *rt, const char *etag)
{
    const le_http_req *r = rt ? rt->req : NULL;
    if (!c || !r || !etag || !*etag || c->closing)
        return 0;
    if (r->method != LE_HTTP_GET && r->method != LE_HTTP_HEAD)
        return 0;
    int hit = 0;
    for (size_t i = 0; i < r->nheaders && !hit; i++)
        if (le_http_str_eq(r->headers[i].name, "If-None-Match"))
            hit = le_http_etag_match(r->headers[i].value, etag);
    if (!hit)
        return 0;
    char extra[320];
    int n = snprintf(extra, sizeof(extra), "ETag: %s\r\n", etag);
    if (n < 0 || (size_t)n >= sizeof(extra))
        return 0;   /* an absurd tag: send the full response */
    le_http_reply_head(c, 304, NULL, LE_HTTP_LEN_NONE, extra);
    le_http_conn_done(c);
    return 1;
}
