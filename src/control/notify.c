/* Publish callbacks, see notify.h. Objects:
 *  - pubrec: one per publish that has callbacks (its domain had a notify
 *    URL, enabled, when it started). Kept, by stream key, in a table until
 *    it has ended and both of its callbacks have finished. Successive
 *    publishes of one stream are chained (pred/succ) so that a new
 *    publisher's publish never overtakes the previous one's publish_done
 *    (takeover): a business system sees the stream go live, stop, go live.
 *  - job: one callback. States: HELD (publish waiting for metadata),
 *    BLOCKED (waiting for an earlier callback of the same stream), SENT
 *    (an outbound request, net/httpc.h: queued behind its limits, in
 *    flight, or between retries). Every unfinished job is on one list,
 *    oldest first, which the queue bound walks.
 * The HTTP side (connections, TLS, DNS, timeouts, retries, in-flight
 * limits) is net/httpc.h's; its callback runs from its own event, never
 * inside libevent's request callbacks. */
#include "control/notify.h"
#include "auth/aliauth.h"
#include "core/err.h"
#include "core/keytab.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/util.h"
#include "net/httpc.h"
#include "node.h"

#include <event2/event.h>
#include <event2/http.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MOD "notify"
#define HOLD_POLL_MS 100
#define MAX_BODY (64 * 1024)

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
enum { J_HELD = 0, J_BLOCKED, J_SENT, J_GONE };

typedef struct pubrec pubrec;
typedef struct job job;

struct job {
    job *prev, *next;          /* all unfinished jobs, oldest first */
    pubrec *pr;
    int action, state, attempts;
    int64_t time_s;            /* the event's time */
    char *url;                 /* as configured (logs, the request) */
    char *path, *uquery;       /* of the URL */
    char *key;                 /* notify_auth_key, NULL if none */
    char *uri;                 /* request target, built when released */
    char *reason;              /* publish_done: why the publish ended */
    le_httpc_req *hr;          /* while SENT */
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
    struct event *hold_ev;
    le_keytab table;           /* pubrec by skey */
    pubrec *held;
    job *head, *tail;
    size_t njobs;
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

/* ---- URL ---- */

/* Checks a notify URL and keeps its path and query (the request target is
 * built from them). 0 or LE_EINVAL. */
static int job_set_url(job *j, const char *url)
{
    int rc = le_httpc_url_parts(url, &j->path, &j->uquery);
    if (rc == LE_OK)
        j->url = le_xstrdup(url);
    return rc;
}

/* ---- jobs ---- */

static void job_finish(job *j);
static void job_on_start(le_httpc_req *rq, int attempt, void *arg);
static void job_done(const le_httpc_resp *r, void *arg);

/* Hands the job to the HTTP client: retried LE_NOTIFY_RETRIES times 1 s
 * apart, only a 200 succeeds. */
static void job_ready(job *j)
{
    le_httpc_opts o = { 0 };
    o.url = j->url;
    o.target = j->uri;
    o.timeout_ms = LE_NOTIFY_TIMEOUT_MS;
    o.retries = LE_NOTIFY_RETRIES;
    o.retry_gap_ms = LE_NOTIFY_RETRY_GAP_MS;
    o.ok_status = 200;
    o.max_body = MAX_BODY;
    o.on_start = job_on_start;
    j->state = J_SENT;
    if (le_httpc_request(&o, job_done, j, &j->hr) != 0) {
        char ub[300];
        j->hr = NULL;
        N.stats.failed++;
        le_warn(MOD, "%s %s -> %s: cannot make the request", action_name(j->action), j->pr->skey,
                esc_url(j, ub, sizeof(ub)));
        job_finish(j);
    }
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
        if (j->attempts == 0) {
            victim = j;
            break;
        }
    if (!victim)
        for (job *j = N.head; j; j = j->next)
            if (j->hr && le_httpc_state(j->hr) == LE_HTTPC_BACKOFF) {
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
    j->prev = N.tail;
    if (N.tail)
        N.tail->next = j;
    else
        N.head = j;
    N.tail = j;
    N.njobs++;
    return j;
}

static void job_free(job *j)
{
    if (j->hr)
        le_httpc_cancel(j->hr);
    free(j->url);
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
    if (j->prev)
        j->prev->next = j->next;
    else
        N.head = j->next;
    if (j->next)
        j->next->prev = j->prev;
    else
        N.tail = j->prev;
    N.njobs--;
    if (j->action == A_PUBLISH) {
        pr->pub = NULL;
        if (pr->done && pr->done->state == J_BLOCKED)
            job_ready(pr->done);
    } else {
        pr->done = NULL;
    }
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

/* An attempt goes out: counted, signed with the time it is sent at. */
static void job_on_start(le_httpc_req *rq, int attempt, void *arg)
{
    job *j = arg;
    j->attempts = attempt;
    N.stats.attempts++;
    if (attempt == 1)
        N.stats.sent++;
    else
        N.stats.retried++;
    if (j->key) {
        char ts[24], sig[33];
        int64_t now_s = le_wall_ms() / 1000;
        snprintf(ts, sizeof(ts), "%" PRId64, now_s);
        le_notify_sign(j->pr->domain, now_s, j->key, sig);
        le_httpc_set_header(rq, "ALI-LIVE-TIMESTAMP", ts);
        le_httpc_set_header(rq, "ALI-LIVE-SIGNATURE", sig);
    }
    if (N.stopping) {
        unblock(j->pr->done);
        if (j->pr->succ)
            unblock(j->pr->succ->pub);
    }
}

/* The request's outcome, after its retries. */
static void job_done(const le_httpc_resp *r, void *arg)
{
    job *j = arg;
    char ub[300];
    pubrec *pr = j->pr;
    j->hr = NULL;
    if (r->status == 200) {
        N.stats.succeeded++;
        le_info(MOD, "%s %s -> %s: 200 after %d attempt%s (%" PRIu64 " ms)%s%s", action_name(j->action),
                pr->skey, esc_url(j, ub, sizeof(ub)), r->attempts, r->attempts > 1 ? "s" : "", r->took_ms,
                j->reason ? ", ended: " : "", j->reason ? j->reason : "");
    } else {
        N.stats.failed++;
        le_warn(MOD, "%s %s -> %s: gave up after %d attempts (%" PRIu64 " ms), last: %s",
                action_name(j->action), pr->skey, esc_url(j, ub, sizeof(ub)), r->attempts, r->took_ms, r->why);
    }
    job_finish(j);
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
    le_httpc_init(N.base);
    N.hold_ev = event_new(N.base, -1, 0, hold_cb, NULL);
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
        le_warn(MOD, "%s %s -> %s: abandoned at shutdown after %d attempt%s", action_name(j->action),
                j->pr->skey, esc_url(j, ub, sizeof(ub)), j->attempts, j->attempts == 1 ? "" : "s");
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
    le_httpc_free();
    memset(&N, 0, sizeof(N));
}
