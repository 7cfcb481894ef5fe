/* Record callbacks, see notify.h. Objects:
 *  - job: one callback (URL, body, signing key). Every unfinished job is on
 *    one list, oldest first, which the queue bound walks.
 *  - chain: the unfinished jobs of one stream ("domain/app/stream"), in the
 *    order they were queued; only its first job is handed to the HTTP
 *    client (net/httpc.h), the others wait for it to succeed or be given
 *    up, so one stream's events reach the server in order.
 * Delivery follows the publish callbacks (control/notify.c): a POST, 5 s per
 * attempt, retried LE_NOTIFY_RETRIES times LE_NOTIFY_RETRY_GAP_MS apart,
 * only a 200 ends it; ALI-LIVE-TIMESTAMP / ALI-LIVE-SIGNATURE computed per
 * attempt with le_notify_sign. */
#include "record/notify.h"
#include "control/notify.h"
#include "core/err.h"
#include "core/json.h"
#include "core/keytab.h"
#include "core/log.h"
#include "core/util.h"
#include "net/httpc.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MOD "recnotify"
#define MAX_REPLY (64 * 1024)

/* ---- pure part ---- */

/* A JSON string literal of s (escaped, invalid UTF-8 replaced). */
static void jstr(le_buf *out, const char *s)
{
    le_jv *a = le_jv_arr();
    le_jv *m = le_jv_push_str(a, s ? s : "");
    le_jv_to_json(m, out);
    le_jv_free(a);
}

static void head(le_buf *out, const char *domain, const char *app, const char *stream)
{
    le_buf_append(out, "{\"domain\":", 10);
    jstr(out, domain);
    le_buf_append(out, ",\"app\":", 7);
    jstr(out, app);
    le_buf_append(out, ",\"stream\":", 10);
    jstr(out, stream);
}

void le_recn_file_json(le_buf *out, const char *domain, const char *app, const char *stream, const char *uri,
                       int64_t duration_ms, int64_t start_s, int64_t stop_s)
{
    if (duration_ms < 0)
        duration_ms = 0;
    head(out, domain, app, stream);
    le_buf_append(out, ",\"uri\":", 7);
    jstr(out, uri);
    le_buf_printf(out, ",\"duration\":%" PRId64 ".%03d,\"start_time\":%" PRId64 ",\"stop_time\":%" PRId64 "}",
                  duration_ms / 1000, (int)(duration_ms % 1000), start_s, stop_s);
}

void le_recn_status_json(le_buf *out, const char *domain, const char *app, const char *stream, const char *event)
{
    head(out, domain, app, stream);
    le_buf_append(out, ",\"event\":", 9);
    jstr(out, event);
    le_buf_u8(out, '}');
}

/* ---- state ---- */

typedef struct job job;
typedef struct chain chain;

struct job {
    job *prev, *next;          /* all unfinished jobs, oldest first */
    job *cnext;                /* next job of the same stream */
    chain *ch;
    char *url, *key, *domain;  /* key: notify_auth_key, NULL if none */
    char *what;                /* for the log: "file KEY" or "EVENT" */
    char *body;
    size_t body_len;
    int attempts;
    le_httpc_req *hr;          /* once handed to the client */
};

struct chain {
    le_keytab_ent ke;
    char *skey;                /* "domain/app/stream" */
    job *first, *last;
};

static struct {
    struct event_base *base;
    le_keytab chains;
    job *head, *tail;
    size_t njobs;
    le_recn_stats stats;
    uint64_t attempts, retried;
} N;

size_t le_recn_pending(void) { return N.njobs; }
void le_recn_get_stats(le_recn_stats *out) { *out = N.stats; }

static const char *esc(const char *s, char *buf, size_t n) { return le_log_esc(s, strlen(s), buf, n); }

static void job_on_start(le_httpc_req *rq, int attempt, void *arg);
static void job_done(const le_httpc_resp *r, void *arg);
static void job_finish(job *j);

/* Hands the stream's first job to the HTTP client. */
static void job_send(job *j)
{
    static const char *const hdrs[] = { "Content-Type: application/json", NULL };
    le_httpc_opts o = { 0 };
    o.method = "POST";
    o.url = j->url;
    o.headers = hdrs;
    o.body = j->body;
    o.body_len = j->body_len;
    o.timeout_ms = LE_NOTIFY_TIMEOUT_MS;
    o.retries = LE_NOTIFY_RETRIES;
    o.retry_gap_ms = LE_NOTIFY_RETRY_GAP_MS;
    o.ok_status = 200;
    o.max_body = MAX_REPLY;
    o.on_start = job_on_start;
    if (le_httpc_request(&o, job_done, j, &j->hr) != LE_OK) {
        char ub[300];
        j->hr = NULL;
        N.stats.failed++;
        le_warn(MOD, "%s %s -> %s: cannot make the request, given up", j->ch->skey, j->what,
                esc(j->url, ub, sizeof(ub)));
        job_finish(j);
    }
}

static void job_free(job *j)
{
    if (j->hr)
        le_httpc_cancel(j->hr);
    free(j->url);
    free(j->key);
    free(j->domain);
    free(j->what);
    free(j->body);
    free(j);
}

/* Unlinks a finished or dropped job; the next one of its stream goes. */
static void job_finish(job *j)
{
    chain *ch = j->ch;
    if (j->prev)
        j->prev->next = j->next;
    else
        N.head = j->next;
    if (j->next)
        j->next->prev = j->prev;
    else
        N.tail = j->prev;
    N.njobs--;
    int was_first = ch->first == j;
    if (was_first) {
        ch->first = j->cnext;
    } else {
        job *p = ch->first;
        while (p && p->cnext != j)
            p = p->cnext;
        if (p)
            p->cnext = j->cnext;
    }
    if (ch->last == j) {
        job *p = ch->first;
        while (p && p->cnext)
            p = p->cnext;
        ch->last = p;
    }
    job_free(j);
    if (!ch->first) {
        le_keytab_remove(&N.chains, &ch->ke);
        free(ch->skey);
        free(ch);
    } else if (was_first && !ch->first->hr) {
        job_send(ch->first);
    }
}

/* Makes room for one more: drops the oldest job whose first attempt has
 * not gone out, else the oldest one waiting for a retry. */
static void job_admit(void)
{
    if (N.njobs < LE_RECN_MAX_QUEUED)
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
    if (!victim)
        return;
    char ub[300];
    N.stats.dropped++;
    le_warn(MOD, "%s %s -> %s: dropped (queue full)", victim->ch->skey, victim->what,
            esc(victim->url, ub, sizeof(ub)));
    job_finish(victim);
}

static void job_on_start(le_httpc_req *rq, int attempt, void *arg)
{
    job *j = arg;
    j->attempts = attempt;
    N.attempts++;
    if (attempt > 1)
        N.retried++;
    if (j->key) {
        char ts[24], sig[33];
        int64_t now_s = le_wall_ms() / 1000;
        snprintf(ts, sizeof(ts), "%" PRId64, now_s);
        le_notify_sign(j->domain, now_s, j->key, sig);
        le_httpc_set_header(rq, "ALI-LIVE-TIMESTAMP", ts);
        le_httpc_set_header(rq, "ALI-LIVE-SIGNATURE", sig);
    }
}

static void job_done(const le_httpc_resp *r, void *arg)
{
    job *j = arg;
    char ub[300];
    j->hr = NULL;
    if (r->status == 200) {
        N.stats.sent++;
        le_info(MOD, "%s %s -> %s: 200 after %d attempt%s (%" PRIu64 " ms)", j->ch->skey, j->what,
                esc(j->url, ub, sizeof(ub)), r->attempts, r->attempts > 1 ? "s" : "", r->took_ms);
    } else {
        N.stats.failed++;
        le_warn(MOD, "%s %s -> %s: gave up after %d attempts (%" PRIu64 " ms), last: %s", j->ch->skey, j->what,
                esc(j->url, ub, sizeof(ub)), r->attempts, r->took_ms, r->why);
    }
    job_finish(j);
}

/* Queues body for url, behind the stream's earlier callbacks. */
static int enqueue(const char *url, const char *sign_key, const char *domain, const char *app, const char *stream,
                   char *what, le_buf *body)
{
    char *path = NULL, *query = NULL;
    if (!N.base) {
        le_warn(MOD, "%s/%s/%s %s: callbacks not initialised, not sent", domain, app, stream, what);
        free(what);
        le_buf_free(body);
        return LE_EINVAL;
    }
    if (!url || le_httpc_url_parts(url, &path, &query) != LE_OK) {
        char ub[300];
        le_warn(MOD, "%s/%s/%s %s: NotifyUrl %s is not a usable http(s) URL, callback not sent", domain, app,
                stream, what, esc(url ? url : "", ub, sizeof(ub)));
        free(what);
        le_buf_free(body);
        return LE_EINVAL;
    }
    free(path);
    free(query);
    job_admit();
    le_buf sk = { 0 };
    le_buf_printf(&sk, "%s/%s/%s", domain, app, stream);
    le_buf_u8(&sk, 0);
    job *j = le_xcalloc(1, sizeof(*j));
    j->url = le_xstrdup(url);
    j->key = sign_key && *sign_key ? le_xstrdup(sign_key) : NULL;
    j->domain = le_xstrdup(domain);
    j->what = what;
    j->body_len = body->len;
    j->body = (char *)body->p;   /* adopted */
    j->prev = N.tail;
    if (N.tail)
        N.tail->next = j;
    else
        N.head = j;
    N.tail = j;
    N.njobs++;
    le_keytab_ent *e = le_keytab_find(&N.chains, (const char *)sk.p);
    chain *ch;
    if (e) {
        ch = LE_KEYTAB_OBJ(e, chain, ke);
        le_buf_free(&sk);
        j->ch = ch;
        ch->last->cnext = j;
        ch->last = j;
        return LE_OK;
    }
    ch = le_xcalloc(1, sizeof(*ch));
    ch->skey = (char *)sk.p;
    le_keytab_insert(&N.chains, &ch->ke, ch->skey);
    ch->first = ch->last = j;
    j->ch = ch;
    job_send(j);
    return LE_OK;
}

static const char *nz(const char *s) { return s ? s : ""; }

int le_recn_file(const char *url, const char *sign_key, const char *domain, const char *app, const char *stream,
                 const char *uri, int64_t duration_ms, int64_t start_s, int64_t stop_s)
{
    le_buf b = { 0 }, w = { 0 };
    domain = nz(domain), app = nz(app), stream = nz(stream), uri = nz(uri);
    le_recn_file_json(&b, domain, app, stream, uri, duration_ms, start_s, stop_s);
    le_buf_printf(&w, "file %s", uri);
    le_buf_u8(&w, 0);
    return enqueue(url, sign_key, domain, app, stream, (char *)w.p, &b);
}

int le_recn_status(const char *url, const char *sign_key, const char *domain, const char *app, const char *stream,
                   const char *event)
{
    le_buf b = { 0 };
    domain = nz(domain), app = nz(app), stream = nz(stream), event = nz(event);
    le_recn_status_json(&b, domain, app, stream, event);
    return enqueue(url, sign_key, domain, app, stream, le_xstrdup(event), &b);
}

/* ---- init, free ---- */

void le_recn_init(struct event_base *base)
{
    if (N.base)
        return;
    N.base = base;
    le_httpc_init(base);
}

void le_recn_free(void)
{
    if (!N.base)
        return;
    if (N.njobs)
        le_warn(MOD, "%zu record callback%s still outstanding at exit: abandoned", N.njobs,
                N.njobs > 1 ? "s" : "");
    /* Both lists keep the order of queueing, so the oldest job is the
     * first of its stream: unlinked without letting the next one go. */
    while (N.head) {
        job *j = N.head;
        chain *ch = j->ch;
        N.head = j->next;
        if (N.head)
            N.head->prev = NULL;
        else
            N.tail = NULL;
        N.njobs--;
        ch->first = j->cnext;
        job_free(j);
        if (!ch->first) {
            le_keytab_remove(&N.chains, &ch->ke);
            free(ch->skey);
            free(ch);
        }
    }
    le_keytab_free(&N.chains);
    le_httpc_free();
    memset(&N, 0, sizeof(N));
}
