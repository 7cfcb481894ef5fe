/* Pull configs (API reference chapter 5): AddLivePullStreamInfoConfig,
 * DeleteLivePullStreamInfoConfig, DescribeLivePullStreamConfig.
 *
 * A config lives in Redis (relay/pull.h has the keys), so every node sees
 * it; a change is announced on the events channel ("pull {domain}") and
 * the nodes' schedulers read the domain's configs again. DomainName is the
 * play domain; a push domain mapped onto one stands for it. Adding a config
 * for an app/stream that has one replaces it. */
#include "admin/actions.h"
#include "admin/admin.h"
#include "admin/params.h"
#include "control/domains.h"
#include "core/err.h"
#include "core/json.h"
#include "core/util.h"
#include "relay/pull.h"
#include "store/store.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct call {
    le_admin_req *r;
    char domain[256];
} call;

static void changed(const char *domain)
{
    le_control_publish_event("pull %s", domain);
    le_pull_rescan(domain);
}

static void add_cb(redisReply *rep, void *arg)
{
    call *c = arg;
    if (le_params_quota_stored(c->r, rep, "QuotaExceeded.PullStream", "pull configs", LE_PULL_MAX_PER_DOMAIN)) {
        changed(c->domain);
        le_admin_reply(c->r, le_jv_obj());
    }
    free(c);
}

static void add_pull(le_admin_req *r)
{
    le_domain *d;
    const char *app, *stream, *src;
    int64_t start, end;
    if (le_params_domain_play(r, &d) != 0 || le_params_app_stream(r, &app, &stream) != 0 ||
        le_admin_require(r, "SourceUrl", &src) != 0 || le_params_time(r, "StartTime", 1, 0, &start) != 0 ||
        le_params_time(r, "EndTime", 1, 0, &end) != 0)
        return;
    le_pull_err err;
    le_pull_sources *ps = le_xmalloc(sizeof(*ps));
    int rc = le_pull_check_window(start, end, le_wall_ms(), &err);
    if (rc == LE_OK)
        rc = le_pull_parse_sources(src, app, stream, ps, &err);
    free(ps);
    if (rc != LE_OK) {
        le_admin_error(r, 400, err.code, err.message);
        return;
    }
    if (le_params_store(r) != 0)
        return;
    char ts[21], field[600], key[600], dkey[300];
    le_jv *o = le_jv_obj();
    le_jv_set_str(o, "DomainName", d->name);
    le_jv_set_str(o, "AppName", app);
    le_jv_set_str(o, "StreamName", stream);
    le_jv_set_str(o, "SourceUrl", src);
    le_jv_set_str(o, "StartTime", le_fmt_utc(start, ts));
    le_jv_set_str(o, "EndTime", le_fmt_utc(end, ts));
    le_buf b = { 0 };
    le_jv_to_json(o, &b);
    le_jv_free(o);
    snprintf(field, sizeof(field), "%s/%s", app, stream);
    le_pull_key(key, sizeof(key), d->name);
    le_pull_domains_key(dkey, sizeof(dkey));
    call *c = le_xcalloc(1, sizeof(*c));
    c->r = r;
    snprintf(c->domain, sizeof(c->domain), "%s", d->name);
    if (le_params_quota_hset(r, add_cb, c, key, dkey, field, (const char *)b.p, b.len, LE_PULL_MAX_PER_DOMAIN,
                             d->name) != 0)
        free(c);
    le_buf_free(&b);
}

static void del_cb(redisReply *rep, void *arg)
{
    call *c = arg;
    if (!rep || rep->type != REDIS_REPLY_INTEGER) {
        le_params_unavailable(c->r);
    } else {
        /* Deleting a config that does not exist is a no-op. */
        if (rep->integer > 0)
            changed(c->domain);
        le_admin_reply(c->r, le_jv_obj());
    }
    free(c);
}

static void delete_pull(le_admin_req *r)
{
    le_domain *d;
    const char *app, *stream;
    if (le_params_domain_play(r, &d) != 0 || le_params_app_stream(r, &app, &stream) != 0 || le_params_store(r) != 0)
        return;
    char field[600], key[600], dkey[300];
    snprintf(field, sizeof(field), "%s/%s", app, stream);
    le_pull_key(key, sizeof(key), d->name);
    le_pull_domains_key(dkey, sizeof(dkey));
    call *c = le_xcalloc(1, sizeof(*c));
    c->r = r;
    snprintf(c->domain, sizeof(c->domain), "%s", d->name);
    if (le_params_quota_hdel(r, del_cb, c, key, dkey, field, d->name) != 0)
        free(c);
}

static int cmp_rec(const void *a, const void *b)
{
    const le_jv *x = *(le_jv *const *)a, *y = *(le_jv *const *)b;
    const char *xa = le_jv_get_str(x, "AppName"), *ya = le_jv_get_str(y, "AppName");
    int c = strcmp(xa ? xa : "", ya ? ya : "");
    if (c)
        return c;
    const char *xs = le_jv_get_str(x, "StreamName"), *ys = le_jv_get_str(y, "StreamName");
    return strcmp(xs ? xs : "", ys ? ys : "");
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
    le_jv **v = le_xcalloc(rep->elements / 2 + 1, sizeof(*v));
    for (size_t i = 0; i + 1 < rep->elements; i += 2) {
        redisReply *e = rep->element[i + 1];
        if (e->type != REDIS_REPLY_STRING)
            continue;
        le_jv *rec = le_jv_parse(e->str, e->len, 4, NULL, 0);
        if (!rec)
            continue;
        /* The stored fields, in the documented order. */
        static const char *const keys[] = { "DomainName", "AppName", "StreamName", "SourceUrl",
                                            "StartTime", "EndTime", NULL };
        le_jv *o = le_jv_obj();
        for (int k = 0; keys[k]; k++)
            le_jv_set_str(o, keys[k], le_jv_get_str(rec, keys[k]));
        le_jv_free(rec);
        v[n++] = o;
    }
    qsort(v, n, sizeof(*v), cmp_rec);
    le_jv *body = le_jv_obj();
    le_jv *arr = le_jv_set_arr(le_jv_set_obj(body, "LiveAppRecordList"), "LiveAppRecord");
    for (size_t i = 0; i < n; i++)
        le_jv_push(arr, v[i]);
    free(v);
    le_admin_reply(c->r, body);
    free(c);
}

static void describe_pull(le_admin_req *r)
{
    le_domain *d;
    if (le_params_domain_play(r, &d) != 0 || le_params_store(r) != 0)
        return;
    char key[600];
    le_pull_key(key, sizeof(key), d->name);
    call *c = le_xcalloc(1, sizeof(*c));
    c->r = r;
    /* At most LE_PULL_MAX_PER_DOMAIN fields: one bounded reply. */
    if (le_store_cmd(describe_cb, c, "HGETALL %s", key) != 0) {
        le_params_unavailable(r);
        free(c);
    }
}

void le_actions_pull_register(void)
{
    le_admin_register("AddLivePullStreamInfoConfig", add_pull);
    le_admin_register("DeleteLivePullStreamInfoConfig", delete_pull);
    le_admin_register("DescribeLivePullStreamConfig", describe_pull);
}
