/* Scenes of a caster and the whole caster's view (studio/scene.h,
 * docs/STUDIO.md "Scenes and running"). */
#include "studio/scene.h"
#include "core/err.h"
#include "core/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(le_cst_err *e, int status, const char *code, const char *msg)
{
    if (e) {
        e->status = status;
        snprintf(e->code, sizeof(e->code), "%s", code);
        snprintf(e->msg, sizeof(e->msg), "%s", msg);
    }
    return status == 404 ? LE_ENOTFOUND : LE_EINVAL;
}

/* ---- loading ---- */

static int field_is(const char *f, size_t fl, const char *name)
{
    size_t n = strlen(name);
    return fl == n && !memcmp(f, name, n);
}

static int field_has(const char *f, size_t fl, const char *pfx, const char **rest)
{
    size_t n = strlen(pfx);
    if (fl <= n || memcmp(f, pfx, n))
        return 0;
    *rest = f + n;
    return 1;
}

/* An id of the hash (the part after "res:" ...) as a C string: ids are
 * short; a longer one is skipped. */
static int id_of(const char *rest, size_t len, char *out, size_t n)
{
    if (len == 0 || len >= n || memchr(rest, '\0', len))
        return LE_EINVAL;
    memcpy(out, rest, len);
    out[len] = '\0';
    return LE_OK;
}

int le_scn_caster_load(const char *id, const char *const *fields, const size_t *flen,
                       const char *const *vals, const size_t *vlen, size_t n, le_scn_caster *out,
                       int *bad)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->id, sizeof(out->id), "%s", id ? id : "");
    out->layouts = le_jv_obj();
    out->comps = le_jv_obj();
    out->scenes = le_jv_obj();
    out->resources = le_jv_obj();
    int nbad = 0;
    le_jv *byloc[LE_CST_RES_MAX] = { 0 };   /* borrowed from out->resources */
    for (size_t i = 0; i < n; i++) {
        const char *f = fields[i], *v = vals[i], *rest;
        size_t fl = flen[i], vl = vlen[i];
        char oid[LE_SCN_ID_MAX + 8];
        if (field_is(f, fl, "status")) {
            out->status = vl == 1 && v[0] == '1';
            continue;
        }
        if (field_is(f, fl, "sver")) {
            char num[24];
            if (vl < sizeof(num) && !memchr(v, '\0', vl)) {
                memcpy(num, v, vl);
                num[vl] = '\0';
                out->sver = strtoll(num, NULL, 10);
            }
            continue;
        }
        if (field_is(f, fl, "pvw") || field_is(f, fl, "pgm")) {
            char *dst = f[1] == 'v' ? out->pvw : out->pgm;
            if (vl < LE_SCN_ID_MAX && !memchr(v, '\0', vl)) {
                memcpy(dst, v, vl);
                dst[vl] = '\0';
            } else {
                nbad++;
            }
            continue;
        }
        int isinfo = field_is(f, fl, "info"), iscfg = field_is(f, fl, "config");
        le_jv **slot = NULL;
        le_jv *dict = NULL;
        const char *idname = NULL;
        size_t plen = 0;
        int chan = 0;
        if (field_has(f, fl, "res:", &rest)) {
            dict = out->resources;
            idname = "ResourceId";
            plen = 4;
        } else if (field_has(f, fl, "chan:", &rest)) {
            char cid[8];
            chan = id_of(rest, fl - 5, cid, sizeof(cid)) == LE_OK ? le_cst_location(cid, 'V') : -1;
            if (chan < 1 || chan > LE_CST_RES_MAX) {
                nbad++;
                continue;
            }
        } else if (field_has(f, fl, "layout:", &rest)) {
            dict = out->layouts;
            idname = "LayoutId";
            plen = 7;
        } else if (field_has(f, fl, "comp:", &rest)) {
            dict = out->comps;
            idname = "ComponentId";
            plen = 5;
        } else if (field_has(f, fl, "scene:", &rest)) {
            dict = out->scenes;
            idname = "SceneId";
            plen = 6;
        } else if (isinfo) {
            slot = &out->info;
        } else if (iscfg) {
            slot = &out->config;
        } else {
            continue;   /* rloc:, cloc:, counters */
        }
        if (idname && id_of(rest, fl - plen, oid, LE_SCN_ID_MAX) != LE_OK) {
            nbad++;
            continue;
        }
        le_jv *o = le_cst_decode(v, vl);
        if (!o) {
            nbad++;
            continue;
        }
        if (slot) {
            le_jv_free(*slot);
            *slot = o;
            continue;
        }
        if (chan) {
            if (o->type != LE_JV_OBJ || out->chan[chan - 1]) {
                nbad++;
                le_jv_free(o);
            } else {
                out->chan[chan - 1] = o;
            }
            continue;
        }
        if (!le_jv_get(o, idname))
            le_jv_set_str(o, idname, oid);
        if (le_jv_get(dict, oid)) {
            le_jv_free(o);
            continue;
        }
        le_jv_set(dict, oid, o);
        if (dict != out->resources)
            continue;
        int loc = le_cst_location(le_jv_get_str(o, "LocationId"), 'V');
        if (loc < 1 || loc > LE_CST_RES_MAX || byloc[loc - 1])
            nbad++;
        else
            byloc[loc - 1] = o;
    }
    if (!out->info)
        out->info = le_jv_obj();
    if (!out->config)
        out->config = le_cst_config_default();
    int64_t ce = 0;
    out->channels = out->config && le_jv_get_int(out->config, "ChannelEnable", &ce) == LE_OK && ce == 1;
    /* The slots: by LocationId, or by channel. */
    for (int i = 0; i < LE_CST_RES_MAX; i++) {
        const le_jv *r = byloc[i];
        if (out->channels) {
            const char *rid = out->chan[i] ? le_jv_get_str(out->chan[i], "ResourceId") : NULL;
            r = rid && *rid ? le_jv_get(out->resources, rid) : NULL;
        }
        out->res[i] = r ? le_cst_copy(r) : NULL;
    }
    if (bad)
        *bad = nbad;
    if (!out->info || !out->config || !out->layouts || !out->comps || !out->scenes || !out->resources) {
        le_scn_caster_free(out);
        return LE_ENOMEM;
    }
    return LE_OK;
}

void le_scn_caster_free(le_scn_caster *c)
{
    if (!c)
        return;
    le_jv_free(c->info);
    le_jv_free(c->config);
    for (int i = 0; i < LE_CST_RES_MAX; i++) {
        le_jv_free(c->res[i]);
        le_jv_free(c->chan[i]);
    }
    le_jv_free(c->resources);
    le_jv_free(c->layouts);
    le_jv_free(c->comps);
    le_jv_free(c->scenes);
    memset(c, 0, sizeof(*c));
}

int le_scn_is_urgent(const le_jv *s)
{
    int64_t u = 0;
    return s && s->type == LE_JV_OBJ && le_jv_get_int(s, "Urgent", &u) == LE_OK && u == 1;
}

le_jv *le_scn_new(const char *scene_id, const char *name, int output_type)
{
    le_jv *s = le_jv_obj();
    le_jv_set_str(s, "SceneId", scene_id);
    le_jv_set_str(s, "SceneName", name);
    le_jv_set_int(s, "OutputType", output_type ? 1 : 0);
    le_jv_set_str(s, "LayoutId", "");
    le_jv_set_arr(s, "ComponentIds");
    le_jv_set_int(s, "Status", 0);
    le_jv_set_int(s, "FollowEnable", 1);
    le_jv_set_arr(s, "AudioLayers");
    le_jv_set_arr(s, "MixList");
    le_jv_set_str(s, "EffectResourceId", "");
    return s;
}

/* ---- sources ---- */

static int hexval(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Percent-decoded path (up to '?' or '#') into out; refuses NULs, "..",
 * backslashes. */
static int url_path(const char *p, char *out, size_t n)
{
    size_t o = 0;
    for (; *p && *p != '?' && *p != '#'; p++) {
        int c = (unsigned char)*p;
        if (c == '%') {
            int h = hexval(p[1]), l = h >= 0 ? hexval(p[2]) : -1;
            if (h < 0 || l < 0)
                return LE_EINVAL;
            c = h * 16 + l;
            p += 2;
        }
        if (c == 0 || c == '\\' || o + 1 >= n)
            return LE_EINVAL;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    if (out[0] != '/' || strstr(out, "/../") || (o >= 3 && !strcmp(out + o - 3, "/..")) || strstr(out, "//"))
        return LE_EINVAL;
    return LE_OK;
}

int le_scn_source(const le_jv *res, const char *material_dir, const char *record_dir, le_scn_src *out,
                  le_cst_err *e)
{
    memset(out, 0, sizeof(*out));
    out->kind = LE_SCN_SRC_NONE;
    if (!res)
        return LE_OK;
    int64_t v;
    if (le_jv_get_int(res, "RepeatNum", &v) == LE_OK)
        out->repeat = (int)v;
    if (le_jv_get_int(res, "BeginOffset", &v) == LE_OK)
        out->begin_ms = v;
    if (le_jv_get_int(res, "EndOffset", &v) == LE_OK)
        out->end_ms = v;
    const char *live = le_jv_get_str(res, "LiveStreamUrl"), *vod = le_jv_get_str(res, "VodUrl"),
               *mat = le_jv_get_str(res, "MaterialId");
    if (live && *live) {
        if (strlen(live) > LE_CST_URL_MAX)
            return fail(e, 400, "InvalidLiveStreamUrl.Malformed", "LiveStreamUrl is too long.");
        out->kind = LE_SCN_SRC_LIVE;
        snprintf(out->url, sizeof(out->url), "%s", live);
        return LE_OK;
    }
    if (mat && *mat) {
        if (!material_dir || !*material_dir)
            return fail(e, 400, "InvalidMaterialId.Malformed", "MaterialId needs a material directory "
                                                               "(caster_material_dir).");
        if (!le_cst_id_ok(mat))
            return fail(e, 400, "InvalidMaterialId.Malformed", "MaterialId is not a file name.");
        if ((size_t)snprintf(out->path, sizeof(out->path), "%s/%s", material_dir, mat) >= sizeof(out->path))
            return fail(e, 400, "InvalidMaterialId.Malformed", "The material path is too long.");
        out->kind = LE_SCN_SRC_FILE;
        return LE_OK;
    }
    if (vod && *vod) {
        char path[LE_SCN_PATH_MAX];
        if (!strncmp(vod, "file://", 7) || vod[0] == '/') {
            if (url_path(vod[0] == '/' ? vod : vod + 7, path, sizeof(path)) != LE_OK)
                return fail(e, 400, "InvalidVodUrl.Malformed", "VodUrl is not a usable file path.");
            snprintf(out->path, sizeof(out->path), "%s", path);
            out->kind = LE_SCN_SRC_FILE;
            return LE_OK;
        }
        const char *host = !strncasecmp(vod, "http://", 7) ? vod + 7 : !strncasecmp(vod, "https://", 8) ? vod + 8 : NULL;
        const char *slash = host ? strchr(host, '/') : NULL;
        if (slash && url_path(slash, path, sizeof(path)) == LE_OK && !strncmp(path, "/record/", 8) && path[8] &&
            record_dir && *record_dir) {
            if ((size_t)snprintf(out->path, sizeof(out->path), "%s/%s", record_dir, path + 8) >= sizeof(out->path))
                return fail(e, 400, "InvalidVodUrl.Malformed", "The recording's path is too long.");
            out->kind = LE_SCN_SRC_FILE;
            return LE_OK;
        }
        return fail(e, 400, "InvalidVodUrl.Malformed",
                    "VodUrl must be a file:// URL, an absolute path or a /record/ URL of this node.");
    }
    return LE_OK;
}

/* ---- the picture ---- */

static double num_of(const le_jv *o, const char *k, double dflt)
{
    const le_jv *v = le_jv_get(o, k);
    if (v && v->type == LE_JV_INT)
        return (double)v->i;
    if (v && v->type == LE_JV_NUM)
        return v->d;
    return dflt;
}

/* HeightNormalized, WidthNormalized, PositionNormalized [x, y],
 * PositionRefer of o. */
static int place_of(const le_jv *o, le_sg_place *p)
{
    memset(p, 0, sizeof(*p));
    p->height_norm = num_of(o, "HeightNormalized", 0);
    p->width_norm = num_of(o, "WidthNormalized", 0);
    const le_jv *pos = le_jv_get(o, "PositionNormalized");
    if (pos && pos->type == LE_JV_ARR && pos->n == 2) {
        const le_jv *x = pos->first, *y = pos->first->next;
        p->x = x->type == LE_JV_INT ? (double)x->i : x->type == LE_JV_NUM ? x->d : 0;
        p->y = y->type == LE_JV_INT ? (double)y->i : y->type == LE_JV_NUM ? y->d : 0;
    }
    return le_sg_refer_parse(le_jv_get_str(o, "PositionRefer"), &p->refer);
}

/* The slot (0..11) holding ResourceId rid, -1 if none. */
static int slot_of_resource(const le_scn_caster *c, const char *rid)
{
    for (int i = 0; i < LE_CST_RES_MAX; i++) {
        const char *r = c->res[i] ? le_jv_get_str(c->res[i], "ResourceId") : NULL;
        if (r && !strcmp(r, rid))
            return i;
    }
    return -1;
}

static int slot_of_location(const char *loc)
{
    int n = le_cst_location(loc, 'V');
    return n >= 1 && n <= LE_CST_RES_MAX ? n - 1 : -1;
}

/* AudioLayers + MixList (same length) into pic->audio. */
static int audio_of(const le_jv *layers, const le_jv *mix, le_sg_scene *pic)
{
    const le_jv *l = layers && layers->type == LE_JV_ARR ? layers->first : NULL;
    const le_jv *m = mix && mix->type == LE_JV_ARR ? mix->first : NULL;
    for (; l && m; l = l->next, m = m->next) {
        int slot = m->type == LE_JV_STR ? slot_of_location(m->s) : -1;
        if (slot < 0 || pic->naudio >= LE_SG_MAX_INPUTS)
            continue;
        le_sg_audio_layer *a = &pic->audio[pic->naudio];
        a->input = slot;
        a->volume_rate = num_of(l, "VolumeRate", 1.0);
        if (a->volume_rate < 0 || a->volume_rate > 10)
            a->volume_rate = 1.0;
        if (le_sg_channel_parse(le_jv_get_str(l, "ValidChannel"), &a->channel) != LE_OK)
            a->channel = LE_SG_CH_ALL;
        pic->naudio++;
    }
    return LE_OK;
}

static void follow_one(le_sg_scene *pic, int slot)
{
    if (slot < 0)
        return;
    pic->audio[0].input = slot;
    pic->audio[0].volume_rate = 1.0;
    pic->audio[0].channel = LE_SG_CH_ALL;
    pic->naudio = 1;
}

int le_scn_picture(const le_scn_caster *c, const char *scene_id, int w, int h, const char *material_dir,
                   le_sg_scene *pic, char images[][LE_SCN_PATH_MAX], le_cst_err *e)
{
    return le_scn_picture_of(c, scene_id ? le_jv_get(c->scenes, scene_id) : NULL, w, h, material_dir, pic, images,
                             e);
}

int le_scn_picture_of(const le_scn_caster *c, const le_jv *sc, int w, int h, const char *material_dir,
                      le_sg_scene *pic, char images[][LE_SCN_PATH_MAX], le_cst_err *e)
{
    memset(pic, 0, sizeof(*pic));
    if (!sc || sc->type != LE_JV_OBJ)
        return fail(e, 404, "InvalidScene.NotFound", "Scene is not found.");
    pic->width = w;
    pic->height = h;
    pic->ninputs = pic->naudio_inputs = LE_SG_MAX_INPUTS;

    /* the standby video: its slot full frame, its sound, nothing else */
    int urgent = le_scn_is_urgent(sc);

    /* video */
    const char *eff = urgent ? NULL : le_jv_get_str(sc, "EffectResourceId");
    int eslot = urgent ? LE_SCN_URGENT_SLOT : eff && *eff ? slot_of_resource(c, eff) : -1;
    const char *lid = urgent ? NULL : le_jv_get_str(sc, "LayoutId");
    const le_jv *lay = lid && *lid ? le_jv_get(c->layouts, lid) : NULL;
    int bottom = -1;
    if (eslot >= 0) {
        le_sg_video_layer *l = &pic->layers[0];
        l->input = eslot;
        l->fill = LE_SG_FILL_FIT;
        l->place.height_norm = l->place.width_norm = 1.0;
        pic->nlayers = 1;
        bottom = eslot;
    } else if (lay) {
        const le_jv *vl = le_jv_get(lay, "VideoLayers"), *bl = le_jv_get(lay, "BlendList");
        const le_jv *v = vl && vl->type == LE_JV_ARR ? vl->first : NULL;
        const le_jv *b = bl && bl->type == LE_JV_ARR ? bl->first : NULL;
        for (; v && pic->nlayers < LE_SG_MAX_LAYERS; v = v->next, b = b ? b->next : NULL) {
            le_sg_video_layer *l = &pic->layers[pic->nlayers];
            l->input = b && b->type == LE_JV_STR ? slot_of_location(b->s) : -1;
            if (le_sg_fill_parse(le_jv_get_str(v, "FillMode"), &l->fill) != LE_OK ||
                place_of(v, &l->place) != LE_OK)
                return fail(e, 400, "InvalidParameter.Malformed", "A video layer of the scene's layout is invalid.");
            if (bottom < 0 && l->input >= 0)
                bottom = l->input;
            pic->nlayers++;
        }
    }

    /* components, bottom to top */
    const le_jv *ids = urgent ? NULL : le_jv_get(sc, "ComponentIds");
    for (const le_jv *x = ids && ids->type == LE_JV_ARR ? ids->first : NULL; x; x = x->next) {
        const le_jv *co = x->type == LE_JV_STR ? le_jv_get(c->comps, x->s) : NULL;
        if (!co || pic->ncomponents >= LE_SG_MAX_COMPONENTS)
            continue;
        const char *type = le_jv_get_str(co, "ComponentType");
        le_sg_component *k = &pic->comps[pic->ncomponents];
        memset(k, 0, sizeof(*k));
        const le_jv *cl = le_jv_get(co, "ComponentLayer");
        if ((cl && place_of(cl, &k->place) != LE_OK) ||
            le_sg_effect_parse(le_jv_get_str(co, "Effect"), &k->effect) != LE_OK)
            return fail(e, 400, "InvalidParameter.Malformed", "A component of the scene is invalid.");
        if (type && !strcmp(type, "text")) {
            const le_jv *t = le_jv_get(co, "TextLayerContent");
            const char *text = le_jv_get_str(t, "Text");
            if (!text || strlen(text) > LE_SG_TEXT_MAX)
                continue;   /* the graph draws at most LE_SG_TEXT_MAX bytes (docs/STUDIO.md) */
            k->type = LE_SG_COMP_TEXT;
            k->text = text;
            k->color = le_jv_get_str(t, "Color");
            k->font_name = le_jv_get_str(t, "FontName");
            k->size_norm = num_of(t, "SizeNormalized", 0);
            k->border_width_norm = num_of(t, "BorderWidthNormalized", 0);
            k->border_color = le_jv_get_str(t, "BorderColor");
            pic->ncomponents++;
        } else if (type && !strcmp(type, "image")) {
            const char *mat = le_jv_get_str(le_jv_get(co, "ImageLayerContent"), "MaterialId");
            if (!mat || !*mat || pic->nimages >= LE_SG_MAX_IMAGES)
                continue;
            if (!material_dir || !*material_dir)
                return fail(e, 400, "InvalidMaterialId.Malformed",
                            "An image component needs a material directory (caster_material_dir).");
            if (!le_cst_id_ok(mat) || (size_t)snprintf(images[pic->nimages], LE_SCN_PATH_MAX, "%s/%s",
                                                        material_dir, mat) >= LE_SCN_PATH_MAX)
                return fail(e, 400, "InvalidMaterialId.Malformed", "An image component's MaterialId is unusable.");
            k->type = LE_SG_COMP_IMAGE;
            k->image = pic->nimages++;
            pic->ncomponents++;
        }
    }

    /* audio */
    int64_t follow = 1;
    if (urgent || le_jv_get_int(sc, "FollowEnable", &follow) != LE_OK)
        follow = 1;
    if (!follow) {
        audio_of(le_jv_get(sc, "AudioLayers"), le_jv_get(sc, "MixList"), pic);
    } else if (eslot >= 0) {
        follow_one(pic, eslot);
    } else {
        const le_jv *al = lay ? le_jv_get(lay, "AudioLayers") : NULL;
        if (al && al->type == LE_JV_ARR && al->n > 0)
            audio_of(al, le_jv_get(lay, "MixList"), pic);
        else
            follow_one(pic, bottom);
    }

    char *buf = malloc(LE_SG_GRAPH_MAX);
    if (!buf)
        return LE_ENOMEM;
    int rc = le_sg_build(pic, buf, LE_SG_GRAPH_MAX);
    free(buf);
    if (rc != LE_OK) {
        fail(e, 400, "InvalidParameter.Malformed",
             rc == LE_ETOOBIG ? "The scene's graph is too big." : "The scene cannot be drawn (le_sg_build refused it).");
        return LE_EINVAL;
    }
    return LE_OK;
}

static int delay_of(const le_jv *layer)
{
    double d = num_of(layer, "FixedDelayDuration", 0);
    return d < 0 ? 0 : d > 5000 ? 5000 : (int)d;
}

/* AudioLayers + MixList: the largest delay per slot mixed. */
static void audio_delays(const le_jv *layers, const le_jv *mix, int audio_ms[])
{
    const le_jv *l = layers && layers->type == LE_JV_ARR ? layers->first : NULL;
    const le_jv *m = mix && mix->type == LE_JV_ARR ? mix->first : NULL;
    for (; l && m; l = l->next, m = m->next) {
        int slot = m->type == LE_JV_STR ? slot_of_location(m->s) : -1;
        int d = delay_of(l);
        if (slot >= 0 && d > audio_ms[slot])
            audio_ms[slot] = d;
    }
}

int le_scn_delays(const le_scn_caster *c, const char *scene_id, int video_ms[LE_SG_MAX_INPUTS],
                  int audio_ms[LE_SG_MAX_INPUTS])
{
    return le_scn_delays_of(c, scene_id ? le_jv_get(c->scenes, scene_id) : NULL, video_ms, audio_ms);
}

int le_scn_delays_of(const le_scn_caster *c, const le_jv *sc, int video_ms[LE_SG_MAX_INPUTS],
                     int audio_ms[LE_SG_MAX_INPUTS])
{
    for (int i = 0; i < LE_SG_MAX_INPUTS; i++)
        video_ms[i] = audio_ms[i] = 0;
    if (!sc || sc->type != LE_JV_OBJ)
        return LE_ENOTFOUND;
    if (le_scn_is_urgent(sc))
        return LE_OK;   /* the standby file: a file slot is not delayed */
    const char *eff = le_jv_get_str(sc, "EffectResourceId");
    int eslot = eff && *eff ? slot_of_resource(c, eff) : -1;
    const char *lid = le_jv_get_str(sc, "LayoutId");
    const le_jv *lay = eslot < 0 && lid && *lid ? le_jv_get(c->layouts, lid) : NULL;
    int bottom = -1;
    if (lay) {
        const le_jv *vl = le_jv_get(lay, "VideoLayers"), *bl = le_jv_get(lay, "BlendList");
        const le_jv *v = vl && vl->type == LE_JV_ARR ? vl->first : NULL;
        const le_jv *b = bl && bl->type == LE_JV_ARR ? bl->first : NULL;
        for (int n = 0; v && n < LE_SG_MAX_LAYERS; v = v->next, b = b ? b->next : NULL, n++) {
            int slot = b && b->type == LE_JV_STR ? slot_of_location(b->s) : -1;
            if (slot < 0)
                continue;
            if (bottom < 0)
                bottom = slot;
            int d = delay_of(v);
            if (d > video_ms[slot])
                video_ms[slot] = d;
        }
    }
    int64_t follow = 1;
    if (le_jv_get_int(sc, "FollowEnable", &follow) != LE_OK)
        follow = 1;
    if (!follow) {
        audio_delays(le_jv_get(sc, "AudioLayers"), le_jv_get(sc, "MixList"), audio_ms);
    } else if (eslot < 0) {
        const le_jv *al = lay ? le_jv_get(lay, "AudioLayers") : NULL;
        if (al && al->type == LE_JV_ARR && al->n > 0)
            audio_delays(al, le_jv_get(lay, "MixList"), audio_ms);
        else if (bottom >= 0)
            audio_ms[bottom] = video_ms[bottom];
    }
    return LE_OK;
}

int le_scn_stream_name(const char *scene_id, const char *tmpl, char *out, size_t n)
{
    size_t o = 0;
    if (!out || n == 0 || !scene_id)
        return LE_EINVAL;
    for (const char *p = scene_id; *p; p++) {
        if (*p == '-')
            continue;
        if (o + 1 >= n)
            goto big;
        out[o++] = *p;
    }
    if (tmpl && *tmpl) {
        size_t tl = strlen(tmpl);
        if (o + 1 + tl + 1 > n)
            goto big;
        out[o++] = '_';
        memcpy(out + o, tmpl, tl);
        o += tl;
    }
    out[o] = '\0';
    return LE_OK;
big:
    out[0] = '\0';
    return LE_ETOOBIG;
}
