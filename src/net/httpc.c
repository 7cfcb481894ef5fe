/* Outbound HTTP client, see httpc.h. A request: QUEUED on its target's
 * FIFO, INFLIGHT (one evhttp connection), BACKOFF (between attempts).
 * libevent's request callbacks only record the outcome and activate the
 * request's event; connections are freed from that event, never from
 * inside an evhttp callback, and the user's callback runs from it too. */
#include "net/httpc.h"
#include "net/net.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/http.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MOD "httpc"
#define MAX_HEADERS_IN (16 * 1024)
#define MAX_HDRS 32

typedef struct target target;

struct target {
    char *key;                  /* "http://host:port" */
    int inflight, refs;
    le_httpc_req *rq_head, *rq_tail;
    target *next;
};

struct le_httpc_req {
    le_httpc_req *aprev, *anext; /* every request */
    le_httpc_req *rnext;        /* target queue */
    target *tg;
    int state, attempts, gone;
    int https, port;
    enum evhttp_cmd_type method;
    int got, result;            /* the current attempt has an outcome; its status */
    char *host, *hosthdr, *uri;
    char *hn[MAX_HDRS], *hv[MAX_HDRS];
    int nh;
    uint8_t *body;
    size_t body_len;
    le_buf in;                  /* the answer's body */
    int timeout_ms, retries, gap_ms, ok_status;
    size_t max_body;
    le_httpc_cb cb;
    le_httpc_start_cb on_start;
    void *arg;
    char why[128];
    uint64_t first_ms;
    struct event *ev;
    struct evhttp_connection *evcon;
};

static struct {
    int refs;
    struct event_base *base;
    struct evdns_base *dns;
    SSL_CTX *ssl;
    struct event *sched_ev;
    target *targets;
    le_httpc_req *all;
    size_t inflight, queued;
    uint64_t attempts;
} C;

/* ---- targets ---- */

static target *target_get(const char *key)
{
    for (target *t = C.targets; t; t = t->next)
        if (strcasecmp(t->key, key) == 0) {
            t->refs++;
            return t;
        }
    target *t = le_xcalloc(1, sizeof(*t));
    t->key = le_xstrdup(key);
    t->refs = 1;
    t->next = C.targets;
    C.targets = t;
    return t;
}

static void target_unref(target *t)
{
    if (--t->refs > 0)
        return;
    for (target **pp = &C.targets; *pp; pp = &(*pp)->next)
        if (*pp == t) {
            *pp = t->next;
            break;
        }
    free(t->key);
    free(t);
}

static void rq_remove(target *t, le_httpc_req *r)
{
    le_httpc_req *prev = NULL;
    for (le_httpc_req *c = t->rq_head; c; prev = c, c = c->rnext)
        if (c == r) {
            if (prev)
                prev->rnext = r->rnext;
            else
                t->rq_head = r->rnext;
            if (t->rq_tail == r)
                t->rq_tail = prev;
            r->rnext = NULL;
            return;
        }
}

static void kick_sched(void)
{
    if (C.sched_ev)
        event_active(C.sched_ev, EV_TIMEOUT, 0);
}

static void enqueue(le_httpc_req *r)
{
    r->state = LE_HTTPC_QUEUED;
    r->rnext = NULL;
    if (r->tg->rq_tail)
        r->tg->rq_tail->rnext = r;
    else
        r->tg->rq_head = r;
    r->tg->rq_tail = r;
    C.queued++;
    kick_sched();
}

/* ---- URL ---- */

static int set_url(le_httpc_req *r, const char *url, const char *tgt)
{
    struct evhttp_uri *u = evhttp_uri_parse_with_flags(url, EVHTTP_URI_NONCONFORMANT);
    if (!u)
        return LE_EINVAL;
    const char *scheme = evhttp_uri_get_scheme(u), *host = evhttp_uri_get_host(u);
    int port = evhttp_uri_get_port(u), rc = LE_EINVAL;
    if (!scheme || !host || !*host)
        goto out;
    if (strcasecmp(scheme, "https") == 0)
        r->https = 1;
    else if (strcasecmp(scheme, "http") != 0)
        goto out;
    if (port < 0)
        port = r->https ? 443 : 80;
    if (port < 1 || port > 65535)
        goto out;
    size_t hl = strlen(host);
    if (host[0] == '[' && hl > 2 && host[hl - 1] == ']')
        r->host = le_xstrndup(host + 1, hl - 2);
    else
        r->host = le_xstrdup(host);
    char hh[600];
    if (evhttp_uri_get_port(u) >= 0)
        snprintf(hh, sizeof(hh), "%s:%d", host, port);
    else
        snprintf(hh, sizeof(hh), "%s", host);
    r->hosthdr = le_xstrdup(hh);
    r->port = port;
    if (tgt) {
        r->uri = le_xstrdup(tgt);
    } else {
        const char *p = evhttp_uri_get_path(u), *q = evhttp_uri_get_query(u);
        le_buf b = { 0 };
        le_buf_printf(&b, "%s%s%s", p && *p ? p : "/", q && *q ? "?" : "", q && *q ? q : "");
        le_buf_u8(&b, 0);
        r->uri = (char *)b.p;
    }
    rc = 0;
out:
    evhttp_uri_free(u);
    return rc;
}

int le_httpc_url_parts(const char *url, char **path, char **query)
{
    struct evhttp_uri *u = evhttp_uri_parse_with_flags(url, EVHTTP_URI_NONCONFORMANT);
    if (!u)
        return LE_EINVAL;
    const char *scheme = evhttp_uri_get_scheme(u), *host = evhttp_uri_get_host(u);
    int port = evhttp_uri_get_port(u), rc = LE_EINVAL;
    if (scheme && host && *host && (strcasecmp(scheme, "https") == 0 || strcasecmp(scheme, "http") == 0) &&
        port != 0 && port <= 65535) {
        const char *p = evhttp_uri_get_path(u), *q = evhttp_uri_get_query(u);
        *path = le_xstrdup(p && *p ? p : "/");
        *query = q && *q ? le_xstrdup(q) : NULL;
        rc = LE_OK;
    }
    evhttp_uri_free(u);
    return rc;
}

/* ---- requests ---- */

static void req_ev_cb(evutil_socket_t fd, short what, void *arg);

static int method_of(const char *m, enum evhttp_cmd_type *out)
{
    static const struct { const char *n; enum evhttp_cmd_type t; } tab[] = {
        { "GET", EVHTTP_REQ_GET }, { "POST", EVHTTP_REQ_POST }, { "PUT", EVHTTP_REQ_PUT },
        { "DELETE", EVHTTP_REQ_DELETE }, { "HEAD", EVHTTP_REQ_HEAD },
    };
    if (!m) {
        *out = EVHTTP_REQ_GET;
        return 0;
    }
    for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
        if (strcmp(m, tab[i].n) == 0) {
            *out = tab[i].t;
            return 0;
        }
    return LE_EINVAL;
}

void le_httpc_set_header(le_httpc_req *r, const char *name, const char *value)
{
    for (int i = 0; i < r->nh; i++)
        if (strcasecmp(r->hn[i], name) == 0) {
            free(r->hv[i]);
            r->hv[i] = le_xstrdup(value);
            return;
        }
    if (r->nh == MAX_HDRS)
        return;
    r->hn[r->nh] = le_xstrdup(name);
    r->hv[r->nh++] = le_xstrdup(value);
}

static void req_free(le_httpc_req *r)
{
    if (r->evcon) {
        struct evhttp_connection *c = r->evcon;
        r->evcon = NULL;
        r->gone = 1;
        evhttp_connection_free(c);
    }
    if (r->ev)
        event_free(r->ev);
    for (int i = 0; i < r->nh; i++) {
        free(r->hn[i]);
        free(r->hv[i]);
    }
    free(r->host);
    free(r->hosthdr);
    free(r->uri);
    free(r->body);
    le_buf_free(&r->in);
    free(r);
}

int le_httpc_request(const le_httpc_opts *o, le_httpc_cb cb, void *arg, le_httpc_req **out)
{
    enum evhttp_cmd_type m;
    if (!C.base || !o || !o->url || method_of(o->method, &m) != 0)
        return LE_EINVAL;
    le_httpc_req *r = le_xcalloc(1, sizeof(*r));
    r->method = m;
    if (set_url(r, o->url, o->target) != 0) {
        req_free(r);
        return LE_EINVAL;
    }
    for (const char *const *h = o->headers; h && *h; h++) {
        const char *colon = strchr(*h, ':');
        if (!colon || colon == *h || strpbrk(*h, "\r\n")) {
            req_free(r);
            return LE_EINVAL;
        }
        char name[128];
        snprintf(name, sizeof(name), "%.*s", (int)(colon - *h), *h);
        const char *v = colon + 1;
        while (*v == ' ')
            v++;
        le_httpc_set_header(r, name, v);
    }
    if (o->body_len) {
        r->body = le_xmalloc(o->body_len);
        memcpy(r->body, o->body, o->body_len);
        r->body_len = o->body_len;
    }
    r->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 5000;
    r->retries = o->retries > 0 ? o->retries : 0;
    r->gap_ms = o->retry_gap_ms > 0 ? o->retry_gap_ms : 1000;
    r->ok_status = o->ok_status;
    r->max_body = o->max_body ? o->max_body : LE_HTTPC_MAX_BODY;
    r->cb = cb;
    r->arg = arg;
    r->on_start = o->on_start;
    char key[600];
    snprintf(key, sizeof(key), "%s://%s:%d", r->https ? "https" : "http", r->host, r->port);
    r->tg = target_get(key);
    r->ev = event_new(C.base, -1, 0, req_ev_cb, r);
    r->anext = C.all;
    if (C.all)
        C.all->aprev = r;
    C.all = r;
    enqueue(r);
    *out = r;
    return 0;
}

/* Takes the request out of every queue and count; frees it. */
static void req_finish(le_httpc_req *r)
{
    if (r->state == LE_HTTPC_QUEUED) {
        rq_remove(r->tg, r);
        C.queued--;
    } else if (r->state == LE_HTTPC_INFLIGHT) {
        r->tg->inflight--;
        C.inflight--;
    }
    if (r->aprev)
        r->aprev->anext = r->anext;
    else
        C.all = r->anext;
    if (r->anext)
        r->anext->aprev = r->aprev;
    target_unref(r->tg);
    r->tg = NULL;
    req_free(r);
    kick_sched();
}

void le_httpc_cancel(le_httpc_req *r)
{
    if (r)
        req_finish(r);
}

int le_httpc_state(const le_httpc_req *r) { return r->state; }
int le_httpc_attempts(const le_httpc_req *r) { return r->attempts; }
const char *le_httpc_target(const le_httpc_req *r) { return r->tg ? r->tg->key : ""; }

void le_httpc_get_stats(le_httpc_stats *s)
{
    s->attempts = C.attempts;
    s->inflight = C.inflight;
    s->queued = C.queued;
}

/* ---- attempts ---- */

static void req_err_cb(enum evhttp_request_error err, void *arg)
{
    le_httpc_req *r = arg;
    if (r->gone || r->state != LE_HTTPC_INFLIGHT || r->got)
        return;
    const char *w = err == EVREQ_HTTP_TIMEOUT ? "timeout"
                  : err == EVREQ_HTTP_EOF ? "connection closed or refused"
                  : err == EVREQ_HTTP_INVALID_HEADER ? "invalid response header"
                  : err == EVREQ_HTTP_BUFFER_ERROR ? "connection error"
                  : err == EVREQ_HTTP_DATA_TOO_LONG ? "response too large"
                  : "request cancelled";
    snprintf(r->why, sizeof(r->why), "%s", w);
}

/* A TLS failure says more than libevent's EOF: the verify result or the
 * OpenSSL error of the connection. */
static void tls_why(le_httpc_req *r)
{
    struct bufferevent *bev = r->evcon ? evhttp_connection_get_bufferevent(r->evcon) : NULL;
    SSL *ssl = bev ? bufferevent_openssl_get_ssl(bev) : NULL;
    if (!ssl)
        return;
    /* A target in tls_verify_skip keeps a verify result it ignored. */
    long v = SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER ? SSL_get_verify_result(ssl) : X509_V_OK;
    unsigned long e = bufferevent_get_openssl_error(bev);
    if (v != X509_V_OK) {
        snprintf(r->why, sizeof(r->why), "TLS: certificate verify failed: %s", X509_verify_cert_error_string(v));
    } else if (e) {
        char buf[120];
        ERR_error_string_n(e, buf, sizeof(buf));
        snprintf(r->why, sizeof(r->why), "TLS: %s", buf);
    }
    ERR_clear_error();
}

/* Only records: may run inside evhttp_make_request or deep in libevent. */
static void req_done_cb(struct evhttp_request *req, void *arg)
{
    le_httpc_req *r = arg;
    if (r->gone || r->state != LE_HTTPC_INFLIGHT || r->got)
        return;
    r->got = 1;
    r->result = req ? evhttp_request_get_response_code(req) : 0;
    if (r->result == 0 && r->https)
        tls_why(r);
    if (r->result == 0 && !r->why[0])
        snprintf(r->why, sizeof(r->why), "connection failed");
    else if (r->result != 0 && r->why[0] == '\0' &&
             (r->ok_status ? r->result != r->ok_status : r->result >= 500))
        snprintf(r->why, sizeof(r->why), "HTTP %d", r->result);
    if (r->result != 0) {
        struct evbuffer *in = evhttp_request_get_input_buffer(req);
        size_t n = in ? evbuffer_get_length(in) : 0;
        if (n > r->max_body)
            n = r->max_body;
        r->in.len = 0;
        if (n) {
            le_buf_reserve(&r->in, n);
            evbuffer_copyout(in, r->in.p, n);
            r->in.len = n;
        }
    }
    event_del(r->ev);
    event_active(r->ev, EV_READ, 0);
}

static struct bufferevent *ssl_bev(le_httpc_req *r)
{
    if (!C.ssl)
        return NULL;
    SSL *ssl = SSL_new(C.ssl);
    if (!ssl)
        return NULL;
    /* SNI, the host check, tls_verify_skip (docs/TLS.md, "Outbound TLS"). */
    le_net_client_ssl_target(ssl, r->host, r->port);
    struct bufferevent *bev = bufferevent_openssl_socket_new(C.base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
                                                             BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    if (!bev) {
        SSL_free(ssl);
        return NULL;
    }
    /* Many servers close without close_notify; the answer is complete. */
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    return bev;
}

static void attempt_fail_now(le_httpc_req *r, const char *why)
{
    r->got = 1;
    r->result = 0;
    snprintf(r->why, sizeof(r->why), "%s", why);
    event_active(r->ev, EV_READ, 0);
}

static void attempt_start(le_httpc_req *r)
{
    r->attempts++;
    C.attempts++;
    if (r->attempts == 1)
        r->first_ms = le_mono_ms();
    r->state = LE_HTTPC_INFLIGHT;
    r->got = 0;
    r->result = 0;
    r->why[0] = '\0';
    r->tg->inflight++;
    C.inflight++;
    if (r->on_start)
        r->on_start(r, r->attempts, r->arg);

    struct bufferevent *bev = NULL;
    if (r->https && !(bev = ssl_bev(r))) {
        attempt_fail_now(r, "TLS setup failed");
        return;
    }
    r->gone = 0;
    r->evcon = evhttp_connection_base_bufferevent_new(C.base, C.dns, bev, r->host, (unsigned short)r->port);
    if (!r->evcon) {
        if (bev)
            bufferevent_free(bev);
        attempt_fail_now(r, "cannot create a connection");
        return;
    }
    evhttp_connection_set_retries(r->evcon, 0);
    /* Ours (the request event) is the bound; libevent's is a backstop. */
    evhttp_connection_set_timeout(r->evcon, r->timeout_ms / 1000 + 5);
    evhttp_connection_set_max_body_size(r->evcon, (ev_ssize_t)r->max_body);
    evhttp_connection_set_max_headers_size(r->evcon, MAX_HEADERS_IN);
    struct evhttp_request *req = evhttp_request_new(req_done_cb, r);
    if (!req) {
        attempt_fail_now(r, "cannot create a request");
        return;
    }
    evhttp_request_set_error_cb(req, req_err_cb);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Host", r->hosthdr);
    evhttp_add_header(h, "User-Agent", "livedge/" PACKAGE_VERSION);
    evhttp_add_header(h, "Connection", "close");
    for (int i = 0; i < r->nh; i++)
        evhttp_add_header(h, r->hn[i], r->hv[i]);
    if (r->body_len) {
        char cl[24];
        snprintf(cl, sizeof(cl), "%zu", r->body_len);
        evhttp_add_header(h, "Content-Length", cl);
        evbuffer_add(evhttp_request_get_output_buffer(req), r->body, r->body_len);
    }
    if (evhttp_make_request(r->evcon, req, r->method, r->uri) != 0) {
        /* libevent 2.1.12 leaves req to nobody in this (socket-level) case;
         * it is not freed here because older versions did free it. */
        if (!r->got)
            attempt_fail_now(r, "cannot send the request");
        return;
    }
    if (!r->got) {
        struct timeval tv = { r->timeout_ms / 1000, (r->timeout_ms % 1000) * 1000 };
        event_add(r->ev, &tv);
    }
}

static void attempt_done(le_httpc_req *r)
{
    struct evhttp_connection *c = r->evcon;
    r->evcon = NULL;
    r->gone = 1;
    if (c)
        evhttp_connection_free(c);
    r->tg->inflight--;
    C.inflight--;
    r->state = LE_HTTPC_BACKOFF;
    if (!r->got)
        snprintf(r->why, sizeof(r->why), "no answer in %d ms", r->timeout_ms);
    int ok = r->got && r->result != 0 && (r->ok_status ? r->result == r->ok_status : r->result < 500);
    if (!ok && r->attempts <= r->retries) {
        char ub[300];
        le_debug(MOD, "%s %s: attempt %d failed (%s), retry in %d ms", r->tg->key,
                 le_log_esc(r->uri, strlen(r->uri), ub, sizeof(ub)), r->attempts, r->why, r->gap_ms);
        struct timeval tv = { r->gap_ms / 1000, (r->gap_ms % 1000) * 1000 };
        event_add(r->ev, &tv);
        kick_sched();
        return;
    }
    le_httpc_resp resp = { 0 };
    char why[sizeof(r->why)];
    snprintf(why, sizeof(why), "%s", ok ? "" : r->why);   /* r is freed before the callback */
    resp.status = r->got ? r->result : 0;
    resp.why = why;
    resp.body = r->in.p;
    resp.body_len = r->in.len;
    resp.attempts = r->attempts;
    resp.took_ms = le_mono_ms() - r->first_ms;
    le_httpc_cb cb = r->cb;
    void *arg = r->arg;
    /* The callback may start new requests, never see this one again. */
    le_buf in = r->in;
    r->in = (le_buf){ 0 };
    req_finish(r);
    if (cb)
        cb(&resp, arg);
    le_buf_free(&in);
}

static void req_ev_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    le_httpc_req *r = arg;
    if (r->state == LE_HTTPC_INFLIGHT)
        attempt_done(r);
    else if (r->state == LE_HTTPC_BACKOFF)
        enqueue(r);
}

/* Starts what the limits allow, one request per target per round so that
 * a busy target does not take every global slot. */
static void sched_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    int progress = 1;
    while (progress && C.inflight < LE_HTTPC_MAX_INFLIGHT) {
        progress = 0;
        for (target *t = C.targets; t && C.inflight < LE_HTTPC_MAX_INFLIGHT; t = t->next) {
            le_httpc_req *r = t->rq_head;
            if (!r || t->inflight >= LE_HTTPC_MAX_PER_TARGET)
                continue;
            t->rq_head = r->rnext;
            if (!t->rq_head)
                t->rq_tail = NULL;
            r->rnext = NULL;
            C.queued--;
            attempt_start(r);
            progress = 1;
        }
    }
}

/* ---- init / free ---- */

void le_httpc_init(struct event_base *base)
{
    if (C.refs++ > 0)
        return;
    C.base = base;
    le_net_client_init(base, "outbound HTTP URLs", &C.dns, &C.ssl);
    C.sched_ev = event_new(base, -1, 0, sched_cb, NULL);
}

void le_httpc_free(void)
{
    if (C.refs == 0 || --C.refs > 0)
        return;
    /* What is left was not cancelled by its owner: no callbacks now. */
    while (C.all)
        le_httpc_cancel(C.all);
    if (C.sched_ev)
        event_free(C.sched_ev);
    if (C.dns)
        evdns_base_free(C.dns, 0);
    if (C.ssl)
        SSL_CTX_free(C.ssl);
    memset(&C, 0, sizeof(C));
}
