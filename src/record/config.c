/* Record configs and record notify configs (record/config.h; the Redis keys
 * are listed in docs/CONTRACT.md). */
#include "record/config.h"
#include "core/err.h"
#include "core/json.h"
#include "core/log.h"
#include "core/util.h"
#include "store/store.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const FMT_NAMES[LE_REC_NFMT] = { "flv", "mp4", "m3u8" };

int le_rec_fmt_parse(const char *s)
{
    if (!s)
        return LE_EINVAL;
    for (int i = 0; i < LE_REC_NFMT; i++)
        if (strcasecmp(s, FMT_NAMES[i]) == 0)
            return i;
    return LE_EINVAL;
}

const char *le_rec_fmt_name(int fmt)
{
    return fmt >= 0 && fmt < LE_REC_NFMT ? FMT_NAMES[fmt] : "";
}

int le_rec_config_same(const le_rec_config *a, const le_rec_config *b)
{
    if (strcmp(a->oss_bucket, b->oss_bucket) != 0 || strcmp(a->oss_endpoint, b->oss_endpoint) != 0 ||
        a->nformats != b->nformats)
        return 0;
    for (int i = 0; i < a->nformats && i < LE_REC_NFMT; i++) {
        const le_rec_format *x = &a->formats[i], *y = &b->formats[i];
        if (x->fmt != y->fmt || x->cycle_s != y->cycle_s || strcmp(x->prefix, y->prefix) != 0 ||
            strcmp(x->slice_prefix, y->slice_prefix) != 0)
            return 0;
    }
    return 1;
}

void le_rec_config_field(const char *app, const char *stream, char *out, size_t n)
{
    snprintf(out, n, "%s/%s", app ? app : "", stream ? stream : "");
}

static const char *utc_or_empty(int64_t ms, char ts[21])
{
    if (!ms) {
        ts[0] = '\0';
        return ts;
    }
    return le_fmt_utc(ms, ts);
}

void le_rec_config_to_json(le_buf *out, const le_rec_config *c)
{
    char ts[21];
    le_jv *o = le_jv_obj();
    le_jv_set_str(o, "DomainName", c->domain);
    le_jv_set_str(o, "AppName", c->app);
    le_jv_set_str(o, "StreamName", c->stream);
    le_jv_set_str(o, "OssEndpoint", c->oss_endpoint);
    le_jv_set_str(o, "OssBucket", c->oss_bucket);
    le_jv_set_int(o, "OnDemand", c->on_demand);
    le_jv_set_str(o, "StartTime", utc_or_empty(c->start_ms, ts));
    le_jv_set_str(o, "EndTime", utc_or_empty(c->end_ms, ts));
    le_jv_set_str(o, "CreateTime", utc_or_empty(c->create_ms, ts));
    le_jv *arr = le_jv_set_arr(le_jv_set_obj(o, "RecordFormatList"), "RecordFormat");
    for (int i = 0; i < c->nformats && i < LE_REC_NFMT; i++) {
        const le_rec_format *f = &c->formats[i];
        le_jv *e = le_jv_push_obj(arr);
        le_jv_set_str(e, "Format", le_rec_fmt_name(f->fmt));
        le_jv_set_str(e, "OssObjectPrefix", f->prefix);
        le_jv_set_str(e, "SliceOssObjectPrefix", f->slice_prefix);
        le_jv_set_int(e, "CycleDuration", f->cycle_s);
    }
    le_jv_to_json(o, out);
    le_jv_free(o);
}

/* A string member into out (n bytes): LE_OK; LE_EPROTO if it is not a
 * string or does not fit; absent: "" when optional. */
static int get_str(const le_jv *o, const char *key, int required, char *out, size_t n)
{
    int rc = le_jv_copy_str(o, key, out, n);
    return rc == LE_ENOTFOUND && !required ? LE_OK : rc == LE_ENOTFOUND ? LE_EPROTO : rc;
}

static int get_time(const le_jv *o, const char *key, int64_t *ms)
{
    char s[32];
    *ms = 0;
    if (get_str(o, key, 0, s, sizeof(s)) != LE_OK)
        return LE_EPROTO;
    if (s[0] && le_parse_utc(s, ms) != 0)
        return LE_EPROTO;
    return LE_OK;
}

static int prefix_ok(const char *p)
{
    return !p[0] || le_rec_tmpl_check(p, NULL, 0) == LE_OK;
}

static int format_from(const le_jv *e, le_rec_format *f)
{
    char name[8];
    int64_t cycle = LE_REC_CYCLE_DEFAULT_S;
    if (!e || e->type != LE_JV_OBJ || get_str(e, "Format", 1, name, sizeof(name)) != LE_OK)
        return LE_EPROTO;
    f->fmt = le_rec_fmt_parse(name);
    int rc = le_jv_get_int(e, "CycleDuration", &cycle);
    if (f->fmt < 0 || rc == LE_EINVAL || cycle < LE_REC_CYCLE_MIN_S || cycle > LE_REC_CYCLE_MAX_S)
        return LE_EPROTO;
    f->cycle_s = (int)cycle;
    if (get_str(e, "OssObjectPrefix", 0, f->prefix, sizeof(f->prefix)) != LE_OK ||
        get_str(e, "SliceOssObjectPrefix", 0, f->slice_prefix, sizeof(f->slice_prefix)) != LE_OK ||
        !prefix_ok(f->prefix) || !prefix_ok(f->slice_prefix))
        return LE_EPROTO;
    return LE_OK;
}

static int config_from(const le_jv *o, le_rec_config *c)
{
    memset(c, 0, sizeof(*c));
    if (!o || o->type != LE_JV_OBJ)
        return LE_EPROTO;
    if (get_str(o, "DomainName", 1, c->domain, sizeof(c->domain)) != LE_OK || !c->domain[0] ||
        get_str(o, "AppName", 1, c->app, sizeof(c->app)) != LE_OK || !c->app[0] ||
        get_str(o, "StreamName", 0, c->stream, sizeof(c->stream)) != LE_OK ||
        get_str(o, "OssEndpoint", 0, c->oss_endpoint, sizeof(c->oss_endpoint)) != LE_OK ||
        get_str(o, "OssBucket", 0, c->oss_bucket, sizeof(c->oss_bucket)) != LE_OK ||
        get_time(o, "StartTime", &c->start_ms) != LE_OK || get_time(o, "EndTime", &c->end_ms) != LE_OK ||
        get_time(o, "CreateTime", &c->create_ms) != LE_OK)
        return LE_EPROTO;
    int64_t od = 0;
    int rc = le_jv_get_int(o, "OnDemand", &od);
    if (rc == LE_ENOTFOUND)
        rc = le_jv_get_int(o, "OnDemond", &od);    /* the spelling of some cloud answers */
    if (rc == LE_EINVAL || od < LE_REC_ONDEMAND_OFF || od > LE_REC_ONDEMAND_ARG)
        return LE_EPROTO;
    c->on_demand = (int)od;
    /* {"RecordFormat":[...]} as rendered; a bare array is read too. */
    const le_jv *list = le_jv_get(o, "RecordFormatList");
    if (list && list->type == LE_JV_OBJ)
        list = le_jv_get(list, "RecordFormat");
    if (!list)
        return LE_OK;
    if (list->type != LE_JV_ARR || list->n > LE_REC_NFMT)
        return LE_EPROTO;
    unsigned seen = 0;
    for (const le_jv *e = list->first; e; e = e->next) {
        le_rec_format *f = &c->formats[c->nformats];
        if (format_from(e, f) != LE_OK || (seen & (1u << f->fmt)))
            return LE_EPROTO;
        seen |= 1u << f->fmt;
        c->nformats++;
    }
    return LE_OK;
}

int le_rec_config_from_json(const char *js, size_t n, le_rec_config *out)
{
    le_jv *o = le_jv_parse(js, n, 4, NULL, 0);
    int rc = config_from(o, out);
    le_jv_free(o);
    return rc;
}

void le_rec_notify_to_json(le_buf *out, const le_rec_notify_cfg *c)
{
    le_jv *o = le_jv_obj();
    le_jv_set_str(o, "DomainName", c->domain);
    le_jv_set_str(o, "NotifyUrl", c->notify_url);
    le_jv_set_str(o, "OnDemandUrl", c->on_demand_url);
    le_jv_set_bool(o, "NeedStatusNotify", c->need_status);
    le_jv_to_json(o, out);
    le_jv_free(o);
}

int le_rec_notify_from_json(const char *js, size_t n, le_rec_notify_cfg *out)
{
    memset(out, 0, sizeof(*out));
    le_jv *o = le_jv_parse(js, n, 1, NULL, 0);
    int rc = LE_EPROTO;
    if (o && o->type == LE_JV_OBJ && get_str(o, "DomainName", 1, out->domain, sizeof(out->domain)) == LE_OK &&
        get_str(o, "NotifyUrl", 0, out->notify_url, sizeof(out->notify_url)) == LE_OK &&
        get_str(o, "OnDemandUrl", 0, out->on_demand_url, sizeof(out->on_demand_url)) == LE_OK) {
        const le_jv *b = le_jv_get(o, "NeedStatusNotify");
        if (!b || b->type == LE_JV_BOOL) {
            out->need_status = b ? b->i != 0 : 0;
            rc = LE_OK;
        }
    }
    le_jv_free(o);
    return rc;
}

/* ---- a caster's RecordConfig ---- */

/* The first of the names that o has. */
static const le_jv *get_any(const le_jv *o, const char *const *names)
{
    for (; *names; names++) {
        const le_jv *v = le_jv_get(o, *names);
        if (v)
            return v;
    }
    return NULL;
}

static int bad(char *why, size_t n, const char *fmt, const char *arg)
{
    if (why && n)
        snprintf(why, n, fmt, arg);
    return LE_EINVAL;
}

/* A prefix template: {StartTime} and {EndTime} (the API reference's
 * example) become {EscapedStartTime} and {EscapedEndTime}. */
static int caster_prefix(const le_jv *v, const char *what, char *out, size_t n, char *why, size_t whylen)
{
    out[0] = '\0';
    if (!v)
        return LE_OK;
    if (v->type != LE_JV_STR)
        return bad(why, whylen, "%s is not a string", what);
    size_t o = 0;
    for (const char *p = v->s; *p;) {
        const char *rep = NULL;
        size_t skip = 1;
        if (strncmp(p, "{StartTime}", 11) == 0) {
            rep = "{EscapedStartTime}";
            skip = 11;
        } else if (strncmp(p, "{EndTime}", 9) == 0) {
            rep = "{EscapedEndTime}";
            skip = 9;
        }
        size_t l = rep ? strlen(rep) : 1;
        if (o + l >= n || o + l >= LE_REC_KEY_MAX)
            return bad(why, whylen, "%s is too long", what);
        memcpy(out + o, rep ? rep : p, l);
        o += l;
        p += skip;
    }
    out[o] = '\0';
    char tw[128];
    if (out[0] && le_rec_tmpl_check(out, tw, sizeof(tw)) != LE_OK) {
        if (why && whylen)
            snprintf(why, whylen, "%s: %s", what, tw);
        return LE_EINVAL;
    }
    return LE_OK;
}

int le_rec_config_from_caster(const le_jv *rc, le_rec_config *out, char *why, size_t whylen)
{
    static const char *const VF[] = { "VideoFormat", "videoFormat", "VideoFormats", NULL };
    static const char *const FMT[] = { "Format", "format", NULL };
    static const char *const PFX[] = { "OssObjectPrefix", "Prefix", "prefix", "ossObjectPrefix", NULL };
    static const char *const SPFX[] = { "SliceOssObjectPrefix", "SlicePrefix", "slicePrefix",
                                        "sliceOssObjectPrefix", NULL };
    static const char *const CYC[] = { "CycleDuration", "Interval", "interval", "cycleDuration", NULL };
    static const char *const BKT[] = { "OssBucket", "ossBucket", NULL };
    static const char *const EP[] = { "OssEndpoint", "Endpoint", "endpoint", "ossEndpoint", NULL };
    memset(out, 0, sizeof(*out));
    if (why && whylen)
        why[0] = '\0';
    if (!rc || rc->type != LE_JV_OBJ)
        return LE_ENOTFOUND;
    const le_jv *list = get_any(rc, VF);
    if (!list || (list->type == LE_JV_ARR && list->n == 0))
        return LE_ENOTFOUND;
    if (list->type != LE_JV_ARR)
        return bad(why, whylen, "%s", "VideoFormat is not an array");
    if (list->n > LE_REC_NFMT)
        return bad(why, whylen, "%s", "VideoFormat has more than three formats");
    const le_jv *b = get_any(rc, BKT), *ep = get_any(rc, EP);
    if (b && (b->type != LE_JV_STR || (b->s[0] && (strlen(b->s) < 3 || strlen(b->s) > 63 ||
                                                   strspn(b->s, "abcdefghijklmnopqrstuvwxyz0123456789-") !=
                                                       strlen(b->s)))))
        return bad(why, whylen, "%s", "OssBucket is not 3 to 63 of a-z, 0-9 and -");
    if (b)
        snprintf(out->oss_bucket, sizeof(out->oss_bucket), "%s", b->s);
    if (ep && (ep->type != LE_JV_STR || strlen(ep->s) >= sizeof(out->oss_endpoint)))
        return bad(why, whylen, "%s", "OssEndpoint is not a string of at most 255 bytes");
    if (ep)
        snprintf(out->oss_endpoint, sizeof(out->oss_endpoint), "%s", ep->s);
    unsigned seen = 0;
    for (const le_jv *e = list->first; e; e = e->next) {
        if (e->type != LE_JV_OBJ)
            return bad(why, whylen, "%s", "a VideoFormat entry is not an object");
        le_rec_format *f = &out->formats[out->nformats];
        const le_jv *fv = get_any(e, FMT), *cv = get_any(e, CYC);
        f->fmt = fv && fv->type == LE_JV_STR ? le_rec_fmt_parse(fv->s) : LE_EINVAL;
        if (f->fmt < 0)
            return bad(why, whylen, "%s", "Format is not flv, mp4 or m3u8");
        if (seen & (1u << f->fmt))
            return bad(why, whylen, "Format %s is given twice", le_rec_fmt_name(f->fmt));
        seen |= 1u << f->fmt;
        int64_t cyc = LE_REC_CYCLE_DEFAULT_S;
        if (cv && cv->type == LE_JV_INT)
            cyc = cv->i;
        else if (cv && cv->type == LE_JV_STR && cv->s[0] && strspn(cv->s, "0123456789") == strlen(cv->s) &&
                 strlen(cv->s) < 10)
            cyc = strtoll(cv->s, NULL, 10);
        else if (cv)
            cyc = -1;
        if (cyc < LE_REC_CYCLE_MIN_S || cyc > LE_REC_CYCLE_MAX_S)
            return bad(why, whylen, "%s", "CycleDuration is not 5 to 21600 seconds");
        f->cycle_s = (int)cyc;
        int r = caster_prefix(get_any(e, PFX), "OssObjectPrefix", f->prefix, sizeof(f->prefix), why, whylen);
        if (r == LE_OK)
            r = caster_prefix(get_any(e, SPFX), "SliceOssObjectPrefix", f->slice_prefix, sizeof(f->slice_prefix),
                              why, whylen);
        if (r != LE_OK)
            return r;
        if (f->fmt != LE_REC_M3U8)
            f->slice_prefix[0] = '\0';
        else if (f->slice_prefix[0] && !strstr(f->slice_prefix, "{UnixTimestamp}") &&
                 !strstr(f->slice_prefix, "{Sequence}"))
            return bad(why, whylen, "%s", "SliceOssObjectPrefix has neither {UnixTimestamp} nor {Sequence}");
        out->nformats++;
    }
    out->on_demand = LE_REC_ONDEMAND_OFF;
    return LE_OK;
}

const le_rec_config *le_rec_config_pick(const le_rec_config *stream_lvl, const le_rec_config *app_lvl,
                                        const le_rec_config *any_app, int64_t now_ms)
{
    if (stream_lvl && (!stream_lvl->start_ms || now_ms >= stream_lvl->start_ms) &&
        (!stream_lvl->end_ms || now_ms < stream_lvl->end_ms))
        return stream_lvl;
    return app_lvl ? app_lvl : any_app;
}

/* ---- lookup: HMGET of the three fields and GET of the notify config,
 * pipelined on the command connection; the answer once both replied. ---- */

typedef struct lookup {
    le_rec_lookup_cb cb;
    void *arg;
    int64_t now_ms;
    int pending, failed;
    int have[3], have_notify;
    le_rec_config cfg[3];
    le_rec_notify_cfg notify;
    char domain[256], app[256], stream[256];
} lookup;

static void lookup_finish(lookup *l)
{
    if (l->failed) {
        l->cb(LE_EIO, NULL, NULL, l->arg);
    } else {
        const le_rec_config *c = le_rec_config_pick(l->have[0] ? &l->cfg[0] : NULL, l->have[1] ? &l->cfg[1] : NULL,
                                                    l->have[2] ? &l->cfg[2] : NULL, l->now_ms);
        l->cb(LE_OK, c, l->have_notify ? &l->notify : NULL, l->arg);
    }
    free(l);
}

static void hmget_cb(redisReply *rep, void *arg)
{
    lookup *l = arg;
    if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements != 3) {
        l->failed = 1;
    } else {
        for (int i = 0; i < 3; i++) {
            redisReply *e = rep->element[i];
            if (e->type != REDIS_REPLY_STRING)
                continue;
            if (le_rec_config_from_json(e->str, e->len, &l->cfg[i]) == LE_OK)
                l->have[i] = 1;
            else
                le_warn("record", "record config %d of %s/%s/%s is not readable JSON: ignored", i, l->domain,
                        l->app, l->stream);
        }
    }
    if (--l->pending == 0)
        lookup_finish(l);
}

static void get_cb(redisReply *rep, void *arg)
{
    lookup *l = arg;
    if (!rep || (rep->type != REDIS_REPLY_STRING && rep->type != REDIS_REPLY_NIL)) {
        l->failed = 1;
    } else if (rep->type == REDIS_REPLY_STRING) {
        if (le_rec_notify_from_json(rep->str, rep->len, &l->notify) == LE_OK)
            l->have_notify = 1;
        else
            le_warn("record", "record notify config of %s is not readable JSON: ignored", l->domain);
    }
    if (--l->pending == 0)
        lookup_finish(l);
}

int le_rec_config_lookup(const char *domain, const char *app, const char *stream, int64_t now_ms,
                         le_rec_lookup_cb cb, void *arg)
{
    char key[600], nkey[600], f0[600], f1[300];
    le_store_key(key, sizeof(key), "reccfg:%s", domain);
    le_store_key(nkey, sizeof(nkey), "recnotify:%s", domain);
    le_rec_config_field(app, stream, f0, sizeof(f0));
    le_rec_config_field(app, "", f1, sizeof(f1));
    lookup *l = le_xcalloc(1, sizeof(*l));
    l->cb = cb;
    l->arg = arg;
    l->now_ms = now_ms;
    snprintf(l->domain, sizeof(l->domain), "%s", domain);
    snprintf(l->app, sizeof(l->app), "%s", app);
    snprintf(l->stream, sizeof(l->stream), "%s", stream);
    l->pending = 2;
    if (le_store_cmd(hmget_cb, l, "HMGET %s %s %s %s", key, f0, f1, "*/") != 0) {
        free(l);
        return LE_EIO;
    }
    if (le_store_cmd(get_cb, l, "GET %s", nkey) != 0) {
        /* The HMGET answer still comes: it finishes the lookup as failed. */
        l->failed = 1;
        l->pending--;
    }
    return LE_OK;
}
