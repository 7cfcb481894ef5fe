/* The production studio's configuration actions (API reference chapter 17;
 * livedge(8), docs/STUDIO.md): CreateCaster, CopyCaster, DeleteCaster,
 * DescribeCasters, SetCasterConfig, DescribeCasterConfig; Add/Modify/
 * Delete/DescribeCasterVideoResource(s), ...CasterLayout(s),
 * ...CasterComponent(s).
 *
 * State in Redis, so any node's admin port drives any caster:
 *   {prefix}casters                 set of the CasterIds
 *   {prefix}castertoken:{token}     string, the CasterId a ClientToken made
 *   {prefix}caster:{CasterId}       hash:
 *       info          the caster (CasterId, CasterName, NormType, ChargeType,
 *                     PurchaseTime, ExpireTime, CasterTemplate, CreateTime,
 *                     ClientToken) JSON
 *       status        "0" stopped, "1" running (set by StartCaster);
 *                     start: StartCaster's time while running
 *       pvw, pgm      the SceneIds of the two scenes; scene:{id} each
 *                     scene's JSON (admin/caster_scene.h); sver their
 *                     version
 *       config        SetCasterConfig's JSON
 *       res:{id}      a video resource's JSON;  rloc:{RVnn} -> its ResourceId
 *       layout:{id}   a layout's JSON
 *       comp:{id}     a component's JSON;       cloc:{RCnn} -> its ComponentId
 * Every write is one Lua script, so the existence, status, LocationId and
 * reference checks and the write are atomic. The objects' JSON is built and
 * checked by studio/config.h. */
#include "admin/actions.h"
#include "admin/admin.h"
#include "admin/caster_scene.h"
#include "admin/params.h"
#include "control/domains.h"
#include "core/err.h"
#include "core/json.h"
#include "core/util.h"
#include "record/config.h"
#include "store/store.h"
#include "studio/config.h"
#include "studio/scene.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

/* KEYS token, casters, new caster[, source caster]; ARGV id, info, max,
 * pvw id, pvw scene, pgm id, pgm scene. The CasterId of the token (new or
 * earlier), -1 over the quota, -2 no source. A copy takes the source's
 * fields but its status, scenes and their version (it gets its own
 * scenes). */
static const char CREATE_LUA[] =
    "local have = redis.call('GET', KEYS[1]) "
    "if have then return have end "
    "if #KEYS > 3 and redis.call('EXISTS', KEYS[4]) == 0 then return -2 end "
    "if redis.call('SCARD', KEYS[2]) >= tonumber(ARGV[3]) then return -1 end "
    "redis.call('SET', KEYS[1], ARGV[1], 'NX') "
    "redis.call('SADD', KEYS[2], ARGV[1]) "
    "redis.call('HSET', KEYS[3], 'info', ARGV[2], 'status', '0') "
    "if #KEYS > 3 then "
    "  local skip = { info = 1, status = 1, pvw = 1, pgm = 1, sver = 1, start = 1 } "
    "  local a = redis.call('HGETALL', KEYS[4]) "
    "  for i = 1, #a, 2 do "
    "    if not skip[a[i]] and string.sub(a[i], 1, 6) ~= 'scene:' then "
    "      redis.call('HSET', KEYS[3], a[i], a[i + 1]) "
    "    end "
    "  end "
    "end "
    "redis.call('HSET', KEYS[3], 'pvw', ARGV[4], 'pgm', ARGV[6], 'scene:' .. ARGV[4], ARGV[5], "
    "           'scene:' .. ARGV[6], ARGV[7]) "
    "return ARGV[1]";

/* KEYS caster, casters, lease; ARGV id, token key. 1, -2 unknown, -5
 * running. */
static const char DELETE_LUA[] =
    "local v = redis.call('HMGET', KEYS[1], 'info', 'status') "
    "if not v[1] then return -2 end "
    "if v[2] == '1' then return -5 end "
    "if ARGV[2] ~= '' and redis.call('GET', ARGV[2]) == ARGV[1] then redis.call('DEL', ARGV[2]) end "
    "redis.call('DEL', KEYS[1], KEYS[3]) "
    "redis.call('SREM', KEYS[2], ARGV[1]) "
    "return 1";

/* KEYS casters; ARGV key prefix of the casters: [info, status, config,
 * start, ...]. */
static const char LIST_LUA[] =
    "local out = {} "
    "for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do "
    "  local v = redis.call('HMGET', ARGV[1] .. id, 'info', 'status', 'config', 'start') "
    "  if v[1] then "
    "    out[#out + 1] = v[1]; out[#out + 1] = v[2] or '0'; out[#out + 1] = v[3] or '{}'; out[#out + 1] = v[4] or '' "
    "  end "
    "end "
    "return out";

/* KEYS caster; ARGV field, json, location field prefix ('' none), location,
 * id, "add"/"mod", max (0 none), count prefix, then fields that must exist
 * (rloc:{RVnn}: a resource there or a channel chan:{RVnn}).
 * 1; -2 no caster; -3 no such object; -4 over max; -7 location taken;
 * {-6, field} a referenced field missing. */
static const char PUT_LUA[] =
    "if redis.call('EXISTS', KEYS[1]) == 0 then return -2 end "
    "local old = redis.call('HGET', KEYS[1], ARGV[1]) "
    "if ARGV[6] == 'mod' and not old then return -3 end "
    "if ARGV[6] == 'add' and tonumber(ARGV[7]) > 0 then "
    "  local n = 0 "
    "  for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do "
    "    if string.sub(f, 1, #ARGV[8]) == ARGV[8] then n = n + 1 end "
    "  end "
    "  if n >= tonumber(ARGV[7]) then return -4 end "
    "end "
    "for i = 9, #ARGV do "
    "  local f = ARGV[i] "
    "  if redis.call('HEXISTS', KEYS[1], f) == 0 and (string.sub(f, 1, 5) ~= 'rloc:' or "
    "      redis.call('HEXISTS', KEYS[1], 'chan:' .. string.sub(f, 6)) == 0) then return {-6, f} end "
    "end "
    "if ARGV[3] ~= '' then "
    "  local lf = ARGV[3] .. ARGV[4] "
    "  local o = redis.call('HGET', KEYS[1], lf) "
    "  if o and o ~= ARGV[5] then return -7 end "
    "  if old then "
    "    local ok, j = pcall(cjson.decode, old) "
    "    if ok and type(j) == 'table' and j.LocationId and ARGV[3] .. j.LocationId ~= lf then "
    "      redis.call('HDEL', KEYS[1], ARGV[3] .. j.LocationId) "
    "    end "
    "  end "
    "  redis.call('HSET', KEYS[1], lf, ARGV[5]) "
    "end "
    "redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) "
    "return 1";

/* KEYS caster; ARGV field, location field prefix, id. 1, -2, -3. */
static const char DEL_LUA[] =
    "if redis.call('EXISTS', KEYS[1]) == 0 then return -2 end "
    "local old = redis.call('HGET', KEYS[1], ARGV[1]) "
    "if not old then return -3 end "
    "if ARGV[2] ~= '' then "
    "  local ok, j = pcall(cjson.decode, old) "
    "  if ok and type(j) == 'table' and j.LocationId then "
    "    local lf = ARGV[2] .. j.LocationId "
    "    if redis.call('HGET', KEYS[1], lf) == ARGV[3] then redis.call('HDEL', KEYS[1], lf) end "
    "  end "
    "end "
    "redis.call('HDEL', KEYS[1], ARGV[1]) "
    "return 1";

/* KEYS caster; ARGV info, config, its ChannelEnable. 1, -2; -10 turning
 * ChannelEnable off; -11 turning it on while the caster runs. */
static const char SETCFG_LUA[] =
    "if redis.call('EXISTS', KEYS[1]) == 0 then return -2 end "
    "local on = false "
    "local cfg = redis.call('HGET', KEYS[1], 'config') "
    "if cfg then local ok, j = pcall(cjson.decode, cfg) on = ok and type(j) == 'table' and j.ChannelEnable == 1 end "
    "if on and ARGV[3] ~= '1' then return -10 end "
    "if not on and ARGV[3] == '1' and redis.call('HGET', KEYS[1], 'status') == '1' then return -11 end "
    "redis.call('HSET', KEYS[1], 'info', ARGV[1], 'config', ARGV[2]) "
    "return 1";

/* The object kinds below a caster. */
enum { K_RES = 0, K_LAYOUT, K_COMP };
static const struct kind {
    const char *field;      /* hash field prefix */
    const char *loc;        /* location field prefix, "" none */
    const char *id_name;    /* ResourceId ... */
    const char *list_name;  /* Describe's list */
    const char *nf_code, *nf_msg;
    int max;
} KINDS[] = {
    { "res:", "rloc:", "ResourceId", "VideoResources", "InvalidResource.NotFound", "Resource is not found.",
      LE_CST_RES_MAX },
    { "layout:", "", "LayoutId", "Layouts", "InvalidLayout.NotFound", "Layout is not found.", LE_CST_LAYOUT_MAX },
    { "comp:", "cloc:", "ComponentId", "Components", "InvalidComponent.NotFound", "Component is not found.",
      LE_CST_COMP_MAX },
};

typedef struct cc cc;
typedef void (*cc_next)(cc *c);
struct cc {
    le_admin_req *r;
    int kind;
    char caster[LE_CST_NAME_MAX + 1];
    char id[LE_CST_NAME_MAX + 1];
    char token[LE_CST_TOKEN_MAX + 1];
    le_jv *all;       /* the loaded caster hash: field -> JSON (status: its string) */
    le_jv *obj;
    cc_next next;
    int answer_caster;   /* the reply names CasterId too (Modify, Delete) */
};

static cc *cc_new(le_admin_req *r)
{
    cc *c = le_xcalloc(1, sizeof(*c));
    c->r = r;
    return c;
}

static void cc_free(cc *c)
{
    le_jv_free(c->all);
    le_jv_free(c->obj);
    free(c);
}

static const char *req_get(void *ctx, const char *name)
{
    return le_admin_param(ctx, name);
}

static void answer_err(le_admin_req *r, const le_cst_err *e)
{
    le_admin_error(r, e->status, e->code, e->msg);
}

static void caster_nf(le_admin_req *r)
{
    le_admin_error(r, 404, "InvalidCaster.NotFound", "Caster is not found.");
}

static void caster_key(char *out, size_t n, const char *id)
{
    le_store_key(out, n, "caster:%s", id);
}

/* An id parameter: required; one that cannot exist answers not_found. */
static int id_param(le_admin_req *r, const char *name, const char *nf_code, const char *nf_msg, char *out,
                    size_t n)
{
    const char *v;
    if (le_admin_require(r, name, &v) != 0)
        return LE_EINVAL;
    if (!le_cst_id_ok(v) || strlen(v) >= n) {
        le_admin_error(r, 404, nf_code, nf_msg);
        return LE_EINVAL;
    }
    snprintf(out, n, "%s", v);
    return LE_OK;
}

static int caster_param(le_admin_req *r, const char *name, char *out, size_t n)
{
    return id_param(r, name, "InvalidCaster.NotFound", "Caster is not found.", out, n);
}

/* An integer EVAL reply, or the table's first element; LE_EIO otherwise. */
static int eval_int(const redisReply *rep, long long *v)
{
    if (!rep)
        return LE_EIO;
    if (rep->type == REDIS_REPLY_INTEGER) {
        *v = rep->integer;
        return LE_OK;
    }
    if (rep->type == REDIS_REPLY_ARRAY && rep->elements >= 1 && rep->element[0]->type == REDIS_REPLY_INTEGER) {
        *v = rep->element[0]->integer;
        return LE_OK;
    }
    return LE_EIO;
}

/* ---- loading a caster's hash, then c->next ---- */

static void load_cb(redisReply *rep, void *arg)
{
    cc *c = arg;
    if (!rep || rep->type != REDIS_REPLY_ARRAY) {
        le_params_unavailable(c->r);
        cc_free(c);
        return;
    }
    c->all = le_jv_obj();
    for (size_t i = 0; i + 1 < rep->elements; i += 2) {
        redisReply *f = rep->element[i], *v = rep->element[i + 1];
        if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            continue;
        if (!strcmp(f->str, "status") || !strcmp(f->str, "pvw") || !strcmp(f->str, "pgm") ||
            !strcmp(f->str, "start") || !strncmp(f->str, "rloc:", 5) || !strncmp(f->str, "cloc:", 5)) {
            le_jv_set_str(c->all, f->str, v->str);
            continue;
        }
        le_jv *o = le_cst_decode(v->str, v->len);
        if (o)
            le_jv_set(c->all, f->str, o);
    }
    if (!le_jv_get(c->all, "info")) {
        caster_nf(c->r);
        cc_free(c);
        return;
    }
    c->next(c);
}

static void load(cc *c, cc_next next)
{
    char key[300];
    caster_key(key, sizeof(key), c->caster);
    c->next = next;
    if (le_store_cmd(load_cb, c, "HGETALL %s", key) != 0) {
        le_params_unavailable(c->r);
        cc_free(c);
    }
}

/* ---- CreateCaster, CopyCaster ---- */

static void create_cb(redisReply *rep, void *arg)
{
    cc *c = arg;
    long long v;
    if (rep && rep->type == REDIS_REPLY_STRING) {
        le_jv *body = le_jv_obj();
        le_jv_set_str(body, "CasterId", rep->str);
        le_admin_reply(c->r, body);
    } else if (eval_int(rep, &v) != LE_OK) {
        le_params_unavailable(c->r);
    } else if (v == -2) {
        caster_nf(c->r);
    } else {
        char msg[96];
        snprintf(msg, sizeof(msg), "Number of resource exceeded video norm: at most %d casters.", LE_CST_MAX);
        le_admin_error(c->r, 500, "ResourceNumberExceed", msg);
    }
    cc_free(c);
}

/* Stores c->obj (the info without ids) as a new caster, copying src's
 * objects when src is not NULL. */
static void create_store(cc *c, const char *src)
{
    char id[37], ts[21], tkey[200], skey[200], ckey[300], srckey[300], maxs[16], sid[2][37];
    le_buf sb[2] = { { 0 }, { 0 } };
    le_uuid_v4(id, 0);
    for (int k = 0; k < 2; k++) {   /* PVW, PGM: a copy's keep the source's config */
        const char *old = src ? le_jv_get_str(c->all, k ? "pgm" : "pvw") : NULL;
        char field[LE_SCN_ID_MAX + 8];
        snprintf(field, sizeof(field), "scene:%.*s", LE_SCN_ID_MAX - 1, old ? old : "");
        const le_jv *os = old ? le_jv_get(c->all, field) : NULL;
        le_jv *ns = le_scn_new("", k ? "PGM" : "PVW", k);
        le_cs_scene sc;
        le_cs_scene_read(os && os->type == LE_JV_OBJ ? os : ns, &sc);
        le_jv_free(ns);
        le_uuid_v4(sid[k], 0);
        memcpy(sc.id, sid[k], sizeof(sid[k]));
        sc.type = k;
        sc.status = 0;
        ns = le_cs_scene_json(&sc);
        le_cs_scene_free(&sc);
        le_jv_to_json(ns, &sb[k]);
        le_jv_free(ns);
        le_buf_append(&sb[k], "", 1);
    }
    le_jv *info = le_jv_obj();
    le_jv_set_str(info, "CasterId", id);
    const char *name = le_jv_get_str(c->obj, "CasterName");
    for (const le_jv *x = c->obj->first; x; x = x->next)
        if (strcmp(x->key, "CasterName"))
            le_jv_set(info, x->key, le_cst_copy(x));
    le_jv_set_str(info, "CasterName", name && *name ? name : id);
    le_jv_set_str(info, "CreateTime", le_fmt_utc(le_wall_ms(), ts));
    le_jv_set_str(info, "ClientToken", c->token);
    le_buf b = { 0 };
    le_jv_to_json(info, &b);
    le_jv_free(info);
    le_buf_append(&b, "", 1);
    le_store_key(tkey, sizeof(tkey), "castertoken:%s", c->token);
    le_store_key(skey, sizeof(skey), "casters");
    caster_key(ckey, sizeof(ckey), id);
    if (src)
        caster_key(srckey, sizeof(srckey), src);
    snprintf(maxs, sizeof(maxs), "%d", LE_CST_MAX);
    int rc = src ? le_store_cmd(create_cb, c, "EVAL %s 4 %s %s %s %s %s %s %s %s %s %s %s", CREATE_LUA, tkey, skey,
                                ckey, srckey, id, (const char *)b.p, maxs, sid[0], (const char *)sb[0].p, sid[1],
                                (const char *)sb[1].p)
                 : le_store_cmd(create_cb, c, "EVAL %s 3 %s %s %s %s %s %s %s %s %s %s", CREATE_LUA, tkey, skey, ckey,
                                id, (const char *)b.p, maxs, sid[0], (const char *)sb[0].p, sid[1],
                                (const char *)sb[1].p);
    le_buf_free(&b);
    le_buf_free(&sb[0]);
    le_buf_free(&sb[1]);
    if (rc != 0) {
        le_params_unavailable(c->r);
        cc_free(c);
    }
}

static int token_param(le_admin_req *r, char *out)
{
    const char *t;
    if (le_admin_require(r, "ClientToken", &t) != 0)
        return LE_EINVAL;
    if (!le_cst_token_ok(t)) {
        le_params_invalid_why(r, "ClientToken", "1 to 64 printable ASCII characters");
        return LE_EINVAL;
    }
    snprintf(out, LE_CST_TOKEN_MAX + 1, "%s", t);
    return LE_OK;
}

static void create_caster(le_admin_req *r)
{
    le_cst_err e;
    cc *c = cc_new(r);
    if (token_param(r, c->token) != 0 || le_params_store(r) != 0) {
        cc_free(c);
        return;
    }
    if (le_cst_caster_parse(req_get, r, &c->obj, &e) != LE_OK) {
        answer_err(r, &e);
        cc_free(c);
        return;
    }
    create_store(c, NULL);
}

static void copy_loaded(cc *c)
{
    const le_jv *src = le_jv_get(c->all, "info");
    const char *name = le_admin_param(c->r, "CasterName");
    c->obj = le_jv_obj();
    static const char *const keep[] = { "CasterName", "NormType", "ChargeType", "PurchaseTime", "ExpireTime",
                                        "CasterTemplate" };
    for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
        const le_jv *v = le_jv_get(src, keep[i]);
        if (v && !(i == 0 && name && *name))
            le_jv_set(c->obj, keep[i], le_cst_copy(v));
    }
    if (name && *name)
        le_jv_set_str(c->obj, "CasterName", name);
    create_store(c, c->caster);
}

static void copy_caster(le_admin_req *r)
{
    cc *c = cc_new(r);
    const char *name = le_admin_param(r, "CasterName");
    if (caster_param(r, "SrcCasterId", c->caster, sizeof(c->caster)) != 0 || token_param(r, c->token) != 0 ||
        le_params_store(r) != 0) {
        cc_free(c);
        return;
    }
    if (name && strlen(name) > LE_CST_NAME_MAX) {
        le_params_invalid_why(r, "CasterName", "at most 128 bytes");
        cc_free(c);
        return;
    }
    load(c, copy_loaded);
}

/* ---- DeleteCaster ---- */

static void delete_cb(redisReply *rep, void *arg)
{
    cc *c = arg;
    long long v;
    if (eval_int(rep, &v) != LE_OK) {
        le_params_unavailable(c->r);
    } else if (v == -2) {
        caster_nf(c->r);
    } else if (v == -5) {
        le_admin_error(c->r, 400, "IncorrectCasterStatus", "Caster is in use.");
    } else {
        le_jv *body = le_jv_obj();
        le_jv_set_str(body, "CasterId", c->caster);
        le_control_publish_event("caster %s", c->caster);
        le_admin_reply(c->r, body);
    }
    cc_free(c);
}

static void delete_loaded(cc *c)
{
    char ckey[300], skey[200], tkey[200] = "", lkey[300];
    const char *tok = le_jv_get_str(le_jv_get(c->all, "info"), "ClientToken");
    caster_key(ckey, sizeof(ckey), c->caster);
    le_store_key(skey, sizeof(skey), "casters");
    le_store_key(lkey, sizeof(lkey), "caster:lease:%s", c->caster);
    if (tok && *tok)
        le_store_key(tkey, sizeof(tkey), "castertoken:%s", tok);
    const char *argv[] = { "EVAL", DELETE_LUA, "3", ckey, skey, lkey, c->caster, tkey };
    if (le_store_cmdargv(delete_cb, c, 8, argv, NULL) != 0) {
        le_params_unavailable(c->r);
        cc_free(c);
    }
}

static void delete_caster(le_admin_req *r)
{
    cc *c = cc_new(r);
    if (caster_param(r, "CasterId", c->caster, sizeof(c->caster)) != 0 || le_params_store(r) != 0) {
        cc_free(c);
        return;
    }
    load(c, delete_loaded);
}

/* ---- DescribeCasters ---- */

typedef struct list_q {
    le_admin_req *r;
    const char *id, *name;
    int64_t start, end, num, size;
    int status;   /* -1 any */
} list_q;

typedef struct row {
    le_jv *info;
    int64_t ms;
} row;

static int row_cmp(const void *a, const void *b)
{
    const row *x = a, *y = b;
    if (x->ms != y->ms)
        return x->ms < y->ms ? 1 : -1;   /* newest first */
    return strcmp(le_jv_get_str(x->info, "CasterId"), le_jv_get_str(y->info, "CasterId"));
}

static void list_cb(redisReply *rep, void *arg)
{
    list_q *q = arg;
    if (!rep || rep->type != REDIS_REPLY_ARRAY) {
        le_params_unavailable(q->r);
        free(q);
        return;
    }
    row *rows = le_xcalloc(rep->elements / 4 + 1, sizeof(*rows));
    size_t n = 0;
    for (size_t i = 0; i + 3 < rep->elements; i += 4) {
        redisReply *iv = rep->element[i], *sv = rep->element[i + 1], *cv = rep->element[i + 2];
        redisReply *tv = rep->element[i + 3];
        if (iv->type != REDIS_REPLY_STRING || sv->type != REDIS_REPLY_STRING || cv->type != REDIS_REPLY_STRING ||
            tv->type != REDIS_REPLY_STRING)
            continue;
        le_jv *info = le_cst_decode(iv->str, iv->len);
        const char *cid = info ? le_jv_get_str(info, "CasterId") : NULL;
        const char *cname = info ? le_jv_get_str(info, "CasterName") : NULL;
        const char *ct = info ? le_jv_get_str(info, "CreateTime") : NULL;
        int64_t ms = 0;
        int st = sv->str[0] == '1';
        if (!cid || !cname || !ct || le_parse_utc(ct, &ms) != 0 || (q->id && strcmp(q->id, cid)) ||
            (q->name && strcmp(q->name, cname)) || (q->status >= 0 && st != q->status) ||
            (q->start >= 0 && ms < q->start) || (q->end >= 0 && ms > q->end)) {
            le_jv_free(info);
            continue;
        }
        le_jv_set_int(info, "Status", st);
        le_jv_set_str(info, "StartTime", st ? tv->str : "");
        le_jv *cfg = le_cst_decode(cv->str, cv->len);
        int64_t chan = 0;
        if (cfg && le_jv_get_int(cfg, "ChannelEnable", &chan) != 0)
            chan = 0;
        le_jv_free(cfg);
        le_jv_set_int(info, "ChannelEnable", chan);
        rows[n].info = info;
        rows[n++].ms = ms;
    }
    qsort(rows, n, sizeof(*rows), row_cmp);
    le_jv *body = le_jv_obj();
    le_jv *arr = le_jv_set_arr(body, "CasterList");
    for (size_t i = 0; i < n; i++) {
        int64_t first = (q->num - 1) * q->size;
        le_jv *info = rows[i].info;
        if ((int64_t)i >= first && (int64_t)i < first + q->size) {
            le_jv *o = le_jv_push_obj(arr);
            static const char *const k[] = { "CasterId", "CasterName", "CreateTime", "StartTime", "NormType",
                                             "ChargeType", "PurchaseTime", "ExpireTime", "CasterTemplate",
                                             "Status", "ChannelEnable" };
            for (size_t j = 0; j < sizeof(k) / sizeof(k[0]); j++) {
                const le_jv *v = le_jv_get(info, k[j]);
                if (v)
                    le_jv_set(o, k[j], le_cst_copy(v));
            }
        }
        le_jv_free(info);
    }
    free(rows);
    le_jv_set_int(body, "Total", (int64_t)n);
    le_admin_reply(q->r, body);
    free(q);
}

static void describe_casters(le_admin_req *r)
{
    list_q *q = le_xcalloc(1, sizeof(*q));
    q->r = r;
    q->id = le_admin_param(r, "CasterId");
    q->name = le_admin_param(r, "CasterName");
    if (q->id && !*q->id)
        q->id = NULL;
    if (q->name && !*q->name)
        q->name = NULL;
    q->start = q->end = q->status = -1;
    q->num = 1;
    q->size = 20;
    const char *v;
    static const struct { const char *name, *code; } t[] = {
        { "StartTime", "InvalidStartTime.Malformed" }, { "EndTime", "InvalidEndTime.Malformed" } };
    for (int i = 0; i < 2; i++) {
        int64_t *dst = i ? &q->end : &q->start;
        if ((v = le_admin_param(r, t[i].name)) && *v && le_parse_utc(v, dst) != 0) {
            char msg[80];
            snprintf(msg, sizeof(msg), "Specified parameter %s is invalid.", t[i].name);
            le_admin_error(r, 400, t[i].code, msg);
            goto bad;
        }
    }
    if ((v = le_admin_param(r, "Status")) && *v) {
        if (strcmp(v, "0") && strcmp(v, "1")) {
            le_admin_error(r, 400, "InvalidStatus.Malformed", "Specified parameter Status is invalid, only can be 0 "
                                                               "or 1.");
            goto bad;
        }
        q->status = v[0] - '0';
    }
    if ((v = le_admin_param(r, "PageNum")) && *v && le_params_int_range(v, 1, 1000000, &q->num) != LE_OK) {
        le_admin_error(r, 400, "InvalidPageNum.Malformed", "Specified parameter PageNum is invalid.");
        goto bad;
    }
    if ((v = le_admin_param(r, "PageSize")) && *v && le_params_int_range(v, 1, 100, &q->size) != LE_OK) {
        le_admin_error(r, 400, "InvalidPageSize.Malformed", "Specified parameter PageSize is invalid");
        goto bad;
    }
    if (le_params_store(r) != 0)
        goto bad;
    char skey[200], pfx[200];
    le_store_key(skey, sizeof(skey), "casters");
    le_store_key(pfx, sizeof(pfx), "caster:");
    if (le_store_cmd(list_cb, q, "EVAL %s 1 %s %s", LIST_LUA, skey, pfx) != 0) {
        le_params_unavailable(r);
        goto bad;
    }
    return;
bad:
    free(q);
}

/* ---- SetCasterConfig, DescribeCasterConfig ---- */

static void ok_caster_cb(redisReply *rep, void *arg)
{
    cc *c = arg;
    long long v;
    if (eval_int(rep, &v) != LE_OK) {
        le_params_unavailable(c->r);
    } else if (v == -2) {
        caster_nf(c->r);
    } else if (v == -10) {
        le_admin_error(c->r, 400, "InvalidParameter.Malformed", "ChannelEnable cannot be turned off once it is on.");
    } else if (v == -11) {
        le_admin_error(c->r, 400, "IncorrectCasterStatus.Inuse",
                       "Caster is in use: ChannelEnable is first turned on while the caster is stopped.");
    } else {
        le_jv *body = le_jv_obj();
        le_jv_set_str(body, "CasterId", c->caster);
        le_control_publish_event("caster %s", c->caster);
        le_admin_reply(c->r, body);
    }
    cc_free(c);
}

static void setcfg_loaded(cc *c)
{
    le_jv *info = le_cst_copy(le_jv_get(c->all, "info"));
    const char *name = le_admin_param(c->r, "CasterName");
    le_jv *m = (le_jv *)le_jv_get(info, "CasterName");
    if (name && *name && m && m->type == LE_JV_STR) {
        free(m->s);
        m->s = le_xstrdup(name);
        m->slen = strlen(name);
    }
    /* ChannelEnable stays on once on (the full overwrite keeps it when the
     * parameter is absent); SETCFG_LUA refuses 1 -> 0 and a first 1 while
     * running. */
    int64_t was = 0, now = 0;
    const char *ce = le_admin_param(c->r, "ChannelEnable");
    le_jv *cm = (le_jv *)le_jv_get(c->obj, "ChannelEnable");
    if ((!ce || !*ce) && cm && cm->type == LE_JV_INT &&
        le_jv_get_int(le_jv_get(c->all, "config"), "ChannelEnable", &was) == LE_OK && was == 1)
        cm->i = 1;
    le_jv_get_int(c->obj, "ChannelEnable", &now);
    char ckey[300];
    le_buf bi = { 0 }, bc = { 0 };
    le_jv_to_json(info, &bi);
    le_jv_to_json(c->obj, &bc);
    le_jv_free(info);
    le_buf_append(&bi, "", 1);
    le_buf_append(&bc, "", 1);
    caster_key(ckey, sizeof(ckey), c->caster);
    const char *argv[] = { "EVAL", SETCFG_LUA, "1", ckey, (const char *)bi.p, (const char *)bc.p,
                           now == 1 ? "1" : "0" };
    int rc = le_store_cmdargv(ok_caster_cb, c, 7, argv, NULL);
    le_buf_free(&bi);
    le_buf_free(&bc);
    if (rc != 0) {
        le_params_unavailable(c->r);
        cc_free(c);
    }
}

static void set_caster_config(le_admin_req *r)
{
    le_cst_err e;
    cc *c = cc_new(r);
    const char *name = le_admin_param(r, "CasterName"), *dn = le_admin_param(r, "DomainName");
    le_domain *d;
    if (caster_param(r, "CasterId", c->caster, sizeof(c->caster)) != 0)
        goto bad;
    if (name && strlen(name) > LE_CST_NAME_MAX) {
        le_params_invalid_why(r, "CasterName", "at most 128 bytes");
        goto bad;
    }
    if (dn && *dn && le_params_domain(r, "DomainName", &d) != 0)
        goto bad;
    if (le_cst_config_parse(req_get, r, &c->obj, &e) != LE_OK) {
        answer_err(r, &e);
        goto bad;
    }
    /* RecordConfig as PGM's recording will read it (docs/STUDIO.md, "Side
     * output and recording of PGM"): refused now rather than logged later. */
    le_rec_config *rcfg = le_xcalloc(1, sizeof(*rcfg));
    char why[256] = "";
    int rrc = le_rec_config_from_caster(le_jv_get(c->obj, "RecordConfig"), rcfg, why, sizeof(why));
    free(rcfg);
    if (rrc == LE_EINVAL) {
        le_params_invalid_why(r, "RecordConfig", why);
        goto bad;
    }
    if (le_params_store(r) != 0)
        goto bad;
    load(c, setcfg_loaded);
    return;
bad:
    cc_free(c);
}

static void getcfg_loaded(cc *c)
{
    const le_jv *info = le_jv_get(c->all, "info"), *cfg = le_jv_get(c->all, "config");
    le_jv *dflt = cfg ? NULL : le_cst_config_default();
    le_jv *body = le_jv_obj();
    le_jv_set_str(body, "CasterId", c->caster);
    le_jv_set_str(body, "CasterName", le_jv_get_str(info, "CasterName"));
    for (const le_jv *x = (cfg ? cfg : dflt)->first; x; x = x->next)
        le_jv_set(body, x->key, le_cst_copy(x));
    le_jv_free(dflt);
    le_admin_reply(c->r, body);
    cc_free(c);
}

static void describe_caster_config(le_admin_req *r)
{
    cc *c = cc_new(r);
    if (caster_param(r, "CasterId", c->caster, sizeof(c->caster)) != 0 || le_params_store(r) != 0) {
        cc_free(c);
        return;
    }
    load(c, getcfg_loaded);
}

/* ---- the objects below a caster: resources, layouts, components ---- */

/* The answer of an object's write or delete script: an error code (the
 * delete script only returns -2 and -3) or the ids. */
static void put_cb(redisReply *rep, void *arg)
{
    cc *c = arg;
    const struct kind *k = &KINDS[c->kind];
    long long v;
    if (eval_int(rep, &v) != LE_OK) {
        le_params_unavailable(c->r);
    } else if (v == -2) {
        caster_nf(c->r);
    } else if (v == -3) {
        le_admin_error(c->r, 404, k->nf_code, k->nf_msg);
    } else if (v == -4) {
        char msg[96];
        snprintf(msg, sizeof(msg), "Number of resource exceeded: at most %d.", k->max);
        le_admin_error(c->r, 400, "ResourceNumberExceed", msg);
    } else if (v == -7) {
        le_admin_error(c->r, 400, "DuplicateLocationID", "LocationId is duplicate.");
    } else if (v == -6) {
        le_admin_error(c->r, 404, "InvalidResource.NotFound", "Reference resource of layout is not found.");
    } else {
        le_jv *body = le_jv_obj();
        if (c->answer_caster)
            le_jv_set_str(body, "CasterId", c->caster);
        le_jv_set_str(body, k->id_name, c->id);
        le_control_publish_event("caster %s", c->caster);
        le_admin_reply(c->r, body);
    }
    cc_free(c);
}

/* Writes c->obj as c->id of c->kind ("add" or "mod"). */
static void put(cc *c, const char *mode)
{
    const struct kind *k = &KINDS[c->kind];
    char ckey[300], field[200], maxs[16];
    caster_key(ckey, sizeof(ckey), c->caster);
    snprintf(field, sizeof(field), "%s%s", k->field, c->id);
    snprintf(maxs, sizeof(maxs), "%d", c->kind == K_LAYOUT ? k->max : 0);
    le_buf b = { 0 };
    le_jv_to_json(c->obj, &b);
    le_buf_append(&b, "", 1);
    const char *loc = le_jv_get_str(c->obj, "LocationId");
    const char *argv[12 + 2 * LE_CST_LAYERS_MAX];
    char refs[2 * LE_CST_LAYERS_MAX][16];
    int argc = 0;
    argv[argc++] = "EVAL";
    argv[argc++] = PUT_LUA;
    argv[argc++] = "1";
    argv[argc++] = ckey;
    argv[argc++] = field;
    argv[argc++] = (const char *)b.p;
    argv[argc++] = k->loc;
    argv[argc++] = loc ? loc : "";
    argv[argc++] = c->id;
    argv[argc++] = mode;
    argv[argc++] = maxs;
    argv[argc++] = k->field;
    int nref = 0;
    if (c->kind == K_LAYOUT) {   /* BlendList and MixList name existing resources */
        static const char *const lists[] = { "BlendList", "MixList" };
        for (int i = 0; i < 2; i++)
            for (const le_jv *x = le_jv_get(c->obj, lists[i])->first; x && nref < 2 * LE_CST_LAYERS_MAX;
                 x = x->next) {
                snprintf(refs[nref], sizeof(refs[nref]), "rloc:%s", x->s);
                argv[argc++] = refs[nref++];
            }
    }
    int rc = le_store_cmdargv(put_cb, c, argc, argv, NULL);
    le_buf_free(&b);
    if (rc != 0) {
        le_params_unavailable(c->r);
        cc_free(c);
    }
}

static int parse_kind(cc *c, le_cst_get g, void *ctx, const le_jv *old)
{
    le_cst_err e;
    int rc;
    switch (c->kind) {
    case K_RES: rc = le_cst_resource_parse(g, ctx, &c->obj, &e); break;
    case K_LAYOUT: rc = le_cst_layout_parse(g, ctx, old, &c->obj, &e); break;
    default: rc = le_cst_component_parse(g, ctx, &c->obj, &e); break;
    }
    if (rc != LE_OK)
        answer_err(c->r, &e);
    return rc;
}

static void add_obj(le_admin_req *r, int kind)
{
    cc *c = cc_new(r);
    c->kind = kind;
    if (caster_param(r, "CasterId", c->caster, sizeof(c->caster)) != 0 ||
        parse_kind(c, req_get, r, NULL) != LE_OK || le_params_store(r) != 0) {
        cc_free(c);
        return;
    }
    if (kind == K_LAYOUT) {
        char ts[21];
        le_jv_set_str(c->obj, "CreateTime", le_fmt_utc(le_wall_ms(), ts));
    }
    le_uuid_v4(c->id, 0);
    put(c, "add");
}

static const le_jv *find_obj(cc *c)
{
    char field[200];
    snprintf(field, sizeof(field), "%s%s", KINDS[c->kind].field, c->id);
    return le_jv_get(c->all, field);
}

static void modify_loaded(cc *c)
{
    const le_jv *old = find_obj(c);
    if (!old) {
        le_admin_error(c->r, 404, KINDS[c->kind].nf_code, KINDS[c->kind].nf_msg);
        cc_free(c);
        return;
    }
    int rc;
    if (c->kind == K_LAYOUT) {
        rc = parse_kind(c, req_get, c->r, old);
    } else {
        le_cst_merge m = { .g = req_get, .ctx = c->r, .old = old };
        rc = parse_kind(c, le_cst_merge_get, &m, NULL);
        le_cst_merge_free(&m);
    }
    if (rc != LE_OK) {
        cc_free(c);
        return;
    }
    const char *ct = le_jv_get_str(old, "CreateTime");
    if (ct)
        le_jv_set_str(c->obj, "CreateTime", ct);
    c->next = modify_loaded;
    c->answer_caster = 1;
    put(c, "mod");
}

static int obj_id_param(cc *c)
{
    const struct kind *k = &KINDS[c->kind];
    return id_param(c->r, k->id_name, k->nf_code, k->nf_msg, c->id, sizeof(c->id));
}

static void modify_obj(le_admin_req *r, int kind)
{
    cc *c = cc_new(r);
    c->kind = kind;
    if (caster_param(r, "CasterId", c->caster, sizeof(c->caster)) != 0 || obj_id_param(c) != 0 ||
        le_params_store(r) != 0) {
        cc_free(c);
        return;
    }
    load(c, modify_loaded);
}

static void delete_obj(le_admin_req *r, int kind)
{
    cc *c = cc_new(r);
    c->kind = kind;
    if (caster_param(r, "CasterId", c->caster, sizeof(c->caster)) != 0 || obj_id_param(c) != 0 ||
        le_params_store(r) != 0) {
        cc_free(c);
        return;
    }
    char ckey[300], field[200];
    caster_key(ckey, sizeof(ckey), c->caster);
    snprintf(field, sizeof(field), "%s%s", KINDS[kind].field, c->id);
    const char *argv[] = { "EVAL", DEL_LUA, "1", ckey, field, KINDS[kind].loc, c->id };
    c->answer_caster = 1;
    if (le_store_cmdargv(put_cb, c, 7, argv, NULL) != 0) {
        le_params_unavailable(r);
        cc_free(c);
    }
}

typedef struct ent {
    const le_jv *o;
    const char *id;
    const char *sort;
} ent;

static int ent_cmp(const void *a, const void *b)
{
    const ent *x = a, *y = b;
    int d = strcmp(x->sort, y->sort);
    return d ? d : strcmp(x->id, y->id);
}

static void describe_loaded(cc *c)
{
    const struct kind *k = &KINDS[c->kind];
    size_t plen = strlen(k->field), n = 0;
    ent *es = le_xcalloc(c->all->n + 1, sizeof(*es));
    const char *want = le_admin_param(c->r, k->id_name);
    if (want && !*want)
        want = NULL;
    for (const le_jv *x = c->all->first; x; x = x->next) {
        if (strncmp(x->key, k->field, plen) || x->type != LE_JV_OBJ || (want && strcmp(want, x->key + plen)))
            continue;
        const char *s = le_jv_get_str(x, c->kind == K_LAYOUT ? "CreateTime" : "LocationId");
        es[n].o = x;
        es[n].id = x->key + plen;
        es[n++].sort = s ? s : "";
    }
    if (want && !n && c->kind != K_RES) {
        le_admin_error(c->r, 404, k->nf_code, k->nf_msg);
        free(es);
        cc_free(c);
        return;
    }
    qsort(es, n, sizeof(*es), ent_cmp);
    le_jv *body = le_jv_obj();
    le_jv *arr = le_jv_set_arr(body, k->list_name);
    for (size_t i = 0; i < n; i++) {
        le_jv *o = le_jv_push_obj(arr);
        le_jv_set_str(o, k->id_name, es[i].id);
        for (const le_jv *m = es[i].o->first; m; m = m->next)
            if (strcmp(m->key, "CreateTime"))
                le_jv_set(o, m->key, le_cst_copy(m));
    }
    le_jv_set_int(body, "Total", (int64_t)n);
    free(es);
    le_admin_reply(c->r, body);
    cc_free(c);
}

static void describe_obj(le_admin_req *r, int kind)
{
    cc *c = cc_new(r);
    c->kind = kind;
    if (caster_param(r, "CasterId", c->caster, sizeof(c->caster)) != 0 || le_params_store(r) != 0) {
        cc_free(c);
        return;
    }
    load(c, describe_loaded);
}

static void add_res(le_admin_req *r) { add_obj(r, K_RES); }
static void mod_res(le_admin_req *r) { modify_obj(r, K_RES); }
static void del_res(le_admin_req *r) { delete_obj(r, K_RES); }
static void desc_res(le_admin_req *r) { describe_obj(r, K_RES); }
static void add_layout(le_admin_req *r) { add_obj(r, K_LAYOUT); }
static void mod_layout(le_admin_req *r) { modify_obj(r, K_LAYOUT); }
static void del_layout(le_admin_req *r) { delete_obj(r, K_LAYOUT); }
static void desc_layout(le_admin_req *r) { describe_obj(r, K_LAYOUT); }
static void add_comp(le_admin_req *r) { add_obj(r, K_COMP); }
static void mod_comp(le_admin_req *r) { modify_obj(r, K_COMP); }
static void del_comp(le_admin_req *r) { delete_obj(r, K_COMP); }
static void desc_comp(le_admin_req *r) { describe_obj(r, K_COMP); }

void le_actions_caster_register(void)
{
    le_admin_register("CreateCaster", create_caster);
    le_admin_register("CopyCaster", copy_caster);
    le_admin_register("DeleteCaster", delete_caster);
    le_admin_register("DescribeCasters", describe_casters);
    le_admin_register("SetCasterConfig", set_caster_config);
    le_admin_register("DescribeCasterConfig", describe_caster_config);
    le_admin_register("AddCasterVideoResource", add_res);
    le_admin_register("ModifyCasterVideoResource", mod_res);
    le_admin_register("DeleteCasterVideoResource", del_res);
    le_admin_register("DescribeCasterVideoResources", desc_res);
    le_admin_register("AddCasterLayout", add_layout);
    le_admin_register("ModifyCasterLayout", mod_layout);
    le_admin_register("DeleteCasterLayout", del_layout);
    le_admin_register("DescribeCasterLayouts", desc_layout);
    le_admin_register("AddCasterComponent", add_comp);
    le_admin_register("ModifyCasterComponent", mod_comp);
    le_admin_register("DeleteCasterComponent", del_comp);
    le_admin_register("DescribeCasterComponents", desc_comp);
}
