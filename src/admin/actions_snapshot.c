/* Snapshot configs and the snapshot index (API reference chapter 12):
 * AddLiveAppSnapshotConfig, UpdateLiveAppSnapshotConfig,
 * DeleteLiveAppSnapshotConfig, DescribeLiveSnapshotConfig and
 * DescribeLiveStreamSnapshotInfo (livedge(8), docs/SNAPSHOT.md).
 *
 * The configs live in Redis (snapshot/config.h has the keys) so every node
 * sees them; the snapshotter reads them when a publish starts, so a change
 * takes effect from the next publish. DomainName is the play domain; a
 * push domain mapped onto one stands for it. */
#include "admin/actions.h"
#include "admin/admin.h"
#include "admin/params.h"
#include "control/domains.h"
#include "core/err.h"
#include "core/json.h"
#include "core/util.h"
#include "snapshot/config.h"
#include "store/store.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SNAP_MAX_PER_DOMAIN 1000   /* snapshot configs of one domain at most */
#define LIMIT_DEFAULT 10
#define LIMIT_MAX 100

static int app_ok(const char *app)
{
    return strcmp(app, "*") == 0 || le_name_valid(app, strlen(app));
}

/* The parameters Add and Update share, each when given (Update: "-"
 * deletes OverwriteOssObject / SequenceOssObject). Fills c; LE_OK or
 * LE_EINVAL answered. */
static int parse_fields(le_admin_req *r, le_snap_config *c, int update)
{
    const char *v;
    char why[160];
    if ((v = le_admin_param(r, "TimeInterval")) && *v) {
        int64_t iv;
        if (le_params_int_range(v, LE_SNAP_INTERVAL_MIN_S, LE_SNAP_INTERVAL_MAX_S, &iv) != LE_OK) {
            le_params_invalid_why(r, "TimeInterval", "seconds from 5 to 3600");
            return LE_EINVAL;
        }
        c->interval_s = (int)iv;
    }
    if ((v = le_admin_param(r, "OssBucket")) && *v) {
        if (!le_params_bucket_ok(v)) {
            le_params_invalid_why(r, "OssBucket", "3 to 63 of a-z, 0-9 and -, not starting or ending with -");
            return LE_EINVAL;
        }
        snprintf(c->oss_bucket, sizeof(c->oss_bucket), "%s", v);
    }
    if ((v = le_admin_param(r, "OssEndpoint")) && *v) {
        if (!le_params_endpoint_ok(v)) {
            le_params_invalid(r, "OssEndpoint");
            return LE_EINVAL;
        }
        snprintf(c->oss_endpoint, sizeof(c->oss_endpoint), "%s", v);
    }
    static const char *const names[2] = { "OverwriteOssObject", "SequenceOssObject" };
    char *dst[2] = { c->overwrite, c->sequence };
    for (int i = 0; i < 2; i++) {
        if (!(v = le_admin_param(r, names[i])) || !*v)
            continue;
        if (update && strcmp(v, "-") == 0) {
            dst[i][0] = '\0';
            continue;
        }
        if (le_snap_tmpl_check(v, i, why, sizeof(why)) != LE_OK) {
            le_params_invalid_why(r, names[i], why);
            return LE_EINVAL;
        }
        snprintf(dst[i], LE_REC_KEY_MAX, "%s", v);
    }
    if (!c->overwrite[0] && !c->sequence[0]) {
        le_params_invalid_why(r, "OverwriteOssObject", "a config needs OverwriteOssObject or SequenceOssObject");
        return LE_EINVAL;
    }
    return LE_OK;
}

typedef struct call {
    le_admin_req *r;
    char domain[256], app[256];
    int desc;
    int64_t num, size;
    le_snap_config upd;    /* Update: the config as the parameters leave it */
} call;

static call *call_new(le_admin_req *r, const char *domain, const char *app)
{
    call *c = le_xcalloc(1, sizeof(*c));
    c->r = r;
    snprintf(c->domain, sizeof(c->domain), "%s", domain);
    snprintf(c->app, sizeof(c->app), "%s", app ? app : "");
    return c;
}

static void add_cb(redisReply *rep, void *arg)
{
    call *c = arg;
    if (le_params_quota_stored(c->r, rep, "QuotaExceeded.SnapshotConfig", "snapshot configs", SNAP_MAX_PER_DOMAIN))
        le_admin_reply(c->r, le_jv_obj());
    free(c);
}

static void store_config(le_admin_req *r, const le_snap_config *cfg)
{
    char key[600], dkey[300];
    le_buf b = { 0 };
    le_snap_config_to_json(&b, cfg);
    le_store_key(key, sizeof(key), "snapcfg:%s", cfg->domain);
    le_store_key(dkey, sizeof(dkey), "snapdomains");
    call *cl = call_new(r, cfg->domain, cfg->app);
    if (le_params_quota_hset(r, add_cb, cl, key, dkey, cfg->app, (const char *)b.p, b.len, SNAP_MAX_PER_DOMAIN,
                             cfg->domain) != 0)
        free(cl);
    le_buf_free(&b);
}

/* DomainName (play domain) and AppName, both required. */
static int domain_app(le_admin_req *r, le_domain **d, const char **app)
{
    if (le_params_domain_play(r, d) != 0 || le_admin_require(r, "AppName", app) != 0)
        return LE_EINVAL;
    if (!app_ok(*app)) {
        le_params_invalid(r, "AppName");
        return LE_EINVAL;
    }
    return LE_OK;
}

static void add_config(le_admin_req *r)
{
    le_domain *d;
    const char *app, *v;
    if (domain_app(r, &d, &app) != 0 || le_admin_require(r, "OssBucket", &v) != 0 ||
        le_admin_require(r, "OssEndpoint", &v) != 0 || le_admin_require(r, "TimeInterval", &v) != 0)
        return;
    le_snap_config c;
    memset(&c, 0, sizeof(c));
    snprintf(c.domain, sizeof(c.domain), "%s", d->name);
    snprintf(c.app, sizeof(c.app), "%s", app);
    c.create_ms = le_wall_ms() / 1000 * 1000;
    if (parse_fields(r, &c, 0) != 0 || le_params_store(r) != 0)
        return;
    store_config(r, &c);   /* adding again replaces */
}

static void not_found(le_admin_req *r, const char *domain, const char *app)
{
    char msg[700];
    snprintf(msg, sizeof(msg), "The snapshot config of %s/%s does not exist, please check and try again later.",
             domain, app);
    le_admin_error(r, 400, "CodeConfigNotFound", msg);
}

static void ok_cb(redisReply *rep, void *arg)
{
    call *c = arg;
    if (!rep || rep->type == REDIS_REPLY_ERROR)
        le_params_unavailable(c->r);
    else
        le_admin_reply(c->r, le_jv_obj());
    free(c);
}

static void update_set_cb(redisReply *rep, void *arg)
{
    call *c = arg;
    if (!rep || rep->type != REDIS_REPLY_INTEGER)
        le_params_unavailable(c->r);
    else if (rep->integer == 0)
        not_found(c->r, c->domain, c->app);
    else
        le_admin_reply(c->r, le_jv_obj());
    free(c);
}

static void update_get_cb(redisReply *rep, void *arg)
{
    call *c = arg;
    le_snap_config cur;
    if (!rep || (rep->type != REDIS_REPLY_STRING && rep->type != REDIS_REPLY_NIL)) {
        le_params_unavailable(c->r);
    } else if (rep->type == REDIS_REPLY_NIL || le_snap_config_from_json(rep->str, rep->len, &cur) != LE_OK) {
        not_found(c->r, c->domain, c->app);
    } else if (parse_fields(c->r, &cur, 1) == LE_OK) {
        /* The parameters apply over the stored config. */
        char key[600];
        le_buf b = { 0 };
        snprintf(cur.domain, sizeof(cur.domain), "%s", c->domain);
        snprintf(cur.app, sizeof(cur.app), "%s", c->app);
        le_snap_config_to_json(&b, &cur);
        le_store_key(key, sizeof(key), "snapcfg:%s", c->domain);
        /* Only over a config that still exists: a Delete meanwhile wins. */
        static const char script[] =
            "if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end "
            "redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) return 1";
        const char *argv[] = { "EVAL", script, "1", key, c->app, (const char *)b.p };
        size_t argvlen[] = { 4, sizeof(script) - 1, 1, strlen(key), strlen(c->app), b.len };
        call *n = call_new(c->r, c->domain, c->app);
        if (le_store_cmdargv(update_set_cb, n, 6, argv, argvlen) != 0) {
            le_params_unavailable(c->r);
            free(n);
        }
        le_buf_free(&b);
    }
    free(c);
}

static void update_config(le_admin_req *r)
{
    le_domain *d;
    const char *app;
    if (domain_app(r, &d, &app) != 0)
        return;
    /* Checked now (answered before any read); applied over the stored
     * config once it is read. The object check waits for the merge. */
    le_snap_config probe;
    memset(&probe, 0, sizeof(probe));
    snprintf(probe.overwrite, sizeof(probe.overwrite), "x");
    snprintf(probe.sequence, sizeof(probe.sequence), "x");
    if (parse_fields(r, &probe, 1) != 0 || le_params_store(r) != 0)
        return;
    char key[600];
    le_store_key(key, sizeof(key), "snapcfg:%s", d->name);
    call *c = call_new(r, d->name, app);
    if (le_store_cmd(update_get_cb, c, "HGET %s %s", key, app) != 0) {
        le_params_unavailable(r);
        free(c);
    }
}

static void delete_config(le_admin_req *r)
{
    le_domain *d;
    const char *app;
    if (domain_app(r, &d, &app) != 0 || le_params_store(r) != 0)
        return;
    char key[600], dkey[300];
    le_store_key(key, sizeof(key), "snapcfg:%s", d->name);
    le_store_key(dkey, sizeof(dkey), "snapdomains");
    call *c = call_new(r, d->name, app);
    if (le_params_quota_hdel(r, ok_cb, c, key, dkey, app, d->name) != 0)
        free(c);
}

static int g_desc;   /* the sort order of the running qsort (the loop is one thread) */

static int cmp_cfg(const void *a, const void *b)
{
    const le_snap_config *x = a, *y = b;
    int c = x->create_ms < y->create_ms ? -1 : x->create_ms > y->create_ms;
    if (!c)
        c = strcmp(x->app, y->app);
    return g_desc ? -c : c;
}

static void describe_cb(redisReply *rep, void *arg)
{
    call *c = arg;
    if (!rep || rep->type != REDIS_REPLY_ARRAY) {
        le_params_unavailable(c->r);
        free(c);
        return;
    }
    size_t n = 0;
    le_snap_config *v = le_xcalloc(rep->elements / 2 + 1, sizeof(*v));
    for (size_t i = 0; i + 1 < rep->elements; i += 2) {
        redisReply *e = rep->element[i + 1];
        if (e->type != REDIS_REPLY_STRING || le_snap_config_from_json(e->str, e->len, &v[n]) != LE_OK)
            continue;
        if (c->app[0] && strcmp(c->app, v[n].app) != 0)
            continue;
        n++;
    }
    g_desc = c->desc;
    qsort(v, n, sizeof(*v), cmp_cfg);
    le_jv *body = le_jv_obj();
    le_jv *arr = le_jv_set_arr(le_jv_set_obj(body, "LiveStreamSnapshotConfigList"), "LiveStreamSnapshotConfig");
    int64_t first = (c->num - 1) * c->size;
    for (int64_t i = first; i >= 0 && i < (int64_t)n && i < first + c->size; i++) {
        le_buf b = { 0 };
        le_snap_config_to_json(&b, &v[i]);
        le_jv *o = le_jv_parse((const char *)b.p, b.len, 2, NULL, 0);
        le_buf_free(&b);
        if (o)
            le_jv_push(arr, o);
    }
    free(v);
    le_params_paging_reply(body, c->num, c->size, (int64_t)n);
    le_jv_set_str(body, "Order", c->desc ? "desc" : "asc");
    le_admin_reply(c->r, body);
    free(c);
}

static void describe_config(le_admin_req *r)
{
    le_domain *d;
    const char *order;
    int64_t num, size;
    if (le_params_domain_play(r, &d) != 0 || le_params_order_page(r, "asc", 5, 30, 10, &order, &num, &size) != 0)
        return;
    /* "*": the domain-level config; absent: every config of the domain. */
    const char *app = le_admin_param(r, "AppName");
    if (app && *app && !app_ok(app)) {
        le_params_invalid(r, "AppName");
        return;
    }
    if (le_params_store(r) != 0)
        return;
    char key[600];
    le_store_key(key, sizeof(key), "snapcfg:%s", d->name);
    call *c = call_new(r, d->name, app);
    c->desc = strcmp(order, "desc") == 0;
    c->num = num;
    c->size = size;
    /* At most SNAP_MAX_PER_DOMAIN fields: one bounded reply. */
    if (le_store_cmd(describe_cb, c, "HGETALL %s", key) != 0) {
        le_params_unavailable(r);
        free(c);
    }
}

/* ---- DescribeLiveStreamSnapshotInfo: the index, Limit entries from
 * StartTime, NextStartTime when there are more up to EndTime ---- */

static void info_cb(redisReply *rep, void *arg)
{
    call *c = arg;
    if (!rep || rep->type != REDIS_REPLY_ARRAY) {
        le_params_unavailable(c->r);
        free(c);
        return;
    }
    le_jv *body = le_jv_obj();
    le_jv *arr = le_jv_set_arr(le_jv_set_obj(body, "LiveStreamSnapshotInfoList"), "LiveStreamSnapshotInfo");
    int64_t listed = 0;
    char ts[21];
    for (size_t i = 0; i < rep->elements; i++) {
        redisReply *e = rep->element[i];
        le_snap_entry en;
        if (e->type != REDIS_REPLY_STRING || le_snap_entry_from_json(e->str, e->len, &en) != LE_OK)
            continue;
        if (listed == c->size) {
            le_jv_set_str(body, "NextStartTime", le_fmt_utc(en.create_ms, ts));
            break;
        }
        le_jv *o = le_jv_push_obj(arr);
        le_jv_set_str(o, "CreateTime", le_fmt_utc(en.create_ms, ts));
        le_jv_set_str(o, "OssEndpoint", en.oss_endpoint);
        le_jv_set_str(o, "OssBucket", en.oss_bucket);
        le_jv_set_str(o, "OssObject", en.object);
        listed++;
    }
    le_admin_reply(c->r, body);
    free(c);
}

static void describe_info(le_admin_req *r)
{
    le_domain *d;
    const char *app, *stream;
    int64_t start, end, limit = LIMIT_DEFAULT;
    if (le_params_domain_play(r, &d) != 0 || le_params_app_stream(r, &app, &stream) != 0 ||
        le_params_window(r, 1, LE_DAY_MS, 0, &start, &end) != 0)
        return;
    const char *l = le_admin_param(r, "Limit");
    if (l && *l && le_params_int_range(l, 1, LIMIT_MAX, &limit) != LE_OK) {
        le_params_invalid_why(r, "Limit", "from 1 to 100");
        return;
    }
    if (le_params_store(r) != 0)
        return;
    char key[1000], lo[24], hi[24], cnt[24];
    le_store_key(key, sizeof(key), "snapidx:%s/%s/%s", d->name, app, stream);
    snprintf(lo, sizeof(lo), "%lld", (long long)start);
    snprintf(hi, sizeof(hi), "%lld", (long long)end);
    snprintf(cnt, sizeof(cnt), "%lld", (long long)limit + 1);
    call *c = call_new(r, d->name, app);
    c->size = limit;
    const char *argv[] = { "ZRANGEBYSCORE", key, lo, hi, "LIMIT", "0", cnt };
    size_t argvlen[7];
    for (int i = 0; i < 7; i++)
        argvlen[i] = strlen(argv[i]);
    if (le_store_cmdargv(info_cb, c, 7, argv, argvlen) != 0) {
        le_params_unavailable(r);
        free(c);
    }
}

void le_actions_snapshot_register(void)
{
    le_admin_register("AddLiveAppSnapshotConfig", add_config);
    le_admin_register("UpdateLiveAppSnapshotConfig", update_config);
    le_admin_register("DeleteLiveAppSnapshotConfig", delete_config);
    le_admin_register("DescribeLiveSnapshotConfig", describe_config);
    le_admin_register("DescribeLiveStreamSnapshotInfo", describe_info);
}
