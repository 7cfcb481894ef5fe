/* Publish callbacks, see notify.h. Objects:
 *  - pubrec: one per publish that has callbacks (its domain had a notify
 *    URL, enabled, when it started). Kept, by stream key, in a table until
 *    it has ended and both of its callbacks have finished. Successive
 *    publishes of one stream are chained (pred/succ) so that a new
 *    publisher's publish never overtakes the previous one's publish_done
 *    (takeover): a business system sees the stream go live, stop, go live.
 *  - job: one callback. States: HELD (publish waiting for metadata),
 *    BLOCKED (waiting for an earlier callback of the same stream), READY
 *    (queued on its target for a connection slot), INFLIGHT, BACKOFF
 *    (1 s before the next attempt). Every unfinished job is on one list,
 *    oldest first, which the queue bound walks.
 *  - target: scheme://host:port, with its own ready queue and in-flight
 *    count (LE_NOTIFY_MAX_PER_TARGET).
 * Lifetimes: libevent's request callbacks only record the outcome and
 * activate the job's event; connections are freed from that event, never
 * from inside an evhttp callback. */
#include "control/notify.h"
#include "auth/aliauth.h"
#include "core/err.h"
#include "core/keytab.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/util.h"
#include "node.h"

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/http.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MOD "notify"
#define HOLD_POLL_MS 100
#define MAX_BODY (64 * 1024)
#define MAX_HEADERS (16 * 1024)

/* ---- pure part ---- */

void le_notify_pct(le_buf *out, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    le_buf_reserve(out, n * 3);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
            c == '_' || c == '.' || c == '~') {
            out->p[out->len++] = c;
        } else {
            out->p[out->len++] = '%';
            out->p[out->len++] = (uint8_t)hex[c >> 4];
            out->p[out->len++] = (uint8_t)hex[c & 15];
        }
    }
}

/* "&k=enc(v)": every pair but the first (action) */
static void kv(le_buf *out, const char *k, const char *v)
{
    le_buf_u8(out, '&');
    le_buf_append(out, k, strlen(k));
    le_buf_u8(out, '=');
    if (v)
        le_notify_pct(out, v, strlen(v));
}

void le_notify_query(le_buf *out, const le_notify_params *p)
{
    char num[24];
    le_buf_append(out, "action=", 7);
    le_notify_pct(out, p->action, strlen(p->action));
    kv(out, "ip", p->ip);
    kv(out, "id", p->id);
    kv(out, "app", p->app);
    kv(out, "appname", p->appname);
    snprintf(num, sizeof(num), "%" PRId64, p->time_s);
    kv(out, "time", num);
    kv(out, "usrargs", p->usrargs);
    kv(out, "node", p->node);
    if (p->width > 0 && p->height > 0) {
        snprintf(num, sizeof(num), "%d", p->width);
        kv(out, "width", num);
        snprintf(num, sizeof(num), "%d", p->height);
        kv(out, "height", num);
    }
}

void le_notify_target(le_buf *out, const char *path, const char *url_query, const char *params)
{
    if (path && *path)
        le_buf_append(out, path, strlen(path));
    else
        le_buf_u8(out, '/');
    le_buf_u8(out, '?');
    if (url_query && *url_query) {
        le_buf_append(out, url_query, strlen(url_query));
        le_buf_u8(out, '&');
    }
    le_buf_append(out, params, strlen(params));
}

void le_notify_sign(const char *domain, int64_t ts, const char *key, char out[33])
{
    char t[24];
    snprintf(t, sizeof(t), "%" PRId64, ts);
    le_aliauth_md5hex(out, domain, "|", t, "|", key);
}

/* ---- state ---- */

enum { A_PUBLISH = 0, A_DONE };
enum { J_HELD = 0, J_BLOCKED, J_READY, J_INFLIGHT, J_BACKOFF, J_GONE };

typedef struct target target;
typedef struct pubrec pubrec;
typedef struct job job;

struct target {
    char *key;                 /* "http://host:port" */
    int inflight;
    int refs;                  /* jobs pointing here */
    job *rq_head, *rq_tail;    /* READY jobs, FIFO */
    target *next;
};

struct job {
    job *prev, *next;          /* all unfinished jobs, oldest first */
    job *rnext;                /* target ready queue */
    pubrec *pr;
    target *tg;
    int action, state, attempts;
    int https, port;
    int got;                   /* the current attempt has an outcome */
    int result;                /* its HTTP status, 0 if none */
    int64_t time_s;            /* the event's time */
    char *url;                 /* as configured (logs) */
    char *host;                /* to connect to (IPv6 without brackets) */
    char *hosthdr;             /* Host header */
    char *path, *uquery;       /* of the URL */
    char *key;                 /* notify_auth_key, NULL if none */
    char *uri;                 /* request target, built when released */
    char *reason;              /* publish_done: why the publish ended */
    char why[128];             /* last failure */
    uint64_t first_ms, attempt_ms;
    struct event *ev;
    struct evhttp_connection *evcon;
};

struct pubrec {
    le_keytab_ent ke;          /* in N.table while it is the stream's newest */
    pubrec *held_prev, *held_next;
    pubrec *pred, *succ;       /* previous / next publish of the same stream */
    le_stream *st;             /* while live; never dereferenced after end */
    job *pub, *done;           /* unfinished callbacks */
    int ended;
    int pub_dropped;           /* its publish was dropped: no publish_done */
    int held;                  /* on the held list */
    uint64_t start_mono;
    int64_t start_s;
    char *skey;                /* "domain/app/name" */
    char *domain, *app, *appname, *id, *ip, *usrargs, *url, *authkey;
};

static struct {
    struct event_base *base;
    struct evdns_base *dns;
    SSL_CTX *ssl;
    const struct timeval *tv_timeout, *tv_gap;
    struct event *hold_ev, *sched_ev;
    le_keytab table;           /* pubrec by skey */
    pubrec *held;
    job *head, *tail;
    size_t njobs;
    int inflight;
    target *targets;
    le_notify_stats stats;
    int stopping;              /* le_notify_stop was called */
} N;

const le_notify_stats *le_notify_get_stats(void) { return &N.stats; }
size_t le_notify_pending(void) { return N.njobs; }

static const char *action_name(int a) { return a == A_PUBLISH ? "publish" : "publish_done"; }

static const char *esc_url(const job *j, char *buf, size_t n)
{
    return le_log_esc(j->url, strlen(j->url), buf, n);
}

static pubrec *table_get(const char *skey)
{
    le_keytab_ent *e = le_keytab_find(&N.table, skey);
    return e ? LE_KEYTAB_OBJ(e, pubrec, ke) : NULL;
}

static void table_del(pubrec *pr)
{
    le_keytab_remove(&N.table, &pr->ke);
}

static void table_put(pubrec *pr)
{
    pubrec *old = table_get(pr->skey);
    if (old)
        table_del(old);
    le_keytab_insert(&N.table, &pr->ke, pr->skey);
}

static void held_del(pubrec *pr)
{
    if (!pr->held)
        return;
    if (pr->held_prev)
        pr->held_prev->held_next = pr->held_next;
    else
        N.held = pr->held_next;
    if (pr->held_next)
        pr->held_next->held_prev = pr->held_prev;
    pr->held_prev = pr->held_next = NULL;
    pr->held = 0;
}

static void held_add(pubrec *pr)
{
    pr->held = 1;
    pr->held_prev = NULL;
    pr->held_next = N.held;
    if (N.held)
        N.held->held_prev = pr;
    N.held = pr;
    if (!event_pending(N.hold_ev, EV_TIMEOUT, NULL)) {
        struct timeval tv = { 0, HOLD_POLL_MS * 1000 };
        event_add(N.hold_ev, &tv);
    }
}

static void pubrec_free(pubrec *pr)
{
    held_del(pr);
    free(pr->skey);
    free(pr->domain);
    free(pr->app);
    free(pr->appname);
    free(pr->id);
    free(pr->ip);
    free(pr->usrargs);
    free(pr->url);
    free(pr->authkey);
    free(pr);
}

/* ---- targets ---- */

static target *target_get(const job *j)
{
    char key[600];
    snprintf(key, sizeof(key), "%s://%s:%d", j->https ? "https" : "http", j->host, j->port);
    for (target *t = N.targets; t; t = t->next)
        if (strcasecmp(t->key, key) == 0) {
            t->refs++;
            return t;
        }
    target *t = le_xcalloc(1, sizeof(*t));
    t->key = le_xstrdup(key);
    t->refs = 1;
    t->next = N.targets;
    N.targets = t;
    return t;
}

static void target_unref(target *t)
{
    if (--t->refs > 0)
        return;
    for (target **pp = &N.targets; *pp; pp = &(*pp)->next)
        if (*pp == t) {
            *pp = t->next;
            break;
        }
    free(t->key);
    free(t);
}

static void rq_remove(target *t, job *j)
{
    job *prev = NULL;
    for (job *c = t->rq_head; c; prev = c, c = c->rnext)
        if (c == j) {
            if (prev)
                prev->rnext = j->rnext;
            else
                t->rq_head = j->rnext;
            if (t->rq_tail == j)
                t->rq_tail = prev;
            j->rnext = NULL;
            return;
        }
}

/* ---- URL ---- */

/* Splits a notify URL into the job's connection fields. 0 or LE_EINVAL. */
static int job_set_url(job *j, const char *url)
{
    struct evhttp_uri *u = evhttp_uri_parse_with_flags(url, EVHTTP_URI_NONCONFORMANT);
    if (!u)
        return LE_EINVAL;
    const char *scheme = evhttp_uri_get_scheme(u), *host = evhttp_uri_get_host(u);
    int port = evhttp_uri_get_port(u), rc = LE_EINVAL;
    if (!scheme || !host || !*host)
        goto out;
    if (strcasecmp(scheme, "https") == 0)
        j->https = 1;
    else if (strcasecmp(scheme, "http") != 0)
        goto out;
    if (port < 0)
        port = j->https ? 443 : 80;
    if (port < 1 || port > 65535)
        goto out;
    size_t hl = strlen(host);
    if (host[0] == '[' && hl > 2 && host[hl - 1] == ']')
        j->host = le_xstrndup(host + 1, hl - 2);
    else
        j->host = le_xstrdup(host);
    char hh[600];
    if (evhttp_uri_get_port(u) >= 0)
        snprintf(hh, sizeof(hh), "%s:%d", host, port);
    else
        snprintf(hh, sizeof(hh), "%s", host);
    j->hosthdr = le_xstrdup(hh);
    j->port = port;
    const char *p = evhttp_uri_get_path(u), *q = evhttp_uri_get_query(u);
    j->path = le_xstrdup(p && *p ? p : "/");
    j->uquery = q && *q ? le_xstrdup(q) : NULL;
    j->url = le_xstrdup(url);
    rc = 0;
out:
    evhttp_uri_free(u);
    return rc;
}

/* ---- jobs ---- */

static void job_ev_cb(evutil_socket_t fd, short what, void *arg);
static void job_finish(job *j);

static void kick_sched(void)
{
    if (N.sched_ev)
        event_active(N.sched_ev, EV_TIMEOUT, 0);
}

static void job_ready(job *j)
{
    j->state = J_READY;
    j->rnext = NULL;
    if (j->tg->rq_tail)
        j->tg->rq_tail->rnext = j;
    else
        j->tg->rq_head = j;
    j->tg->rq_tail = j;
    kick_sched();
}

/* Drops a job before its first attempt (or between attempts): the bound. */
static void job_drop(job *j, const char *why)
{
    char ub[300];
    pubrec *pr = j->pr;
    N.stats.dropped++;
    le_warn(MOD, "%s %s -> %s: dropped (%s)", action_name(j->action), pr->skey, esc_url(j, ub, sizeof(ub)),
            why);
    if (j->action == A_PUBLISH) {
        /* Never a publish_done without its publish. */
        pr->pub_dropped = 1;
        held_del(pr);
        if (pr->done) {
            N.stats.dropped++;
            le_warn(MOD, "publish_done %s -> %s: dropped with its publish", pr->skey,
                    esc_url(pr->done, ub, sizeof(ub)));
            job_finish(pr->done);
        }
    }
    job_finish(j);
}

/* Makes room for one more job: drops the oldest one not yet sent, else the
 * oldest one waiting for a retry. Called before the caller touches any
 * state, since a drop may free a pubrec. */
static void job_admit(void)
{
    if (N.njobs < LE_NOTIFY_MAX_QUEUED)
        return;
    job *victim = NULL;
    for (job *j = N.head; j; j = j->next)
        if (j->attempts == 0 && j->state != J_INFLIGHT) {
            victim = j;
            break;
        }
    if (!victim)
        for (job *j = N.head; j; j = j->next)
            if (j->state == J_BACKOFF) {
                victim = j;
                break;
            }
    if (victim)
        job_drop(victim, "queue full");
}

static job *job_new(pubrec *pr, int action, const char *url, const char *key)
{
    job *j = le_xcalloc(1, sizeof(*j));
    if (job_set_url(j, url) != 0) {
        char ub[300];
        le_warn(MOD, "%s %s: notify_url %s is not a usable http(s) URL, callback not sent",
                action_name(action), pr->skey, le_log_esc(url, strlen(url), ub, sizeof(ub)));
        N.stats.failed++;
        free(j);
        return NULL;
    }
    j->pr = pr;
    j->action = action;
    j->key = key && *key ? le_xstrdup(key) : NULL;
    j->tg = target_get(j);
    j->ev = event_new(N.base, -1, 0, job_ev_cb, j);
    j->prev = N.tail;
    if (N.tail)
        N.tail->next = j;
    else
        N.head = j;
    N.tail = j;
    N.njobs++;
    return j;
}

/* Frees the attempt's connection; a callback from inside the free finds the
 * job J_GONE and is ignored. */
static void job_disconnect(job *j)
{
    struct evhttp_connection *c = j->evcon;
    j->evcon = NULL;
    j->state = J_GONE;
    if (c)
        evhttp_connection_free(c);
}

static void job_free(job *j)
{
    if (j->evcon)
        job_disconnect(j);
    if (j->ev)
        event_free(j->ev);   /* also takes it out of the loop */
    free(j->url);
    free(j->host);
    free(j->hosthdr);
    free(j->path);
    free(j->uquery);
    free(j->key);
    free(j->uri);
    free(j->reason);
    free(j);
}

static void pubrec_maybe_free(pubrec *pr)
{
    if (!pr->ended || pr->pub || pr->done)
        return;
    /* Its last callback is done: the next publish of the stream may go. */
    if (pr->succ) {
        pubrec *s = pr->succ;
        s->pred = NULL;
        if (s->pub && s->pub->state == J_BLOCKED)
            job_ready(s->pub);
    }
    if (pr->pred)
        pr->pred->succ = NULL;
    if (table_get(pr->skey) == pr)
        table_del(pr);
    pubrec_free(pr);
}

/* Unlinks a finished (or dropped) job and lets what waited on it go. */
static void job_finish(job *j)
{
    pubrec *pr = j->pr;
    if (j->state == J_READY)
        rq_remove(j->tg, j);
    if (j->prev)
        j->prev->next = j->next;
    else
        N.head = j->next;
    if (j->next)
        j->next->prev = j->prev;
    else
        N.tail = j->prev;
    N.njobs--;
    if (j->state == J_INFLIGHT) {
        j->tg->inflight--;
        N.inflight--;
    }
    if (j->action == A_PUBLISH) {
        pr->pub = NULL;
        if (pr->done && pr->done->state == J_BLOCKED)
            job_ready(pr->done);
    } else {
        pr->done = NULL;
    }
    target_unref(j->tg);
    j->tg = NULL;
    job_free(j);
    pubrec_maybe_free(pr);
}

/* Whether j must still wait for an earlier callback of its stream: its
 * publish (publish_done), or the previous publish's callbacks (publish).
 * While the node stops, waiting for the earlier one's first attempt is
 * enough: every publish_done gets its first attempt out before the
 * deadline even when the server hangs, and the server has still been sent
 * the earlier request first. */
static int blocked_by_earlier(const job *j)
{
    const pubrec *pr = j->pr;
    if (j->action == A_DONE)
        return pr->pub && (!N.stopping || pr->pub->attempts == 0);
    const pubrec *p = pr->pred;
    if (!p)
        return 0;
    if (!N.stopping)
        return 1;
    return (p->pub && p->pub->attempts == 0) || (p->done && p->done->attempts == 0);
}

static void unblock(job *j)
{
    if (j && j->state == J_BLOCKED && j->uri && !blocked_by_earlier(j))
        job_ready(j);
}

/* Builds the request target; the job then waits for its turn. */
static void job_release(job *j, const le_notify_params *p)
{
    le_buf q = { 0 }, t = { 0 };
    le_notify_query(&q, p);
    le_buf_u8(&q, 0);
    le_notify_target(&t, j->path, j->uquery, (const char *)q.p);
    le_buf_u8(&t, 0);
    j->uri = (char *)t.p;
    le_buf_free(&q);
    if (blocked_by_earlier(j))
        j->state = J_BLOCKED;
    else
        job_ready(j);
}

static void params_of(const pubrec *pr, le_notify_params *p, const char *action, int64_t time_s)
{
    memset(p, 0, sizeof(*p));
    p->action = action;
    p->ip = pr->ip;
    p->id = pr->id;
    p->app = pr->app;
    p->appname = pr->appname;
    p->time_s = time_s;
    p->usrargs = pr->usrargs;
    const le_conf *cf = le_node_conf();
    p->node = cf && cf->node_name ? cf->node_name : "";
}

/* The publish callback leaves the hold: metadata came, 1 s passed, or the
 * publish ended. */
static void release_publish(pubrec *pr)
{
    job *j = pr->pub;
    held_del(pr);
    if (!j || j->state != J_HELD)
        return;
    le_notify_params p;
    params_of(pr, &p, "publish", pr->start_s);
    if (pr->st) {
        const le_stream_stats *s = le_stream_get_stats(pr->st);
        if (s && s->width > 0 && s->height > 0 && s->width < 100000 && s->height < 100000) {
            p.width = (int)(s->width + 0.5);
            p.height = (int)(s->height + 0.5);
        }
    }
    job_release(j, &p);
}

static void hold_cb(evutil_socket_t fd, short what, void *arg)
{
    uint64_t now = le_mono_ms();
    for (pubrec *pr = N.held, *n; pr; pr = n) {
        n = pr->held_next;
        const le_stream_stats *s = pr->st ? le_stream_get_stats(pr->st) : NULL;
        if (!s || (s->width > 0 && s->height > 0) || now - pr->start_mono >= LE_NOTIFY_META_WAIT_MS)
            release_publish(pr);
    }
    if (N.held) {
        struct timeval tv = { 0, HOLD_POLL_MS * 1000 };
        event_add(N.hold_ev, &tv);
    }
}

/* ---- HTTP ---- */

static void req_err_cb(enum evhttp_request_error err, void *arg)
{
    job *j = arg;
    if (j->state != J_INFLIGHT || j->got)
        return;
    const char *w = err == EVREQ_HTTP_TIMEOUT ? "timeout"
                  : err == EVREQ_HTTP_EOF ? "connection closed or refused"
                  : err == EVREQ_HTTP_INVALID_HEADER ? "invalid response header"
                  : err == EVREQ_HTTP_BUFFER_ERROR ? "connection error"
                  : err == EVREQ_HTTP_DATA_TOO_LONG ? "response too large"
                  : "request cancelled";
    snprintf(j->why, sizeof(j->why), "%s", w);
}

/* A TLS failure says more than libevent's EOF: the verify result or the
 * OpenSSL error of the connection. */
static void tls_why(job *j)
{
    struct bufferevent *bev = j->evcon ? evhttp_connection_get_bufferevent(j->evcon) : NULL;
    SSL *ssl = bev ? bufferevent_openssl_get_ssl(bev) : NULL;
    if (!ssl)
        return;
    long v = SSL_get_verify_result(ssl);
    unsigned long e = bufferevent_get_openssl_error(bev);
    if (v != X509_V_OK) {
        snprintf(j->why, sizeof(j->why), "TLS: certificate verify failed: %s", X509_verify_cert_error_string(v));
    } else if (e) {
        char buf[120];
        ERR_error_string_n(e, buf, sizeof(buf));
        snprintf(j->why, sizeof(j->why), "TLS: %s", buf);
    }
    ERR_clear_error();
}

/* Only records: may run inside evhttp_make_request or deep in libevent. */
static void req_done_cb(struct evhttp_request *req, void *arg)
{
    job *j = arg;
    if (j->state != J_INFLIGHT || j->got)
        return;
    j->got = 1;
    j->result = req ? evhttp_request_get_response_code(req) : 0;
    if (j->result == 0 && j->https)
        tls_why(j);
    if (j->result == 0 && !j->why[0])
        snprintf(j->why, sizeof(j->why), "connection failed");
    else if (j->result != 0 && j->result != 200)
        snprintf(j->why, sizeof(j->why), "HTTP %d", j->result);
    event_del(j->ev);
    event_active(j->ev, EV_READ, 0);
}

static struct bufferevent *ssl_bev(job *j)
{
    if (!N.ssl)
        return NULL;
    SSL *ssl = SSL_new(N.ssl);
    if (!ssl)
        return NULL;
    unsigned char ipbuf[16];
    int is_ip = inet_pton(AF_INET, j->host, ipbuf) == 1 || inet_pton(AF_INET6, j->host, ipbuf) == 1;
    if (is_ip) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), j->host);
    } else {
        SSL_set_tlsext_host_name(ssl, j->host);
        SSL_set1_host(ssl, j->host);
    }
    struct bufferevent *bev = bufferevent_openssl_socket_new(N.base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
                                                             BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    if (!bev) {
        SSL_free(ssl);
        return NULL;
    }
    /* Many servers close without close_notify; the answer is complete. */
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    return bev;
}

static void attempt_fail_now(job *j, const char *why)
{
    j->got = 1;
    j->result = 0;
    snprintf(j->why, sizeof(j->why), "%s", why);
    event_active(j->ev, EV_READ, 0);
}

static void attempt_start(job *j)
{
    j->attempts++;
    N.stats.attempts++;
    if (j->attempts == 1) {
        N.stats.sent++;
        j->first_ms = le_mono_ms();
    }
    else
        N.stats.retried++;
    j->state = J_INFLIGHT;
    j->got = 0;
    j->result = 0;
    j->why[0] = '\0';
    j->attempt_ms = le_mono_ms();
    j->tg->inflight++;
    N.inflight++;
    if (N.stopping) {
        unblock(j->pr->done);
        if (j->pr->succ)
            unblock(j->pr->succ->pub);
    }

    struct bufferevent *bev = NULL;
    if (j->https && !(bev = ssl_bev(j))) {
        attempt_fail_now(j, "TLS setup failed");
        return;
    }
    j->evcon = evhttp_connection_base_bufferevent_new(N.base, N.dns, bev, j->host, (unsigned short)j->port);
    if (!j->evcon) {
        if (bev)
            bufferevent_free(bev);
        attempt_fail_now(j, "cannot create a connection");
        return;
    }
    evhttp_connection_set_retries(j->evcon, 0);
    /* Ours (the job event) is the 5 s bound; libevent's is a backstop. */
    evhttp_connection_set_timeout(j->evcon, LE_NOTIFY_TIMEOUT_MS / 1000 + 5);
    evhttp_connection_set_max_body_size(j->evcon, MAX_BODY);
    evhttp_connection_set_max_headers_size(j->evcon, MAX_HEADERS);
    struct evhttp_request *req = evhttp_request_new(req_done_cb, j);
    if (!req) {
        attempt_fail_now(j, "cannot create a request");
        return;
    }
    evhttp_request_set_error_cb(req, req_err_cb);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Host", j->hosthdr);
    evhttp_add_header(h, "User-Agent", "livedge/" PACKAGE_VERSION);
    evhttp_add_header(h, "Connection", "close");
    if (j->key) {
        char ts[24], sig[33];
        int64_t now_s = le_wall_ms() / 1000;
        snprintf(ts, sizeof(ts), "%" PRId64, now_s);
        le_notify_sign(j->pr->domain, now_s, j->key, sig);
        evhttp_add_header(h, "ALI-LIVE-TIMESTAMP", ts);
        evhttp_add_header(h, "ALI-LIVE-SIGNATURE", sig);
    }
    if (evhttp_make_request(j->evcon, req, EVHTTP_REQ_GET, j->uri) != 0) {
        /* libevent 2.1.12 leaves req to nobody in this (socket-level) case;
         * it is not freed here because older versions did free it. */
        if (!j->got)
            attempt_fail_now(j, "cannot send the request");
        return;
    }
    if (!j->got)
        event_add(j->ev, N.tv_timeout);
}

static void attempt_done(job *j)
{
    char ub[300];
    pubrec *pr = j->pr;
    /* Also when no connection was made (attempt_fail_now): J_INFLIGHT no
     * more, so job_finish does not count the slot out a second time. */
    job_disconnect(j);
    j->tg->inflight--;
    N.inflight--;
    if (!j->got)
        snprintf(j->why, sizeof(j->why), "no answer in %d s", LE_NOTIFY_TIMEOUT_MS / 1000);
    uint64_t took = le_mono_ms() - j->first_ms;
    if (j->got && j->result == 200) {
        N.stats.succeeded++;
        le_info(MOD, "%s %s -> %s: 200 after %d attempt%s (%" PRIu64 " ms)%s%s", action_name(j->action),
                pr->skey, esc_url(j, ub, sizeof(ub)), j->attempts, j->attempts > 1 ? "s" : "", took,
                j->reason ? ", ended: " : "", j->reason ? j->reason : "");
        job_finish(j);
    } else if (j->attempts <= LE_NOTIFY_RETRIES) {
        le_debug(MOD, "%s %s -> %s: attempt %d failed (%s), retry in 1 s", action_name(j->action), pr->skey,
                 esc_url(j, ub, sizeof(ub)), j->attempts, j->why);
        j->state = J_BACKOFF;
        event_add(j->ev, N.tv_gap);
    } else {
        N.stats.failed++;
        le_warn(MOD, "%s %s -> %s: gave up after %d attempts (%" PRIu64 " ms), last: %s",
                action_name(j->action), pr->skey, esc_url(j, ub, sizeof(ub)), j->attempts, took, j->why);
        job_finish(j);
    }
    kick_sched();
}

static void job_ev_cb(evutil_socket_t fd, short what, void *arg)
{
    job *j = arg;
    if (j->state == J_INFLIGHT)
        attempt_done(j);
    else if (j->state == J_BACKOFF)
        job_ready(j);
}

/* Starts what the connection limits allow, one job per target per round so
 * that a busy target does not take every global slot. */
static void sched_cb(evutil_socket_t fd, short what, void *arg)
{
    int progress = 1;
    while (progress && N.inflight < LE_NOTIFY_MAX_INFLIGHT) {
        progress = 0;
        for (target *t = N.targets; t && N.inflight < LE_NOTIFY_MAX_INFLIGHT; t = t->next) {
            job *j = t->rq_head;
            if (!j || t->inflight >= LE_NOTIFY_MAX_PER_TARGET)
                continue;
            t->rq_head = j->rnext;
            if (!t->rq_head)
                t->rq_tail = NULL;
            j->rnext = NULL;
            attempt_start(j);
            progress = 1;
        }
    }
}

/* ---- publish lifecycle ---- */

static char *dup0(const char *s) { return le_xstrdup(s ? s : ""); }

void le_notify_publish_started(le_stream *st, const le_pub_info *info)
{
    if (!N.base)
        return;
    const le_conf_domain *cf = le_node_domain(le_stream_domain(st));
    if (!cf || !cf->notify_enable || !cf->notify_url || !*cf->notify_url)
        return;
    job_admit();
    pubrec *pr = le_xcalloc(1, sizeof(*pr));
    pr->st = st;
    pr->skey = le_xstrdup(le_stream_key(st));
    pr->domain = le_xstrdup(le_stream_domain(st));
    pr->app = dup0(info->push_domain && *info->push_domain ? info->push_domain : le_stream_domain(st));
    pr->appname = dup0(le_stream_app(st));
    pr->id = dup0(le_stream_name(st));
    pr->ip = dup0(info->client_ip);
    pr->usrargs = dup0(info->usrargs);
    pr->url = le_xstrdup(cf->notify_url);
    pr->authkey = cf->notify_auth_key && *cf->notify_auth_key ? le_xstrdup(cf->notify_auth_key) : NULL;
    pr->start_mono = le_mono_ms();
    pr->start_s = le_wall_ms() / 1000;
    job *j = job_new(pr, A_PUBLISH, pr->url, pr->authkey);
    if (!j) {
        pubrec_free(pr);
        return;
    }
    pr->pub = j;
    j->state = J_HELD;
    /* The previous publish of this stream, if its callbacks are still
     * outstanding, goes first (takeover: old publish_done, new publish). */
    pubrec *old = table_get(pr->skey);
    if (old && !old->ended) {
        /* Cannot happen (publish.h: ended precedes the next start); if it
         * did, the old record is closed without a publish_done. */
        le_warn(MOD, "%s: new publish before the previous one ended", pr->skey);
        if (old->pub && old->pub->state == J_HELD)
            release_publish(old);
        old->ended = 1;
        old->st = NULL;
    }
    table_put(pr);
    if (old && (old->pub || old->done)) {
        pr->pred = old;
        old->succ = pr;
    } else if (old) {
        pubrec_maybe_free(old);
    }
    held_add(pr);
}

void le_notify_publish_ended(le_stream *st, const char *reason)
{
    if (!N.base)
        return;
    pubrec *pr = table_get(le_stream_key(st));
    if (!pr || pr->ended || pr->st != st)
        return;
    job_admit();
    if (pr->pub && pr->pub->state == J_HELD)
        release_publish(pr);
    pr->ended = 1;
    pr->st = NULL;
    if (pr->pub_dropped) {
        N.stats.dropped++;
        le_warn(MOD, "publish_done %s: dropped, its publish callback was dropped", pr->skey);
        pubrec_maybe_free(pr);
        return;
    }
    /* The URL now in force, or if callbacks were switched off meanwhile
     * the one the publish went to: every publish sent gets its done. */
    const le_conf_domain *cf = le_node_domain(pr->domain);
    const char *url = pr->url, *key = pr->authkey;
    if (cf && cf->notify_enable && cf->notify_url && *cf->notify_url) {
        url = cf->notify_url;
        key = cf->notify_auth_key;
    }
    job *j = job_new(pr, A_DONE, url, key);
    if (!j) {
        pubrec_maybe_free(pr);
        return;
    }
    pr->done = j;
    j->reason = le_xstrdup(reason ? reason : "");
    le_notify_params p;
    params_of(pr, &p, "publish_done", le_wall_ms() / 1000);
    job_release(j, &p);
}

void le_notify_stop(void)
{
    N.stopping = 1;
    for (job *j = N.head; j; j = j->next)
        unblock(j);
}

/* ---- metrics ---- */

/* /metrics: the callback counters (livedge.8). */
static void metrics(le_buf *out)
{
    const le_notify_stats *s = &N.stats;
    le_buf_printf(out,
                  "# HELP livedge_callbacks_sent_total Publish callbacks whose first HTTP attempt went out.\n"
                  "# TYPE livedge_callbacks_sent_total counter\n"
                  "livedge_callbacks_sent_total %llu\n"
                  "# HELP livedge_callbacks_succeeded_total Publish callbacks answered with HTTP 200.\n"
                  "# TYPE livedge_callbacks_succeeded_total counter\n"
                  "livedge_callbacks_succeeded_total %llu\n"
                  "# HELP livedge_callbacks_failed_total Publish callbacks given up after every attempt failed.\n"
                  "# TYPE livedge_callbacks_failed_total counter\n"
                  "livedge_callbacks_failed_total %llu\n"
                  "# HELP livedge_callbacks_retried_total Callback attempts after the first.\n"
                  "# TYPE livedge_callbacks_retried_total counter\n"
                  "livedge_callbacks_retried_total %llu\n"
                  "# HELP livedge_callbacks_dropped_total Callbacks dropped unsent by the queue bound.\n"
                  "# TYPE livedge_callbacks_dropped_total counter\n"
                  "livedge_callbacks_dropped_total %llu\n"
                  "# HELP livedge_callbacks_requests_total HTTP requests made for callbacks.\n"
                  "# TYPE livedge_callbacks_requests_total counter\n"
                  "livedge_callbacks_requests_total %llu\n"
                  "# HELP livedge_callbacks_pending Callbacks not finished (queued, in flight or between retries).\n"
                  "# TYPE livedge_callbacks_pending gauge\n"
                  "livedge_callbacks_pending %zu\n",
                  (unsigned long long)s->sent, (unsigned long long)s->succeeded, (unsigned long long)s->failed,
                  (unsigned long long)s->retried, (unsigned long long)s->dropped,
                  (unsigned long long)s->attempts, le_notify_pending());
}

/* ---- init / free ---- */

void le_notify_init(void)
{
    N.base = le_node_base();
    N.dns = evdns_base_new(N.base, EVDNS_BASE_INITIALIZE_NAMESERVERS | EVDNS_BASE_DISABLE_WHEN_INACTIVE);
    if (!N.dns) {
        /* No usable resolv.conf: IP literals still work. */
        le_warn(MOD, "no DNS configuration (resolv.conf); notify URLs need an IP address");
        N.dns = evdns_base_new(N.base, EVDNS_BASE_DISABLE_WHEN_INACTIVE);
    }
    N.ssl = SSL_CTX_new(TLS_client_method());
    if (N.ssl) {
        SSL_CTX_set_min_proto_version(N.ssl, TLS1_2_VERSION);
        SSL_CTX_set_verify(N.ssl, SSL_VERIFY_PEER, NULL);
        if (SSL_CTX_set_default_verify_paths(N.ssl) != 1)
            le_warn(MOD, "no CA certificates: https:// notify URLs will fail verification");
    } else {
        le_warn(MOD, "cannot create a TLS context: https:// notify URLs will fail");
        ERR_clear_error();
    }
    struct timeval t5 = { LE_NOTIFY_TIMEOUT_MS / 1000, 0 }, t1 = { LE_NOTIFY_RETRY_GAP_MS / 1000, 0 };
    N.tv_timeout = event_base_init_common_timeout(N.base, &t5);
    N.tv_gap = event_base_init_common_timeout(N.base, &t1);
    N.hold_ev = event_new(N.base, -1, 0, hold_cb, NULL);
    N.sched_ev = event_new(N.base, -1, 0, sched_cb, NULL);
    le_metrics_add(metrics);
}

void le_notify_free(void)
{
    if (!N.base)
        return;
    if (N.njobs)
        le_warn(MOD, "%zu callback%s still outstanding at exit: abandoned", N.njobs, N.njobs > 1 ? "s" : "");
    while (N.head) {
        job *j = N.head;
        char ub[300];
        N.stats.abandoned++;
        le_warn(MOD, "%s %s -> %s: abandoned at shutdown after %d attempt%s%s%s", action_name(j->action),
                j->pr->skey, esc_url(j, ub, sizeof(ub)), j->attempts, j->attempts == 1 ? "" : "s",
                j->why[0] ? ", last: " : "", j->why);
        /* The done job of this publish must not become READY: it is on the
         * list too and goes next. */
        if (j->action == A_PUBLISH && j->pr->done && j->pr->done->state == J_BLOCKED)
            j->pr->done->state = J_GONE;
        j->pr->ended = 1;
        job_finish(j);
    }
    /* Live publishes without outstanding callbacks. */
    for (le_keytab_ent *e; (e = le_keytab_first(&N.table));) {
        pubrec *pr = LE_KEYTAB_OBJ(e, pubrec, ke);
        table_del(pr);
        if (pr->succ)
            pr->succ->pred = NULL;
        if (pr->pred)
            pr->pred->succ = NULL;
        pubrec_free(pr);
    }
    le_keytab_free(&N.table);
    N.held = NULL;
    if (N.hold_ev)
        event_free(N.hold_ev);
    if (N.sched_ev)
        event_free(N.sched_ev);
    if (N.dns)
        evdns_base_free(N.dns, 0);
    if (N.ssl)
        SSL_CTX_free(N.ssl);
    memset(&N, 0, sizeof(N));
}
