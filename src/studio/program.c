/* A caster's programme (studio/program.h, docs/STUDIO.md "Programmes"). */
#include "studio/program.h"
#include "core/err.h"
#include "core/util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* ---- times ---- */

int le_prg_time_parse(const char *s, int64_t *ms)
{
    char base[21];
    size_t n = s ? strlen(s) : 0;
    if (n < 20 || n > 24 || s[n - 1] != 'Z')
        return LE_EINVAL;
    int frac = 0, digits = 0;
    if (n > 20) {
        if (s[19] != '.' || n == 21)
            return LE_EINVAL;
        for (size_t i = 20; i + 1 < n; i++) {
            if (s[i] < '0' || s[i] > '9')
                return LE_EINVAL;
            frac = frac * 10 + (s[i] - '0');
            digits++;
        }
        while (digits++ < 3)
            frac *= 10;
    }
    memcpy(base, s, 19);
    base[19] = 'Z';
    base[20] = '\0';
    int64_t v;
    if (le_parse_utc(base, &v) != LE_OK)
        return LE_EINVAL;
    *ms = v + frac;
    return LE_OK;
}

char *le_prg_time_fmt(int64_t ms, char out[32])
{
    char b[21];
    if (ms < 0)
        ms = 0;
    le_fmt_utc(ms - ms % 1000, b);
    if (ms % 1000 == 0)
        snprintf(out, 32, "%s", b);
    else
        snprintf(out, 32, "%.19s.%03dZ", b, (int)(ms % 1000));
    return out;
}

/* ---- parsing ---- */

le_jv *le_prg_id_list(le_cst_get g, void *ctx, const char *prefix)
{
    static const char *const bases[] = { "ComponentIds", "ComponentId" };
    char n[96];
    for (int b = 0; b < 2; b++) {
        snprintf(n, sizeof(n), "%s%s.1", prefix, bases[b]);
        if (!g(ctx, n))
            continue;
        le_jv *ids = le_jv_arr();
        for (int i = 1; i <= LE_CST_COMP_MAX + 1; i++) {
            snprintf(n, sizeof(n), "%s%s.%d", prefix, bases[b], i);
            const char *v = g(ctx, n);
            if (!v)
                break;
            le_jv_push_str(ids, v);
        }
        return ids;
    }
    return NULL;
}

static const char *pget(le_cst_get g, void *ctx, const char *prefix, const char *name)
{
    char n[96];
    snprintf(n, sizeof(n), "%s%s", prefix, name);
    const char *v = g(ctx, n);
    return v && *v ? v : NULL;
}

/* ComponentIds of the request: 1 given (*out), 0 absent, < 0 refused. */
static int comp_ids(le_cst_get g, void *ctx, const char *prefix, le_jv **out, le_cst_err *e)
{
    *out = NULL;
    const char *js = pget(g, ctx, prefix, "ComponentIds");
    le_jv *ids = NULL;
    if (js) {
        ids = strlen(js) <= 16384 ? le_jv_parse(js, strlen(js), 2, NULL, 0) : NULL;
        if (!ids || ids->type != LE_JV_ARR) {
            le_jv_free(ids);
            return le_cst_fail(e, 400,
                    "InvalidParameter", "The specified parameter \"%sComponentIds\" is not valid: a JSON "
                        "array of ComponentIds.", prefix);
        }
    } else {
        ids = le_prg_id_list(g, ctx, prefix);
        if (!ids)
            return 0;
    }
    if (ids->n > LE_CST_COMP_MAX) {
        le_jv_free(ids);
        return le_cst_fail(e, 400,
                "InvalidParameter", "The specified parameter \"%sComponentIds\" is not valid: at most "
                    "%d components.", prefix, LE_CST_COMP_MAX);
    }
    for (const le_jv *x = ids->first; x; x = x->next) {
        int dup = 0;
        for (const le_jv *y = ids->first; y != x && x->type == LE_JV_STR; y = y->next)
            dup |= !strcmp(x->s, y->s);
        if (x->type != LE_JV_STR || !le_cst_id_ok(x->s) || strlen(x->s) >= LE_SCN_ID_MAX) {
            le_jv_free(ids);
            return le_cst_fail(e, 404, "InvalidComponent.NotFound", "Component is not found.");
        }
        if (dup) {
            le_jv_free(ids);
            return le_cst_fail(e, 400, "InvalidParameter.Malformed", "The ComponentIds has duplicate ComponentId.");
        }
    }
    *out = ids;
    return 1;
}

static int time_param(le_cst_get g, void *ctx, const char *prefix, const char *name, const le_jv *old,
                      int64_t *ms, int *given, le_cst_err *e)
{
    const char *v = pget(g, ctx, prefix, name);
    *given = v != NULL;
    if (!v && old)
        v = le_jv_get_str(old, name);
    if (!v) {
        *ms = LE_PRG_NONE;
        return LE_OK;
    }
    if (le_prg_time_parse(v, ms) != LE_OK || *ms > 253402300799000LL)   /* 9999-12-31T23:59:59Z */
        return le_cst_fail(e, 400,
                !strcmp(name, "StartTime") ? "InvalidStartTime.Malformed" : "InvalidEndTime.Malformed",
                    "Specified %s is malformed: use UTC YYYY-MM-DDThh:mm:ssZ.",
                    !strcmp(name, "StartTime") ? "start time" : "end time");
    return LE_OK;
}

int le_prg_parse(le_cst_get g, void *ctx, const char *prefix, const le_jv *old, const char *id, le_jv **out,
                 le_cst_err *e)
{
    *out = NULL;
    if (!prefix)
        prefix = "";
    /* EpisodeType: required for Add, unchangeable by Modify. */
    const char *type = pget(g, ctx, prefix, "EpisodeType");
    const char *otype = old ? le_jv_get_str(old, "EpisodeType") : NULL;
    if (type && strcmp(type, "Resource") && strcmp(type, "Component"))
        return le_cst_fail(e, 400,
                "InvalidParameter", "The specified parameter \"%sEpisodeType\" is not valid: Resource or "
                    "Component.", prefix);
    if (type && otype && strcmp(type, otype))
        return le_cst_fail(e, 400, "InvalidParameter.Malformed", "The EpisodeType of an episode cannot be modified.");
    if (!type)
        type = otype;
    if (!type || (strcmp(type, "Resource") && strcmp(type, "Component")))
        return le_cst_fail(e, 400, "MissingParameter", "%sEpisodeType is mandatory for this action.", prefix);
    int res = !strcmp(type, "Resource");
    /* EpisodeName */
    const char *name = pget(g, ctx, prefix, "EpisodeName");
    if (name && !le_cst_name_ok(name))
        return le_cst_fail(e, 400, "InvalidParameter", "The specified parameter \"%sEpisodeName\" is not valid: 1-%d "
                           "bytes, no control characters.", prefix, LE_CST_NAME_MAX);
    if (!name && old)
        name = le_jv_get_str(old, "EpisodeName");
    /* ResourceId: required for Resource, ignored for Component. */
    const char *rid = pget(g, ctx, prefix, "ResourceId");
    if (!rid && old)
        rid = le_jv_get_str(old, "ResourceId");
    if (res && (!rid || !*rid))
        return le_cst_fail(e, 400, "MissingParameter", "%sResourceId is mandatory for a Resource episode.", prefix);
    if (res && (!le_cst_id_ok(rid) || strlen(rid) >= LE_SCN_ID_MAX))
        return le_cst_fail(e, 404, "InvalidResource.NotFound", "Resource is not found.");
    /* ComponentIds: required for Component. */
    le_jv *ids = NULL;
    int rc = comp_ids(g, ctx, prefix, &ids, e);
    if (rc < 0)
        return rc;
    if (!ids) {
        const le_jv *o = old ? le_jv_get(old, "ComponentIds") : NULL;
        ids = o && o->type == LE_JV_ARR ? le_cst_copy(o) : le_jv_arr();
    }
    if (!res && ids->n == 0) {
        le_jv_free(ids);
        return le_cst_fail(e, 400, "MissingParameter", "%sComponentIds is mandatory for a Component episode.", prefix);
    }
    /* SwitchType: Resource episodes only. */
    const char *sw = pget(g, ctx, prefix, "SwitchType");
    if (sw && strcmp(sw, "TimeFirst") && strcmp(sw, "ContentFirst")) {
        le_jv_free(ids);
        return le_cst_fail(e, 400,
                "InvalidParameter", "The specified parameter \"%sSwitchType\" is not valid: TimeFirst or "
                    "ContentFirst.", prefix);
    }
    if (!sw && old)
        sw = le_jv_get_str(old, "SwitchType");
    if (!sw || !res)
        sw = "TimeFirst";
    /* StartTime, EndTime or Duration. */
    int64_t st, en;
    int sg, eg;
    if ((rc = time_param(g, ctx, prefix, "StartTime", old, &st, &sg, e)) != LE_OK ||
        (rc = time_param(g, ctx, prefix, "EndTime", old, &en, &eg, e)) != LE_OK) {
        le_jv_free(ids);
        return rc;
    }
    const char *du = pget(g, ctx, prefix, "Duration");
    if (du && !eg) {
        char *end = NULL;
        double d = strtod(du, &end);
        if (!end || *end || !isfinite(d) || d <= 0 || d > 366.0 * 86400) {
            le_jv_free(ids);
            return le_cst_fail(e, 400,
                    "InvalidParameter", "The specified parameter \"%sDuration\" is not valid: seconds "
                        "above 0.", prefix);
        }
        en = st == LE_PRG_NONE ? LE_PRG_NONE : st + (int64_t)llround(d * 1000);
    }
    if (st == LE_PRG_NONE || en == LE_PRG_NONE) {
        le_jv_free(ids);
        return le_cst_fail(e, 400, "MissingParameter", "%s%s is mandatory for this action.", prefix,
                    st == LE_PRG_NONE ? "StartTime" : "EndTime");
    }
    if (en <= st) {
        le_jv_free(ids);
        return le_cst_fail(e, 400, "InvalidEndTime.Mismatch",
                    "Specified end time does not match the specified start time (EndTime must be later).");
    }
    char sb[32], eb[32];
    le_jv *o = le_jv_obj();
    le_jv_set_str(o, "EpisodeId", id);
    le_jv_set_str(o, "EpisodeName", name ? name : "");
    le_jv_set_str(o, "EpisodeType", type);
    le_jv_set_str(o, "ResourceId", res ? rid : "");
    le_jv_set(o, "ComponentIds", ids);
    le_jv_set_str(o, "StartTime", le_prg_time_fmt(st, sb));
    le_jv_set_str(o, "EndTime", le_prg_time_fmt(en, eb));
    le_jv_set_str(o, "SwitchType", sw);
    *out = o;
    return LE_OK;
}

int le_prg_res_slot(const le_scn_caster *c, const char *rid)
{
    for (int i = 0; rid && *rid && i < LE_CST_RES_MAX; i++) {
        const char *x = c->res[i] ? le_jv_get_str(c->res[i], "ResourceId") : NULL;
        if (x && !strcmp(x, rid))
            return i;
    }
    return -1;
}

int le_prg_check(const le_scn_caster *c, const le_jv *ep, le_cst_err *e)
{
    const char *type = le_jv_get_str(ep, "EpisodeType");
    if (type && !strcmp(type, "Resource")) {
        int slot = le_prg_res_slot(c, le_jv_get_str(ep, "ResourceId"));
        const le_jv *r = slot >= 0 ? c->res[slot] : NULL;
        if (!r)
            return le_cst_fail(e, 404, "InvalidResource.NotFound", "Resource is not found.");
        const char *sw = le_jv_get_str(ep, "SwitchType");
        const char *live = le_jv_get_str(r, "LiveStreamUrl");
        if (sw && !strcmp(sw, "ContentFirst") && live && *live)
            return le_cst_fail(e, 400, "InvalidParameter.Malformed",
                        "A live video resource only supports SwitchType TimeFirst.");
    }
    const le_jv *ids = le_jv_get(ep, "ComponentIds");
    for (const le_jv *x = ids ? ids->first : NULL; x; x = x->next)
        if (x->type != LE_JV_STR || !le_jv_get(c->comps, x->s))
            return le_cst_fail(e, 404, "InvalidComponent.NotFound", "Component is not found.");
    return LE_OK;
}

/* ---- the list ---- */

static int fill(le_prg_ep *ep, le_jv *obj)
{
    memset(ep, 0, sizeof(*ep));
    const char *id = le_jv_get_str(obj, "EpisodeId"), *type = le_jv_get_str(obj, "EpisodeType");
    const char *st = le_jv_get_str(obj, "StartTime"), *en = le_jv_get_str(obj, "EndTime");
    const char *sw = le_jv_get_str(obj, "SwitchType");
    if (!id || !*id || !type || !st || !en)
        return LE_EINVAL;
    if (!strcmp(type, "Resource"))
        ep->type = LE_PRG_RESOURCE;
    else if (!strcmp(type, "Component"))
        ep->type = LE_PRG_COMPONENT;
    else
        return LE_EINVAL;
    if (le_prg_time_parse(st, &ep->start_ms) != LE_OK || le_prg_time_parse(en, &ep->end_ms) != LE_OK ||
        ep->end_ms <= ep->start_ms)
        return LE_EINVAL;
    ep->resource = le_jv_get_str(obj, "ResourceId");
    if (!ep->resource)
        ep->resource = "";
    if (ep->type == LE_PRG_RESOURCE && !*ep->resource)
        return LE_EINVAL;
    ep->content_first = ep->type == LE_PRG_RESOURCE && sw && !strcmp(sw, "ContentFirst");
    ep->id = id;
    ep->obj = obj;
    ep->ended_ms = -1;
    return LE_OK;
}

int le_prg_find(const le_prg *p, const char *id)
{
    for (size_t i = 0; id && i < p->n; i++)
        if (!strcmp(p->ep[i].id, id))
            return (int)i;
    return -1;
}

int le_prg_remove(le_prg *p, const char *id)
{
    int i = le_prg_find(p, id);
    if (i < 0)
        return 0;
    le_jv_free(p->ep[i].obj);
    memmove(&p->ep[i], &p->ep[i + 1], (p->n - (size_t)i - 1) * sizeof(p->ep[0]));
    p->n--;
    return 1;
}

int le_prg_add(le_prg *p, le_jv *obj)
{
    le_prg_ep ep;
    if (!obj || obj->type != LE_JV_OBJ || fill(&ep, obj) != LE_OK) {
        le_jv_free(obj);
        return LE_EINVAL;
    }
    le_prg_remove(p, ep.id);
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 16;
        p->ep = le_xrealloc(p->ep, p->cap * sizeof(p->ep[0]));
    }
    size_t at = p->n;
    while (at > 0 && p->ep[at - 1].start_ms > ep.start_ms)
        at--;
    memmove(&p->ep[at + 1], &p->ep[at], (p->n - at) * sizeof(p->ep[0]));
    p->ep[at] = ep;
    p->n++;
    return LE_OK;
}

void le_prg_set_ended(le_prg *p, const char *id, int64_t ended_ms)
{
    int i = le_prg_find(p, id);
    if (i >= 0)
        p->ep[i].ended_ms = ended_ms;
}

void le_prg_free(le_prg *p)
{
    for (size_t i = 0; i < p->n; i++)
        le_jv_free(p->ep[i].obj);
    free(p->ep);
    memset(p, 0, sizeof(*p));
}

static int field_has(const char *f, size_t fl, const char *pfx)
{
    size_t n = strlen(pfx);
    return fl > n && fl - n < LE_SCN_ID_MAX && !memcmp(f, pfx, n) && !memchr(f, '\0', fl);
}

int le_prg_load(const char *const *fields, const size_t *flen, const char *const *vals, const size_t *vlen,
                size_t n, le_prg *out, int *bad)
{
    memset(out, 0, sizeof(*out));
    int nbad = 0;
    for (size_t i = 0; i < n; i++) {
        if (!field_has(fields[i], flen[i], "ep:"))
            continue;
        le_jv *o = le_cst_decode(vals[i], vlen[i]);
        const char *id = o ? le_jv_get_str(o, "EpisodeId") : NULL;
        if (!id || strlen(id) != flen[i] - 3 || memcmp(id, fields[i] + 3, flen[i] - 3) || out->n >= LE_PRG_MAX) {
            le_jv_free(o);
            nbad++;
            continue;
        }
        if (le_prg_add(out, o) != LE_OK)   /* frees o */
            nbad++;
    }
    for (size_t i = 0; i < n; i++) {
        if (!field_has(fields[i], flen[i], "epend:") || vlen[i] == 0 || vlen[i] > 20)
            continue;
        char id[LE_SCN_ID_MAX], num[24];
        memcpy(id, fields[i] + 6, flen[i] - 6);
        id[flen[i] - 6] = '\0';
        memcpy(num, vals[i], vlen[i]);
        num[vlen[i]] = '\0';
        char *end = NULL;
        long long v = strtoll(num, &end, 10);
        int k = le_prg_find(out, id);
        if (!end || *end || v < 0 || k < 0 || !out->ep[k].content_first) {
            nbad += !end || *end || v < 0;
            continue;
        }
        if (v >= out->ep[k].start_ms)   /* an end recorded before a Modify moved the start is stale */
            out->ep[k].ended_ms = v;
    }
    if (bad)
        *bad = nbad;
    return LE_OK;
}

int le_prg_overlap(const le_prg *p, const char *skip_id, int64_t start_ms, int64_t end_ms)
{
    for (size_t i = 0; i < p->n; i++) {
        const le_prg_ep *x = &p->ep[i];
        if (skip_id && !strcmp(x->id, skip_id))
            continue;
        if (x->start_ms < end_ms && start_ms < x->end_ms)
            return (int)i;
    }
    return -1;
}

/* ---- what is on air ---- */

int64_t le_prg_end_of(const le_prg_ep *ep)
{
    if (!ep->content_first)
        return ep->end_ms;
    return ep->ended_ms >= 0 ? ep->ended_ms : LE_PRG_NONE;
}

int le_prg_on_air(const le_prg *p, int64_t t)
{
    int last = -1;
    for (size_t i = 0; i < p->n && p->ep[i].start_ms <= t; i++)
        last = (int)i;
    if (last < 0 || t >= le_prg_end_of(&p->ep[last]))
        return -1;
    return last;
}

int le_prg_status(const le_prg *p, size_t i, int64_t t)
{
    if (i >= p->n || t < p->ep[i].start_ms)
        return 0;
    /* On air: the last to start by t (the list is sorted), and not ended. */
    int last = i + 1 == p->n || p->ep[i + 1].start_ms > t;
    return last && t < le_prg_end_of(&p->ep[i]) ? 1 : 2;
}

int64_t le_prg_next_boundary(const le_prg *p, int64_t t)
{
    int64_t b = LE_PRG_NONE;
    for (size_t i = 0; i < p->n; i++) {
        const le_prg_ep *x = &p->ep[i];
        if (x->start_ms > t && x->start_ms < b)
            b = x->start_ms;
        int64_t en = le_prg_end_of(x);
        if (en != LE_PRG_NONE && en > t && en < b)
            b = en;
    }
    return b;
}

/* ---- PGM ---- */

static int in_arr(const le_jv *a, const char *s)
{
    for (const le_jv *x = a ? a->first : NULL; x; x = x->next)
        if (x->type == LE_JV_STR && !strcmp(x->s, s))
            return 1;
    return 0;
}

/* Appends to a the strings of ids it does not hold yet. */
static void add_new(le_jv *a, const le_jv *ids)
{
    for (const le_jv *x = ids ? ids->first : NULL; x; x = x->next)
        if (x->type == LE_JV_STR && !in_arr(a, x->s))
            le_jv_push_str(a, x->s);
}

le_jv *le_prg_pgm(const le_jv *pgm, const le_prg_ep *ep)
{
    le_jv *o = le_jv_obj();
    const le_jv *eids = le_jv_get(ep->obj, "ComponentIds");
    int res = ep->type == LE_PRG_RESOURCE;
    int comps = 0, effect = 0, follow = 0;
    for (const le_jv *m = pgm ? pgm->first : NULL; m; m = m->next) {
        if (!m->key)
            continue;
        if (!strcmp(m->key, "ComponentIds")) {
            le_jv *a = le_jv_set_arr(o, "ComponentIds");
            if (!res)
                for (const le_jv *x = m->type == LE_JV_ARR ? m->first : NULL; x; x = x->next)
                    le_jv_push(a, le_cst_copy(x));
            add_new(a, eids);
            comps = 1;
        } else if (res && !strcmp(m->key, "EffectResourceId")) {
            le_jv_set_str(o, "EffectResourceId", ep->resource);
            effect = 1;
        } else if (res && !strcmp(m->key, "FollowEnable")) {
            le_jv_set_int(o, "FollowEnable", 1);
            follow = 1;
        } else {
            le_jv_set(o, m->key, le_cst_copy(m));
        }
    }
    if (!comps)
        add_new(le_jv_set_arr(o, "ComponentIds"), eids);
    if (res && !effect)
        le_jv_set_str(o, "EffectResourceId", ep->resource);
    if (res && !follow)
        le_jv_set_int(o, "FollowEnable", 1);
    return o;
}

le_jv *le_prg_describe(const le_prg *p, size_t i, int64_t now)
{
    const le_prg_ep *x = &p->ep[i];
    le_jv *o = le_jv_obj();
    static const char *const keys[] = { "EpisodeId", "EpisodeName", "EpisodeType", "ResourceId", "ComponentIds",
                                        "StartTime", "EndTime" };
    for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
        const le_jv *v = le_jv_get(x->obj, keys[k]);
        if (v)
            le_jv_set(o, keys[k], le_cst_copy(v));
        else if (!strcmp(keys[k], "ComponentIds"))
            le_jv_set_arr(o, keys[k]);
        else
            le_jv_set_str(o, keys[k], "");
    }
    le_jv_set_num(o, "Duration", (double)(x->end_ms - x->start_ms) / 1000.0);
    const char *sw = le_jv_get_str(x->obj, "SwitchType");
    le_jv_set_str(o, "SwitchType", sw ? sw : "TimeFirst");
    le_jv_set_int(o, "Status", le_prg_status(p, i, now));
    return o;
}
