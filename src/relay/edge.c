/* Origin/edge: on-demand relays from the ingesting node (relay/edge.h). */
#include "relay/edge.h"
#include "auth/access.h"
#include "auth/aliauth.h"
#include "control/blocklist.h"
#include "control/cluster.h"
#include "control/domains.h"
#include "control/publish.h"
#include "core/err.h"
#include "core/keytab.h"
#include "core/log.h"
#include "core/util.h"
#include "media/stream.h"
#include "relay/ingest.h"
#include "store/store.h"

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MOD "edge"
#define TICK_MS 250
#define LOOKUP_RETRY_MS 500
#define SCAN_COUNT "1000"
#define SCAN_MAX_ROUNDS 1000     /* HSCAN replies read per lookup at most */

/* ---- lazy-pull records: {prefix}lazypull, hash "domain|app" -> JSON ---- */

typedef struct lazy {
    char *domain, *app, *json;
    struct lazy *next;
} lazy;

static lazy *lazies;
static char lazy_key[256];

static void lazy_free_all(void)
{
    while (lazies) {
        lazy *l = lazies;
        lazies = l->next;
        free(l->domain);
        free(l->app);
        free(l->json);
        free(l);
    }
}

static lazy *lazy_find(const char *domain, const char *app)
{
    for (lazy *l = lazies; l; l = l->next)
        if (strcasecmp(l->domain, domain) == 0 && strcmp(l->app, app) == 0)
            return l;
    return NULL;
}

static void lazy_put(const char *domain, const char *app, const char *json)
{
    lazy *l = lazy_find(domain, app);
    if (!l) {
        l = le_xcalloc(1, sizeof(*l));
        l->domain = le_xstrdup(domain);
        l->app = le_xstrdup(app);
        l->next = lazies;
        lazies = l;
    }
    free(l->json);
    l->json = le_xstrdup(json);
}

static int lazy_del(const char *domain, const char *app)
{
    int n = 0;
    for (lazy **pp = &lazies; *pp;) {
        lazy *l = *pp;
        if (strcasecmp(l->domain, domain) == 0 && (!app || strcmp(l->app, app) == 0)) {
            *pp = l->next;
            free(l->domain);
            free(l->app);
            free(l->json);
            free(l);
            n++;
        } else {
            pp = &l->next;
        }
    }
    return n;
}

/* The record that applies to domain/app: its own, else ali_all_app's. */
static const lazy *lazy_for(const char *domain, const char *app)
{
    const lazy *l = lazy_find(domain, app);
    return l ? l : lazy_find(domain, LE_EDGE_ALL_APPS);
}

static void lazy_load_cb(redisReply *r, void *arg)
{
    (void)arg;
    if (!r || r->type != REDIS_REPLY_ARRAY)
        return;
    lazy_free_all();
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        redisReply *f = r->element[i], *v = r->element[i + 1];
        if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            continue;
        char *bar = strchr(f->str, '|');
        if (!bar || bar == f->str || !bar[1])
            continue;
        *bar = '\0';
        lazy_put(f->str, bar + 1, v->str);
        *bar = '|';
    }
}

static void lazy_load(void)
{
    if (le_store_connected())
        le_store_cmd(lazy_load_cb, NULL, "HGETALL %s", lazy_key);
}

void le_edge_lazy_set(const char *domain, const char *app, le_jv *rec)
{
    le_buf b = { 0 };
    le_jv_to_json(rec, &b);
    le_jv_free(rec);
    le_buf_u8(&b, 0);
    char field[600];
    snprintf(field, sizeof(field), "%s|%s", domain, app);
    lazy_put(domain, app, (const char *)b.p);
    le_store_write("HSET %s %s %s", lazy_key, field, (const char *)b.p);
    le_control_publish_event("lazypull %s", domain);
    le_buf_free(&b);
    le_info(MOD, "lazy pull set for %s/%s", domain, app);
}

int le_edge_lazy_delete(const char *domain, const char *app)
{
    const char *only = strcmp(app, LE_EDGE_ALL_APPS) == 0 ? NULL : app;
    for (lazy *l = lazies; l; l = l->next)
        if (strcasecmp(l->domain, domain) == 0 && (!only || strcmp(l->app, only) == 0)) {
            char field[600];
            snprintf(field, sizeof(field), "%s|%s", l->domain, l->app);
            le_store_write("HDEL %s %s", lazy_key, field);
        }
    int n = lazy_del(domain, only);
    le_control_publish_event("lazypull %s", domain);
    return n;
}

le_jv *le_edge_lazy_list(const char *domain, const char *app)
{
    le_jv *arr = le_jv_arr();
    for (lazy *l = lazies; l; l = l->next) {
        if (strcasecmp(l->domain, domain) != 0 || (app && strcmp(l->app, app) != 0))
            continue;
        le_jv *o = le_jv_parse(l->json, strlen(l->json), 4, NULL, 0);
        if (o)
            le_jv_push(arr, o);
    }
    return arr;
}

static void ev_lazypull(const char *kind, const char *arg)
{
    (void)kind;
    (void)arg;
    lazy_load();
}

int le_edge_mode(const le_conf_domain *dom, const char *app)
{
    return dom && (dom->edge || lazy_for(dom->name, app) != NULL);
}

int64_t le_edge_wait_ms(const le_conf_domain *dom)
{
    return dom && dom->edge_wait_ms > 0 ? dom->edge_wait_ms : 5000;
}

static int64_t idle_ms(const char *domain)
{
    le_domain *d = le_domain_get(domain);
    return d && d->cf && d->cf->edge_idle_ms > 0 ? d->cf->edge_idle_ms : 30000;
}

/* ---- edge copies ---- */

typedef struct edge {
    le_keytab_ent ke;
    char key[800];              /* "domain/app/name" */
    char domain[256], app[256], name[256];
    le_ingest *in;
    uint64_t wait_until;        /* mono: players are held until then */
    uint64_t last_active;       /* mono: a viewer, or a play call */
    uint64_t next_lookup;       /* mono */
    uint64_t gen;
    int lookup_busy;
    int reported;               /* has a field in edgeusers */
    char origin_node[256];
    char origin_addr[300];
} edge;

static le_keytab edges;
#define EDGE(e) LE_KEYTAB_OBJ(e, edge, ke)
static struct event *tick_ev;
static uint64_t gen_seq, last_report;

static edge *edge_find(const char *key)
{
    le_keytab_ent *e = le_keytab_find(&edges, key);
    return e ? EDGE(e) : NULL;
}

static void users_field(const edge *e, char *out, size_t n)
{
    snprintf(out, n, "%s|%s/%s", le_cluster_node(), e->app, e->name);
}

static void users_key(const edge *e, char *out, size_t n)
{
    le_store_key(out, n, "edgeusers:%s", e->domain);
}

/* Frees e (stopping its pull): players still waiting end. */
static void edge_free(edge *e, const char *reason)
{
    if (e->in) {
        le_info(MOD, "%s: pull from %s stops: %s", e->key, e->origin_node[0] ? e->origin_node : "?", reason);
        le_ingest_stop(e->in, reason);
        e->in = NULL;
    }
    le_stream_end_wait(le_stream_find(e->domain, e->app, e->name, 0));
    if (e->reported) {
        char k[512], f[900];
        users_key(e, k, sizeof(k));
        users_field(e, f, sizeof(f));
        le_store_write("HDEL %s %s", k, f);
    }
    le_keytab_remove(&edges, &e->ke);
    free(e);
}

/* The query signing a pull of /app/name with the domain's URL
 * signature, as a player of it would; "" when none. */
static int sign_pull(const le_conf_domain *dom, const char *app, const char *name, char *query, size_t qn)
{
    char uri[600];
    snprintf(uri, sizeof(uri), "/%s/%s", app, name);
    return le_access_sign_play(dom, uri, name, query, qn);
}

static void ing_kicked(void *ctx, const char *reason);
static void ing_failed(void *ctx, int err, const char *why, unsigned n);
static void ing_published(void *ctx, int ok, const char *why);
static const le_ingest_ops ingest_ops = { ing_kicked, ing_failed, ing_published };

/* The app the origin publishes under (PullAppName, else the play's). */
static const char *origin_app(const edge *e)
{
    const lazy *l = lazy_for(e->domain, e->app);
    static char buf[256];
    if (!l)
        return e->app;
    le_jv *o = le_jv_parse(l->json, strlen(l->json), 4, NULL, 0);
    const char *pa = o ? le_jv_get_str(o, "PullAppName") : NULL;
    snprintf(buf, sizeof(buf), "%s", pa && *pa ? pa : e->app);
    le_jv_free(o);
    return buf;
}

/* The pull URL: rtmp://{domain}/{app}/{name}, signed, PullArgs after. */
static void pull_url(const edge *e, const le_conf_domain *dom, char *out, size_t n)
{
    char app[256], q[600] = "", args[600] = "";
    snprintf(app, sizeof(app), "%s", origin_app(e));
    if (sign_pull(dom, app, e->name, q, sizeof(q)) != LE_OK)
        le_warn(MOD, "%s: cannot sign the pull (the origin may refuse it)", e->key);
    const lazy *l = lazy_for(e->domain, e->app);
    if (l) {
        le_jv *o = le_jv_parse(l->json, strlen(l->json), 4, NULL, 0);
        const char *pa = o ? le_jv_get_str(o, "PullArgs") : NULL;
        if (pa)
            snprintf(args, sizeof(args), "%s", pa[0] == '?' ? pa + 1 : pa);
        le_jv_free(o);
    }
    snprintf(out, n, "rtmp://%s/%s/%s%s%s%s%s", e->domain, app, e->name, q[0] || args[0] ? "?" : "", q,
             q[0] && args[0] ? "&" : "", args);
}

static void start_pull(edge *e)
{
    le_domain *d = le_domain_get(e->domain);
    if (!d || !d->cf)
        return;
    char url[1200];
    pull_url(e, d->cf, url, sizeof(url));
    const char *urls[1] = { url };
    if (e->in) {
        le_ingest_set_urls(e->in, urls, 1, e->origin_addr);
        return;
    }
    char host[300];
    snprintf(host, sizeof(host), "%s", e->origin_addr);
    char *colon = strrchr(host, ':');
    if (colon)
        *colon = '\0';
    le_ingest_opts o = {
        .domain = e->domain, .app = e->app, .name = e->name, .urls = urls, .nurls = 1,
        .connect_to = e->origin_addr, .relay_kind = LE_RELAY_EDGE,
        .info = { .kind = LE_PUB_EDGE, .client_ip = host, .no_access_check = 1, .no_blocklist = 1,
                  .no_online_entry = 1, .no_callbacks = 1 },
    };
    e->in = le_ingest_start(&o, &ingest_ops, e);
    if (e->in)
        le_info(MOD, "%s: pulling from node %s at %s", e->key, e->origin_node, e->origin_addr);
}

/* ---- finding the origin ---- */

typedef struct lookup {
    char key[800];
    uint64_t gen;
    int rounds;
    char pattern[1700];
    char node[256];
} lookup;

static void lookup_done(lookup *lk, int found, const char *addr)
{
    edge *e = edge_find(lk->key);
    uint64_t gen = lk->gen;
    free(lk);
    if (!e || e->gen != gen)
        return;
    e->lookup_busy = 0;
    uint64_t now = le_mono_ms();
    e->next_lookup = now + LOOKUP_RETRY_MS;
    le_stream *st = le_stream_find(e->domain, e->app, e->name, 0);
    int kind = le_publish_kind(st);
    if (kind >= 0 && kind != LE_PUB_EDGE) {   /* a publisher of our own came */
        edge_free(e, "published on this node");
        return;
    }
    if (found && addr && *addr) {
        if (!e->in || strcmp(addr, e->origin_addr) != 0) {
            snprintf(e->origin_addr, sizeof(e->origin_addr), "%s", addr);
            start_pull(e);
        }
        return;
    }
    if (e->in && !le_ingest_stream(e->in)) {
        /* The source failed and the stream is live nowhere now. */
        edge_free(e, "the stream is live nowhere in the cluster");
    }
}

static void addr_cb(redisReply *r, void *arg)
{
    lookup *lk = arg;
    if (!r || r->type != REDIS_REPLY_STRING || r->len == 0 || r->len >= 300) {
        le_warn(MOD, "%s: node %s advertises no RTMP address", lk->key, lk->node);
        lookup_done(lk, 0, NULL);
        return;
    }
    char addr[300];
    memcpy(addr, r->str, r->len);
    addr[r->len] = '\0';
    edge *e = edge_find(lk->key);
    if (e)
        snprintf(e->origin_node, sizeof(e->origin_node), "%s", lk->node);
    lookup_done(lk, 1, addr);
}

static int scan_next(lookup *lk, const char *cursor);

static void scan_cb(redisReply *r, void *arg)
{
    lookup *lk = arg;
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 || r->element[0]->type != REDIS_REPLY_STRING ||
        r->element[1]->type != REDIS_REPLY_ARRAY) {
        lookup_done(lk, 0, NULL);
        return;
    }
    redisReply *kv = r->element[1];
    int64_t now = le_wall_ms();
    for (size_t i = 0; i + 1 < kv->elements; i += 2) {
        redisReply *f = kv->element[i], *v = kv->element[i + 1];
        if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            continue;
        le_jv *rec = le_jv_parse(v->str, v->len, 8, NULL, 0);
        if (!rec)
            continue;
        int64_t hb = 0;
        le_jv_get_int(rec, "Heartbeat", &hb);
        const char *node = le_jv_get_str(rec, "Node");
        int ok = node && *node && strlen(node) < sizeof(lk->node) && now - hb <= LE_CLUSTER_STALE_MS &&
                 strcmp(node, le_cluster_node()) != 0;
        if (ok)
            snprintf(lk->node, sizeof(lk->node), "%s", node);
        le_jv_free(rec);
        if (ok) {
            char key[300];
            le_store_key(key, sizeof(key), "nodeaddr:%s", lk->node);
            if (le_store_cmd(addr_cb, lk, "GET %s", key) != 0)
                lookup_done(lk, 0, NULL);
            return;
        }
    }
    if (strcmp(r->element[0]->str, "0") != 0 && ++lk->rounds < SCAN_MAX_ROUNDS &&
        scan_next(lk, r->element[0]->str) == LE_OK)
        return;
    lookup_done(lk, 0, NULL);
}

static int scan_next(lookup *lk, const char *cursor)
{
    char key[256];
    le_store_key(key, sizeof(key), "online");
    return le_store_cmd(scan_cb, lk, "HSCAN %s %s MATCH %s COUNT %s", key, cursor, lk->pattern, SCAN_COUNT) == 0
               ? LE_OK : LE_EIO;
}

/* Appends s to out with the glob characters of MATCH escaped. */
static void glob_escape(char *out, size_t n, const char *s)
{
    size_t k = strlen(out);
    for (; *s && k + 2 < n; s++) {
        if (strchr("*?[]\\", *s))
            out[k++] = '\\';
        out[k++] = *s;
    }
    out[k] = '\0';
}

static void lookup_start(edge *e)
{
    if (e->lookup_busy || !le_store_connected())
        return;
    lookup *lk = le_xcalloc(1, sizeof(*lk));
    snprintf(lk->key, sizeof(lk->key), "%s", e->key);
    lk->gen = e->gen;
    char stream[800];
    snprintf(stream, sizeof(stream), "%s/%s/%s", e->domain, origin_app(e), e->name);
    snprintf(lk->pattern, sizeof(lk->pattern), "*|");
    glob_escape(lk->pattern, sizeof(lk->pattern), stream);
    e->lookup_busy = 1;
    if (scan_next(lk, "0") != LE_OK) {
        e->lookup_busy = 0;
        free(lk);
    }
}

/* ---- the pull's callbacks ---- */

static void ing_kicked(void *ctx, const char *reason)
{
    edge *e = ctx;
    le_info(MOD, "%s: edge copy kicked (%s)", e->key, reason);
    edge_free(e, reason);
}

static void ing_failed(void *ctx, int err, const char *why, unsigned n)
{
    edge *e = ctx;
    (void)err;
    (void)why;
    (void)n;
    if (le_blocklist_blocked(e->domain, e->app, e->name)) {
        edge_free(e, "stream forbidden");
        return;
    }
    /* The origin may have stopped or moved: look again now. */
    e->next_lookup = 0;
    lookup_start(e);
}

static void ing_published(void *ctx, int ok, const char *why)
{
    edge *e = ctx;
    if (!ok)
        le_info(MOD, "%s: edge copy refused here: %s", e->key, why);
}

/* ---- plays ---- */

int le_edge_want(const le_conf_domain *dom, const char *app, const char *name)
{
    if (!le_edge_mode(dom, app))
        return 0;
    le_stream *st = le_stream_find(dom->name, app, name, 0);
    int kind = le_publish_kind(st);
    if (kind >= 0 && kind != LE_PUB_EDGE)
        return 0;
    if (le_blocklist_blocked(dom->name, app, name))
        return 0;
    char key[800];
    snprintf(key, sizeof(key), "%s/%s/%s", dom->name, app, name);
    edge *e = edge_find(key);
    uint64_t now = le_mono_ms();
    if (!e) {
        if (strlen(app) >= sizeof(e->app) || strlen(name) >= sizeof(e->name) ||
            strlen(dom->name) >= sizeof(e->domain))
            return 0;
        e = le_xcalloc(1, sizeof(*e));
        snprintf(e->key, sizeof(e->key), "%s", key);
        snprintf(e->domain, sizeof(e->domain), "%s", dom->name);
        snprintf(e->app, sizeof(e->app), "%s", app);
        snprintf(e->name, sizeof(e->name), "%s", name);
        e->gen = ++gen_seq;
        le_keytab_insert(&edges, &e->ke, e->key);
    }
    e->last_active = now;
    if (kind == LE_PUB_EDGE)
        return 1;
    int64_t w = le_edge_wait_ms(dom);
    le_stream_hold(le_stream_find(dom->name, app, name, 1), w);
    if (e->wait_until < now + (uint64_t)w)
        e->wait_until = now + (uint64_t)w;
    if (!e->in)
        lookup_start(e);
    return 1;
}

/* ---- the tick: idle pulls, lookups while players wait, viewer reports ---- */

static void report(edge *e, le_stream *st, int64_t wall)
{
    char k[512], f[900], v[128];
    users_key(e, k, sizeof(k));
    users_field(e, f, sizeof(f));
    snprintf(v, sizeof(v), "{\"UserNum\":%d,\"Heartbeat\":%" PRId64 ",\"Pulls\":1}", le_stream_viewers(st), wall);
    le_store_write("HSET %s %s %s", k, f, v);
    e->reported = 1;
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    uint64_t now = le_mono_ms();
    int64_t wall = le_wall_ms();
    int rep = now - last_report >= LE_CLUSTER_HEARTBEAT_MS;
    if (rep)
        last_report = now;
    LE_KEYTAB_FOREACH(&edges, ke, nx) {
        edge *e = EDGE(ke);
        le_stream *st = le_stream_find(e->domain, e->app, e->name, 0);
        int kind = le_publish_kind(st);
        if (kind >= 0 && kind != LE_PUB_EDGE) {
            edge_free(e, "published on this node");
            continue;
        }
        if (st && le_stream_viewers(st) > 0)
            e->last_active = now;
        if (e->in) {
            if (now - e->last_active >= (uint64_t)idle_ms(e->domain)) {
                edge_free(e, "no viewer");
                continue;
            }
            if (rep && kind == LE_PUB_EDGE)
                report(e, st, wall);
            continue;
        }
        if (now >= e->wait_until && !le_stream_in_grace(st)) {
            edge_free(e, "not found in the cluster");
            continue;
        }
        if (now >= e->next_lookup)
            lookup_start(e);
    }
}

/* ---- forbids: the copy ends even when it is not live at that moment ---- */

static void ev_forbid(const char *kind, const char *arg)
{
    char key[800];
    size_t n = strcspn(arg, " ");
    if (n >= sizeof(key))
        return;
    memcpy(key, arg, n);
    key[n] = '\0';
    edge *e = edge_find(key);
    if (e)
        edge_free(e, strcmp(kind, "cut") == 0 ? "stream forbidden (oneshot)" : "stream forbidden");
}

static void store_event(int connected, void *arg)
{
    (void)arg;
    if (connected)
        lazy_load();
}

void le_edge_init(struct event_base *base)
{
    le_store_key(lazy_key, sizeof(lazy_key), "lazypull");
    le_control_on_event("lazypull", ev_lazypull);
    le_control_on_event("block", ev_forbid);
    le_control_on_event("cut", ev_forbid);
    le_store_on_event(store_event, NULL);
    tick_ev = event_new(base, -1, EV_PERSIST, tick_cb, NULL);
    struct timeval tv = { 0, TICK_MS * 1000 };
    event_add(tick_ev, &tv);
}

void le_edge_free(void)
{
    for (le_keytab_ent *e; (e = le_keytab_first(&edges));)
        edge_free(EDGE(e), "node stops");
    le_keytab_free(&edges);
    if (tick_ev)
        event_free(tick_ev);
    tick_ev = NULL;
    lazy_free_all();
}
