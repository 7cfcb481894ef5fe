/* Snapshot configs and index entries (snapshot/config.h). */
#include "snapshot/config.h"
#include "core/err.h"
#include "core/json.h"
#include "core/log.h"
#include "store/store.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int le_snap_tmpl_check(const char *tmpl, int sequence, char *why, size_t whylen)
{
    if (le_rec_tmpl_check(tmpl, why, whylen) != LE_OK)
        return LE_EINVAL;
    int has_var = 0;
    for (const char *p = strchr(tmpl, '{'); p; p = strchr(p + 1, '{')) {
        if (strncmp(p, "{AppName}", 9) == 0 || strncmp(p, "{StreamName}", 12) == 0)
            continue;
        if (sequence && (strncmp(p, "{UnixTimestamp}", 15) == 0 || strncmp(p, "{Sequence}", 10) == 0)) {
            has_var = 1;
            continue;
        }
        if (why)
            snprintf(why, whylen, "%s", sequence ? "only {AppName}, {StreamName}, {UnixTimestamp} and {Sequence}"
                                                  : "only {AppName} and {StreamName}");
        return LE_EINVAL;
    }
    if (sequence && !has_var) {
        if (why)
            snprintf(why, whylen, "it must contain {UnixTimestamp} or {Sequence}");
        return LE_EINVAL;
    }
    return LE_OK;
}

void le_snap_config_to_json(le_buf *out, const le_snap_config *c)
{
    char ts[21];
    le_jv *o = le_jv_obj();
    le_jv_set_str(o, "DomainName", c->domain);
    le_jv_set_str(o, "AppName", c->app);
    le_jv_set_int(o, "TimeInterval", c->interval_s);
    le_jv_set_str(o, "CreateTime", c->create_ms ? le_fmt_utc(c->create_ms, ts) : "");
    le_jv_set_str(o, "OssEndpoint", c->oss_endpoint);
    le_jv_set_str(o, "OssBucket", c->oss_bucket);
    le_jv_set_str(o, "OverwriteOssObject", c->overwrite);
    le_jv_set_str(o, "SequenceOssObject", c->sequence);
    le_jv_to_json(o, out);
    le_jv_free(o);
}

static int get_str(const le_jv *o, const char *key, int required, char *out, size_t n)
{
    int rc = le_jv_copy_str(o, key, out, n);
    if (rc == LE_ENOTFOUND)
        return required ? LE_EPROTO : LE_OK;
    return rc == LE_OK ? LE_OK : LE_EPROTO;
}

static int config_from(const le_jv *o, le_snap_config *c)
{
    char ts[32] = "";
    int64_t iv = 0;
    if (!o || o->type != LE_JV_OBJ || get_str(o, "DomainName", 1, c->domain, sizeof(c->domain)) != LE_OK ||
        !c->domain[0] || get_str(o, "AppName", 1, c->app, sizeof(c->app)) != LE_OK || !c->app[0] ||
        get_str(o, "OssEndpoint", 0, c->oss_endpoint, sizeof(c->oss_endpoint)) != LE_OK ||
        get_str(o, "OssBucket", 0, c->oss_bucket, sizeof(c->oss_bucket)) != LE_OK ||
        get_str(o, "OverwriteOssObject", 0, c->overwrite, sizeof(c->overwrite)) != LE_OK ||
        get_str(o, "SequenceOssObject", 0, c->sequence, sizeof(c->sequence)) != LE_OK ||
        get_str(o, "CreateTime", 0, ts, sizeof(ts)) != LE_OK || le_jv_get_int(o, "TimeInterval", &iv) != LE_OK)
        return LE_EPROTO;
    if (iv < LE_SNAP_INTERVAL_MIN_S || iv > LE_SNAP_INTERVAL_MAX_S || (ts[0] && le_parse_utc(ts, &c->create_ms) != 0))
        return LE_EPROTO;
    c->interval_s = (int)iv;
    if ((c->overwrite[0] && le_snap_tmpl_check(c->overwrite, 0, NULL, 0) != LE_OK) ||
        (c->sequence[0] && le_snap_tmpl_check(c->sequence, 1, NULL, 0) != LE_OK))
        return LE_EPROTO;
    return LE_OK;
}

int le_snap_config_from_json(const char *js, size_t n, le_snap_config *out)
{
    memset(out, 0, sizeof(*out));
    le_jv *o = le_jv_parse(js, n, 2, NULL, 0);
    int rc = config_from(o, out);
    le_jv_free(o);
    return rc;
}

void le_snap_entry_to_json(le_buf *out, const le_snap_entry *e)
{
    le_jv *o = le_jv_obj();
    le_jv_set_int(o, "t", e->create_ms);
    le_jv_set_str(o, "endpoint", e->oss_endpoint);
    le_jv_set_str(o, "bucket", e->oss_bucket);
    le_jv_set_str(o, "object", e->object);
    le_jv_to_json(o, out);
    le_jv_free(o);
}

int le_snap_entry_from_json(const char *js, size_t n, le_snap_entry *out)
{
    memset(out, 0, sizeof(*out));
    le_jv *o = le_jv_parse(js, n, 2, NULL, 0);
    int rc = LE_EPROTO;
    if (o && o->type == LE_JV_OBJ && le_jv_get_int(o, "t", &out->create_ms) == LE_OK && out->create_ms > 0 &&
        get_str(o, "endpoint", 0, out->oss_endpoint, sizeof(out->oss_endpoint)) == LE_OK &&
        get_str(o, "bucket", 0, out->oss_bucket, sizeof(out->oss_bucket)) == LE_OK &&
        get_str(o, "object", 1, out->object, sizeof(out->object)) == LE_OK)
        rc = LE_OK;
    le_jv_free(o);
    return rc;
}

typedef struct lookup {
    le_snap_lookup_cb cb;
    void *arg;
    char domain[256], app[256];
} lookup;

static void hmget_cb(redisReply *rep, void *arg)
{
    lookup *l = arg;
    if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements != 2) {
        l->cb(LE_EIO, NULL, l->arg);
        free(l);
        return;
    }
    le_snap_config c;
    const le_snap_config *found = NULL;
    for (int i = 0; i < 2 && !found; i++) {
        redisReply *e = rep->element[i];
        if (e->type != REDIS_REPLY_STRING)
            continue;
        if (le_snap_config_from_json(e->str, e->len, &c) == LE_OK)
            found = &c;
        else
            le_warn("snapshot", "snapshot config %s/%s is not readable JSON: ignored", l->domain,
                    i ? "*" : l->app);
    }
    l->cb(LE_OK, found, l->arg);
    free(l);
}

int le_snap_config_lookup(const char *domain, const char *app, le_snap_lookup_cb cb, void *arg)
{
    char key[600];
    le_store_key(key, sizeof(key), "snapcfg:%s", domain);
    lookup *l = le_xcalloc(1, sizeof(*l));
    l->cb = cb;
    l->arg = arg;
    snprintf(l->domain, sizeof(l->domain), "%s", domain);
    snprintf(l->app, sizeof(l->app), "%s", app);
    if (le_store_cmd(hmget_cb, l, "HMGET %s %s %s", key, app, "*") != 0) {
        free(l);
        return LE_EIO;
    }
    return LE_OK;
}
