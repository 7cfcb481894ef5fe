/* Transcoding configs and AddTrancodeSEI requests in Redis
 * (transcode/config.h, docs/TRANSCODE.md). */
#include "transcode/config.h"
#include "core/err.h"
#include "core/json.h"
#include "core/log.h"
#include "store/store.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int le_trans_mode_parse(const char *s)
{
    if (s && strcasecmp(s, "ondemand") == 0)
        return LE_TRANS_ONDEMAND;
    if (s && strcasecmp(s, "always") == 0)
        return LE_TRANS_ALWAYS;
    return LE_EINVAL;
}

const char *le_trans_mode_name(int mode)
{
    return mode == LE_TRANS_ALWAYS ? "always" : "ondemand";
}

void le_trans_cfg_field(const char *app, const char *tpl, char *out, size_t n)
{
    snprintf(out, n, "%s/%s", app ? app : "", tpl ? tpl : "");
}

void le_trans_cfg_to_json(le_buf *out, const le_trans_cfg *c)
{
    char ts[21];
    le_jv *o = le_jv_obj();
    le_jv_set_str(o, "App", c->app);
    le_jv_set_str(o, "Template", c->tpl.name);
    le_jv_set_str(o, "Mode", le_trans_mode_name(c->tpl.mode));
    le_jv_set_str(o, "CreateTime", c->create_ms ? le_fmt_utc(c->create_ms, ts) : "");
    if (c->tpl.custom) {
        le_jv_set_bool(o, "Custom", 1);
        le_jv_set_int(o, "Width", c->tpl.width);
        le_jv_set_int(o, "Height", c->tpl.height);
        le_jv_set_int(o, "FPS", c->tpl.fps);
        le_jv_set_int(o, "VideoBitrate", c->tpl.kbps);
        le_jv_set_str(o, "TemplateType", c->tpl.type);
    }
    le_jv_to_json(o, out);
    le_jv_free(o);
}

static int get_int(const le_jv *o, const char *key, int *out)
{
    int64_t v;
    if (le_jv_get_int(o, key, &v) != LE_OK || v < 0 || v > 100000)
        return LE_EPROTO;
    *out = (int)v;
    return LE_OK;
}

static int cfg_from(const le_jv *o, le_trans_cfg *c)
{
    char name[LE_TRANS_NAME_MAX], mode[16] = "", ts[32] = "";
    if (!o || o->type != LE_JV_OBJ || le_jv_copy_str(o, "App", c->app, sizeof(c->app)) != LE_OK || !c->app[0] ||
        le_jv_copy_str(o, "Template", name, sizeof(name)) != LE_OK)
        return LE_EPROTO;
    int rc = le_jv_copy_str(o, "Mode", mode, sizeof(mode));
    if ((rc != LE_OK && rc != LE_ENOTFOUND) || (rc == LE_OK && le_trans_mode_parse(mode) < 0))
        return LE_EPROTO;
    rc = le_jv_copy_str(o, "CreateTime", ts, sizeof(ts));
    if ((rc != LE_OK && rc != LE_ENOTFOUND) || (ts[0] && le_parse_utc(ts, &c->create_ms) != 0))
        return LE_EPROTO;
    const le_jv *cu = le_jv_get(o, "Custom");
    if (cu && cu->type == LE_JV_BOOL && cu->i) {
        le_trans_tpl *t = &c->tpl;
        const char *bad, *why;
        t->custom = 1;
        snprintf(t->name, sizeof(t->name), "%s", name);
        if (get_int(o, "Width", &t->width) != LE_OK || get_int(o, "Height", &t->height) != LE_OK ||
            get_int(o, "FPS", &t->fps) != LE_OK || get_int(o, "VideoBitrate", &t->kbps) != LE_OK ||
            le_jv_copy_str(o, "TemplateType", t->type, sizeof(t->type)) != LE_OK ||
            le_trans_custom_check(t, &bad, &why) != LE_OK)
            return LE_EPROTO;
    } else if (le_trans_std(name, &c->tpl) != LE_OK) {
        return LE_EPROTO;
    }
    c->tpl.mode = mode[0] ? le_trans_mode_parse(mode) : LE_TRANS_ONDEMAND;
    return LE_OK;
}

int le_trans_cfg_from_json(const char *js, size_t n, le_trans_cfg *out)
{
    memset(out, 0, sizeof(*out));
    le_jv *o = le_jv_parse(js, n, 2, NULL, 0);
    int rc = cfg_from(o, out);
    le_jv_free(o);
    if (rc != LE_OK)
        memset(out, 0, sizeof(*out));
    return rc;
}

void le_trans_sei_to_json(le_buf *out, const le_trans_sei_req *r)
{
    le_jv *o = le_jv_obj();
    le_jv_set_str(o, "Text", r->text);
    le_jv_set_str(o, "Pattern", r->pattern == LE_SEI_FRAME ? "frame" : "keyframe");
    le_jv_set_int(o, "Repeat", r->repeat);
    le_jv_set_int(o, "Delay", r->delay_ms);
    le_jv_set_int(o, "Time", r->time_ms);
    le_jv_to_json(o, out);
    le_jv_free(o);
}

int le_trans_sei_from_json(const char *js, size_t n, le_trans_sei_req *out)
{
    memset(out, 0, sizeof(*out));
    le_jv *o = le_jv_parse(js, n, 1, NULL, 0);
    const char *pat = le_jv_get_str(o, "Pattern");
    int rc = LE_EPROTO;
    if (o && o->type == LE_JV_OBJ && le_jv_copy_str(o, "Text", out->text, sizeof(out->text)) == LE_OK && pat &&
        (strcmp(pat, "frame") == 0 || strcmp(pat, "keyframe") == 0) &&
        le_jv_get_int(o, "Repeat", &out->repeat) == LE_OK && out->repeat >= -1 &&
        le_jv_get_int(o, "Delay", &out->delay_ms) == LE_OK && out->delay_ms >= 0 &&
        le_jv_get_int(o, "Time", &out->time_ms) == LE_OK) {
        out->text_len = strlen(out->text);
        out->pattern = strcmp(pat, "frame") == 0 ? LE_SEI_FRAME : LE_SEI_KEYFRAME;
        rc = LE_OK;
    }
    le_jv_free(o);
    return rc;
}

/* ---- the node's lookup ---- */

typedef struct list_call {
    le_trans_list_cb cb;
    void *arg;
    char domain[256], app[256];
} list_call;

static void list_cb(redisReply *rep, void *arg)
{
    list_call *l = arg;
    if (!rep || rep->type != REDIS_REPLY_ARRAY) {
        l->cb(LE_EIO, NULL, 0, l->arg);
        free(l);
        return;
    }
    size_t napp = strlen(l->app), n = 0;
    le_trans_cfg *cfgs = le_xcalloc(rep->elements / 2 + 1, sizeof(*cfgs));
    for (size_t i = 0; i + 1 < rep->elements; i += 2) {
        redisReply *f = rep->element[i], *v = rep->element[i + 1];
        if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING || f->len <= napp + 1 ||
            memcmp(f->str, l->app, napp) != 0 || f->str[napp] != '/')
            continue;
        if (le_trans_cfg_from_json(v->str, v->len, &cfgs[n]) == LE_OK && strcmp(cfgs[n].app, l->app) == 0)
            n++;
        else
            le_warn("transcode", "transcode config %.*s of %s is not readable: ignored", (int)f->len, f->str,
                    l->domain);
    }
    l->cb(LE_OK, cfgs, n, l->arg);
    free(cfgs);
    free(l);
}

int le_trans_config_list(const char *domain, const char *app, le_trans_list_cb cb, void *arg)
{
    char key[600];
    le_store_key(key, sizeof(key), "trans:%s", domain);
    list_call *l = le_xcalloc(1, sizeof(*l));
    l->cb = cb;
    l->arg = arg;
    snprintf(l->domain, sizeof(l->domain), "%s", domain);
    snprintf(l->app, sizeof(l->app), "%s", app);
    if (le_store_cmd(list_cb, l, "HGETALL %s", key) != 0) {
        free(l);
        return LE_EIO;
    }
    return LE_OK;
}
