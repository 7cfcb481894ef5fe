/* Scheduled pulls: config checks, the lease and the scheduler
 * (relay/pull.h; the actions are admin/actions_pull.c). */
#include "relay/pull.h"
#include "control/domains.h"
#include "control/lease.h"
#include "control/publish.h"
#include "core/err.h"
#include "core/json.h"
#include "core/log.h"
#include "core/util.h"
#include "node.h"
#include "relay/ingest.h"
#include "relay/relay.h"
#include "relay/url.h"
#include "store/store.h"

#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MOD "pull"
#define TICK_MS 1000   /* le_pull_tick runs every second (node.c) */

/* ---- checks (pure) ---- */

static int set_err(le_pull_err *err, const char *code, const char *message)
{
    if (err) {
        err->code = code;
        err->message = message;
    }
    return LE_EINVAL;
}

static int host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '_';
}

/* host[:port] (host a name, an IPv4 address or a bracketed IPv6 address),
 * exactly n bytes. */
static int hostport_ok(const char *s, size_t n)
{
    size_t i = 0;
    if (n == 0)
        return 0;
    if (s[0] == '[') {
        for (i = 1; i < n && s[i] != ']'; i++)
            if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
                  (s[i] >= 'A' && s[i] <= 'F') || s[i] == ':' || s[i] == '.'))
                return 0;
        if (i >= n || i == 1)
            return 0;
        i++;
    } else {
        while (i < n && host_char(s[i]))
            i++;
        if (i == 0)
            return 0;
    }
    if (i == n)
        return 1;
    if (s[i] != ':' || i + 1 == n || n - i - 1 > 5)
        return 0;
    long port = 0;
    for (size_t k = i + 1; k < n; k++) {
        if (s[k] < '0' || s[k] > '9')
            return 0;
        port = port * 10 + (s[k] - '0');
    }
    return port >= 1 && port <= 65535;
}

/* Non-empty path segments before the query: at least min of them. */
static int path_ok(const char *p, int min)
{
    int segs = 0;
    size_t len = 0;
    if (*p != '/')
        return 0;
    for (; *p && *p != '?' && *p != '#'; p++) {
        if (*p == '/') {
            segs += len > 0;
            len = 0;
        } else {
            len++;
        }
    }
    segs += len > 0;
    return segs >= min;
}

/* And as the clients will read it (relay/url.h). */
static int client_ok(const char *url, le_pull_err *err)
{
    le_relay_url u;
    if (le_relay_url_parse(url, &u) != LE_OK)
        return set_err(err, "InvalidSourceUrl.Malformed", "Specified SourceUrl is malformed.");
    return LE_OK;
}

/* One origin, n bytes at s (trimmed, non-empty), into out. */
static int one_source(const char *s, size_t n, const char *app, const char *name, char *out,
                      le_pull_err *err)
{
    static const char *const malformed = "InvalidSourceUrl.Malformed";
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] == 0x7f)
            return set_err(err, malformed, "Specified SourceUrl is malformed (a blank or control character).");
    if (n >= LE_PULL_URL_MAX)
        return set_err(err, malformed, "Specified SourceUrl is malformed (an origin is too long).");
    const char *sep = NULL;
    for (size_t i = 0; i + 2 < n; i++)
        if (s[i] == ':' && s[i + 1] == '/' && s[i + 2] == '/') {
            sep = s + i;
            break;
        }
    if (!sep) {
        /* A bare host or host:port. */
        if (!hostport_ok(s, n))
            return set_err(err, malformed,
                           "Specified SourceUrl is malformed: use a host, host:port, rtmp(s):// or http(s):// URL.");
        int w = snprintf(out, LE_PULL_URL_MAX, "rtmp://%.*s/%s/%s", (int)n, s, app, name);
        if (w < 0 || w >= LE_PULL_URL_MAX)
            return set_err(err, malformed, "Specified SourceUrl is malformed (an origin is too long).");
        return client_ok(out, err);
    }
    size_t slen = (size_t)(sep - s);
    int rtmp = (slen == 4 && strncasecmp(s, "rtmp", 4) == 0) || (slen == 5 && strncasecmp(s, "rtmps", 5) == 0);
    int http = (slen == 4 && strncasecmp(s, "http", 4) == 0) || (slen == 5 && strncasecmp(s, "https", 5) == 0);
    if (!rtmp && !http)
        return set_err(err, "InvalidSourceUrl.ValueNotSupported",
                       "Specified SourceUrl uses a scheme that is not supported: "
                       "use rtmp://, rtmps://, http:// or https://.");
    const char *auth = sep + 3, *end = s + n, *a_end = auth;
    while (a_end < end && *a_end != '/' && *a_end != '?' && *a_end != '#')
        a_end++;
    const char *host = auth;
    for (const char *p = auth; p < a_end; p++)
        if (*p == '@')
            host = p + 1;
    char tmp[LE_PULL_URL_MAX];
    memcpy(tmp, a_end, (size_t)(end - a_end));
    tmp[end - a_end] = '\0';
    if (!hostport_ok(host, (size_t)(a_end - host)) || !path_ok(tmp, rtmp ? 2 : 1))
        return set_err(err, malformed,
                       rtmp ? "Specified SourceUrl is malformed: an rtmp(s):// origin needs a host, an app and a "
                              "stream."
                            : "Specified SourceUrl is malformed: an http(s):// origin needs a host and a path.");
    memcpy(out, s, n);
    out[n] = '\0';
    return client_ok(out, err);
}

int le_pull_parse_sources(const char *list, const char *app, const char *name, le_pull_sources *out,
                          le_pull_err *err)
{
    static const char *const malformed = "InvalidSourceUrl.Malformed";
    out->n = 0;
    if (!list || strlen(list) > LE_PULL_SOURCE_MAX)
        return set_err(err, malformed, "Specified SourceUrl is malformed (too long).");
    const char *p = list;
    while (*p) {
        const char *e = strchr(p, ';');
        if (!e)
            e = p + strlen(p);
        const char *a = p, *b = e;
        while (a < b && (*a == ' ' || *a == '\t'))
            a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
            b--;
        if (b > a) {
            if (out->n == LE_PULL_MAX_SOURCES)
                return set_err(err, malformed, "Specified SourceUrl is malformed (more than 8 origins).");
            int rc = one_source(a, (size_t)(b - a), app, name, out->url[out->n], err);
            if (rc != LE_OK)
                return rc;
            out->n++;
        }
        p = *e ? e + 1 : e;
    }
    if (out->n == 0)
        return set_err(err, malformed, "Specified SourceUrl is malformed (no origin).");
    return LE_OK;
}

int le_pull_check_window(int64_t start_ms, int64_t end_ms, int64_t now_ms, le_pull_err *err)
{
    if (end_ms <= start_ms)
        return set_err(err, "InvalidEndTime.Mismatch",
                       "Specified end time does not match the specified start time (EndTime is not after StartTime).");
    if (end_ms - start_ms > LE_PULL_MAX_SPAN_MS)
        return set_err(err, "InvalidStartTime.ValueNotSupported",
                       "The time span between StartTime and EndTime exceeds 7 days.");
    if (end_ms <= now_ms)
        return set_err(err, "InvalidEndTime.ValueNotSupported", "Specified end time is not later than the current time.");
    return LE_OK;
}

char *le_pull_key(char *out, size_t n, const char *domain)
{
    return le_store_key(out, n, "pull:%s", domain);
}

char *le_pull_domains_key(char *out, size_t n)
{
    return le_store_key(out, n, "pull:domains");
}

/* ---- the scheduler ---- */

/* One config, known from the last scans. Freed when reaped (or at free)
 * and no Redis reply is outstanding for it. */
typedef struct pull {
    struct pull *next;
    char domain[256], app[256], name[256];
    le_lease lease;           /* pull:lease:{d/a/s} */
    char *json;               /* the config as last read */
    le_pull_sources src;
    int64_t start_ms, end_ms;
    uint64_t gen;             /* the scan that last saw it */
    int valid;                /* the stored config parsed */
    int dead;                 /* unlinked: freed when no lease reply is outstanding */
    uint64_t retry_at;        /* after a kick: mono ms to try again (0: none) */
    le_ingest *in;
} pull;

/* One scan of every config; freed by its last reply. */
typedef struct scan {
    int pending, failed;
    uint64_t gen;
} scan;

static pull *pulls;
static int inited, stopped;
static uint64_t gen_next;
static int scanning, rescan;
static uint64_t last_scan;

/* Frees an unlinked p once no lease reply is outstanding. */
static void reap(pull *p)
{
    if (p->dead && !le_lease_busy(&p->lease)) {
        free(p->json);
        free(p);
    }
}

static void unlink_pull(pull *p)
{
    for (pull **pp = &pulls; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    p->dead = 1;
    p->next = NULL;
    reap(p);
}

static void stop_ingest(pull *p, const char *reason)
{
    if (p->in) {
        le_ingest *in = p->in;
        p->in = NULL;
        le_info(MOD, "%s/%s/%s: pull stops (%s)", p->domain, p->app, p->name, reason);
        le_ingest_stop(in, reason);
    }
    p->retry_at = 0;
}

/* Stops pulling p and gives up its lease. */
static void drop(pull *p, const char *reason)
{
    stop_ingest(p, reason);
    le_lease_release(&p->lease);
}

static void on_kicked(void *ctx, const char *reason)
{
    pull *p = ctx;
    /* A forbid or a takeover: the ingest idles; try again later (a forbid
     * still in force refuses the publish again). */
    le_info(MOD, "%s/%s/%s: the pulled stream was kicked (%s); retry in %d s", p->domain, p->app, p->name,
            reason ? reason : "", LE_RELAY_BACKOFF_MAX_MS / 1000);
    p->retry_at = le_mono_ms() + LE_RELAY_BACKOFF_MAX_MS;
}

static const le_ingest_ops ingest_ops = { .kicked = on_kicked };

static void start_ingest(pull *p)
{
    const char *urls[LE_PULL_MAX_SOURCES];
    for (size_t i = 0; i < p->src.n; i++)
        urls[i] = p->src.url[i];
    le_ingest_opts o = {
        .domain = p->domain,
        .app = p->app,
        .name = p->name,
        .urls = urls,
        .nurls = p->src.n,
        .relay_kind = LE_RELAY_PULL,
        .info = { .kind = LE_PUB_RELAY_PULL, .no_access_check = 1 },
    };
    p->in = le_ingest_start(&o, &ingest_ops, p);
    if (p->in)
        le_info(MOD, "%s/%s/%s: pulling (lease %s, %zu origin%s)", p->domain, p->app, p->name,
                le_lease_token(&p->lease), p->src.n, p->src.n == 1 ? "" : "s");
}

static void lease_lost(pull *p, const char *reason, const char *why)
{
    if (p->in) {
        const le_relay *r = le_ingest_relay(p->in);
        /* The ingest's own entry: the failure is counted where the relay is listed. */
        if (r)
            le_relay_failed((le_relay *)r, reason, why);
    }
    stop_ingest(p, strcmp(reason, "redis") == 0 ? "lease not renewed" : "lease lost");
    le_lease_release(&p->lease);
}

/* The lease's results (control/lease.h). */
static int lease_gone(void *ctx)
{
    pull *p = ctx;
    return p->dead || stopped;
}

static void lease_won(void *ctx)
{
    start_ingest(ctx);
}

static void lease_taken(void *ctx)
{
    lease_lost(ctx, "lease", "the lease is held by another node");
}

static void lease_renewal(void *ctx, int ok)
{
    pull *p = ctx;
    if (ok)
        le_info(MOD, "%s/%s/%s: lease renewed again", p->domain, p->app, p->name);
    else
        le_debug(MOD, "%s/%s/%s: lease renewal failed; pulling on while it cannot have expired", p->domain, p->app,
                 p->name);
}

static void lease_reply(void *ctx)
{
    reap(ctx);
}

static const le_lease_ops lease_ops = {
    .gone = lease_gone, .won = lease_won, .lost = lease_taken, .renewal = lease_renewal, .reply = lease_reply,
};
static const le_lease_opts lease_opts = {
    .lease_ms = LE_PULL_LEASE_MS, .renew_ms = LE_PULL_RENEW_MS, .margin_ms = LE_PULL_LEASE_MARGIN_MS,
    .tick_ms = TICK_MS,
};

/* The domain a config may be pulled on now: a known, started play domain. */
static int domain_usable(const char *name)
{
    le_domain *d = le_domain_get(name);
    return d && !d->edge && d->online && le_node_domain(name) != NULL;
}

static void step(pull *p, uint64_t now, int64_t wall)
{
    le_lease_flush(&p->lease);
    int want = p->valid && wall >= p->start_ms && wall < p->end_ms && domain_usable(p->domain);
    if (!want) {
        if (le_lease_holding(&p->lease) || p->in)
            drop(p, wall >= p->end_ms ? "EndTime reached" : "outside its time window");
        return;
    }
    if (!le_lease_holding(&p->lease)) {
        le_lease_claim(&p->lease, now);
        return;
    }
    /* Holding: could the lease expire in Redis before the next tick? */
    if (!le_lease_held(&p->lease, now)) {
        char why[200];
        snprintf(why, sizeof(why),
                 "lease not renewed for %" PRIu64 " ms (state store unreachable): pull stopped before the lease can expire",
                 now - le_lease_sent(&p->lease));
        lease_lost(p, "redis", why);
        le_lease_defer(&p->lease, now + LE_LEASE_RETRY_MS);
        return;
    }
    le_lease_renew(&p->lease, now);
    if (!p->in && p->retry_at == 0)
        start_ingest(p);
    else if (p->in && p->retry_at && now >= p->retry_at) {
        p->retry_at = 0;
        le_ingest_retry(p->in);
    }
}

/* ---- reading the configs ---- */

static pull *find(const char *domain, const char *app, const char *name)
{
    for (pull *p = pulls; p; p = p->next)
        if (strcasecmp(p->domain, domain) == 0 && strcmp(p->app, app) == 0 && strcmp(p->name, name) == 0)
            return p;
    return NULL;
}

/* A stored config (as written by admin/actions_pull.c). */
static void take_config(const char *domain, const char *field, const char *json, size_t len, uint64_t gen)
{
    char app[256], name[256];
    const char *slash = strchr(field, '/');
    if (!slash || (size_t)(slash - field) >= sizeof(app) || strlen(slash + 1) >= sizeof(name) ||
        strlen(domain) >= sizeof(((pull *)0)->domain))
        return;
    memcpy(app, field, (size_t)(slash - field));
    app[slash - field] = '\0';
    snprintf(name, sizeof(name), "%s", slash + 1);
    if (!le_name_valid(app, strlen(app)) || !le_name_valid(name, strlen(name)))
        return;
    pull *p = find(domain, app, name);
    if (!p) {
        p = le_xcalloc(1, sizeof(*p));
        snprintf(p->domain, sizeof(p->domain), "%s", domain);
        snprintf(p->app, sizeof(p->app), "%s", app);
        snprintf(p->name, sizeof(p->name), "%s", name);
        char key[LE_LEASE_KEY_MAX];
        le_store_key(key, sizeof(key), "pull:lease:%s/%s/%s", domain, app, name);
        le_lease_init(&p->lease, key, &lease_opts, &lease_ops, p);
        p->next = pulls;
        pulls = p;
    }
    p->gen = gen;
    if (p->json && strlen(p->json) == len && memcmp(p->json, json, len) == 0)
        return;
    free(p->json);
    p->json = le_xstrndup(json, len);
    le_pull_sources old = p->src;
    p->valid = 0;
    le_jv *c = le_jv_parse(json, len, 4, NULL, 0);
    const char *su = c ? le_jv_get_str(c, "SourceUrl") : NULL, *st = c ? le_jv_get_str(c, "StartTime") : NULL,
               *et = c ? le_jv_get_str(c, "EndTime") : NULL;
    if (su && st && et && le_parse_utc(st, &p->start_ms) == 0 && le_parse_utc(et, &p->end_ms) == 0 &&
        le_pull_parse_sources(su, app, name, &p->src, NULL) == LE_OK)
        p->valid = 1;
    else
        le_warn(MOD, "%s/%s/%s: the stored config is not valid; ignored", domain, app, name);
    le_jv_free(c);
    if (p->valid && p->in) {
        int same = old.n == p->src.n;
        for (size_t i = 0; same && i < old.n; i++)
            same = strcmp(old.url[i], p->src.url[i]) == 0;
        if (!same) {
            const char *urls[LE_PULL_MAX_SOURCES];
            for (size_t i = 0; i < p->src.n; i++)
                urls[i] = p->src.url[i];
            le_ingest_set_urls(p->in, urls, p->src.n, NULL);
        }
    }
}

static void start_scan(uint64_t now);

static void scan_done(scan *s)
{
    if (--s->pending > 0)
        return;
    if (!s->failed && !stopped && inited) {
        /* Configs no longer stored (deleted) go: their pulls stop. */
        for (pull *p = pulls, *next; p; p = next) {
            next = p->next;
            if (p->gen != s->gen) {
                drop(p, "config deleted");
                unlink_pull(p);
            }
        }
    }
    scanning = 0;
    free(s);
    if (rescan && inited && !stopped && le_store_connected())
        start_scan(le_mono_ms());   /* a change announced meanwhile */
}

typedef struct dscan {
    scan *s;
    char domain[256];
} dscan;

static void hash_cb(redisReply *rep, void *arg)
{
    dscan *d = arg;
    scan *s = d->s;
    if (!rep || rep->type != REDIS_REPLY_ARRAY) {
        s->failed = 1;
    } else if (inited && !stopped) {
        for (size_t i = 0; i + 1 < rep->elements; i += 2) {
            redisReply *f = rep->element[i], *v = rep->element[i + 1];
            if (f->type == REDIS_REPLY_STRING && v->type == REDIS_REPLY_STRING)
                take_config(d->domain, f->str, v->str, v->len, s->gen);
        }
    }
    free(d);
    scan_done(s);
}

static void domains_cb(redisReply *rep, void *arg)
{
    scan *s = arg;
    if (!rep || rep->type != REDIS_REPLY_ARRAY) {
        s->failed = 1;
    } else if (inited && !stopped) {
        for (size_t i = 0; i < rep->elements; i++) {
            redisReply *e = rep->element[i];
            if (e->type != REDIS_REPLY_STRING || e->len == 0 || e->len >= sizeof(((dscan *)0)->domain))
                continue;
            dscan *d = le_xcalloc(1, sizeof(*d));
            d->s = s;
            memcpy(d->domain, e->str, e->len);
            char key[600];
            le_pull_key(key, sizeof(key), d->domain);
            s->pending++;
            if (le_store_cmd(hash_cb, d, "HGETALL %s", key) != 0) {
                s->failed = 1;
                s->pending--;
                free(d);
            }
        }
    }
    scan_done(s);
}

static void start_scan(uint64_t now)
{
    char key[300];
    scan *s = le_xcalloc(1, sizeof(*s));
    s->gen = ++gen_next;
    s->pending = 1;
    last_scan = now;
    rescan = 0;
    le_pull_domains_key(key, sizeof(key));
    if (le_store_cmd(domains_cb, s, "SMEMBERS %s", key) != 0) {
        free(s);
        return;
    }
    scanning = 1;
}

static void ev_pull(const char *kind, const char *arg)
{
    (void)kind;
    le_pull_rescan(arg);
}

/* DeleteLiveDomain (on any node): the domain's configs go with it. Every
 * node runs the same idempotent writes. */
static void ev_dropdomain(const char *kind, const char *arg)
{
    (void)kind;
    char key[600], dkey[300];
    if (!*arg || strlen(arg) >= 256)
        return;
    le_pull_key(key, sizeof(key), arg);
    le_pull_domains_key(dkey, sizeof(dkey));
    le_store_write("DEL %s", key);
    le_store_write("SREM %s %s", dkey, arg);
    le_pull_rescan(arg);
}

void le_pull_rescan(const char *domain)
{
    (void)domain;
    rescan = 1;
    /* At once, so that a delete stops its pull within a Redis round trip. */
    if (!scanning && inited && !stopped && le_store_connected())
        start_scan(le_mono_ms());
}

void le_pull_init(void)
{
    inited = 1;
    stopped = 0;
    rescan = 1;
    le_control_on_event("pull", ev_pull);
    le_control_on_event("dropdomain", ev_dropdomain);
}

void le_pull_tick(void)
{
    if (!inited || stopped)
        return;
    uint64_t now = le_mono_ms();
    int64_t wall = le_wall_ms();
    if (!scanning && le_store_connected() && (rescan || now >= last_scan + LE_PULL_SCAN_MS))
        start_scan(now);
    for (pull *p = pulls, *next; p; p = next) {
        next = p->next;
        step(p, now, wall);
    }
}

size_t le_pull_active(void)
{
    size_t n = 0;
    for (pull *p = pulls; p; p = p->next)
        n += le_lease_holding(&p->lease);
    return n;
}

void le_pull_shutdown(void)
{
    if (!inited || stopped)
        return;
    stopped = 1;
    for (pull *p = pulls; p; p = p->next)
        drop(p, "node stopping");
}

void le_pull_free(void)
{
    if (!inited)
        return;
    le_pull_shutdown();
    while (pulls)
        unlink_pull(pulls);
    inited = 0;
}
