/* Transcoding (API reference chapter 9): AddLiveStreamTranscode,
 * AddCustomLiveStreamTranscode, DeleteLiveStreamTranscode,
 * DescribeLiveStreamTranscodeInfo and AddTrancodeSEI (livedge(8),
 * docs/TRANSCODE.md).
 *
 * The configs live in Redis (transcode/config.h has the keys), so every node
 * sees them. Note the parameter names of this chapter: Domain, App and
 * Template (AddTrancodeSEI: DomainName, AppName, StreamName). Domain is the
 * play domain; a push domain mapped onto one stands for it. AddTrancodeSEI
 * only sends: it finds the node holding the publisher, stores the request
 * and publishes it on the SEI channel, where that node applies it. */
#include "admin/actions.h"
#include "admin/admin.h"
#include "admin/params.h"
#include "control/cluster.h"
#include "control/domains.h"
#include "core/err.h"
#include "core/json.h"
#include "core/util.h"
#include "media/stream.h"
#include "store/store.h"
#include "transcode/config.h"
#include "transcode/template.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEI_DELAY_MAX_MS (86400LL * 1000)
#define SEI_REPEAT_MAX 1000000

/* Required integer parameter in lo..hi: LE_OK, or the error answered. */
static int int_param(le_admin_req *r, const char *name, int64_t lo, int64_t hi, const char *why, int64_t *out)
{
    const char *v;
    if (le_admin_require(r, name, &v) != 0)
        return LE_EINVAL;
    if (le_params_int_range(v, lo, hi, out) != LE_OK) {
        le_params_invalid_why(r, name, why);
        return LE_EINVAL;
    }
    return LE_OK;
}

/* App: digits, letters, '_' and '-', 1-255 bytes. */
static int app_ok(const char *app)
{
    size_t n = strlen(app);
    if (n < 1 || n > 255)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = app[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

/* The named domain parameter as the play domain: LE_OK or answered. */
static int play_domain(le_admin_req *r, const char *name, le_domain **out)
{
    le_domain *d;
    if (le_params_domain(r, name, &d) != 0)
        return LE_EINVAL;
    *out = le_params_play_domain(d);
    if (!*out) {
        le_params_invalid_why(r, name, "a push domain not mapped to a play domain");
        return LE_EINVAL;
    }
    return LE_OK;
}

/* Domain and App, both required. */
static int domain_app(le_admin_req *r, le_domain **d, const char **app)
{
    if (play_domain(r, "Domain", d) != 0 || le_admin_require(r, "App", app) != 0)
        return LE_EINVAL;
    if (!app_ok(*app)) {
        le_params_invalid_why(r, "App", "1 to 255 of letters, digits, _ and -");
        return LE_EINVAL;
    }
    return LE_OK;
}

/* Mode (livedge): ondemand (default) or always. */
static int mode_param(le_admin_req *r, int *mode)
{
    const char *m = le_admin_param(r, "Mode");
    *mode = LE_TRANS_ONDEMAND;
    if (!m || !*m)
        return LE_OK;
    *mode = le_trans_mode_parse(m);
    if (*mode < 0) {
        le_params_invalid_why(r, "Mode", "ondemand or always");
        return LE_EINVAL;
    }
    return LE_OK;
}

typedef struct call {
    le_admin_req *r;
    char domain[256];
} call;

static void add_cb(redisReply *rep, void *arg)
{
    call *c = arg;
    if (le_params_quota_stored(c->r, rep, "QuotaExceeded.Transcode", "transcode templates",
                               LE_TRANS_MAX_PER_DOMAIN))
        le_admin_reply(c->r, le_jv_obj());
    free(c);
}

/* Stores cfg (adding again replaces). */
static void store_cfg(le_admin_req *r, const char *domain, le_trans_cfg *cfg)
{
    if (le_params_store(r) != 0)
        return;
    cfg->create_ms = le_wall_ms() / 1000 * 1000;
    char key[600], dkey[300], field[400];
    le_buf b = { 0 };
    le_trans_cfg_to_json(&b, cfg);
    le_trans_cfg_field(cfg->app, cfg->tpl.name, field, sizeof(field));
    le_store_key(key, sizeof(key), "trans:%s", domain);
    le_store_key(dkey, sizeof(dkey), "transdomains");
    call *c = le_xcalloc(1, sizeof(*c));
    c->r = r;
    snprintf(c->domain, sizeof(c->domain), "%s", domain);
    if (le_params_quota_hset(r, add_cb, c, key, dkey, field, (const char *)b.p, b.len, LE_TRANS_MAX_PER_DOMAIN,
                             domain) != 0)
        free(c);
    le_buf_free(&b);
}

static void add_transcode(le_admin_req *r)
{
    le_domain *d;
    const char *app, *tpl;
    int mode;
    if (domain_app(r, &d, &app) != 0 || le_admin_require(r, "Template", &tpl) != 0)
        return;
    le_trans_cfg cfg;
    memset(&cfg, 0, sizeof(cfg));
    if (le_trans_std(tpl, &cfg.tpl) != LE_OK) {
        le_params_invalid_why(r, "Template", "one of lld, lsd, lhd, lud, ld, sd, hd, ud (custom templates: "
                                   "AddCustomLiveStreamTranscode)");
        return;
    }
    if (mode_param(r, &mode) != 0)
        return;
    cfg.tpl.mode = mode;
    snprintf(cfg.app, sizeof(cfg.app), "%s", app);
    store_cfg(r, d->name, &cfg);
}

static void add_custom(le_admin_req *r)
{
    le_domain *d;
    const char *app, *tpl, *type, *bad, *why;
    int64_t w, h, fps, kbps;
    int mode;
    if (domain_app(r, &d, &app) != 0 || le_admin_require(r, "Template", &tpl) != 0 ||
        le_admin_require(r, "TemplateType", &type) != 0 ||
        int_param(r, "Width", 0, 100000, "an integer: Width >= 100, max(Height, Width) <= 1920, "
                                         "min(Height, Width) <= 1080", &w) != 0 ||
        int_param(r, "Height", 0, 100000, "an integer: Height >= 100, max(Height, Width) <= 1920, "
                                          "min(Height, Width) <= 1080", &h) != 0 ||
        int_param(r, "FPS", 1, LE_TRANS_FPS_MAX, "an integer from 1 to 30", &fps) != 0 ||
        int_param(r, "VideoBitrate", 1, LE_TRANS_KBPS_MAX, "kbit/s, an integer from 1 to 6000", &kbps) != 0 ||
        mode_param(r, &mode) != 0)
        return;
    le_trans_cfg cfg;
    memset(&cfg, 0, sizeof(cfg));
    le_trans_tpl *t = &cfg.tpl;
    t->custom = 1;
    t->width = (int)w;
    t->height = (int)h;
    t->fps = (int)fps;
    t->kbps = (int)kbps;
    t->mode = mode;
    if (strlen(tpl) >= sizeof(t->name) || strlen(type) >= sizeof(t->type)) {
        le_params_invalid_why(r, strlen(tpl) >= sizeof(t->name) ? "Template" : "TemplateType", "too long");
        return;
    }
    snprintf(t->name, sizeof(t->name), "%s", tpl);
    snprintf(t->type, sizeof(t->type), "%s", type);
    if (le_trans_custom_check(t, &bad, &why) != LE_OK) {
        le_params_invalid_why(r, bad, why);
        return;
    }
    snprintf(cfg.app, sizeof(cfg.app), "%s", app);
    store_cfg(r, d->name, &cfg);
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

static void delete_transcode(le_admin_req *r)
{
    le_domain *d;
    const char *app, *tpl;
    if (domain_app(r, &d, &app) != 0 || le_admin_require(r, "Template", &tpl) != 0 || le_params_store(r) != 0)
        return;
    if (strlen(tpl) >= LE_TRANS_NAME_MAX) {
        le_params_invalid_why(r, "Template", "too long");
        return;
    }
    char key[600], dkey[300], field[400];
    le_store_key(key, sizeof(key), "trans:%s", d->name);
    le_store_key(dkey, sizeof(dkey), "transdomains");
    le_trans_cfg_field(app, tpl, field, sizeof(field));
    call *c = le_xcalloc(1, sizeof(*c));
    c->r = r;
    if (le_params_quota_hdel(r, ok_cb, c, key, dkey, field, d->name) != 0)
        free(c);
}

static int cfg_cmp(const void *a, const void *b)
{
    const le_trans_cfg *x = a, *y = b;
    int c = strcmp(x->app, y->app);
    return c ? c : strcmp(x->tpl.name, y->tpl.name);
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
    le_trans_cfg *cfgs = le_xcalloc(rep->elements / 2 + 1, sizeof(*cfgs));
    for (size_t i = 0; i + 1 < rep->elements; i += 2) {
        redisReply *v = rep->element[i + 1];
        if (v->type == REDIS_REPLY_STRING && le_trans_cfg_from_json(v->str, v->len, &cfgs[n]) == LE_OK)
            n++;
    }
    qsort(cfgs, n, sizeof(*cfgs), cfg_cmp);
    le_jv *body = le_jv_obj();
    le_jv *arr = le_jv_set_arr(le_jv_set_obj(body, "DomainTranscodeList"), "DomainTranscodeInfo");
    for (size_t i = 0; i < n; i++) {
        const le_trans_cfg *e = &cfgs[i];
        le_jv *o = le_jv_push_obj(arr);
        le_jv_set_str(o, "TranscodeName", c->domain);
        le_jv_set_str(o, "TranscodeApp", e->app);
        le_jv_set_str(o, "TranscodeTemplate", e->tpl.name);
        le_jv_set_str(o, "Mode", le_trans_mode_name(e->tpl.mode));
        if (e->tpl.custom) {
            le_jv *p = le_jv_set_obj(o, "CustomTranscodeParameters");
            le_jv_set_int(p, "VideoBitrate", e->tpl.kbps);
            le_jv_set_int(p, "FPS", e->tpl.fps);
            le_jv_set_int(p, "Height", e->tpl.height);
            le_jv_set_int(p, "Width", e->tpl.width);
            le_jv_set_str(p, "TemplateType", e->tpl.type);
            le_jv_set_str(p, "Type", e->tpl.type);   /* the spelling of the reference's example */
        }
    }
    free(cfgs);
    le_admin_reply(c->r, body);
    free(c);
}

static void describe_transcode(le_admin_req *r)
{
    le_domain *d;
    if (play_domain(r, "DomainTranscodeName", &d) != 0 || le_params_store(r) != 0)
        return;
    char key[600];
    le_store_key(key, sizeof(key), "trans:%s", d->name);
    call *c = le_xcalloc(1, sizeof(*c));
    c->r = r;
    snprintf(c->domain, sizeof(c->domain), "%s", d->name);
    if (le_store_cmd(describe_cb, c, "HGETALL %s", key) != 0) {
        le_params_unavailable(r);
        free(c);
    }
}

/* ---- AddTrancodeSEI: find the node holding the publisher, store, send ---- */

typedef struct sei_call {
    le_admin_req *r;
    char dask[800];         /* "domain/app/stream" */
    char node[256];
    le_buf req;             /* the request's JSON */
    int scans;
} sei_call;

static void sei_free(sei_call *t)
{
    le_buf_free(&t->req);
    free(t);
}

static void sei_internal(sei_call *t)
{
    le_admin_error(t->r, 500, "InternalError", "The state store did not answer, error on the live API server.");
    sei_free(t);
}

static void sei_sent_cb(redisReply *rep, void *arg)
{
    sei_call *t = arg;
    if (!rep || rep->type != REDIS_REPLY_INTEGER) {
        sei_internal(t);
        return;
    }
    le_admin_reply(t->r, le_jv_obj());
    sei_free(t);
}

/* t->node holds the publisher: SET the request, then PUBLISH it. */
static void sei_send(sei_call *t)
{
    char key[900], ch[300];
    le_store_key(key, sizeof(key), "transsei:%s", t->dask);
    le_store_key(ch, sizeof(ch), "%s", LE_TRANS_SEI_CHANNEL);
    const char *sargv[] = { "SET", key, (const char *)t->req.p, "PX", "86400000" };
    size_t slen[] = { 3, strlen(key), t->req.len, 2, 8 };
    le_buf msg = { 0 };
    le_buf_printf(&msg, "%s %s ", t->node, t->dask);
    le_buf_append(&msg, t->req.p, t->req.len);
    const char *pargv[] = { "PUBLISH", ch, (const char *)msg.p };
    size_t plen[] = { 7, strlen(ch), msg.len };
    /* Both go down the one command connection in order: the answer of the
     * PUBLISH says both were taken. */
    int rc = le_store_cmdargv(NULL, NULL, 5, sargv, slen);
    if (rc == 0)
        rc = le_store_cmdargv(sei_sent_cb, t, 3, pargv, plen);
    le_buf_free(&msg);
    if (rc != 0)
        sei_internal(t);
}

static int sei_scan(sei_call *t, const char *cursor);

static void sei_scan_cb(redisReply *rep, void *arg)
{
    sei_call *t = arg;
    if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 || rep->element[0]->type != REDIS_REPLY_STRING ||
        rep->element[1]->type != REDIS_REPLY_ARRAY) {
        sei_internal(t);
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
        if (rec && le_jv_get_int(rec, "Heartbeat", &hb) == 0 && now - hb <= LE_CLUSTER_STALE_MS && node && *node &&
            !strchr(node, ' ')) {
            snprintf(t->node, sizeof(t->node), "%s", node);
            le_jv_free(rec);
            sei_send(t);
            return;
        }
        le_jv_free(rec);
    }
    const char *cur = rep->element[0]->str;
    if (strcmp(cur, "0") == 0 || ++t->scans >= LE_PARAMS_ONLINE_SCAN_MAX) {
        le_admin_error(t->r, 404, "InvalidStream.NotFound", "The stream is not live (no publisher on any node).");
        sei_free(t);
        return;
    }
    if (sei_scan(t, cur) != 0)
        sei_internal(t);
}

static int sei_scan(sei_call *t, const char *cursor)
{
    return le_params_scan_online(sei_scan_cb, t, t->dask, cursor);
}

static void add_sei(le_admin_req *r)
{
    le_domain *d;
    const char *app, *stream, *text, *pattern;
    int64_t repeat, delay;
    if (le_params_domain_play(r, &d) != 0 || le_params_app_stream(r, &app, &stream) != 0 ||
        le_admin_require(r, "Text", &text) != 0 || le_admin_require(r, "Pattern", &pattern) != 0 ||
        int_param(r, "Repeat", -1, SEI_REPEAT_MAX, "-1 (no end) or a count from 1 to 1000000", &repeat) != 0 ||
        int_param(r, "Delay", 0, SEI_DELAY_MAX_MS, "milliseconds from 0 to 86400000", &delay) != 0)
        return;
    if (repeat == 0) {
        le_params_invalid_why(r, "Repeat", "-1 (no end) or a count from 1 to 1000000");
        return;
    }
    if (strcmp(pattern, "keyframe") != 0 && strcmp(pattern, "frame") != 0) {
        le_params_invalid_why(r, "Pattern", "keyframe or frame");
        return;
    }
    size_t tl = strlen(text);
    if (tl > LE_SEI_TEXT_MAX) {
        le_params_invalid_why(r, "Text", "at most 4000 bytes");
        return;
    }
    le_trans_sei_req q, back;
    memset(&q, 0, sizeof(q));
    memcpy(q.text, text, tl);
    q.text_len = tl;
    q.pattern = strcmp(pattern, "frame") == 0 ? LE_SEI_FRAME : LE_SEI_KEYFRAME;
    q.repeat = repeat;
    q.delay_ms = delay;
    q.time_ms = le_wall_ms();
    sei_call *t = le_xcalloc(1, sizeof(*t));
    t->r = r;
    le_trans_sei_to_json(&t->req, &q);
    /* What the node reads back must be the text given: UTF-8 only. */
    if (le_trans_sei_from_json((const char *)t->req.p, t->req.len, &back) != LE_OK || back.text_len != tl ||
        memcmp(back.text, text, tl) != 0) {
        le_params_invalid_why(r, "Text", "UTF-8 text");
        sei_free(t);
        return;
    }
    if (!le_store_connected()) {
        le_params_unavailable(r);
        sei_free(t);
        return;
    }
    snprintf(t->dask, sizeof(t->dask), "%s/%s/%s", d->name, app, stream);
    /* A publisher on this node needs no scan. */
    le_stream *st = le_stream_find(d->name, app, stream, 0);
    if (st && le_stream_is_live(st)) {
        snprintf(t->node, sizeof(t->node), "%s", le_cluster_node());
        sei_send(t);
        return;
    }
    if (sei_scan(t, "0") != 0)
        sei_internal(t);
}

void le_actions_transcode_register(void)
{
    le_admin_register("AddLiveStreamTranscode", add_transcode);
    le_admin_register("AddCustomLiveStreamTranscode", add_custom);
    le_admin_register("DeleteLiveStreamTranscode", delete_transcode);
    le_admin_register("DescribeLiveStreamTranscodeInfo", describe_transcode);
    le_admin_register("AddTrancodeSEI", add_sei);
}
