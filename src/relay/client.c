/* Relay clients on sockets: the RTMP engine (relay/rtmpc.h) and the
 * HTTP-FLV reader behind le_src / le_sink (relay/client.h). One bufferevent
 * per attempt, host names through one evdns base, every wait bounded:
 * connect + handshake + until ready by connect_timeout_ms, then reads of a
 * source by CL_IDLE_MS and writes of anything by CL_WRITE_MS. */
#include "relay/client.h"
#include "relay/rtmpc.h"
#include "relay/url.h"
#include "media/flvread.h"
#include "net/net.h"
#include "rtmp/msg.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#define MOD "relay"
#define CL_DEFAULT_TIMEOUT_MS 5000
#define CL_DEFAULT_MAX_MSG (8u << 20)
#define CL_DEFAULT_MAX_OUT ((size_t)4 << 20)
#define CL_IDLE_MS 30000          /* a ready source that sends nothing this long fails */
#define CL_WRITE_MS 30000         /* queued output that does not move this long fails */
#define CL_HTTP_HEAD_MAX 16384    /* status line + headers */
#define CL_HTTP_LINE_MAX 1024     /* a chunk-size or trailer line */
#define CL_READ_HIGH (256u << 10) /* input buffered at most between reads */

static struct {
    struct event_base *base;
    struct evdns_base *dns;
    SSL_CTX *ssl;               /* https:// sources, rtmps:// sources and sinks */
} M;

enum { K_PLAY = 0, K_PUBLISH, K_HTTP };
enum { H_HEAD = 0, H_BODY };
enum { CS_SIZE = 0, CS_DATA, CS_CRLF, CS_TRAILER };

typedef struct cl {
    int kind;
    char *url;                  /* the current URL (after redirects) */
    le_relay_url u;
    char *connect_to;           /* "host:port" override, NULL: the URL's */
    int timeout_ms;
    uint32_t max_msg;
    size_t max_out;
    void (*ready)(void *ctx);
    void (*packet)(void *ctx, le_pkt *p);
    void (*arriving)(void *ctx, int on);
    void (*writable)(void *ctx);
    void (*closed)(void *ctx, int err, const char *why);
    void *ctx;

    struct bufferevent *bev;
    struct event *timer;        /* until ready */
    struct event *later;        /* a failure found inside open, reported from the loop */
    int later_err;
    char later_why[320];
    le_rtmpc *rc;
    uint64_t bytes_in, added_out;
    size_t in_left;             /* input bytes left unparsed by the last read */
    int is_ready, done, dead, in_cb, want_writable, redirects;

    /* HTTP-FLV */
    int hstate, chunked, cstate;
    int64_t remain;             /* plain body: bytes left (-1: until EOF); chunked: of this chunk */
    le_flvread fr;
    int fr_on, got_header;
} cl;

struct le_src { cl c; };
struct le_sink { cl c; };

static void cl_free(cl *c)
{
    if (c->bev)
        bufferevent_free(c->bev);
    if (c->timer)
        event_free(c->timer);
    if (c->later)
        event_free(c->later);
    le_rtmpc_free(c->rc);
    if (c->fr_on)
        le_flvread_free(&c->fr);
    free(c->url);
    free(c->connect_to);
    free(c);
}

/* Every libevent callback runs between enter and leave: an owner's close
 * from inside a callback only marks c (and drops the socket); leave frees
 * it once nothing of ours is on the stack. */
static void enter(cl *c)
{
    c->in_cb++;
}

static void leave(cl *c)
{
    if (--c->in_cb == 0 && c->dead)
        cl_free(c);
}

/* After a callback: 1 when the caller must stop (closed by its owner, or
 * ended). */
static int gone(const cl *c)
{
    return c->dead || c->done;
}

static void drop_conn(cl *c)
{
    if (c->bev) {
        bufferevent_free(c->bev);
        c->bev = NULL;
    }
    le_rtmpc_free(c->rc);
    c->rc = NULL;
    if (c->fr_on) {
        le_flvread_free(&c->fr);
        c->fr_on = 0;
    }
}

/* The end: closed() once, with the reason. */
static void finish(cl *c, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void finish(cl *c, int err, const char *fmt, ...)
{
    if (c->done || c->dead)
        return;
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    if (c->redirects > 0) {   /* say where, the URL masked */
        char m[400];
        size_t l = strlen(why);
        snprintf(why + l, sizeof(why) - l, " (at %s)", le_relay_mask_url(c->url, m, sizeof(m)));
    }
    c->done = 1;
    /* Queued output is lost with the socket (the remote ended or failed). */
    c->added_out -= c->bev ? evbuffer_get_length(bufferevent_get_output(c->bev)) : 0;
    drop_conn(c);
    if (c->timer)
        event_del(c->timer);
    c->in_cb++;
    c->closed(c->ctx, err, why);
    c->in_cb--;
}

static void cb_ready(cl *c)
{
    c->is_ready = 1;
    if (c->timer)
        event_del(c->timer);
    if (c->bev) {
        struct timeval rd = { CL_IDLE_MS / 1000, 0 }, wr = { CL_WRITE_MS / 1000, 0 };
        bufferevent_set_timeouts(c->bev, c->kind == K_PUBLISH ? NULL : &rd, &wr);
    }
    c->in_cb++;
    c->ready(c->ctx);
    c->in_cb--;
}

static void cb_packet(cl *c, le_pkt *p)
{
    c->in_cb++;
    c->packet(c->ctx, p);
    c->in_cb--;
}

/* Moves the engine's output to the socket. */
static void flush_rtmp(cl *c)
{
    struct evbuffer *o = le_rtmpc_out(c->rc);
    size_t n = evbuffer_get_length(o);
    if (n && c->bev) {
        c->added_out += n;
        evbuffer_add_buffer(bufferevent_get_output(c->bev), o);
    }
}

/* ---- RTMP ---- */

static void rtmp_read(cl *c, struct evbuffer *in)
{
    struct evbuffer_iovec v;
    while (evbuffer_peek(in, -1, NULL, &v, 1) > 0 && v.iov_len > 0) {
        const uint8_t *p = v.iov_base;
        size_t n = v.iov_len;
        for (;;) {
            le_rtmpc_ev ev;
            int k = le_rtmpc_feed(c->rc, &p, &n, &ev);
            if (k == LE_EAGAIN)
                break;
            if (k == LE_RTMPC_EV_END) {
                flush_rtmp(c);
                finish(c, ev.err, "%s", ev.why);
                return;
            }
            flush_rtmp(c);
            if (k == LE_RTMPC_EV_READY)
                cb_ready(c);
            else if (k == LE_RTMPC_EV_PACKET && c->packet)
                cb_packet(c, ev.pkt);
            if (gone(c))
                return;
        }
        evbuffer_drain(in, v.iov_len);
        flush_rtmp(c);
    }
}

/* ---- HTTP-FLV ---- */

static void http_request(cl *c)
{
    struct evbuffer *o = bufferevent_get_output(c->bev);
    size_t before = evbuffer_get_length(o);
    evbuffer_add_printf(o,
                        "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: livedge\r\nAccept: */*\r\n"
                        "Connection: close\r\n\r\n",
                        c->u.target, c->u.authority);
    c->added_out += evbuffer_get_length(o) - before;
}

static int start_conn(cl *c);

/* Feeds body bytes to the FLV reader; 1 when c must not be touched. */
static int flv_feed(cl *c, const uint8_t *p, size_t n)
{
    for (;;) {
        le_flvread_ev ev;
        int k = le_flvread_next(&c->fr, &p, &n, &ev);
        if (k == LE_EAGAIN)
            return 0;
        if (k < 0) {
            if (!c->got_header)
                finish(c, LE_EPROTO, "not an FLV body");
            else if (k == LE_ETOOBIG)
                finish(c, LE_ETOOBIG, "FLV tag over %u bytes", (unsigned)c->max_msg);
            else
                finish(c, LE_EPROTO, "malformed FLV tag");
            return 1;
        }
        if (k == LE_FLVREAD_HEADER) {
            c->got_header = 1;
            cb_ready(c);
        } else if (k == LE_FLVREAD_TAG && c->packet) {
            const uint8_t *d = ev.data;
            uint32_t dn = (uint32_t)ev.len;
            if ((ev.type == LE_PKT_AUDIO || ev.type == LE_PKT_VIDEO) && dn > 0) {
                le_pkt *pk = le_pkt_new(ev.type, ev.ts, d, dn);
                cb_packet(c, pk);
                le_pkt_unref(pk);
            } else if (ev.type == LE_PKT_DATA && le_rtmp_meta_body(d, dn, &d, &dn)) {
                le_pkt *pk = le_pkt_new(LE_PKT_DATA, ev.ts, d, dn);
                cb_packet(c, pk);
                le_pkt_unref(pk);
            }
        }
        if (gone(c))
            return 1;
    }
}

static void body_end(cl *c)
{
    if (c->got_header)
        finish(c, LE_OK, "end of the HTTP body");
    else
        finish(c, LE_EPROTO, "not an FLV body");
}

/* Takes up to want bytes (or all, want < 0) from in into the reader. */
static int body_take(cl *c, struct evbuffer *in, int64_t want, size_t *took)
{
    *took = 0;
    struct evbuffer_iovec v;
    while ((want < 0 || (int64_t)*took < want) && evbuffer_peek(in, -1, NULL, &v, 1) > 0 && v.iov_len > 0) {
        size_t n = v.iov_len;
        if (want >= 0 && (int64_t)n > want - (int64_t)*took)
            n = (size_t)(want - (int64_t)*took);
        if (flv_feed(c, v.iov_base, n))
            return 1;
        evbuffer_drain(in, n);
        *took += n;
    }
    return 0;
}

static void http_body(cl *c, struct evbuffer *in)
{
    size_t took;
    if (!c->chunked) {
        if (body_take(c, in, c->remain, &took))
            return;
        if (c->remain >= 0) {
            c->remain -= (int64_t)took;
            if (c->remain == 0)
                body_end(c);
        }
        return;
    }
    for (;;) {
        if (c->cstate == CS_DATA) {
            if (body_take(c, in, c->remain, &took))
                return;
            c->remain -= (int64_t)took;
            if (c->remain > 0)
                return;
            c->cstate = CS_CRLF;
            continue;
        }
        size_t len;
        char *line = evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF);
        if (!line) {
            if (evbuffer_get_length(in) > CL_HTTP_LINE_MAX)
                finish(c, LE_EPROTO, "bad chunked encoding");
            return;
        }
        int bad = 0;
        if (c->cstate == CS_CRLF) {
            bad = len != 0;
            c->cstate = CS_SIZE;
        } else if (c->cstate == CS_SIZE) {
            char *e;
            unsigned long long sz = strtoull(line, &e, 16);
            bad = e == line || (*e && *e != ';' && *e != ' ') || sz > ((uint64_t)1 << 40);
            c->remain = (int64_t)sz;
            c->cstate = sz == 0 ? CS_TRAILER : CS_DATA;
        } else if (len == 0) {   /* CS_TRAILER: the empty line ends the body */
            free(line);
            body_end(c);
            return;
        }
        free(line);
        if (bad) {
            finish(c, LE_EPROTO, "bad chunked encoding");
            return;
        }
    }
}

static const char *hdr_get(char *head, const char *name, char *out, size_t n)
{
    size_t nl = strlen(name);
    for (char *l = strstr(head, "\r\n"); l; l = strstr(l, "\r\n")) {
        l += 2;
        if (strncasecmp(l, name, nl) == 0 && l[nl] == ':') {
            const char *v = l + nl + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            size_t vl = strcspn(v, "\r\n");
            while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
                vl--;
            if (vl >= n)
                vl = n - 1;
            memcpy(out, v, vl);
            out[vl] = 0;
            return out;
        }
    }
    return NULL;
}

/* Transfer-Encoding names chunked (its last coding, in practice the only). */
static int has_chunked(const char *v)
{
    for (; *v; v++)
        if (strncasecmp(v, "chunked", 7) == 0)
            return 1;
    return 0;
}

static void redirect(cl *c, const char *loc)
{
    if (c->redirects >= LE_SRC_MAX_REDIRECTS) {
        finish(c, LE_EPROTO, "redirect loop (more than %d redirects)", LE_SRC_MAX_REDIRECTS);
        return;
    }
    char next[4096];
    le_relay_url nu;
    if (le_relay_url_resolve(c->url, loc, next, sizeof(next)) != LE_OK || le_relay_url_parse(next, &nu) != LE_OK ||
        LE_URL_IS_RTMP(nu.scheme)) {
        char m[300];
        finish(c, LE_EINVAL, "redirect to an unsupported URL: %s", le_relay_mask_url(loc, m, sizeof(m)));
        return;
    }
    char *dup = strdup(next);
    if (!dup) {
        finish(c, LE_ENOMEM, "out of memory");
        return;
    }
    /* The override names the first host only. */
    if (c->connect_to && strcasecmp(nu.host, c->u.host) != 0) {
        free(c->connect_to);
        c->connect_to = NULL;
    }
    free(c->url);
    c->url = dup;
    c->u = nu;
    c->redirects++;
    drop_conn(c);
    int rc = start_conn(c);
    if (rc != LE_OK)
        finish(c, rc, "cannot connect");
}

static void http_read(cl *c, struct evbuffer *in)
{
    if (c->hstate == H_HEAD) {
        struct evbuffer_ptr e = evbuffer_search(in, "\r\n\r\n", 4, NULL);
        if (e.pos < 0) {
            if (evbuffer_get_length(in) > CL_HTTP_HEAD_MAX)
                finish(c, LE_ETOOBIG, "HTTP response head over %d bytes", CL_HTTP_HEAD_MAX);
            return;
        }
        size_t hl = (size_t)e.pos + 4;
        if (hl > CL_HTTP_HEAD_MAX) {
            finish(c, LE_ETOOBIG, "HTTP response head over %d bytes", CL_HTTP_HEAD_MAX);
            return;
        }
        char *head = malloc(hl + 1);
        if (!head) {
            finish(c, LE_ENOMEM, "out of memory");
            return;
        }
        evbuffer_remove(in, head, hl);
        head[hl] = 0;
        int major = 0, minor = 0, status = 0;
        char reason[64] = "";
        if (sscanf(head, "HTTP/%d.%d %d %63[^\r\n]", &major, &minor, &status, reason) < 3 || status < 100 ||
            status > 999) {
            free(head);
            finish(c, LE_EPROTO, "not an HTTP response");
            return;
        }
        char v[2048];
        if (status == 301 || status == 302 || status == 303 || status == 307 || status == 308) {
            if (!hdr_get(head, "Location", v, sizeof(v))) {
                free(head);
                finish(c, LE_EPROTO, "HTTP %d without Location", status);
                return;
            }
            free(head);
            redirect(c, v);
            return;
        }
        if (status != 200) {
            free(head);
            for (char *r = reason; *r; r++)
                if ((unsigned char)*r < 0x20 || (unsigned char)*r >= 0x7f)
                    *r = '?';
            finish(c, status == 404 || status == 410 ? LE_ENOTFOUND
                      : status == 401 || status == 403 ? LE_EDENIED : LE_EIO,
                   "HTTP %d%s%s", status, reason[0] ? " " : "", reason);
            return;
        }
        c->chunked = hdr_get(head, "Transfer-Encoding", v, sizeof(v)) && has_chunked(v);
        c->remain = -1;
        if (!c->chunked && hdr_get(head, "Content-Length", v, sizeof(v))) {
            char *end;
            long long clen = strtoll(v, &end, 10);
            if (end == v || *end || clen < 0) {
                free(head);
                finish(c, LE_EPROTO, "bad Content-Length");
                return;
            }
            c->remain = clen;
        }
        free(head);
        c->hstate = H_BODY;
        c->cstate = CS_SIZE;
        le_flvread_init(&c->fr, c->max_msg, 1);
        c->fr_on = 1;
        if (c->remain == 0) {
            body_end(c);
            return;
        }
    }
    http_body(c, in);
}

/* ---- socket callbacks ---- */

static void on_read(struct bufferevent *bev, void *arg)
{
    cl *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    c->bytes_in += evbuffer_get_length(in) - c->in_left;
    enter(c);
    /* Only sources have arriving (le_src_open). */
    if (c->arriving && c->is_ready)
        c->arriving(c->ctx, 1);
    if (!gone(c)) {
        if (c->kind == K_HTTP)
            http_read(c, in);
        else
            rtmp_read(c, in);
    }
    if (c->arriving && !gone(c))
        c->arriving(c->ctx, c->kind == K_HTTP ? c->fr_on && le_flvread_partial(&c->fr) : le_rtmpc_partial(c->rc));
    /* A redirect replaced the socket: its input is new. */
    c->in_left = c->bev == bev ? evbuffer_get_length(in) : 0;
    leave(c);
}

static void on_write(struct bufferevent *bev, void *arg)
{
    cl *c = arg;
    if (!c->want_writable || !c->writable)
        return;
    if (evbuffer_get_length(bufferevent_get_output(bev)) > c->max_out / 2)
        return;
    c->want_writable = 0;
    enter(c);
    c->writable(c->ctx);
    leave(c);
}

static void on_event_in(cl *c, struct bufferevent *bev, short what);
static void on_event(struct bufferevent *bev, short what, void *arg)
{
    cl *c = arg;
    enter(c);
    on_event_in(c, bev, what);
    leave(c);
}

static void on_event_in(cl *c, struct bufferevent *bev, short what)
{
    if (what & BEV_EVENT_CONNECTED) {
        if (c->kind == K_HTTP) {
            http_request(c);
            return;
        }
        le_rtmpc_cfg cfg = {
            .publish = c->kind == K_PUBLISH, .app = c->u.app, .tcurl = c->u.tcurl, .stream = c->u.stream,
            .max_msg = c->max_msg,
        };
        c->rc = le_rtmpc_new(&cfg);
        if (!c->rc) {
            finish(c, LE_ENOMEM, "out of memory");
            return;
        }
        flush_rtmp(c);
        return;
    }
    if (what & BEV_EVENT_TIMEOUT) {
        finish(c, LE_EIO, "%s timed out", (what & BEV_EVENT_READING) ? "read" : "write");
        return;
    }
    SSL *ssl = LE_URL_IS_TLS(c->u.scheme) ? bufferevent_openssl_get_ssl(bev) : NULL;
    if (what & BEV_EVENT_EOF) {
        /* Bytes still in the input were all seen by on_read. */
        if (c->kind == K_HTTP && c->hstate == H_BODY && !c->chunked && c->remain < 0)
            body_end(c);
        else if (ssl && !SSL_is_init_finished(ssl))
            finish(c, LE_EIO, "TLS: connection closed by the server during the handshake");
        else
            finish(c, LE_EIO, "connection closed by the server%s", c->is_ready ? "" : " before ready");
        return;
    }
    if (what & BEV_EVENT_ERROR) {
        int dns = bufferevent_socket_get_dns_error(bev);
        unsigned long te = ssl ? bufferevent_get_openssl_error(bev) : 0;
        /* A target in tls_verify_skip keeps a verify result it ignored. */
        long tv = ssl && (SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER) ? SSL_get_verify_result(ssl) : X509_V_OK;
        if (ssl)
            ERR_clear_error();
        if (tv != X509_V_OK)
            finish(c, LE_EIO, "TLS: certificate verify failed: %s", X509_verify_cert_error_string(tv));
        else if (te) {
            char tb[160];
            ERR_error_string_n(te, tb, sizeof(tb));
            finish(c, LE_EIO, "TLS: %s", tb);
        } else if (dns)
            finish(c, LE_EIO, "DNS: %s: %s", c->connect_to ? c->connect_to : c->u.host, evutil_gai_strerror(dns));
        else
            finish(c, LE_EIO, "%s", evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
    }
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    cl *c = arg;
    const char *stage = !c->bev ? "the connection"
                        : c->kind == K_HTTP ? (c->hstate == H_HEAD ? "the HTTP answer" : "the FLV header")
                        : !c->rc ? "the connection" : le_rtmpc_waiting(c->rc);
    enter(c);
    finish(c, LE_EIO, "timed out after %d ms waiting for %s", c->timeout_ms, stage);
    leave(c);
}

static void on_later(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    cl *c = arg;
    enter(c);
    finish(c, c->later_err, "%s", c->later_why);
    leave(c);
}

static int start_conn(cl *c)
{
    char host[256];
    int port = c->u.port;
    snprintf(host, sizeof(host), "%s", c->u.host);
    if (c->connect_to && le_relay_hostport(c->connect_to, host, sizeof(host), &port) != LE_OK)
        return LE_EINVAL;
    c->hstate = H_HEAD;
    c->got_header = 0;
    if (LE_URL_IS_TLS(c->u.scheme)) {
        /* TLS 1.2+: SNI and the certificate checked against the URL's host
         * and port (not connect_to's), unless tls_verify_skip names them. */
        SSL *ssl = M.ssl ? SSL_new(M.ssl) : NULL;
        if (!ssl)
            return LE_ENOMEM;
        le_net_client_ssl_target(ssl, c->u.host, c->u.port);
        c->bev = bufferevent_openssl_socket_new(M.base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
                                                BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
        if (!c->bev) {
            SSL_free(ssl);
            return LE_ENOMEM;
        }
        /* Many servers close without close_notify. */
        bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
    } else {
        c->bev = bufferevent_socket_new(M.base, -1, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    }
    if (!c->bev)
        return LE_ENOMEM;
    bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
    bufferevent_setwatermark(c->bev, EV_READ, 0, CL_READ_HIGH);
    bufferevent_setwatermark(c->bev, EV_WRITE, c->max_out / 2, 0);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    if (bufferevent_socket_connect_hostname(c->bev, M.dns, AF_UNSPEC, host, port) != 0) {
        /* Reported from the loop, never from inside open. */
        c->later_err = LE_EIO;
        snprintf(c->later_why, sizeof(c->later_why), "cannot connect to %s:%d", host, port);
        struct timeval z = { 0, 0 };
        event_add(c->later, &z);
    }
    return LE_OK;
}

static int cl_open(int kind, const char *url, const le_client_opts *o, cl **out)
{
    *out = NULL;
    if (!M.base)
        return LE_EINVAL;
    le_relay_url u;
    if (le_relay_url_parse(url, &u) != LE_OK)
        return LE_EINVAL;
    if ((kind == K_HTTP) == LE_URL_IS_RTMP(u.scheme))
        return LE_EINVAL;
    char h[256];
    int p = 0;
    if (o && o->connect_to && le_relay_hostport(o->connect_to, h, sizeof(h), &p) != LE_OK)
        return LE_EINVAL;
    cl *c = calloc(1, sizeof(*c));
    if (!c)
        return LE_ENOMEM;
    c->kind = kind;
    c->u = u;
    c->url = strdup(url);
    c->connect_to = o && o->connect_to ? strdup(o->connect_to) : NULL;
    c->timeout_ms = o && o->connect_timeout_ms > 0 ? o->connect_timeout_ms : CL_DEFAULT_TIMEOUT_MS;
    c->max_msg = o && o->max_msg ? o->max_msg : CL_DEFAULT_MAX_MSG;
    c->max_out = o && o->max_out ? o->max_out : CL_DEFAULT_MAX_OUT;
    c->timer = evtimer_new(M.base, on_timer, c);
    c->later = evtimer_new(M.base, on_later, c);
    if (!c->url || (o && o->connect_to && !c->connect_to) || !c->timer || !c->later) {
        cl_free(c);
        return LE_ENOMEM;
    }
    struct timeval tv = { c->timeout_ms / 1000, (c->timeout_ms % 1000) * 1000 };
    event_add(c->timer, &tv);
    int rc = start_conn(c);
    if (rc != LE_OK) {
        cl_free(c);
        return rc;
    }
    *out = c;
    return LE_OK;
}

static void cl_close(cl *c)
{
    if (!c || c->dead)
        return;
    c->dead = 1;
    if (c->in_cb == 0) {
        cl_free(c);
    } else {
        /* Freed when the callback returns (leave); the engine stays till
         * then: the packet lent to a packet() callback is its. */
        if (c->bev) {
            bufferevent_free(c->bev);
            c->bev = NULL;
        }
        if (c->timer)
            event_del(c->timer);
        if (c->later)
            event_del(c->later);
    }
}

/* ---- the face ---- */

void le_relay_client_init(struct event_base *base)
{
    if (M.base)
        return;
    M.base = base;
    le_net_client_init(base, "relay URLs", &M.dns, &M.ssl);
}

void le_relay_client_free(void)
{
    if (M.dns)
        evdns_base_free(M.dns, 0);
    if (M.ssl)
        SSL_CTX_free(M.ssl);
    memset(&M, 0, sizeof(M));
}

int le_src_open(const char *url, const le_client_opts *o, const le_src_ops *ops, void *ctx, le_src **out)
{
    *out = NULL;
    if (!ops || !ops->ready || !ops->closed || !url)
        return LE_EINVAL;
    int kind = strncasecmp(url, "rtmp://", 7) == 0 || strncasecmp(url, "rtmps://", 8) == 0 ? K_PLAY : K_HTTP;
    cl *c;
    int rc = cl_open(kind, url, o, &c);
    if (rc != LE_OK)
        return rc;
    c->ready = ops->ready;
    c->packet = ops->packet;
    c->arriving = ops->arriving;
    c->closed = ops->closed;
    c->ctx = ctx;
    *out = (le_src *)c;
    return LE_OK;
}

void le_src_close(le_src *s)
{
    cl_close((cl *)s);
}

uint64_t le_src_bytes_in(const le_src *s)
{
    return s ? ((const cl *)s)->bytes_in : 0;
}

int le_sink_open(const char *url, const le_client_opts *o, const le_sink_ops *ops, void *ctx, le_sink **out)
{
    *out = NULL;
    if (!ops || !ops->ready || !ops->closed || !url ||
        (strncasecmp(url, "rtmp://", 7) != 0 && strncasecmp(url, "rtmps://", 8) != 0))
        return LE_EINVAL;
    cl *c;
    int rc = cl_open(K_PUBLISH, url, o, &c);
    if (rc != LE_OK)
        return rc;
    c->ready = ops->ready;
    c->writable = ops->writable;
    c->closed = ops->closed;
    c->ctx = ctx;
    *out = (le_sink *)c;
    return LE_OK;
}

size_t le_sink_queued(const le_sink *k)
{
    const cl *c = (const cl *)k;
    if (!c || !c->bev)
        return 0;
    return evbuffer_get_length(bufferevent_get_output(c->bev));
}

int le_sink_send(le_sink *k, const le_pkt *p)
{
    cl *c = (cl *)k;
    if (!c || c->dead || c->done || !c->is_ready || !c->rc || !c->bev)
        return LE_EIO;
    if (le_sink_queued(k) > c->max_out) {
        c->want_writable = 1;
        return LE_EAGAIN;
    }
    int rc = le_rtmpc_send(c->rc, p);
    flush_rtmp(c);
    return rc;
}

uint64_t le_sink_bytes_out(const le_sink *k)
{
    const cl *c = (const cl *)k;
    if (!c)
        return 0;
    return c->added_out - le_sink_queued(k);
}

void le_sink_close(le_sink *k)
{
    cl_close((cl *)k);
}
