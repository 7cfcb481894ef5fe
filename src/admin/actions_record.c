/* Recording configs and commands (API reference chapter 11):
 * AddLiveAppRecordConfig, DeleteLiveAppRecordConfig, DescribeLiveRecordConfig,
 * AddLiveRecordNotifyConfig, UpdateLiveRecordNotifyConfig,
 * DeleteLiveRecordNotifyConfig, DescribeLiveRecordNotifyConfig and
 * RealTimeRecordCommand (livedge(8), docs/CONTRACT.md).
 *
 * The configs live in Redis (record/config.h has the keys), so every node
 * sees them; the recorder reads them when a publish starts, nothing is
 * announced. DomainName is the play domain; a push domain mapped onto one
 * stands for it. RealTimeRecordCommand only sends: it finds the node holding
 * the publisher, claims the task key and publishes the command on the
 * record command channel, where that node's recorder runs it. */
#include "admin/actions.h"
#include "admin/admin.h"
#include "admin/params.h"
#include "control/cluster.h"
#include "control/domains.h"
#include "core/err.h"
#include "core/json.h"
#include "core/util.h"
#include "media/stream.h"
#include "record/config.h"
#include "record/tmpl.h"
#include "store/store.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define REC_MAX_PER_DOMAIN 1000          /* record configs of one domain at most */
#define REC_WINDOW_MAX_MS (15 * LE_DAY_MS)

typedef struct call {
    le_admin_req *r;
    char domain[256];
    char app[256];          /* Describe: the AppName filter, "" for none */
    int desc;
    int64_t num, size;
    le_rec_notify_cfg upd;  /* Update: the parameters given */
    int has_url, has_od, has_status;
} call;

static call *call_new(le_admin_req *r, const char *domain)
{
    call *c = le_xcalloc(1, sizeof(*c));
    c->r = r;
    snprintf(c->domain, sizeof(c->domain), "%s", domain);
    return c;
}

static int app_ok(const char *app)
{
    return strcmp(app, "*") == 0 || le_name_valid(app, strlen(app));
}

/* The RecordFormat.N.* parameters, N = 1..LE_REC_NFMT. */
static int parse_formats(le_admin_req *r, le_rec_config *c)
{
    char name[64], why[128];
    unsigned seen = 0;
    for (int n = LE_REC_NFMT + 1; n <= 20; n++) {
        snprintf(name, sizeof(name), "RecordFormat.%d.Format", n);
        if (le_admin_param(r, name)) {
            le_params_invalid_why(r, name, "at most 3 formats (N = 1..3)");
            return LE_EINVAL;
        }
    }
    for (int n = 1; n <= LE_REC_NFMT; n++) {
        const char *fmt, *cyc, *pre, *spre;
        snprintf(name, sizeof(name), "RecordFormat.%d.Format", n);
        fmt = le_admin_param(r, name);
        snprintf(name, sizeof(name), "RecordFormat.%d.CycleDuration", n);
        cyc = le_admin_param(r, name);
        snprintf(name, sizeof(name), "RecordFormat.%d.OssObjectPrefix", n);
        pre = le_admin_param(r, name);
        snprintf(name, sizeof(name), "RecordFormat.%d.SliceOssObjectPrefix", n);
        spre = le_admin_param(r, name);
        if (!fmt && !cyc && !pre && !spre)
            continue;
        snprintf(name, sizeof(name), "RecordFormat.%d.Format", n);
        if (le_admin_require(r, name, &fmt) != 0)
            return LE_EINVAL;
        le_rec_format *f = &c->formats[c->nformats];
        f->fmt = le_rec_fmt_parse(fmt);
        if (f->fmt < 0) {
            le_params_invalid_why(r, name, "one of flv, mp4, m3u8");
            return LE_EINVAL;
        }
        if (seen & (1u << f->fmt)) {
            le_params_invalid_why(r, name, "each format at most once");
            return LE_EINVAL;
        }
        seen |= 1u << f->fmt;
        int64_t cycle = LE_REC_CYCLE_DEFAULT_S;
        if (cyc && *cyc && le_params_int_range(cyc, LE_REC_CYCLE_MIN_S, LE_REC_CYCLE_MAX_S, &cycle) != 0) {
            snprintf(name, sizeof(name), "RecordFormat.%d.CycleDuration", n);
            le_params_invalid_why(r, name, "seconds from 5 to 21600");
            return LE_EINVAL;
        }
        f->cycle_s = (int)cycle;
        if (pre && *pre) {
            if (le_rec_tmpl_check(pre, why, sizeof(why)) != LE_OK) {
                snprintf(name, sizeof(name), "RecordFormat.%d.OssObjectPrefix", n);
                le_params_invalid_why(r, name, why);
                return LE_EINVAL;
            }
            snprintf(f->prefix, sizeof(f->prefix), "%s", pre);
        }
        if (spre && *spre) {
            snprintf(name, sizeof(name), "RecordFormat.%d.SliceOssObjectPrefix", n);
            if (le_rec_tmpl_check(spre, why, sizeof(why)) != LE_OK) {
                le_params_invalid_why(r, name, why);
                return LE_EINVAL;
            }
            /* Every slice needs its own key. */
            if (!strstr(spre, "{UnixTimestamp}") && !strstr(spre, "{Sequence}")) {
                le_params_invalid_why(r, name, "it must contain {UnixTimestamp} or {Sequence}");
                return LE_EINVAL;
            }
            snprintf(f->slice_prefix, sizeof(f->slice_prefix), "%s", spre);
        }
        c->nformats++;
    }
    if (c->nformats == 0) {
        const char *dummy;
        le_admin_require(r, "RecordFormat.1.Format", &dummy);   /* answers MissingParameter */
        return LE_EINVAL;
    }
    return LE_OK;
}

static void add_cb(redisReply *rep, void *arg)
{
    call *c = arg;
    if (le_params_quota_stored(c->r, rep, "QuotaExceeded.RecordConfig", "record configs", REC_MAX_PER_DOMAIN))
        le_admin_reply(c->r, le_jv_obj());
    free(c);
}

static void add_config(le_admin_req *r)
{
    le_domain *d;
    const char *app, *bucket, *endpoint;
    if (le_params_domain_play(r, &d) != 0 || le_admin_require(r, "AppName", &app) != 0 ||
        le_admin_require(r, "OssBucket", &bucket) != 0 || le_admin_require(r, "OssEndpoint", &endpoint) != 0)
        return;
    const char *stream = le_admin_param(r, "StreamName");
    if (stream && !*stream)
        stream = NULL;
    if (!app_ok(app)) {
        le_params_invalid(r, "AppName");
        return;
    }
    if (stream && !le_name_valid(stream, strlen(stream))) {
        le_params_invalid(r, "StreamName");
        return;
    }
    if (stream && strcmp(app, "*") == 0) {
        le_params_invalid_why(r, "StreamName", "a stream-level config needs an AppName, not *");
        return;
    }
    if (!le_params_bucket_ok(bucket)) {
        le_params_invalid_why(r, "OssBucket", "3 to 63 of a-z, 0-9 and -, not starting or ending with -");
        return;
    }
    if (!le_params_endpoint_ok(endpoint)) {
        le_params_invalid(r, "OssEndpoint");
        return;
    }
    int64_t od = 0, start, end, now = le_wall_ms();
    const char *ods = le_admin_param(r, "OnDemand");
    if (ods && *ods && le_params_int_range(ods, 0, 2, &od) != 0) {
        le_params_invalid_why(r, "OnDemand", "0, 1 or 2");
        return;
    }
    if (le_params_time(r, "StartTime", 0, 0, &start) != 0 || le_params_time(r, "EndTime", 0, 0, &end) != 0)
        return;
    if ((start || end) && !stream) {
        le_params_invalid_why(r, start ? "StartTime" : "EndTime", "only a stream-level config (StreamName) has a window");
        return;
    }
    if (start > now + REC_WINDOW_MAX_MS || end > now + REC_WINDOW_MAX_MS) {
        le_params_invalid_why(r, start > now + REC_WINDOW_MAX_MS ? "StartTime" : "EndTime", "more than 15 days from now");
        return;
    }
    if (start && end && end <= start) {
        le_admin_error(r, 400, "InvalidEndTime.Mismatch",
                       "Specified end time does not match the specified start time (EndTime is not later).");
        return;
    }
    if (end && end <= now) {
        le_params_invalid_why(r, "EndTime", "it is not in the future");
        return;
    }
    le_rec_config *c = le_xcalloc(1, sizeof(*c));
    snprintf(c->domain, sizeof(c->domain), "%s", d->name);
    snprintf(c->app, sizeof(c->app), "%s", app);
    snprintf(c->stream, sizeof(c->stream), "%s", stream ? stream : "");
    snprintf(c->oss_endpoint, sizeof(c->oss_endpoint), "%s", endpoint);
    snprintf(c->oss_bucket, sizeof(c->oss_bucket), "%s", bucket);
    c->on_demand = (int)od;
    c->start_ms = start;
    c->end_ms = end;
    c->create_ms = now / 1000 * 1000;
    if (parse_formats(r, c) != 0 || le_params_store(r) != 0) {
        free(c);
        return;
    }
    char field[600], key[600], dkey[300];
    le_buf b = { 0 };
    le_rec_config_to_json(&b, c);
    le_rec_config_field(c->app, c->stream, field, sizeof(field));
    free(c);
    le_store_key(key, sizeof(key), "reccfg:%s", d->name);
    le_store_key(dkey, sizeof(dkey), "recdomains");
    call *cl = call_new(r, d->name);
    if (le_params_quota_hset(r, add_cb, cl, key, dkey, field, (const char *)b.p, b.len, REC_MAX_PER_DOMAIN,
                             d->name) != 0)
        free(cl);
    le_buf_free(&b);
}

static void ok_cb(redisReply *rep, void *arg)
{
    call *c = arg;
    if (!rep || rep->type == REDIS_REPLY_ERROR)
        le_params_unavailable(c->r);
    else
        le_admin_reply(c->r, le_jv_obj());   /* deleting what does not exist succeeds too */
    free(c);
}

static void delete_config(le_admin_req *r)
{
    le_domain *d;
    const char *app;
    if (le_params_domain_play(r, &d) != 0 || le_admin_require(r, "AppName", &app) != 0)
        return;
    const char *stream = le_admin_param(r, "StreamName");
    if (!app_ok(app)) {
        le_params_invalid(r, "AppName");
        return;
    }
    if (stream && *stream && !le_name_valid(stream, strlen(stream))) {
        le_params_invalid(r, "StreamName");
        return;
    }
    if (le_params_store(r) != 0)
        return;
    char field[600], key[600], dkey[300];
    le_rec_config_field(app, stream, field, sizeof(field));
    le_store_key(key, sizeof(key), "reccfg:%s", d->name);
    le_store_key(dkey, sizeof(dkey), "recdomains");
    call *c = call_new(r, d->name);
    if (le_params_quota_hdel(r, ok_cb, c, key, dkey, field, d->name) != 0)
        free(c);
}

typedef struct item {
    le_rec_config cfg;
    char field[520];
} item;

static int g_desc;   /* the sort order of the running qsort (the loop is one thread) */

static int cmp_item(const void *a, const void *b)
{
    const item *x = a, *y = b;
    int c = x->cfg.create_ms < y->cfg.create_ms ? -1 : x->cfg.create_ms > y->cfg.create_ms;
    if (!c)
        c = strcmp(x->field, y->field);
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
    item *v = le_xcalloc(rep->elements / 2 + 1, sizeof(*v));
    for (size_t i = 0; i + 1 < rep->elements; i += 2) {
        redisReply *f = rep->element[i], *e = rep->element[i + 1];
        if (f->type != REDIS_REPLY_STRING || e->type != REDIS_REPLY_STRING ||
            le_rec_config_from_json(e->str, e->len, &v[n].cfg) != LE_OK)
            continue;
        if (c->app[0] && strcmp(c->app, v[n].cfg.app) != 0)
            continue;
        snprintf(v[n].field, sizeof(v[n].field), "%.*s", (int)f->len, f->str);
        n++;
    }
    g_desc = c->desc;
    qsort(v, n, sizeof(*v), cmp_item);
    le_jv *body = le_jv_obj();
    le_jv *arr = le_jv_set_arr(le_jv_set_obj(body, "LiveAppRecordList"), "LiveAppRecord");
    int64_t first = (c->num - 1) * c->size;
    for (int64_t i = first; i >= 0 && i < (int64_t)n && i < first + c->size; i++) {
        le_buf b = { 0 };
        le_rec_config_to_json(&b, &v[i].cfg);
        le_jv *o = le_jv_parse((const char *)b.p, b.len, 4, NULL, 0);
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
    if (le_params_domain_play(r, &d) != 0 || le_params_order_page(r, "desc", 5, 30, 10, &order, &num, &size) != 0)
        return;
    const char *app = le_admin_param(r, "AppName");
    if (app && *app && !app_ok(app)) {
        le_params_invalid(r, "AppName");
        return;
    }
    if (le_params_store(r) != 0)
        return;
    char key[600];
    le_store_key(key, sizeof(key), "reccfg:%s", d->name);
    call *c = call_new(r, d->name);
    snprintf(c->app, sizeof(c->app), "%s", app ? app : "");
    c->desc = strcmp(order, "desc") == 0;
    c->num = num;
    c->size = size;
    /* At most REC_MAX_PER_DOMAIN fields: one bounded reply. */
    if (le_store_cmd(describe_cb, c, "HGETALL %s", key) != 0) {
        le_params_unavailable(r);
        free(c);
    }
}

/* ---- notify configs ---- */

static int url_ok(const char *u)
{
    size_t n = strlen(u);
    if (n >= sizeof(((le_rec_notify_cfg *)0)->notify_url))
        return 0;
    size_t p = strncasecmp(u, "http://", 7) == 0 ? 7 : strncasecmp(u, "https://", 8) == 0 ? 8 : 0;
    if (!p || n == p)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)u[i] <= 0x20 || u[i] == 0x7f)
            return 0;
    return 1;
}

/* NeedStatusNotify: true/false (any case). */
static int parse_bool(le_admin_req *r, const char *name, int *out, int *given)
{
    const char *v = le_admin_param(r, name);
    *given = v && *v;
    if (!*given)
        return LE_OK;
    if (strcasecmp(v, "true") == 0)
        *out = 1;
    else if (strcasecmp(v, "false") == 0)
        *out = 0;
    else {
        le_params_invalid_why(r, name, "true or false");
        return LE_EINVAL;
    }
    return LE_OK;
}

/* NotifyUrl / OnDemandUrl when given: 1 given, 0 absent, negative answered. */
static int url_param(le_admin_req *r, const char *name, char *out, size_t n)
{
    const char *v = le_admin_param(r, name);
    if (!v || !*v)
        return 0;
    if (!url_ok(v)) {
        le_params_invalid_why(r, name, "an http:// or https:// URL shorter than 1024 bytes");
        return LE_EINVAL;
    }
    snprintf(out, n, "%s", v);
    return 1;
}

static void store_notify(le_admin_req *r, const le_rec_notify_cfg *n, int xx)
{
    char key[600];
    le_buf b = { 0 };
    le_rec_notify_to_json(&b, n);
    le_store_key(key, sizeof(key), "recnotify:%s", n->domain);
    call *c = call_new(r, n->domain);
    const char *argv[] = { "SET", key, (const char *)b.p, "XX" };
    size_t argvlen[] = { 3, strlen(key), b.len, 2 };
    if (le_store_cmdargv(ok_cb, c, xx ? 4 : 3, argv, argvlen) != 0) {
        le_params_unavailable(r);
        free(c);
    }
    le_buf_free(&b);
}

static void add_notify(le_admin_req *r)
{
    le_domain *d;
    const char *url;
    if (le_params_domain_play(r, &d) != 0 || le_admin_require(r, "NotifyUrl", &url) != 0)
        return;
    le_rec_notify_cfg n = { 0 };
    int given;
    snprintf(n.domain, sizeof(n.domain), "%s", d->name);
    if (url_param(r, "NotifyUrl", n.notify_url, sizeof(n.notify_url)) < 0 ||
        url_param(r, "OnDemandUrl", n.on_demand_url, sizeof(n.on_demand_url)) < 0 ||
        parse_bool(r, "NeedStatusNotify", &n.need_status, &given) != 0 || le_params_store(r) != 0)
        return;
    store_notify(r, &n, 0);    /* adding again replaces */
}

static void not_found(le_admin_req *r, const char *what)
{
    char msg[300];
    snprintf(msg, sizeof(msg), "%s does not exist, please check and try again later.", what);
    le_admin_error(r, 400, "CodeConfigNotFound", msg);
}

static void update_get_cb(redisReply *rep, void *arg)
{
    call *c = arg;
    le_rec_notify_cfg n;
    if (!rep || (rep->type != REDIS_REPLY_STRING && rep->type != REDIS_REPLY_NIL)) {
        le_params_unavailable(c->r);
    } else if (rep->type == REDIS_REPLY_NIL || le_rec_notify_from_json(rep->str, rep->len, &n) != LE_OK) {
        not_found(c->r, "The record notify config of the domain");
    } else {
        snprintf(n.domain, sizeof(n.domain), "%s", c->domain);
        if (c->has_url)
            memcpy(n.notify_url, c->upd.notify_url, sizeof(n.notify_url));
        if (c->has_od)
            memcpy(n.on_demand_url, c->upd.on_demand_url, sizeof(n.on_demand_url));
        if (c->has_status)
            n.need_status = c->upd.need_status;
        store_notify(c->r, &n, 1);   /* XX: a delete meanwhile wins */
    }
    free(c);
}

static void update_notify(le_admin_req *r)
{
    le_domain *d;
    if (le_params_domain_play(r, &d) != 0)
        return;
    call *c = call_new(r, d->name);
    int u = url_param(r, "NotifyUrl", c->upd.notify_url, sizeof(c->upd.notify_url)), o = 0;
    if (u >= 0)
        o = url_param(r, "OnDemandUrl", c->upd.on_demand_url, sizeof(c->upd.on_demand_url));
    if (u < 0 || o < 0 || parse_bool(r, "NeedStatusNotify", &c->upd.need_status, &c->has_status) != 0 ||
        le_params_store(r) != 0) {
        free(c);
        return;
    }
    c->has_url = u;
    c->has_od = o;
    char key[600];
    le_store_key(key, sizeof(key), "recnotify:%s", d->name);
    if (le_store_cmd(update_get_cb, c, "GET %s", key) != 0) {
        le_params_unavailable(r);
        free(c);
    }
}

/* DomainName, then cmd (GET or DEL) on the domain's notify config key;
 * cb gets the reply. */
static void notify_key_cmd(le_admin_req *r, le_store_cb cb, const char *cmd)
{
    le_domain *d;
    if (le_params_domain_play(r, &d) != 0 || le_params_store(r) != 0)
        return;
    char key[600];
    le_store_key(key, sizeof(key), "recnotify:%s", d->name);
    call *c = call_new(r, d->name);
    if (le_store_cmd(cb, c, "%s %s", cmd, key) != 0) {
        le_params_unavailable(r);
        free(c);
    }
}

static void delete_notify(le_admin_req *r)
{
    notify_key_cmd(r, ok_cb, "DEL");
}

static void describe_notify_cb(redisReply *rep, void *arg)
{
    call *c = arg;
    le_rec_notify_cfg n;
    if (!rep || (rep->type != REDIS_REPLY_STRING && rep->type != REDIS_REPLY_NIL)) {
        le_params_unavailable(c->r);
        free(c);
        return;
    }
    le_jv *body = le_jv_obj();
    le_jv *o = le_jv_set_obj(body, "LiveRecordNotifyConfig");
    /* None set: an empty object. */
    if (rep->type == REDIS_REPLY_STRING && le_rec_notify_from_json(rep->str, rep->len, &n) == LE_OK) {
        le_jv_set_str(o, "DomainName", c->domain);
        le_jv_set_str(o, "NotifyUrl", n.notify_url);
        le_jv_set_str(o, "OnDemandUrl", n.on_demand_url);
        le_jv_set_bool(o, "NeedStatusNotify", n.need_status);
    }
    le_admin_reply(c->r, body);
    free(c);
}

static void describe_notify(le_admin_req *r)
{
    notify_key_cmd(r, describe_notify_cb, "GET");
}

/* ---- RealTimeRecordCommand: the error table of the current API reference
 * (MissingParam / MalformedParam / CodeConfigNotFound 400, StreamNotFound /
 * TaskAlreadyStarted 409, InternalError 500). ---- */

static void rtc_error(le_admin_req *r, int status, const char *code, const char *tail, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void rtc_error(le_admin_req *r, int status, const char *code, const char *tail, const char *fmt, ...)
{
    char what[600], msg[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    snprintf(msg, sizeof(msg), "%s, %s", what, tail);
    le_admin_error(r, status, code, msg);
}

#define AGAIN "please check and try again later."

typedef struct rtc {
    le_admin_req *r;
    int start;
    char domain[256], app[256], stream[256];
    char node[256];
    char dask[800];         /* "domain/app/stream" */
    int scans;
} rtc;

static void rtc_internal(rtc *t)
{
    rtc_error(t->r, 500, "InternalError", "error on the live API server.", "The state store did not answer");
    free(t);
}

static void publish_cb(redisReply *rep, void *arg)
{
    rtc *t = arg;
    if (!rep || rep->type != REDIS_REPLY_INTEGER) {
        if (t->start) {
            char key[900];
            le_store_key(key, sizeof(key), "rectask:%s", t->dask);
            le_store_cmd(NULL, NULL, "DEL %s", key);
        }
        rtc_internal(t);
        return;
    }
    le_admin_reply(t->r, le_jv_obj());
    free(t);
}

static void send_command(rtc *t)
{
    char ch[300], msg[1200];
    le_store_key(ch, sizeof(ch), "%s", LE_REC_CMD_CHANNEL);
    snprintf(msg, sizeof(msg), "%s %s %s", t->start ? "start" : "stop", t->node, t->dask);
    if (le_store_cmd(publish_cb, t, "PUBLISH %s %s", ch, msg) != 0)
        rtc_internal(t);
}

static void claim_cb(redisReply *rep, void *arg)
{
    rtc *t = arg;
    if (!rep || (rep->type != REDIS_REPLY_STATUS && rep->type != REDIS_REPLY_NIL)) {
        rtc_internal(t);
    } else if (rep->type == REDIS_REPLY_NIL) {
        rtc_error(t->r, 409, "TaskAlreadyStarted", "please do not start again.",
                  "A recording task of %s/%s has already started", t->app, t->stream);
        free(t);
    } else {
        send_command(t);
    }
}

static void lookup_cb(int rc, const le_rec_config *cfg, const le_rec_notify_cfg *notify, void *arg)
{
    (void)notify;
    rtc *t = arg;
    if (rc != LE_OK) {
        rtc_internal(t);
        return;
    }
    if (!cfg) {
        rtc_error(t->r, 400, "CodeConfigNotFound", AGAIN, "No record config applies to %s/%s", t->app, t->stream);
        free(t);
        return;
    }
    char key[900], val[600];
    le_store_key(key, sizeof(key), "rectask:%s", t->dask);
    le_jv *o = le_jv_obj();
    le_jv_set_str(o, "node", t->node);
    le_jv_set_bool(o, "manual", 1);
    le_jv_set_int(o, "start", le_wall_ms());
    le_jv_set_bool(o, "pending", 1);
    le_buf b = { 0 };
    le_jv_to_json(o, &b);
    le_jv_free(o);
    snprintf(val, sizeof(val), "%.*s", (int)b.len, (const char *)b.p);
    le_buf_free(&b);
    if (le_store_cmd(claim_cb, t, "SET %s %s NX PX %d", key, val, LE_REC_TASK_TTL_MS) != 0)
        rtc_internal(t);
}

/* The stream is live on t->node: start goes on with the config, stop sends. */
static void found_live(rtc *t)
{
    if (!t->start) {
        send_command(t);
        return;
    }
    if (le_rec_config_lookup(t->domain, t->app, t->stream, le_wall_ms(), lookup_cb, t) != LE_OK)
        rtc_internal(t);
}

static int scan_online(rtc *t, const char *cursor);

static void scan_cb(redisReply *rep, void *arg)
{
    rtc *t = arg;
    if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 || rep->element[0]->type != REDIS_REPLY_STRING ||
        rep->element[1]->type != REDIS_REPLY_ARRAY) {
        rtc_internal(t);
        return;
    }
    int64_t now = le_wall_ms();
    redisReply *kv = rep->element[1];
    for (size_t i = 0; i + 1 < kv->elements; i += 2) {
        redisReply *e = kv->element[i + 1];
        if (e->type != REDIS_REPLY_STRING)
            continue;
        le_jv *rec = le_jv_parse(e->str, e->len, 4, NULL, 0);
        int64_t hb = 0;
        const char *node = le_jv_get_str(rec, "Node");
        /* A stale entry belongs to a dead node: it does not count. */
        if (rec && le_jv_get_int(rec, "Heartbeat", &hb) == 0 && now - hb <= LE_CLUSTER_STALE_MS && node &&
            *node && !strchr(node, ' ')) {
            snprintf(t->node, sizeof(t->node), "%s", node);
            le_jv_free(rec);
            found_live(t);
            return;
        }
        le_jv_free(rec);
    }
    const char *cur = rep->element[0]->str;
    if (strcmp(cur, "0") == 0 || ++t->scans >= LE_PARAMS_ONLINE_SCAN_MAX) {
        rtc_error(t->r, 409, "StreamNotFound", AGAIN, "Stream %s/%s is not live", t->app, t->stream);
        free(t);
        return;
    }
    if (scan_online(t, cur) != 0)
        rtc_internal(t);
}

static int scan_online(rtc *t, const char *cursor)
{
    return le_params_scan_online(scan_cb, t, t->dask, cursor);
}

/* Stop: the node a task key names, else the node holding the publisher. */
static void task_get_cb(redisReply *rep, void *arg)
{
    rtc *t = arg;
    if (!rep || (rep->type != REDIS_REPLY_STRING && rep->type != REDIS_REPLY_NIL)) {
        rtc_internal(t);
        return;
    }
    if (rep->type == REDIS_REPLY_STRING) {
        le_jv *o = le_jv_parse(rep->str, rep->len, 2, NULL, 0);
        const char *node = le_jv_get_str(o, "node");
        if (node && *node && !strchr(node, ' ')) {
            snprintf(t->node, sizeof(t->node), "%s", node);
            le_jv_free(o);
            send_command(t);
            return;
        }
        le_jv_free(o);
    }
    if (scan_online(t, "0") != 0)
        rtc_internal(t);
}

static int rtc_param(le_admin_req *r, const char *name, const char **out)
{
    *out = le_admin_param(r, name);
    if (!*out || !**out) {
        rtc_error(r, 400, "MissingParam", AGAIN, "%s is mandatory for this action", name);
        return LE_EINVAL;
    }
    return LE_OK;
}

static void record_command(le_admin_req *r)
{
    const char *cmd, *dn, *app, *stream;
    if (rtc_param(r, "Command", &cmd) != 0 || rtc_param(r, "DomainName", &dn) != 0 ||
        rtc_param(r, "AppName", &app) != 0 || rtc_param(r, "StreamName", &stream) != 0)
        return;
    if (strcmp(cmd, "start") != 0 && strcmp(cmd, "stop") != 0) {
        rtc_error(r, 400, "MalformedParam", AGAIN, "Command must be start or stop");
        return;
    }
    /* One stream: wildcards are not supported. */
    if (!le_name_valid(app, strlen(app))) {
        rtc_error(r, 400, "MalformedParam", AGAIN, "AppName is not a single valid name");
        return;
    }
    if (!le_name_valid(stream, strlen(stream))) {
        rtc_error(r, 400, "MalformedParam", AGAIN, "StreamName is not a single valid name");
        return;
    }
    le_domain *d = le_domain_get(dn);
    if (!d) {
        le_admin_error(r, 404, "InvalidDomain.NotFound", "The domain provided does not belong to you.");
        return;
    }
    d = le_params_play_domain(d);
    if (!d) {
        rtc_error(r, 400, "MalformedParam", AGAIN, "DomainName is a push domain not mapped to a play domain");
        return;
    }
    if (!le_store_connected()) {
        rtc_error(r, 500, "InternalError", "error on the live API server.", "The state store is unreachable");
        return;
    }
    rtc *t = le_xcalloc(1, sizeof(*t));
    t->r = r;
    t->start = strcmp(cmd, "start") == 0;
    snprintf(t->domain, sizeof(t->domain), "%s", d->name);
    snprintf(t->app, sizeof(t->app), "%s", app);
    snprintf(t->stream, sizeof(t->stream), "%s", stream);
    snprintf(t->dask, sizeof(t->dask), "%s/%s/%s", d->name, app, stream);
    int rc;
    if (!t->start) {
        char key[900];
        le_store_key(key, sizeof(key), "rectask:%s", t->dask);
        rc = le_store_cmd(task_get_cb, t, "GET %s", key);
    } else {
        /* A publisher on this node needs no scan. */
        le_stream *st = le_stream_find(t->domain, app, stream, 0);
        if (st && le_stream_is_live(st)) {
            snprintf(t->node, sizeof(t->node), "%s", le_cluster_node());
            found_live(t);
            return;
        }
        rc = scan_online(t, "0");
    }
    if (rc != 0)
        rtc_internal(t);
}

void le_actions_record_register(void)
{
    le_admin_register("AddLiveAppRecordConfig", add_config);
    le_admin_register("DeleteLiveAppRecordConfig", delete_config);
    le_admin_register("DescribeLiveRecordConfig", describe_config);
    le_admin_register("AddLiveRecordNotifyConfig", add_notify);
    le_admin_register("UpdateLiveRecordNotifyConfig", update_notify);
    le_admin_register("DeleteLiveRecordNotifyConfig", delete_notify);
    le_admin_register("DescribeLiveRecordNotifyConfig", describe_notify);
    le_admin_register("RealTimeRecordCommand", record_command);
}
