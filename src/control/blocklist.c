#include "control/blocklist.h"
#include "control/cluster.h"
#include "control/domains.h"
#include "media/stream.h"
#include "core/err.h"
#include "core/json.h"
#include "core/keytab.h"
#include "core/log.h"
#include "core/util.h"
#include "store/store.h"

#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MOD "blocklist"

typedef struct node {
    le_block b;
    le_keytab_ent ke;
} node;

static le_keytab tab;       /* node by "domain/app/name" */
#define NODE(e) LE_KEYTAB_OBJ(e, node, ke)
static char hkey[256];

static node *find(const char *key)
{
    le_keytab_ent *e = le_keytab_find(&tab, key);
    return e ? NODE(e) : NULL;
}

static void node_free(node *n)
{
    le_keytab_remove(&tab, &n->ke);
    free(n->b.key);
    free(n);
}

static void put(const char *key, int64_t resume_ms, int64_t since_ms)
{
    node *n = find(key);
    if (!n) {
        n = le_xcalloc(1, sizeof(*n));
        n->b.key = le_xstrdup(key);
        le_keytab_insert(&tab, &n->ke, n->b.key);
    }
    n->b.resume_ms = resume_ms;
    n->b.since_ms = since_ms;
}

static int del(const char *key)
{
    node *n = find(key);
    if (n)
        node_free(n);
    return n != NULL;
}

static void clear(void)
{
    LE_KEYTAB_FOREACH(&tab, e, nx)
        node_free(NODE(e));
    le_keytab_free(&tab);
}

static void mkkey(char *out, size_t outsz, const char *d, const char *a, const char *s)
{
    snprintf(out, outsz, "%s/%s/%s", d, a, s);
}

int le_blocklist_blocked(const char *domain, const char *app, const char *stream)
{
    char key[800];
    mkkey(key, sizeof(key), domain, app, stream);
    node *n = find(key);
    return n && (n->b.resume_ms == 0 || n->b.resume_ms > le_wall_ms());
}

static int domain_of(const char *key, const char *domain)
{
    size_t dl = strlen(domain);
    return strncasecmp(key, domain, dl) == 0 && key[dl] == '/';
}

size_t le_blocklist_count(const char *domain)
{
    size_t c = 0;
    LE_KEYTAB_FOREACH(&tab, e, nx)
        if (domain_of(NODE(e)->b.key, domain))
            c++;
    return c;
}

static int cmp_block(const void *a, const void *b)
{
    return strcmp((*(le_block *const *)a)->key, (*(le_block *const *)b)->key);
}

size_t le_blocklist_list(const char *domain, le_block ***out)
{
    size_t c = 0, cap = 64;
    le_block **v = le_xmalloc(cap * sizeof(*v));
    LE_KEYTAB_FOREACH(&tab, ke, nx)
        if (domain_of(NODE(ke)->b.key, domain)) {
            if (c == cap) {
                cap *= 2;
                v = le_xrealloc(v, cap * sizeof(*v));
            }
            v[c++] = &NODE(ke)->b;
        }
    qsort(v, c, sizeof(*v), cmp_block);
    *out = v;
    return c;
}

void le_blocklist_history(const char *domain, const char *app, const char *stream,
                          const char *action, const char *client_ip)
{
    static uint64_t seq;
    char zkey[512], ts[21], score[32];
    int64_t now = le_wall_ms();
    le_jv *e = le_jv_obj();
    le_jv_set_str(e, "StreamName", stream);
    le_jv_set_str(e, "AppName", app);
    le_jv_set_str(e, "Action", action);
    le_jv_set_str(e, "TimeStamp", le_fmt_utc(now, ts));
    le_jv_set_str(e, "ClientIP", client_ip ? client_ip : "");
    /* Keeps members unique when two entries share a second. */
    char id[64];
    snprintf(id, sizeof(id), "%" PRId64 ".%" PRIu64, now, ++seq);
    le_jv_set_str(e, "Id", id);
    le_buf b = { 0 };
    le_jv_to_json(e, &b);
    le_jv_free(e);
    le_store_key(zkey, sizeof(zkey), "ctlhist:%s", domain);
    snprintf(score, sizeof(score), "%" PRId64, now);
    le_store_write("ZADD %s %s %b", zkey, score, b.p, b.len);
    le_cluster_trim_history(zkey, now);
    le_buf_free(&b);
}

/* Cuts the local publisher of key ("domain/app/stream"), if any. */
static void cut_local(const char *key, const char *reason)
{
    char d[256], a[256], s[256];
    const char *p1 = strchr(key, '/'), *p2 = p1 ? strchr(p1 + 1, '/') : NULL;
    if (!p2 || (size_t)(p1 - key) >= sizeof(d) || (size_t)(p2 - p1 - 1) >= sizeof(a) ||
        strlen(p2 + 1) >= sizeof(s))
        return;
    memcpy(d, key, (size_t)(p1 - key));
    d[p1 - key] = '\0';
    memcpy(a, p1 + 1, (size_t)(p2 - p1 - 1));
    a[p2 - p1 - 1] = '\0';
    snprintf(s, sizeof(s), "%s", p2 + 1);
    le_stream *st = le_stream_find(d, a, s, 0);
    if (le_stream_is_live(st)) {
        le_info(MOD, "%s: cutting the publisher: %s", key, reason);
        le_stream_kick_publisher(st, reason);
    }
}

int le_blocklist_forbid(const char *domain, const char *app, const char *stream,
                        int64_t resume_ms, int oneshot, const char *client_ip)
{
    char key[800];
    mkkey(key, sizeof(key), domain, app, stream);
    if (!oneshot) {
        if (!find(key) && le_blocklist_count(domain) >= LE_BLOCKLIST_MAX_PER_DOMAIN)
            return LE_ETOOBIG;
        int64_t now = le_wall_ms();
        put(key, resume_ms, now);
        char val[64];
        snprintf(val, sizeof(val), "%" PRId64 " %" PRId64, resume_ms, now);
        le_store_write("HSET %s %s %s", hkey, key, val);
        le_control_publish_event("block %s %s", key, val);
    } else {
        le_control_publish_event("cut %s", key);
    }
    le_blocklist_history(domain, app, stream, oneshot ? "forbid_oneshot" : "forbid", client_ip);
    cut_local(key, "stream forbidden");
    return LE_OK;
}

int le_blocklist_resume(const char *domain, const char *app, const char *stream,
                        const char *client_ip)
{
    char key[800];
    mkkey(key, sizeof(key), domain, app, stream);
    int had = del(key);
    /* Redis and the other nodes are told even when our copy lacks the entry
     * (an event we missed): resuming must never leave a stream blocked. */
    le_store_write("HDEL %s %s", hkey, key);
    le_control_publish_event("unblock %s", key);
    if (!had)
        return LE_ENOTFOUND;
    le_blocklist_history(domain, app, stream, "resume", client_ip);
    return LE_OK;
}

/* Forgets every entry of domain here; the caller tells the other nodes. */
static size_t drop_local(const char *domain)
{
    size_t n = 0;
    LE_KEYTAB_FOREACH(&tab, e, nx) {
        if (domain_of(NODE(e)->b.key, domain)) {
            node_free(NODE(e));
            n++;
        }
    }
    return n;
}

size_t le_blocklist_drop_domain(const char *domain)
{
    le_block **v;
    size_t n = le_blocklist_list(domain, &v);
    for (size_t i = 0; i < n; i++)
        le_store_write("HDEL %s %s", hkey, v[i]->key);
    free(v);
    drop_local(domain);
    le_control_publish_event("dropdomain %s", domain);
    return n;
}

/* ---- events from other nodes (and our own echo) ---- */

static void ev_dropdomain(const char *kind, const char *arg)
{
    (void)kind;
    drop_local(arg);
}

static void ev_block(const char *kind, const char *arg)
{
    (void)kind;
    char key[800];
    long long resume = 0, since = 0;
    if (sscanf(arg, "%799s %lld %lld", key, &resume, &since) < 1)
        return;
    put(key, resume, since);
    cut_local(key, "stream forbidden");
}

static void ev_cut(const char *kind, const char *arg)
{
    (void)kind;
    cut_local(arg, "stream forbidden (oneshot)");
}

static void ev_unblock(const char *kind, const char *arg)
{
    (void)kind;
    del(arg);
}

/* ---- expiry ---- */

typedef struct expiry {
    char *key;
} expiry;

/* Only the node whose HDEL removed the entry writes the history line, so a
 * cluster records one expiry, not one per node. */
static void expire_cb(redisReply *r, void *arg)
{
    expiry *e = arg;
    if (r && r->type == REDIS_REPLY_INTEGER && r->integer == 1) {
        char d[256] = "", a[256] = "", s[256] = "";
        const char *p1 = strchr(e->key, '/'), *p2 = p1 ? strchr(p1 + 1, '/') : NULL;
        if (p2 && (size_t)(p1 - e->key) < sizeof(d) && (size_t)(p2 - p1 - 1) < sizeof(a)) {
            memcpy(d, e->key, (size_t)(p1 - e->key));
            d[p1 - e->key] = '\0';
            memcpy(a, p1 + 1, (size_t)(p2 - p1 - 1));
            a[p2 - p1 - 1] = '\0';
            snprintf(s, sizeof(s), "%s", p2 + 1);
            le_blocklist_history(d, a, s, "resume_expired", "");
            le_control_publish_event("unblock %s", e->key);
        }
    }
    free(e->key);
    free(e);
}

void le_blocklist_tick(void)
{
    int64_t now = le_wall_ms();
    LE_KEYTAB_FOREACH(&tab, ke, nx) {
        node *n = NODE(ke);
        if (n->b.resume_ms && n->b.resume_ms <= now) {
            le_info(MOD, "%s: ResumeTime reached, publishing allowed again", n->b.key);
            if (le_store_connected()) {
                expiry *e = le_xmalloc(sizeof(*e));
                e->key = le_xstrdup(n->b.key);
                le_store_cmd(expire_cb, e, "HDEL %s %s", hkey, n->b.key);
            }
            node_free(n);
        }
    }
}

/* ---- loading ---- */

static void load_cb(redisReply *r, void *arg)
{
    (void)arg;
    if (!r || r->type != REDIS_REPLY_ARRAY)
        return;
    clear();
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        if (r->element[i]->type != REDIS_REPLY_STRING || r->element[i + 1]->type != REDIS_REPLY_STRING)
            continue;
        long long resume = 0, since = 0;
        sscanf(r->element[i + 1]->str, "%lld %lld", &resume, &since);
        put(r->element[i]->str, resume, since);
    }
    le_info(MOD, "%zu forbidden streams loaded", le_keytab_count(&tab));
    /* A publisher that started while we could not see the list. */
    LE_KEYTAB_FOREACH(&tab, ke, nx)
        if (NODE(ke)->b.resume_ms == 0 || NODE(ke)->b.resume_ms > le_wall_ms())
            cut_local(NODE(ke)->b.key, "stream forbidden");
}

static void store_event(int connected, void *arg)
{
    (void)arg;
    if (connected)
        le_store_cmd(load_cb, NULL, "HGETALL %s", hkey);
}

void le_blocklist_init(void)
{
    le_store_key(hkey, sizeof(hkey), "blocklist");
    le_control_on_event("block", ev_block);
    le_control_on_event("unblock", ev_unblock);
    le_control_on_event("cut", ev_cut);
    le_control_on_event("dropdomain", ev_dropdomain);
    le_store_on_event(store_event, NULL);
}

void le_blocklist_free(void)
{
    clear();
}
