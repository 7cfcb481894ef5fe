/* The production studio's scene actions (API reference chapter 17;
 * livedge(8), docs/STUDIO.md "Scenes and running"): SetCasterSceneConfig,
 * UpdateCasterSceneConfig, DeleteCasterSceneConfig, CopyCasterSceneConfig
 * (the take), DescribeCasterScenes, EffectCasterVideoResource,
 * UpdateCasterSceneAudio, DescribeCasterSceneAudio; and the load / plan /
 * write cycle every scene action uses (admin/caster_scene.h).
 *
 * A scene is the field scene:{SceneId} of the caster's hash (studio/
 * scene.h); pvw and pgm name the caster's two scenes, made by CreateCaster
 * (or StartCaster for a caster made before scenes existed). */
#include "admin/actions.h"
#include "admin/admin.h"
#include "admin/caster_scene.h"
#include "admin/params.h"
#include "control/domains.h"
#include "core/err.h"
#include "core/json.h"
#include "core/util.h"
#include "store/store.h"
#include "studio/config.h"
#include "studio/program.h"
#include "studio/scene.h"

#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TRIES 8

/* KEYS caster; ARGV version field, its value, nset, field, value ..., ndel,
 * field ..., then fields that must exist (rloc:{RVnn}: a resource there or
 * channel chan:{RVnn}). 1; -2 no caster; -9 version changed; {-6, field}. */
static const char WRITE_LUA[] =
    "if redis.call('EXISTS', KEYS[1]) == 0 then return -2 end "
    "if (redis.call('HGET', KEYS[1], ARGV[1]) or '0') ~= ARGV[2] then return -9 end "
    "local i = 4 "
    "local sets = {} "
    "for k = 1, tonumber(ARGV[3]) do sets[#sets + 1] = ARGV[i]; sets[#sets + 1] = ARGV[i + 1]; i = i + 2 end "
    "local dels = {} "
    "for k = 1, tonumber(ARGV[i]) do dels[#dels + 1] = ARGV[i + k] end "
    "i = i + 1 + #dels "
    "for k = i, #ARGV do "
    "  local f = ARGV[k] "
    "  if redis.call('HEXISTS', KEYS[1], f) == 0 and (string.sub(f, 1, 5) ~= 'rloc:' or "
    "      redis.call('HEXISTS', KEYS[1], 'chan:' .. string.sub(f, 6)) == 0) then return {-6, f} end "
    "end "
    "if #sets > 0 then redis.call('HSET', KEYS[1], unpack(sets)) end "
    "if #dels > 0 then redis.call('HDEL', KEYS[1], unpack(dels)) end "
    "redis.call('HINCRBY', KEYS[1], ARGV[1], 1) "
    "return 1";

static void caster_nf(le_admin_req *r)
{
    le_admin_error(r, 404, "InvalidCaster.NotFound", "Caster is not found.");
}

static void cs_free(le_cs *c)
{
    le_scn_caster_free(&c->cst);
    le_jv_free(c->sets);
    le_jv_free(c->dels);
    le_jv_free(c->musts);
    le_jv_free(c->body);
    if (c->free_arg)
        c->free_arg(c->arg);
    free(c);
}

static void cs_reset(le_cs *c)
{
    le_scn_caster_free(&c->cst);
    le_jv_free(c->sets);
    le_jv_free(c->dels);
    le_jv_free(c->musts);
    le_jv_free(c->body);
    c->sets = le_jv_obj();
    c->dels = le_jv_arr();
    c->musts = le_jv_arr();
    c->body = le_jv_obj();
    c->ver = 0;
    if (c->kind->reset)
        c->kind->reset(c->arg);
}

static void cs_load(le_cs *c);

static void reply_body(le_cs *c)
{
    le_jv *b = c->body;
    c->body = NULL;
    le_admin_reply(c->r, b);
}

static void write_cb(redisReply *rep, void *arg)
{
    le_cs *c = arg;
    if (rep && rep->type == REDIS_REPLY_INTEGER && rep->integer == 1) {
        le_control_publish_event("caster %s", c->caster);
        reply_body(c);
    } else if (rep && rep->type == REDIS_REPLY_INTEGER && rep->integer == -2) {
        caster_nf(c->r);
    } else if (rep && rep->type == REDIS_REPLY_INTEGER && rep->integer == -9 && c->tries < MAX_TRIES) {
        cs_load(c);   /* the scenes (programme) changed meanwhile: plan again */
        return;
    } else if (rep && rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
               rep->element[1]->type == REDIS_REPLY_STRING) {
        const char *f = rep->element[1]->str;
        if (!strncmp(f, "layout:", 7))
            le_admin_error(c->r, 404, "InvalidLayout.NotFound", "Layout is not found.");
        else if (!strncmp(f, "comp:", 5))
            le_admin_error(c->r, 404, "InvalidComponent.NotFound", "Component is not found.");
        else if (!strncmp(f, "scene:", 6))
            le_admin_error(c->r, 404, "InvalidScene.NotFound", "Scene is not found.");
        else if (!strncmp(f, "ep:", 3))
            le_admin_error(c->r, 404, "InvalidEpisode.NotFound", "Episode is not found.");
        else
            le_admin_error(c->r, 404, "InvalidResource.NotFound", "Resource is not found.");
    } else {
        le_params_unavailable(c->r);
    }
    cs_free(c);
}

static void cs_write(le_cs *c)
{
    char key[300], ver[24], nset[16], ndel[16];
    le_store_key(key, sizeof(key), "caster:%s", c->caster);
    snprintf(ver, sizeof(ver), "%" PRId64, c->ver);
    snprintf(nset, sizeof(nset), "%zu", c->sets->n);
    snprintf(ndel, sizeof(ndel), "%zu", c->dels->n);
    size_t argc = 8 + 2 * c->sets->n + c->dels->n + c->musts->n, i = 0;
    const char **argv = le_xcalloc(argc, sizeof(*argv));
    argv[i++] = "EVAL";
    argv[i++] = WRITE_LUA;
    argv[i++] = "1";
    argv[i++] = key;
    argv[i++] = c->kind->ver;
    argv[i++] = ver;
    argv[i++] = nset;
    for (const le_jv *x = c->sets->first; x; x = x->next) {
        argv[i++] = x->key;
        argv[i++] = x->s;
    }
    argv[i++] = ndel;
    for (const le_jv *x = c->dels->first; x; x = x->next)
        argv[i++] = x->s;
    for (const le_jv *x = c->musts->first; x; x = x->next)
        argv[i++] = x->s;
    int rc = le_store_cmdargv(write_cb, c, (int)i, argv, NULL);
    free(argv);
    if (rc != 0) {
        le_params_unavailable(c->r);
        cs_free(c);
    }
}

static void load_cb(redisReply *rep, void *arg)
{
    le_cs *c = arg;
    if (!rep || rep->type != REDIS_REPLY_ARRAY) {
        le_params_unavailable(c->r);
        cs_free(c);
        return;
    }
    size_t n = rep->elements / 2, k = 0;
    const char **f = le_xcalloc(n + 1, sizeof(*f)), **v = le_xcalloc(n + 1, sizeof(*v));
    size_t *fl = le_xcalloc(n + 1, sizeof(*fl)), *vl = le_xcalloc(n + 1, sizeof(*vl));
    int info = 0;
    for (size_t i = 0; i + 1 < rep->elements; i += 2) {
        const redisReply *a = rep->element[i], *b = rep->element[i + 1];
        if (a->type != REDIS_REPLY_STRING || b->type != REDIS_REPLY_STRING)
            continue;
        if (!strcmp(a->str, c->kind->ver)) {
            c->ver = strtoll(b->str, NULL, 10);
            continue;
        }
        info |= !strcmp(a->str, "info");
        f[k] = a->str;
        fl[k] = a->len;
        v[k] = b->str;
        vl[k++] = b->len;
    }
    int bad = 0;
    int rc = info ? le_scn_caster_load(c->caster, f, fl, v, vl, k, &c->cst, &bad) : LE_ENOTFOUND;
    if (rc == LE_OK && c->kind->load) {
        const le_cs_hash h = { f, v, fl, vl, k };
        c->kind->load(c, &h);
    }
    free(f);
    free(v);
    free(fl);
    free(vl);
    if (rc == LE_ENOTFOUND) {
        caster_nf(c->r);
        cs_free(c);
        return;
    }
    if (rc != LE_OK) {
        le_params_unavailable(c->r);
        cs_free(c);
        return;
    }
    switch (c->plan(c)) {
    case LE_CS_READ:
        reply_body(c);
        break;
    case LE_CS_WRITE:
        cs_write(c);
        return;
    default:
        break;
    }
    cs_free(c);
}

static void cs_load(le_cs *c)
{
    char key[300];
    cs_reset(c);
    c->tries++;
    le_store_key(key, sizeof(key), "caster:%s", c->caster);
    if (le_store_cmd(load_cb, c, "HGETALL %s", key) != 0) {
        le_params_unavailable(c->r);
        cs_free(c);
    }
}

void le_cs_start(le_admin_req *r, le_cs_plan plan, void *arg, void (*free_arg)(void *))
{
    static const le_cs_kind scenes = { "sver", NULL, NULL };
    le_cs_start_kind(r, &scenes, plan, arg, free_arg);
}

void le_cs_start_kind(le_admin_req *r, const le_cs_kind *kind, le_cs_plan plan, void *arg,
                      void (*free_arg)(void *))
{
    le_cs *c = le_xcalloc(1, sizeof(*c));
    const char *v;
    c->r = r;
    c->kind = kind;
    c->plan = plan;
    c->arg = arg;
    c->free_arg = free_arg;
    if (le_admin_require(r, "CasterId", &v) != 0) {
        cs_free(c);
        return;
    }
    if (!le_cst_id_ok(v) || strlen(v) >= sizeof(c->caster)) {
        caster_nf(r);
        cs_free(c);
        return;
    }
    snprintf(c->caster, sizeof(c->caster), "%s", v);
    if (le_params_store(r) != 0) {
        cs_free(c);
        return;
    }
    cs_load(c);
}

/* ---- scenes ---- */

static le_jv *arr_copy(const le_jv *a)
{
    return a && a->type == LE_JV_ARR ? le_cst_copy(a) : le_jv_arr();
}

void le_cs_scene_read(const le_jv *o, le_cs_scene *s)
{
    int64_t v;
    memset(s, 0, sizeof(*s));
    le_jv_copy_str(o, "SceneId", s->id, sizeof(s->id));
    le_jv_copy_str(o, "SceneName", s->name, sizeof(s->name));
    le_jv_copy_str(o, "LayoutId", s->layout, sizeof(s->layout));
    le_jv_copy_str(o, "EffectResourceId", s->effect, sizeof(s->effect));
    s->type = le_jv_get_int(o, "OutputType", &v) == LE_OK && v == 1;
    s->status = le_jv_get_int(o, "Status", &v) == LE_OK && v == 1;
    s->follow = !(le_jv_get_int(o, "FollowEnable", &v) == LE_OK && v == 0);
    s->urgent = le_scn_is_urgent(o);
    s->comps = arr_copy(le_jv_get(o, "ComponentIds"));
    s->audio = arr_copy(le_jv_get(o, "AudioLayers"));
    s->mix = arr_copy(le_jv_get(o, "MixList"));
}

le_jv *le_cs_scene_json(const le_cs_scene *s)
{
    le_jv *o = le_scn_new(s->id, s->name, s->type);
    for (le_jv *m = o->first; m; m = m->next) {
        le_jv *src = NULL;
        const char *str = NULL;
        if (!strcmp(m->key, "LayoutId"))
            str = s->layout;
        else if (!strcmp(m->key, "EffectResourceId"))
            str = s->effect;
        else if (!strcmp(m->key, "Status"))
            m->i = s->status;
        else if (!strcmp(m->key, "FollowEnable"))
            m->i = s->follow;
        else if (!strcmp(m->key, "ComponentIds"))
            src = s->comps;
        else if (!strcmp(m->key, "AudioLayers"))
            src = s->audio;
        else if (!strcmp(m->key, "MixList"))
            src = s->mix;
        if (str) {
            free(m->s);
            m->s = le_xstrdup(str);
            m->slen = strlen(str);
        }
        if (src)
            for (const le_jv *x = src->first; x; x = x->next)
                le_jv_push(m, le_cst_copy(x));
    }
    if (s->urgent)
        le_jv_set_int(o, "Urgent", 1);
    return o;
}

void le_cs_scene_free(le_cs_scene *s)
{
    le_jv_free(s->comps);
    le_jv_free(s->audio);
    le_jv_free(s->mix);
    s->comps = s->audio = s->mix = NULL;
}

void le_cs_set(le_cs *c, const char *field, const char *value)
{
    le_jv_set_str(c->sets, field, value);
}

void le_cs_set_scene(le_cs *c, const le_cs_scene *s)
{
    char field[LE_SCN_ID_MAX + 8];
    le_jv *o = le_cs_scene_json(s);
    le_buf b = { 0 };
    le_jv_to_json(o, &b);
    le_buf_append(&b, "", 1);
    le_jv_free(o);
    snprintf(field, sizeof(field), "scene:%s", s->id);
    le_cs_set(c, field, (const char *)b.p);
    le_buf_free(&b);
}

void le_cs_must(le_cs *c, const char *fmt, const char *id)
{
    char f[200];
    snprintf(f, sizeof(f), fmt, id);
    le_jv_push_str(c->musts, f);
}

const le_jv *le_cs_scene_param(le_cs *c, const char *name)
{
    const char *v = le_admin_param(c->r, name);
    if (!v || !*v) {
        char msg[96];
        snprintf(msg, sizeof(msg), "%s is mandatory for this action.", name);
        le_admin_error(c->r, 400, "InvalidSceneId.Malformed", msg);
        return NULL;
    }
    const le_jv *s = le_cst_id_ok(v) ? le_jv_get(c->cst.scenes, v) : NULL;
    if (!s || s->type != LE_JV_OBJ) {
        le_admin_error(c->r, 404, "InvalidScene.NotFound", "Scene is not found.");
        return NULL;
    }
    return s;
}

/* ---- parameters ---- */

static const char *req_get(void *ctx, const char *name)
{
    return le_admin_param(ctx, name);
}

/* ComponentIds: ComponentIds.N, ComponentId.N or ComponentIds as a JSON
 * array of strings. 1 given (ids in *out), 0 absent, LE_EINVAL answered;
 * each must be a component of the caster. */
static int component_ids(le_cs *c, le_jv **out)
{
    le_admin_req *r = c->r;
    const char *js = le_admin_param(r, "ComponentIds");
    le_jv *ids = NULL;
    *out = NULL;
    if (js && *js) {
        ids = strlen(js) <= 16384 ? le_jv_parse(js, strlen(js), 1, NULL, 0) : NULL;
        if (!ids || ids->type != LE_JV_ARR) {
            le_jv_free(ids);
            le_params_invalid_why(r, "ComponentIds", "a JSON array of ComponentIds");
            return LE_EINVAL;
        }
    } else {
        ids = le_prg_id_list(req_get, r, "");
        if (!ids)
            return 0;
    }
    if (ids->n > LE_CST_COMP_MAX) {
        le_jv_free(ids);
        le_params_invalid_why(r, "ComponentIds", "at most 99 components");
        return LE_EINVAL;
    }
    for (const le_jv *x = ids->first; x; x = x->next) {
        if (x->type != LE_JV_STR || !le_cst_id_ok(x->s) || !le_jv_get(c->cst.comps, x->s)) {
            le_jv_free(ids);
            le_admin_error(r, 404, "InvalidComponent.NotFound", "Component is not found.");
            return LE_EINVAL;
        }
        for (const le_jv *y = ids->first; y != x; y = y->next)
            if (!strcmp(x->s, y->s)) {
                le_jv_free(ids);
                le_admin_error(r, 400, "InvalidParameter.Malformed", "The ComponentIds has duplicate ComponentId.");
                return LE_EINVAL;
            }
    }
    *out = ids;
    return 1;
}

static void musts_of_comps(le_cs *c, const le_jv *ids)
{
    for (const le_jv *x = ids ? ids->first : NULL; x; x = x->next)
        le_cs_must(c, "comp:%s", x->s);
}

/* LayoutId, required: the layout of the caster, or NULL answered. */
static const char *layout_param(le_cs *c)
{
    const char *v;
    if (le_admin_require(c->r, "LayoutId", &v) != 0)
        return NULL;
    if (!le_cst_id_ok(v) || !le_jv_get(c->cst.layouts, v) || strlen(v) >= LE_SCN_ID_MAX) {
        le_admin_error(c->r, 404, "InvalidLayout.NotFound", "Layout is not found.");
        return NULL;
    }
    return v;
}

/* ---- SetCasterSceneConfig, UpdateCasterSceneConfig ---- */

static int plan_scene_config(le_cs *c, int update)
{
    const le_jv *so = le_cs_scene_param(c, "SceneId");
    const char *lid;
    le_jv *ids = NULL;
    int given;
    if (!so || !(lid = layout_param(c)) || (given = component_ids(c, &ids)) < 0)
        return LE_CS_ERR;
    le_cs_scene s;
    le_cs_scene_read(so, &s);
    snprintf(s.layout, sizeof(s.layout), "%s", lid);
    s.effect[0] = '\0';
    s.urgent = 0;   /* a take leaves the standby video */
    if (given || !update) {
        le_jv_free(s.comps);
        s.comps = ids ? ids : le_jv_arr();
        ids = NULL;
    }
    le_cs_must(c, "layout:%s", lid);
    musts_of_comps(c, s.comps);
    le_cs_set_scene(c, &s);
    le_cs_scene_free(&s);
    le_jv_free(ids);
    return LE_CS_WRITE;
}

static int plan_set(le_cs *c) { return plan_scene_config(c, 0); }
static int plan_update(le_cs *c) { return plan_scene_config(c, 1); }
static void set_scene_config(le_admin_req *r) { le_cs_start(r, plan_set, NULL, NULL); }
static void update_scene_config(le_admin_req *r) { le_cs_start(r, plan_update, NULL, NULL); }

/* ---- DeleteCasterSceneConfig ---- */

static int plan_delete(le_cs *c)
{
    static const char *const types[] = { "Component", "Layout", "All", NULL };
    const char *t;
    const le_jv *so = le_cs_scene_param(c, "SceneId");
    if (!so || le_admin_require(c->r, "Type", &t) != 0 || le_params_enum(c->r, "Type", types, NULL, &t) != 0)
        return LE_CS_ERR;
    le_cs_scene s;
    le_cs_scene_read(so, &s);
    if (strcmp(t, "Layout")) {
        le_jv_free(s.comps);
        s.comps = le_jv_arr();
    }
    if (strcmp(t, "Component"))
        s.layout[0] = s.effect[0] = '\0';
    le_cs_set_scene(c, &s);
    le_cs_scene_free(&s);
    return LE_CS_WRITE;
}

static void delete_scene_config(le_admin_req *r) { le_cs_start(r, plan_delete, NULL, NULL); }

/* ---- CopyCasterSceneConfig: the take ---- */

static int plan_copy(le_cs *c)
{
    const le_jv *from = le_cs_scene_param(c, "FromSceneId"), *to = from ? le_cs_scene_param(c, "ToSceneId") : NULL;
    if (!to)
        return LE_CS_ERR;
    le_cs_scene f, t;
    le_cs_scene_read(from, &f);
    le_cs_scene_read(to, &t);
    if (strcmp(f.id, c->cst.pvw) || strcmp(t.id, c->cst.pgm)) {
        le_admin_error(c->r, 400, "InvalidParameter.Malformed",
                       "Only the PVW scene's config can be copied, to the PGM scene: FromSceneId must be the PVW "
                       "scene and ToSceneId the PGM scene.");
        le_cs_scene_free(&f);
        le_cs_scene_free(&t);
        return LE_CS_ERR;
    }
    memcpy(t.layout, f.layout, sizeof(t.layout));
    memcpy(t.effect, f.effect, sizeof(t.effect));
    t.follow = f.follow;
    t.urgent = 0;   /* the take leaves the standby video */
    le_jv *swap[3] = { t.comps, t.audio, t.mix };
    t.comps = f.comps;
    t.audio = f.audio;
    t.mix = f.mix;
    f.comps = swap[0];
    f.audio = swap[1];
    f.mix = swap[2];
    le_cs_set_scene(c, &t);
    le_cs_must(c, "scene:%s", f.id);
    le_cs_scene_free(&f);
    le_cs_scene_free(&t);
    return LE_CS_WRITE;
}

static void copy_scene_config(le_admin_req *r) { le_cs_start(r, plan_copy, NULL, NULL); }

/* ---- EffectCasterVideoResource ---- */

static int plan_effect(le_cs *c)
{
    const le_jv *so = le_cs_scene_param(c, "SceneId");
    const char *rid;
    if (!so || le_admin_require(c->r, "ResourceId", &rid) != 0)
        return LE_CS_ERR;
    int found = 0;
    for (int i = 0; i < LE_CST_RES_MAX && !found; i++) {
        const char *x = c->cst.res[i] ? le_jv_get_str(c->cst.res[i], "ResourceId") : NULL;
        found = x && !strcmp(x, rid);
    }
    if (!found || strlen(rid) >= LE_SCN_ID_MAX) {
        le_admin_error(c->r, 404, "InvalidResource.NotFound", "Resource is not found.");
        return LE_CS_ERR;
    }
    le_cs_scene s;
    le_cs_scene_read(so, &s);
    snprintf(s.effect, sizeof(s.effect), "%s", rid);
    s.urgent = 0;   /* a take leaves the standby video */
    le_cs_must(c, "res:%s", rid);
    le_cs_set_scene(c, &s);
    le_cs_scene_free(&s);
    return LE_CS_WRITE;
}

static void effect_resource(le_admin_req *r) { le_cs_start(r, plan_effect, NULL, NULL); }

/* ---- UpdateCasterSceneAudio, DescribeCasterSceneAudio ---- */

/* The request without VideoLayer/BlendList parameters, for the layout
 * parser reading AudioLayer.N.* and MixList.N. */
static const char *audio_get(void *ctx, const char *name)
{
    if (!strncmp(name, "VideoLayer", 10) || !strncmp(name, "BlendList", 9))
        return NULL;
    return le_admin_param(ctx, name);
}

static int plan_audio(le_cs *c)
{
    const le_jv *so = le_cs_scene_param(c, "SceneId");
    if (!so)
        return LE_CS_ERR;
    const char *fe = le_admin_param(c->r, "FollowEnable");
    if (fe && *fe && strcmp(fe, "0") && strcmp(fe, "1")) {
        le_admin_error(c->r, 400, "InvalidFollowEnable.Malformed",
                       "Specified parameter FollowEnable is invalid, only can be 0 or 1.");
        return LE_CS_ERR;
    }
    le_jv *lay = NULL;
    le_cst_err e;
    if (le_cst_layout_parse(audio_get, c->r, NULL, &lay, &e) != LE_OK) {
        if (strcmp(e.code, "MissingParameter")) {
            le_admin_error(c->r, e.status, e.code, e.msg);
            return LE_CS_ERR;
        }
        if (le_admin_param(c->r, "MixList.1") || le_admin_param(c->r, "MixLists.1")) {
            le_admin_error(c->r, 400, "InvalidAudioLayersAndMixListSize.Mismatch",
                           "Specified parameter AudioLayers and MixList size is invalid.");
            return LE_CS_ERR;
        }
        lay = NULL;   /* no audio lists: FollowEnable only */
    }
    le_cs_scene s;
    le_cs_scene_read(so, &s);
    if (fe && *fe)
        s.follow = fe[0] == '1';
    if (lay) {
        le_jv_free(s.audio);
        le_jv_free(s.mix);
        s.audio = le_cst_copy(le_jv_get(lay, "AudioLayers"));
        s.mix = le_cst_copy(le_jv_get(lay, "MixList"));
        for (const le_jv *x = s.mix->first; x; x = x->next) {
            if (!c->cst.res[le_cst_location(x->s, 'V') - 1]) {
                le_admin_error(c->r, 404, "InvalidResource.NotFound", "Reference resource of MixList is not found.");
                le_cs_scene_free(&s);
                le_jv_free(lay);
                return LE_CS_ERR;
            }
            le_cs_must(c, "rloc:%s", x->s);
        }
        le_jv_free(lay);
    }
    le_cs_set_scene(c, &s);
    le_cs_scene_free(&s);
    return LE_CS_WRITE;
}

static void update_scene_audio(le_admin_req *r) { le_cs_start(r, plan_audio, NULL, NULL); }

static int plan_describe_audio(le_cs *c)
{
    const le_jv *so = le_cs_scene_param(c, "SceneId");
    if (!so)
        return LE_CS_ERR;
    le_cs_scene s;
    le_cs_scene_read(so, &s);
    le_jv_set(c->body, "AudioLayers", s.audio);
    le_jv_set(c->body, "MixList", s.mix);
    le_jv_set_int(c->body, "FollowEnable", s.follow);
    s.audio = s.mix = NULL;
    le_cs_scene_free(&s);
    return LE_CS_READ;
}

static void describe_scene_audio(le_admin_req *r) { le_cs_start(r, plan_describe_audio, NULL, NULL); }

/* ---- DescribeCasterScenes ---- */

static int scene_cmp(const void *a, const void *b)
{
    const le_jv *x = *(le_jv *const *)a, *y = *(le_jv *const *)b;
    int64_t tx = 0, ty = 0;
    le_jv_get_int(x, "OutputType", &tx);
    le_jv_get_int(y, "OutputType", &ty);
    if (tx != ty)
        return tx < ty ? -1 : 1;
    return strcmp(x->key, y->key);
}

static int plan_describe_scenes(le_cs *c)
{
    const char *want = le_admin_param(c->r, "SceneId");
    if (want && !*want)
        want = NULL;
    if (want && !le_jv_get(c->cst.scenes, want)) {
        le_admin_error(c->r, 404, "InvalidScene.NotFound", "Scene is not found.");
        return LE_CS_ERR;
    }
    if (!le_cs_domain(c))
        return LE_CS_ERR;
    size_t n = 0;
    const le_jv **v = le_xcalloc(c->cst.scenes->n + 1, sizeof(*v));
    for (const le_jv *x = c->cst.scenes->first; x; x = x->next)
        if (x->type == LE_JV_OBJ && (!want || !strcmp(want, x->key)))
            v[n++] = x;
    qsort(v, n, sizeof(*v), scene_cmp);
    le_jv *arr = le_jv_set_arr(c->body, "SceneList");
    for (size_t i = 0; i < n; i++) {
        le_cs_scene s;
        char url[LE_CST_URL_MAX + 1];
        le_cs_scene_read(v[i], &s);
        le_jv *o = le_jv_push_obj(arr);
        le_jv_set_str(o, "SceneId", s.id);
        le_jv_set_str(o, "SceneName", s.name);
        le_jv_set_int(o, "OutputType", s.type);
        le_jv_set_str(o, "LayoutId", s.layout);
        le_cs_stream_url(c, s.id, url, sizeof(url));
        le_jv_set_str(o, "StreamUrl", url);
        le_jv_set(o, "ComponentIds", s.comps);
        s.comps = NULL;
        le_jv_set_int(o, "Status", s.status);
        le_jv_set_str(o, "EffectResourceId", s.effect);   /* the console shows what a scene holds */
        le_jv_set_int(o, "Urgent", s.urgent);
        le_jv *si = le_jv_set_arr(o, "StreamInfos");
        if (s.type == 1)
            le_cs_stream_infos(c, s.id, si);
        le_cs_scene_free(&s);
    }
    le_jv_set_int(c->body, "Total", (int64_t)n);
    free(v);
    return LE_CS_READ;
}

static void describe_scenes(le_admin_req *r) { le_cs_start(r, plan_describe_scenes, NULL, NULL); }

void le_actions_caster_scene_register(void)
{
    le_admin_register("SetCasterSceneConfig", set_scene_config);
    le_admin_register("UpdateCasterSceneConfig", update_scene_config);
    le_admin_register("DeleteCasterSceneConfig", delete_scene_config);
    le_admin_register("CopyCasterSceneConfig", copy_scene_config);
    le_admin_register("DescribeCasterScenes", describe_scenes);
    le_admin_register("EffectCasterVideoResource", effect_resource);
    le_admin_register("UpdateCasterSceneAudio", update_scene_audio);
    le_admin_register("DescribeCasterSceneAudio", describe_scene_audio);
    le_actions_caster_run_register();
}
