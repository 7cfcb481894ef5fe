#define _GNU_SOURCE
/* Stream management (API reference chapter 6) and the per-stream user
 * numbers of chapter 14: block list, control history, online list, publish
 * history, viewers, frame rate and bitrate. Cluster-wide answers come from
 * Redis (see control/cluster.h for the keys); the block list from the
 * node's mirror. */
#include "admin/actions.h"
#include "admin/admin.h"
#include "admin/params.h"
#include "control/blocklist.h"
#include "control/cluster.h"
#include "control/domains.h"
#include "core/err.h"
#include "core/json.h"
#include "core/util.h"
#include "media/stream.h"
#include "store/store.h"

#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_WINDOW_MS (30 * LE_DAY_MS)
#define FRAMERATE_WINDOW_MS (7 * LE_DAY_MS)
#define MAX_ONLINE_FIELDS 1000000   /* online records read per answer at most */

/* ---- block list ---- */

/* A stream belongs to its play domain (man livedge.8, URLS SERVED). A push
 * domain mapped onto a play domain names that domain's streams; keyed by the
 * push domain, a forbid would be listed but would never match a publish. */
static const char *play_name(le_domain *d)
{
    const le_domain *p = le_params_play_domain(d);
    return p ? p->name : d->name;
}

static int stream_params(le_admin_req *r, le_domain **d, const char **app, const char **stream)
{
    if (le_params_domain(r, "DomainName", d) != 0 || le_params_app_stream(r, app, stream) != 0)
        return LE_EINVAL;
    return 0;
}

static int publisher_type(le_admin_req *r, int required)
{
    static const char *const types[] = { "publisher", NULL };
    const char *t;
    if (required && le_admin_require(r, "LiveStreamType", &t) != 0)
        return LE_EINVAL;
    return le_params_enum(r, "LiveStreamType", types, "publisher", &t);
}

/* The client of an admin call, for the control history. */
static const char *caller(le_admin_req *r)
{
    const char *ip = le_admin_client_ip(r);
    return ip ? ip : "";
}

static void forbid(le_admin_req *r)
{
    static const char *const yesno[] = { "yes", "no", NULL };
    le_domain *d;
    const char *app, *stream, *oneshot;
    int64_t resume = 0;
    if (stream_params(r, &d, &app, &stream) != 0 || publisher_type(r, 1) != 0 ||
        le_params_time(r, "ResumeTime", 0, 0, &resume) != 0 ||
        le_params_enum(r, "Oneshot", yesno, "no", &oneshot) != 0 || le_params_store(r) != 0)
        return;
    int rc = le_blocklist_forbid(play_name(d), app, stream, resume, strcmp(oneshot, "yes") == 0, caller(r));
    if (rc == LE_ETOOBIG) {
        le_admin_error(r, 400, "QuotaExceeded.ForbidStream",
                       "The number of forbidden streams of the domain exceeds the limit of 10000.");
        return;
    }
    le_admin_reply(r, le_jv_obj());
}

static void resume(le_admin_req *r)
{
    le_domain *d;
    const char *app, *stream;
    if (stream_params(r, &d, &app, &stream) != 0 || publisher_type(r, 0) != 0 || le_params_store(r) != 0)
        return;
    /* Resuming a free stream is a no-op. The push domain's own key: an
     * entry written before forbids were keyed by the play domain. */
    if (le_blocklist_resume(play_name(d), app, stream, caller(r)) == LE_ENOTFOUND &&
        strcmp(play_name(d), d->name) != 0)
        le_blocklist_resume(d->name, app, stream, caller(r));
    le_admin_reply(r, le_jv_obj());
}

static void block_list(le_admin_req *r)
{
    le_domain *d;
    int64_t num, size;
    if (le_params_domain(r, "DomainName", &d) != 0 || le_params_page(r, 0, 3000, 2000, &num, &size) != 0)
        return;
    le_block **v;
    size_t n = le_blocklist_list(play_name(d), &v);
    le_jv *body = le_jv_obj();
    le_jv_set_str(body, "DomainName", d->name);
    le_jv *arr = le_jv_set_arr(le_jv_set_obj(body, "StreamUrls"), "StreamUrl");
    for (int64_t i = (num - 1) * size; i < (int64_t)n && i < num * size; i++)
        le_jv_push_str(arr, v[i]->key);
    free(v);
    le_params_paging_reply(body, num, size, (int64_t)n);
    le_admin_reply(r, body);
}

/* ---- Redis-backed queries ---- */

typedef struct query {
    le_admin_req *r;
    char domain[256];
    const char *app, *stream;  /* filters (request-owned) */
    int fuzzy;
    int stype;                 /* OnlineList StreamType: 0 all, 1 raw, 2 trans */
    int64_t start, end, num, size;
    int kind;
    int pending;               /* outstanding Redis replies */
    int failed;
    le_jv *items;              /* collected records */
    int64_t *minutes;          /* HistoryUserNum */
    int64_t *users;
    size_t nminutes;
    char key[600];             /* the history zset being read */
    int prepaged;              /* items are the page already, newest first */
    int64_t total;             /* matching records (prepaged) */
    int64_t scan_off;          /* records of the window read so far (filtered scan) */
    char **members;            /* BitRateData: "app/stream" of the domain, then read one by one */
    size_t nmembers, next_member;
    int64_t budget;            /* BitRateData: samples still allowed in the answer */
    uint64_t *seen;            /* online fields read (hashes, open addressing) */
    size_t seen_cap, nseen;
    int edge_read;             /* OnlineUserNum: the edge copies' viewers were added */
} query;

enum { Q_ONLINE, Q_PUBLISH, Q_CONTROL, Q_USERNUM, Q_FRAMERATE, Q_HISTUSER, Q_BITRATE };

static query *query_new(le_admin_req *r, le_domain *d, int kind)
{
    query *q = le_xcalloc(1, sizeof(*q));
    q->r = r;
    q->kind = kind;
    snprintf(q->domain, sizeof(q->domain), "%s", play_name(d));   /* records carry the play domain */
    q->app = le_admin_param(r, "AppName");
    q->stream = le_admin_param(r, "StreamName");
    if (q->app && !*q->app)
        q->app = NULL;
    if (q->stream && !*q->stream)
        q->stream = NULL;
    q->items = le_jv_arr();
    return q;
}

static void query_free(query *q)
{
    for (size_t i = 0; i < q->nmembers; i++)
        free(q->members[i]);
    free(q->members);
    free(q->seen);
    le_jv_free(q->items);
    free(q->minutes);
    free(q->users);
    free(q);
}

static int match(const query *q, const char *app, const char *stream)
{
    if (q->app && (!app || strcmp(q->app, app) != 0))
        return 0;
    if (q->stream) {
        if (!stream)
            return 0;
        if (q->fuzzy ? strcasestr(stream, q->stream) == NULL : strcmp(q->stream, stream) != 0)
            return 0;
    }
    return 1;
}

static void strip(le_jv *o, const char *key)
{
    le_jv *prev = NULL;
    for (le_jv *c = o->first; c; prev = c, c = c->next)
        if (strcmp(c->key, key) == 0) {
            if (prev)
                prev->next = c->next;
            else
                o->first = c->next;
            if (o->last == c)
                o->last = prev;
            c->next = NULL;
            o->n--;
            le_jv_free(c);
            return;
        }
}

static int cmp_by(const le_jv *a, const le_jv *b, const char *k1, const char *k2)
{
    const char *x = le_jv_get_str(a, k1), *y = le_jv_get_str(b, k1);
    int c = strcmp(x ? x : "", y ? y : "");
    if (c || !k2)
        return c;
    x = le_jv_get_str(a, k2);
    y = le_jv_get_str(b, k2);
    return strcmp(x ? x : "", y ? y : "");
}

static int cmp_stream(const void *a, const void *b)
{
    const le_jv *x = *(le_jv *const *)a, *y = *(le_jv *const *)b;
    int c = cmp_by(x, y, "AppName", "StreamName");
    return c ? c : cmp_by(x, y, "PublishTime", NULL);
}

/* Moves q->items into body[outer][inner], sorted, and paged if asked. */
static void page_into(query *q, le_jv *body, const char *outer, const char *inner,
                      int (*cmp)(const void *, const void *), int paged)
{
    size_t n = q->items->n, i = 0;
    le_jv **v = le_xmalloc((n ? n : 1) * sizeof(*v));
    for (le_jv *c = q->items->first, *next; c; c = next) {
        next = c->next;
        c->next = NULL;
        v[i++] = c;
    }
    q->items->first = q->items->last = NULL;
    q->items->n = 0;
    qsort(v, n, sizeof(*v), cmp);
    le_jv *arr = le_jv_set_arr(le_jv_set_obj(body, outer), inner);
    int64_t from = paged ? (q->num - 1) * q->size : 0, to = paged ? q->num * q->size : (int64_t)n;
    for (size_t k = 0; k < n; k++) {
        if ((int64_t)k >= from && (int64_t)k < to) {
            free(v[k]->key);
            v[k]->key = NULL;
            le_jv_push(arr, v[k]);
        } else {
            le_jv_free(v[k]);
        }
    }
    free(v);
    if (paged)
        le_params_paging_reply(body, q->num, q->size, (int64_t)n);
}

static int cmp_by_url_wrapper(const void *a, const void *b)
{
    return cmp_by(*(le_jv *const *)a, *(le_jv *const *)b, "StreamUrl", NULL);
}

static int cmp_time_desc_bitrate(const void *a, const void *b)
{
    int c = cmp_by(*(le_jv *const *)b, *(le_jv *const *)a, "Time", NULL);
    return c ? c : cmp_by_url_wrapper(a, b);
}

static void stream_url(char *out, size_t n, const char *scheme, const char *d, const char *a,
                       const char *s, const char *ext)
{
    snprintf(out, n, "%s://%s/%s/%s%s", scheme, d, a, s, ext);
}

/* The API reference renders frame rates and bitrates as strings with at most two
 * decimals ("30.01", "192"); stored samples may be any number. */
static void rates_as_text(le_jv *o)
{
    static const char *const keys[] = { "VideoFrameRate", "AudioFrameRate", "BitRate", NULL };
    for (int i = 0; keys[i]; i++) {
        const le_jv *v = le_jv_get(o, keys[i]);
        double d = 0;
        if (v && v->type == LE_JV_INT)
            d = (double)v->i;
        else if (v && v->type == LE_JV_NUM)
            d = v->d;
        else if (v && v->type == LE_JV_STR)
            d = strtod(v->s, NULL);
        char t[32];
        le_cluster_fmt_rate(d, t);
        strip(o, keys[i]);
        le_jv_set_str(o, keys[i], t);
    }
}

static void finish(query *q);

/* OnlineUserNum: the viewers of edge copies ({prefix}edgeusers:{domain},
 * relay/edge.h) count with the origin's, less each copy's own connection
 * to the origin (a player there). */
static void edge_users_cb(redisReply *rep, void *arg)
{
    query *q = arg;
    int64_t now = le_wall_ms();
    for (size_t i = 0; rep && rep->type == REDIS_REPLY_ARRAY && i + 1 < rep->elements; i += 2) {
        redisReply *f = rep->element[i], *v = rep->element[i + 1];
        if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            continue;
        const char *bar = strchr(f->str, '|');
        le_jv *rec = le_jv_parse(v->str, v->len, 4, NULL, 0);
        int64_t hb = 0, users = 0, pulls = 0;
        le_jv_get_int(rec, "Heartbeat", &hb);
        le_jv_get_int(rec, "UserNum", &users);
        le_jv_get_int(rec, "Pulls", &pulls);
        le_jv_free(rec);
        if (!bar || now - hb > LE_CLUSTER_STALE_MS) {
            char key[512];
            le_store_key(key, sizeof(key), "edgeusers:%s", q->domain);
            le_store_write("HDEL %s %s", key, f->str);
            continue;
        }
        char url[1024], node[256];
        snprintf(node, sizeof(node), "%.*s", (int)(bar - f->str), f->str);
        snprintf(url, sizeof(url), "rtmp://%s/%s", q->domain, bar + 1);
        const char *slash = strrchr(bar + 1, '/');
        if (strcmp(node, le_cluster_node()) == 0 && slash) {   /* ours: exact */
            char app[256];
            snprintf(app, sizeof(app), "%.*s", (int)(slash - bar - 1), bar + 1);
            le_stream *ls = le_stream_find(q->domain, app, slash + 1, 0);
            if (ls && le_stream_is_live(ls))
                users = le_stream_viewers(ls);
        }
        for (le_jv *c = q->items->first; c; c = c->next) {
            const char *su = le_jv_get_str(c, "StreamUrl");
            int64_t u = 0;
            if (!su || strcmp(su, url) != 0 || le_jv_get_int(c, "UserNumber", &u) != 0)
                continue;
            u += users - pulls;
            for (le_jv *m = c->first; m; m = m->next)
                if (m->key && strcmp(m->key, "UserNumber") == 0)
                    m->i = u < 0 ? 0 : u;
        }
    }
    finish(q);
}

static void finish(query *q)
{
    le_admin_req *r = q->r;
    if (q->kind == Q_USERNUM && !q->failed && !q->edge_read) {
        char key[512];
        q->edge_read = 1;
        le_store_key(key, sizeof(key), "edgeusers:%s", q->domain);
        if (le_store_cmd(edge_users_cb, q, "HGETALL %s", key) == 0)
            return;
    }
    if (q->failed) {
        le_admin_error(r, 503, "ServiceUnavailable",
                       "The request has failed due to a temporary failure of the server (state store unreachable).");
        query_free(q);
        return;
    }
    le_jv *body = le_jv_obj();
    char ts[21];
    switch (q->kind) {
    case Q_ONLINE:
        page_into(q, body, "OnlineInfo", "LiveStreamOnlineInfo", cmp_stream, 1);
        break;
    case Q_PUBLISH:
    case Q_CONTROL:
        /* Paged inside Redis: the items are the page, newest first. */
        le_jv_set(le_jv_set_obj(body, q->kind == Q_PUBLISH ? "PublishInfo" : "ControlInfo"),
                  q->kind == Q_PUBLISH ? "LiveStreamPublishInfo" : "LiveStreamControlInfo", q->items);
        q->items = NULL;
        le_params_paging_reply(body, q->num, q->size, q->total);
        break;
    case Q_USERNUM: {
        int64_t total = 0;
        for (le_jv *c = q->items->first; c; c = c->next) {
            int64_t u = 0;
            le_jv_get_int(c, "UserNumber", &u);
            total += u;
        }
        le_jv_set_int(body, "TotalUserNumber", total);
        page_into(q, body, "OnlineUserInfo", "LiveStreamOnlineUserNumInfo", cmp_by_url_wrapper, 0);
        break;
    }
    case Q_FRAMERATE:
    case Q_BITRATE:
        for (le_jv *c = q->items->first; c; c = c->next)
            rates_as_text(c);
        page_into(q, body, "FrameRateAndBitRateInfos", "FrameRateAndBitRateInfo",
                  q->kind == Q_BITRATE ? cmp_time_desc_bitrate : cmp_by_url_wrapper, 0);
        break;
    case Q_HISTUSER: {
        le_jv *arr = le_jv_set_arr(le_jv_set_obj(body, "LiveStreamUserNumInfos"), "LiveStreamUserNumInfo");
        for (size_t i = q->nminutes; i-- > 0;) {
            le_jv *o = le_jv_push_obj(arr);
            le_jv_set_str(o, "StreamTime", le_fmt_utc(q->minutes[i], ts));
            le_jv_set_int(o, "UserNum", q->users[i]);
        }
        break;
    }
    }
    le_admin_reply(r, body);
    query_free(q);
}

/* Every record reply (HGETALL online, ZRANGEBYSCORE ...) lands here. */
static void add_online(query *q, le_jv *rec, int64_t now, const char *field)
{
    int64_t hb = 0;
    le_jv_get_int(rec, "Heartbeat", &hb);
    const char *d = le_jv_get_str(rec, "DomainName");
    if (now - hb > LE_CLUSTER_STALE_MS) {
        /* A node that died without cleaning up: its entry goes. */
        char key[256];
        le_store_key(key, sizeof(key), "online");
        le_store_write("HDEL %s %s", key, field);
        le_jv_free(rec);
        return;
    }
    if (!d || strcasecmp(d, q->domain) != 0 ||
        !match(q, le_jv_get_str(rec, "AppName"), le_jv_get_str(rec, "StreamName"))) {
        le_jv_free(rec);
        return;
    }
    char url[1024], ts[21];
    const char *app = le_jv_get_str(rec, "AppName"), *st = le_jv_get_str(rec, "StreamName");
    if (q->kind == Q_ONLINE) {
        int64_t pub;
        const char *pt = le_jv_get_str(rec, "PublishTime");
        const char *tr = le_jv_get_str(rec, "Transcoded");
        int trans = tr && strcmp(tr, "yes") == 0;
        if ((pt && le_parse_utc(pt, &pub) == 0 && (pub < q->start || pub > q->end)) ||
            (q->stype == 1 && trans) || (q->stype == 2 && !trans)) {
            le_jv_free(rec);
            return;
        }
        le_jv *o = le_jv_obj();
        static const char *const keep[] = { "DomainName", "AppName", "StreamName", "PublishTime",
                                            "PublishUrl", "PublishDomain", "ClientAddr",
                                            "EdgeNodeAddr", "Node", NULL };
        for (int i = 0; keep[i]; i++)
            le_jv_set_str(o, keep[i], le_jv_get_str(rec, keep[i]));
        le_jv_set_str(o, "Transcoded", trans ? "yes" : "no");
        /* The picture and codecs the cloud's newer answers carry (0 when unknown). */
        static const char *const nums[] = { "Width", "Height", "VideoCodecId", "AudioCodecId", NULL };
        for (int i = 0; nums[i]; i++) {
            int64_t v = 0;
            le_jv_get_int(rec, nums[i], &v);
            le_jv_set_int(o, nums[i], v);
        }
        le_jv_push(q->items, o);
    } else if (q->kind == Q_USERNUM) {
        int64_t users = 0;
        le_jv_get_int(rec, "UserNum", &users);
        le_stream *ls = le_stream_find(q->domain, app, st, 0);
        const char *node = le_jv_get_str(rec, "Node");
        if (ls && le_stream_is_live(ls) && node && strcmp(node, le_cluster_node()) == 0)
            users = le_stream_viewers(ls);    /* ours: exact, not a heartbeat old */
        le_jv *o = le_jv_obj();
        stream_url(url, sizeof(url), "rtmp", q->domain, app, st, "");
        le_jv_set_str(o, "StreamUrl", url);
        le_jv_set_int(o, "UserNumber", users);
        le_jv_set_str(o, "Time", le_fmt_utc(now, ts));
        le_jv_push(q->items, o);
    } else if (q->kind == Q_FRAMERATE) {
        le_jv *o = le_jv_obj();
        const le_jv *v;
        stream_url(url, sizeof(url), "rtmp", q->domain, app, st, "");
        le_jv_set_str(o, "StreamUrl", url);
        v = le_jv_get(rec, "VideoFrameRate");
        le_jv_set_num(o, "VideoFrameRate", v ? (v->type == LE_JV_INT ? (double)v->i : v->d) : 0);
        v = le_jv_get(rec, "AudioFrameRate");
        le_jv_set_num(o, "AudioFrameRate", v ? (v->type == LE_JV_INT ? (double)v->i : v->d) : 0);
        v = le_jv_get(rec, "BitRate");
        le_jv_set_num(o, "BitRate", v ? (v->type == LE_JV_INT ? (double)v->i : v->d) : 0);
        le_jv_set_str(o, "Time", le_fmt_utc(hb, ts));
        le_jv_push(q->items, o);
    }
    le_jv_free(rec);
}

/* The online hash holds every live stream of the cluster: it is read with
 * HSCAN, ONLINE_CHUNK fields a reply, one loop turn each, and only the
 * fields of the asked domain are parsed. HSCAN may return a field twice
 * (the hash was resized meanwhile): q->seen drops the repeats. */
#define ONLINE_CHUNK 1000

static int seen_before(query *q, const char *field, size_t len)
{
    uint64_t h = le_hash64(field, len, LE_HASH64_INIT) | 1;   /* 0 marks a free slot */
    if (q->nseen * 2 >= q->seen_cap) {
        size_t cap = q->seen_cap ? q->seen_cap * 2 : 256;
        uint64_t *t = le_xcalloc(cap, sizeof(*t));
        for (size_t i = 0; i < q->seen_cap; i++)
            if (q->seen[i])
                for (size_t k = q->seen[i] & (cap - 1);; k = (k + 1) & (cap - 1))
                    if (!t[k]) {
                        t[k] = q->seen[i];
                        break;
                    }
        free(q->seen);
        q->seen = t;
        q->seen_cap = cap;
    }
    for (size_t k = h & (q->seen_cap - 1);; k = (k + 1) & (q->seen_cap - 1)) {
        if (q->seen[k] == h)
            return 1;
        if (!q->seen[k]) {
            q->seen[k] = h;
            q->nseen++;
            return 0;
        }
    }
}

/* "node|domain/app/stream": is domain ours? */
static int field_domain_is(const char *field, const char *domain)
{
    const char *bar = strchr(field, '|');
    size_t dl = strlen(domain);
    return bar && strncasecmp(bar + 1, domain, dl) == 0 && bar[1 + dl] == '/';
}

static int online_next(query *q, const char *cursor);

static void online_cb(redisReply *rep, void *arg)
{
    query *q = arg;
    if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
        rep->element[0]->type != REDIS_REPLY_STRING || rep->element[1]->type != REDIS_REPLY_ARRAY) {
        q->failed = 1;
        finish(q);
        return;
    }
    redisReply *kv = rep->element[1];
    int64_t now = le_wall_ms();
    for (size_t i = 0; i + 1 < kv->elements; i += 2) {
        redisReply *f = kv->element[i], *v = kv->element[i + 1];
        if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING ||
            !field_domain_is(f->str, q->domain) || seen_before(q, f->str, f->len))
            continue;
        le_jv *rec = le_jv_parse(v->str, v->len, 8, NULL, 0);
        if (rec)
            add_online(q, rec, now, f->str);
    }
    q->scan_off += (int64_t)kv->elements / 2;
    if (strcmp(rep->element[0]->str, "0") != 0 && q->scan_off < MAX_ONLINE_FIELDS &&
        online_next(q, rep->element[0]->str) == 0)
        return;
    finish(q);
}

static int online_next(query *q, const char *cursor)
{
    char key[256], count[16];
    le_store_key(key, sizeof(key), "online");
    snprintf(count, sizeof(count), "%d", ONLINE_CHUNK);
    if (le_store_cmd(online_cb, q, "HSCAN %s %s COUNT %s", key, cursor, count) != 0) {
        q->failed = 1;
        return LE_EIO;
    }
    return LE_OK;
}

static void fetch_online(query *q)
{
    if (online_next(q, "0") != 0)
        finish(q);
}

static void online_list(le_admin_req *r)
{
    static const char *const qtypes[] = { "fuzzy", "strict", NULL };
    static const char *const stypes[] = { "all", "raw", "trans", NULL };
    le_domain *d;
    const char *qt, *stype;
    int64_t num, size, start, end;
    if (le_params_domain(r, "DomainName", &d) != 0 ||
        le_params_enum(r, "QueryType", qtypes, "strict", &qt) != 0 ||
        le_params_enum(r, "StreamType", stypes, "all", &stype) != 0 ||
        le_params_page(r, 0, 3000, 2000, &num, &size) != 0)
        return;
    /* No window given: everything live (the window bounds PublishTime). */
    if (!le_admin_param(r, "StartTime") && !le_admin_param(r, "EndTime")) {
        start = 0;
        end = INT64_MAX;
    } else if (le_params_window(r, 0, MAX_WINDOW_MS, MAX_WINDOW_MS, &start, &end) != 0) {
        return;
    }
    if (le_params_store(r) != 0)
        return;
    query *q = query_new(r, d, Q_ONLINE);
    q->fuzzy = strcmp(qt, "fuzzy") == 0;
    q->num = num;
    q->size = size;
    q->start = start;
    q->end = end;
    q->stype = strcmp(stype, "raw") == 0 ? 1 : strcmp(stype, "trans") == 0 ? 2 : 0;
    fetch_online(q);
}

static void online_users(le_admin_req *r)
{
    le_domain *d;
    if (le_params_domain(r, "DomainName", &d) != 0 || le_params_store(r) != 0)
        return;
    query *q = query_new(r, d, Q_USERNUM);
    fetch_online(q);
}

/* Real-time data: the current sample of each live stream. StartTime and
 * EndTime, when given, must be well formed, in order and at most 7 days
 * apart (API reference); they do not select older samples. */
static void framerate_live(le_admin_req *r)
{
    le_domain *d;
    int64_t start, end;
    if (le_params_domain(r, "DomainName", &d) != 0 ||
        le_params_window(r, 0, FRAMERATE_WINDOW_MS, FRAMERATE_WINDOW_MS, &start, &end) != 0 ||
        le_params_store(r) != 0)
        return;
    query *q = query_new(r, d, Q_FRAMERATE);
    fetch_online(q);
}

/* ---- history (sorted sets scored by unix ms) ----
 * Every reply is bounded: publish and control history are paged inside Redis
 * (ZCOUNT + ZREVRANGEBYSCORE ... LIMIT), or, filtered by name, read in chunks
 * of SCAN_CHUNK records, one loop turn each; the per-minute samples are read
 * with a LIMIT. Nothing parses a whole history on the loop. */

#define SCAN_CHUNK 1000
#define MAX_SAMPLES 10000          /* BitRateData: samples per answer */
#define MAX_SAMPLED_STREAMS 1000   /* BitRateData: streams per answer */
#define MAX_USERNUM 100000         /* HistoryUserNum: per-node points of one day */

static void history_cb(redisReply *rep, void *arg)
{
    query *q = arg;
    if (!rep || rep->type != REDIS_REPLY_ARRAY) {
        q->failed = 1;
    } else {
        for (size_t i = 0; i < rep->elements; i++) {
            redisReply *e = rep->element[i];
            if (e->type != REDIS_REPLY_STRING)
                continue;
            if (q->kind == Q_HISTUSER) {
                long long minute = 0;
                int users = 0;
                if (sscanf(e->str, "%lld|%*[^|]|%d", &minute, &users) == 2)
                    for (size_t k = 0; k < q->nminutes; k++)
                        if (q->minutes[k] == minute)
                            q->users[k] += users;
                continue;
            }
            le_jv *rec = le_jv_parse(e->str, e->len, 8, NULL, 0);
            if (!rec)
                continue;
            strip(rec, "Node");
            le_jv_push(q->items, rec);
        }
    }
    if (--q->pending == 0)
        finish(q);
}

static void range(query *q, const char *key, int64_t limit)
{
    char a[32], b[32], l[32];
    snprintf(a, sizeof(a), "%" PRId64, q->start);
    snprintf(b, sizeof(b), "%" PRId64, q->end);
    snprintf(l, sizeof(l), "%" PRId64, limit);
    q->pending++;
    if (le_store_cmd(history_cb, q, "ZRANGEBYSCORE %s %s %s LIMIT 0 %s", key, a, b, l) != 0) {
        q->failed = 1;
        q->pending--;
    }
}

static query *history_query(le_admin_req *r, int kind, int required, int64_t max_ms)
{
    le_domain *d;
    int64_t start, end;
    if (le_params_domain(r, "DomainName", &d) != 0 ||
        le_params_window(r, required, max_ms, required ? max_ms : 3600 * 1000, &start, &end) != 0)
        return NULL;
    if (kind == Q_HISTUSER && le_params_end_not_future(r, end) != 0)
        return NULL;
    if (le_params_store(r) != 0)
        return NULL;
    query *q = query_new(r, d, kind);
    q->start = start;
    q->end = end;
    return q;
}

/* A name is searched for in the raw member only when JSON writes it as is. */
static int plain(const char *s)
{
    for (; *s; s++)
        if (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20)
            return 0;
    return 1;
}

/* Cheap test on the raw member before a parse: can it match at all? */
static int may_match(const query *q, const char *member)
{
    char pat[600];
    if (q->app && plain(q->app)) {
        snprintf(pat, sizeof(pat), "\"AppName\":\"%s\"", q->app);
        if (!strstr(member, pat))
            return 0;
    }
    if (q->stream && plain(q->stream)) {
        if (q->fuzzy)
            return strcasestr(member, q->stream) != NULL;
        snprintf(pat, sizeof(pat), "\"StreamName\":\"%s\"", q->stream);
        if (!strstr(member, pat))
            return 0;
    }
    return 1;
}

static void take_record(query *q, const char *str, size_t len, int filtered)
{
    int64_t from = (q->num - 1) * q->size, to = q->num * q->size;
    if (filtered && !may_match(q, str))
        return;
    if (filtered && (q->total < from || q->total >= to)) {
        /* Outside the page: counted, parsed only to confirm the match. */
        le_jv *rec = le_jv_parse(str, len, 8, NULL, 0);
        if (rec && match(q, le_jv_get_str(rec, "AppName"), le_jv_get_str(rec, "StreamName")))
            q->total++;
        le_jv_free(rec);
        return;
    }
    le_jv *rec = le_jv_parse(str, len, 8, NULL, 0);
    if (!rec)
        return;
    if (filtered && !match(q, le_jv_get_str(rec, "AppName"), le_jv_get_str(rec, "StreamName"))) {
        le_jv_free(rec);
        return;
    }
    if (filtered)
        q->total++;
    strip(rec, q->kind == Q_CONTROL ? "Id" : "Node");
    le_jv_push(q->items, rec);
}

static int scan_next(query *q);

static void scan_cb(redisReply *rep, void *arg)
{
    query *q = arg;
    if (!rep || rep->type != REDIS_REPLY_ARRAY) {
        q->failed = 1;
        finish(q);
        return;
    }
    for (size_t i = 0; i < rep->elements; i++)
        if (rep->element[i]->type == REDIS_REPLY_STRING)
            take_record(q, rep->element[i]->str, rep->element[i]->len, 1);
    q->scan_off += (int64_t)rep->elements;
    /* A full chunk: there may be more (the key holds LE_CLUSTER_HIST_MAX at most). */
    if (rep->elements == SCAN_CHUNK && q->scan_off < LE_CLUSTER_HIST_MAX && scan_next(q) == 0)
        return;
    finish(q);
}

static int scan_next(query *q)
{
    char a[32], b[32], off[32];
    snprintf(a, sizeof(a), "%" PRId64, q->start);
    snprintf(b, sizeof(b), "%" PRId64, q->end);
    snprintf(off, sizeof(off), "%" PRId64, q->scan_off);
    if (le_store_cmd(scan_cb, q, "ZREVRANGEBYSCORE %s %s %s LIMIT %s %d", q->key, b, a, off,
                     SCAN_CHUNK) != 0) {
        q->failed = 1;
        return LE_EIO;
    }
    return LE_OK;
}

static void count_cb(redisReply *rep, void *arg)
{
    query *q = arg;
    if (!rep || rep->type != REDIS_REPLY_INTEGER)
        q->failed = 1;
    else
        q->total = rep->integer;
    if (--q->pending == 0)
        finish(q);
}

static void page_cb(redisReply *rep, void *arg)
{
    query *q = arg;
    if (!rep || rep->type != REDIS_REPLY_ARRAY) {
        q->failed = 1;
    } else {
        for (size_t i = 0; i < rep->elements; i++)
            if (rep->element[i]->type == REDIS_REPLY_STRING)
                take_record(q, rep->element[i]->str, rep->element[i]->len, 0);
    }
    if (--q->pending == 0)
        finish(q);
}

/* Reads page q->num of q->key's window, newest first, into q->items. */
static void read_page(query *q)
{
    q->prepaged = 1;
    if (q->app || q->stream) {
        if (scan_next(q) != 0)
            finish(q);
        return;
    }
    char a[32], b[32], off[32], cnt[32];
    snprintf(a, sizeof(a), "%" PRId64, q->start);
    snprintf(b, sizeof(b), "%" PRId64, q->end);
    snprintf(off, sizeof(off), "%" PRId64, (q->num - 1) * q->size);
    snprintf(cnt, sizeof(cnt), "%" PRId64, q->size);
    q->pending = 2;
    if (le_store_cmd(count_cb, q, "ZCOUNT %s %s %s", q->key, a, b) != 0) {
        q->failed = 1;
        q->pending--;
    }
    if (le_store_cmd(page_cb, q, "ZREVRANGEBYSCORE %s %s %s LIMIT %s %s", q->key, b, a, off, cnt) != 0) {
        q->failed = 1;
        q->pending--;
    }
    if (q->pending == 0)
        finish(q);
}

static void publish_list(le_admin_req *r)
{
    static const char *const qtypes[] = { "fuzzy", "strict", NULL };
    const char *qt;
    int64_t num, size;
    if (le_params_enum(r, "QueryType", qtypes, "fuzzy", &qt) != 0 ||
        le_params_page(r, 0, 3000, 2000, &num, &size) != 0)
        return;
    query *q = history_query(r, Q_PUBLISH, 1, MAX_WINDOW_MS);
    if (!q)
        return;
    q->fuzzy = strcmp(qt, "fuzzy") == 0;
    q->num = num;
    q->size = size;
    le_store_key(q->key, sizeof(q->key), "pubhist:%s", q->domain);
    read_page(q);
}

/* The API reference gives no paging for the control history; PageNum and
 * PageSize (at most 3000, the default) bound the answer the same way. */
static void control_history(le_admin_req *r)
{
    int64_t num, size;
    if (le_params_page(r, 0, 3000, 3000, &num, &size) != 0)
        return;
    query *q = history_query(r, Q_CONTROL, 1, MAX_WINDOW_MS);
    if (!q)
        return;
    q->stream = NULL;   /* filtered by AppName only */
    q->num = num;
    q->size = size;
    le_store_key(q->key, sizeof(q->key), "ctlhist:%s", q->domain);
    read_page(q);
}

static void history_users(le_admin_req *r)
{
    const char *app, *stream, *dummy;
    if (le_admin_require(r, "DomainName", &dummy) != 0 || le_admin_require(r, "AppName", &app) != 0 ||
        le_admin_require(r, "StreamName", &stream) != 0)
        return;
    query *q = history_query(r, Q_HISTUSER, 1, LE_DAY_MS);
    if (!q)
        return;
    /* One point per minute of the window (up to now), zero where no node
     * reported viewers. */
    int64_t first = (q->start + 59999) / 60000 * 60000;
    int64_t last = q->end < le_wall_ms() ? q->end : le_wall_ms();
    for (int64_t m = first; m <= last; m += 60000)
        q->nminutes++;
    q->minutes = le_xcalloc(q->nminutes ? q->nminutes : 1, sizeof(int64_t));
    q->users = le_xcalloc(q->nminutes ? q->nminutes : 1, sizeof(int64_t));
    for (size_t i = 0; i < q->nminutes; i++)
        q->minutes[i] = first + (int64_t)i * 60000;
    char key[1024];
    le_store_key(key, sizeof(key), "usernum:%s/%s/%s", q->domain, app, stream);
    range(q, key, MAX_USERNUM);
    if (q->pending == 0)
        finish(q);
}

/* BitRateData reads the sampled streams one after the other, each with a
 * LIMIT of what the answer may still hold. */
static void bitrate_next(query *q);

static void bitrate_cb(redisReply *rep, void *arg)
{
    query *q = arg;
    if (!rep || rep->type != REDIS_REPLY_ARRAY) {
        q->failed = 1;
        finish(q);
        return;
    }
    for (size_t i = 0; i < rep->elements && q->budget > 0; i++) {
        redisReply *e = rep->element[i];
        if (e->type != REDIS_REPLY_STRING)
            continue;
        le_jv *rec = le_jv_parse(e->str, e->len, 8, NULL, 0);
        if (!rec)
            continue;
        strip(rec, "Node");
        le_jv_push(q->items, rec);
        q->budget--;
    }
    bitrate_next(q);
}

static void bitrate_next(query *q)
{
    while (q->next_member < q->nmembers && q->budget > 0) {
        char key[1024], a[32], b[32], l[32];
        le_store_key(key, sizeof(key), "bitrate:%s/%s", q->domain, q->members[q->next_member++]);
        snprintf(a, sizeof(a), "%" PRId64, q->start);
        snprintf(b, sizeof(b), "%" PRId64, q->end);
        snprintf(l, sizeof(l), "%" PRId64, q->budget);
        if (le_store_cmd(bitrate_cb, q, "ZREVRANGEBYSCORE %s %s %s LIMIT 0 %s", key, b, a, l) == 0)
            return;
        q->failed = 1;
        break;
    }
    finish(q);
}

static void bitrate_members_cb(redisReply *rep, void *arg)
{
    query *q = arg;
    if (!rep || rep->type != REDIS_REPLY_ARRAY) {
        q->failed = 1;
        finish(q);
        return;
    }
    q->members = le_xcalloc(rep->elements ? rep->elements : 1, sizeof(char *));
    for (size_t i = 0; i < rep->elements; i++) {
        redisReply *e = rep->element[i];
        char app[256], stream[256];
        if (e->type != REDIS_REPLY_STRING || sscanf(e->str, "%255[^/]/%255s", app, stream) != 2 ||
            !match(q, app, stream))
            continue;
        q->members[q->nmembers++] = le_xstrdup(e->str);
    }
    q->budget = MAX_SAMPLES;
    bitrate_next(q);
}

static void bitrate_history(le_admin_req *r)
{
    query *q = history_query(r, Q_BITRATE, 0, MAX_WINDOW_MS);
    if (!q)
        return;
    char key[512], a[32], l[32];
    le_store_key(key, sizeof(key), "sampled:%s", q->domain);
    /* Streams whose last sample is not older than the window. */
    snprintf(a, sizeof(a), "%" PRId64, q->start);
    snprintf(l, sizeof(l), "%d", MAX_SAMPLED_STREAMS);
    if (le_store_cmd(bitrate_members_cb, q, "ZREVRANGEBYSCORE %s +inf %s LIMIT 0 %s", key, a, l) != 0) {
        q->failed = 1;
        finish(q);
    }
}

void le_actions_stream_register(void)
{
    le_admin_register("ForbidLiveStream", forbid);
    le_admin_register("ResumeLiveStream", resume);
    le_admin_register("DescribeLiveStreamsBlockList", block_list);
    le_admin_register("DescribeLiveStreamsControlHistory", control_history);
    le_admin_register("DescribeLiveStreamsOnlineList", online_list);
    le_admin_register("DescribeLiveStreamsPublishList", publish_list);
    le_admin_register("DescribeLiveStreamOnlineUserNum", online_users);
    le_admin_register("DescribeLiveStreamHistoryUserNum", history_users);
    le_admin_register("DescribeLiveStreamsFrameRateAndBitRateData", framerate_live);
    le_admin_register("DescribeLiveStreamBitRateData", bitrate_history);
}
