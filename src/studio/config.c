/* The caster objects' parameters and JSON (studio/config.h, docs/STUDIO.md). */
#include "studio/config.h"
#include "core/err.h"
#include "core/util.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int le_cst_fail(le_cst_err *e, int status, const char *code, const char *fmt, ...)
{
    if (e) {
        va_list ap;
        e->status = status;
        snprintf(e->code, sizeof(e->code), "%s", code);
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
        va_end(ap);
    }
    return status == 404 ? LE_ENOTFOUND : LE_EINVAL;
}

static int invalid(le_cst_err *e, const char *name, const char *why)
{
    return le_cst_fail(e, 400, "InvalidParameter", "The specified parameter \"%s\" is not valid: %s.", name, why);
}

static const char *get(le_cst_get g, void *ctx, const char *name)
{
    const char *v = g(ctx, name);
    return v && *v ? v : NULL;
}

int le_cst_location(const char *s, char kind)
{
    int max = kind == 'V' ? LE_CST_RES_MAX : LE_CST_COMP_MAX;
    if (!s || strlen(s) != 4 || s[0] != 'R' || s[1] != kind || s[2] < '0' || s[2] > '9' || s[3] < '0' ||
        s[3] > '9')
        return LE_EINVAL;
    int n = (s[2] - '0') * 10 + (s[3] - '0');
    return n >= 1 && n <= max ? n : LE_EINVAL;
}

int le_cst_token_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 1 || n > LE_CST_TOKEN_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x21 || s[i] > 0x7e)
            return 0;
    return 1;
}

int le_cst_id_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 1 || n > LE_CST_NAME_MAX || !strcmp(s, ".") || !strcmp(s, ".."))
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '-' || c == '.'))
            return 0;
    }
    return 1;
}

int le_cst_caster_template(const char *s, int *w, int *h)
{
    static const struct { const char *name; int w, h; } t[] = {
        { "lp_ld", 640, 360 }, { "lp_sd", 854, 480 }, { "lp_hd", 1280, 720 }, { "lp_ud", 1920, 1080 },
        { "lp_ld_v", 360, 640 }, { "lp_sd_v", 480, 854 }, { "lp_hd_v", 720, 1280 }, { "lp_ud_v", 1080, 1920 },
    };
    for (size_t i = 0; s && i < sizeof(t) / sizeof(t[0]); i++)
        if (!strcmp(s, t[i].name)) {
            if (w)
                *w = t[i].w;
            if (h)
                *h = t[i].h;
            return LE_OK;
        }
    return LE_EINVAL;
}

int le_cst_live_template_ok(const char *s)
{
    static const char *const t[] = { "lld", "lsd", "lhd", "lud", "daobo-lld", "daobo-lsd", "daobo-lhd",
                                     "daobo-lud" };
    for (size_t i = 0; s && i < sizeof(t) / sizeof(t[0]); i++)
        if (!strcmp(s, t[i]))
            return 1;
    return 0;
}

/* A finite decimal number in lo..hi (the whole string). */
static int num_range(const char *s, double lo, double hi, double *out)
{
    char *end;
    if (!s || !*s || strlen(s) > 64)
        return LE_EINVAL;
    double d = strtod(s, &end);
    if (*end || !isfinite(d) || d < lo || d > hi)
        return LE_EINVAL;
    *out = d;
    return LE_OK;
}

static int int_range(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    char *end;
    if (!s || !*s || strlen(s) > 20)
        return LE_EINVAL;
    long long v = strtoll(s, &end, 10);
    if (*end || v < lo || v > hi)
        return LE_EINVAL;
    *out = v;
    return LE_OK;
}

static int one_of(const char *s, const char *const *vals)
{
    for (; *vals; vals++)
        if (!strcmp(s, *vals))
            return 1;
    return 0;
}

/* Optional string up to max bytes into obj (absent: ""). */
static int opt_str(le_cst_get g, void *ctx, const char *name, size_t max, le_jv *obj, le_cst_err *e)
{
    const char *v = get(g, ctx, name);
    if (v && strlen(v) > max) {
        char why[64];
        snprintf(why, sizeof(why), "at most %zu bytes", max);
        return invalid(e, name, why);
    }
    le_jv_set_str(obj, name, v ? v : "");
    return LE_OK;
}

int le_cst_nospace_ok(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
            return 0;
    return 1;
}

int le_cst_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > LE_CST_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 0;
    return 1;
}

int le_cst_media_ext_ok(const char *u)
{
    size_t end = strcspn(u, "?#");
    static const char *const ext[] = { ".mp4", ".flv", ".ts", ".mov", NULL };
    for (const char *const *p = ext; *p; p++) {
        size_t l = strlen(*p);
        if (end > l && !strncasecmp(u + end - l, *p, l))
            return 1;
    }
    return 0;
}

static int url_ok(const char *u, int vod)
{
    static const char *const live[] = { "rtmp://", "rtmps://", "http://", "https://", "srt://", NULL };
    if (!le_cst_nospace_ok(u, LE_CST_URL_MAX))
        return 0;
    size_t n = strlen(u);
    int scheme = 0;
    for (const char *const *p = live; *p; p++)
        if (!strncmp(u, *p, strlen(*p)) && n > strlen(*p))
            scheme = 1;
    return scheme && vod ? le_cst_media_ext_ok(u) : scheme;
}

int le_cst_caster_parse(le_cst_get g, void *ctx, le_jv **out, le_cst_err *e)
{
    le_jv *o = le_jv_obj();
    const char *norm = get(g, ctx, "NormType"), *charge = get(g, ctx, "ChargeType"),
               *tpl = get(g, ctx, "CasterTemplate");
    int rc = LE_OK;
    if (!norm)
        rc = le_cst_fail(e, 400, "MissingParameter", "NormType is mandatory for this action.");
    else if (strcmp(norm, "0") && strcmp(norm, "1"))
        rc = le_cst_fail(e, 400, "InvalidNormType.Malformed", "Specified parameter NormType is invalid");
    else if (!charge)
        rc = le_cst_fail(e, 400, "MissingParameter", "ChargeType is mandatory for this action.");
    else if (strcmp(charge, "PrePaid") && strcmp(charge, "PostPaid"))
        rc = le_cst_fail(e, 400, "InvalidChargeType.Malformed",
                  "Specified parameter ChargeType is invalid, can only be PrePaid or PostPaid.");
    else if (!tpl && !strcmp(charge, "PrePaid"))
        rc = le_cst_fail(e, 400,
                "InvalidParameter.Malformed", "CasterTemplate is mandatory when ChargeType is PrePaid");
    else if (tpl && le_cst_caster_template(tpl, NULL, NULL) != LE_OK)
        rc = invalid(e, "CasterTemplate", "one of lp_ld, lp_sd, lp_hd, lp_ud and their _v variants");
    if (rc == LE_OK && (rc = opt_str(g, ctx, "CasterName", LE_CST_NAME_MAX, o, e)) == LE_OK) {
        le_jv_set_int(o, "NormType", norm[0] - '0');
        le_jv_set_str(o, "ChargeType", charge);
        if ((rc = opt_str(g, ctx, "PurchaseTime", 64, o, e)) == LE_OK &&
            (rc = opt_str(g, ctx, "ExpireTime", 64, o, e)) == LE_OK)
            le_jv_set_str(o, "CasterTemplate", tpl ? tpl : "");
    }
    if (rc != LE_OK) {
        le_jv_free(o);
        return rc;
    }
    *out = o;
    return LE_OK;
}

le_jv *le_cst_config_default(void)
{
    le_jv *o = le_jv_obj();
    le_jv_set_str(o, "DomainName", "");
    le_jv_set_num(o, "Delay", 0);
    le_jv *t = le_jv_set_obj(o, "TranscodeConfig");
    le_jv_set_str(t, "CasterTemplate", "");
    le_jv_set_arr(t, "LiveTemplate");
    le_jv_set_obj(o, "RecordConfig");
    le_jv_set_str(o, "UrgentMaterialId", "");
    le_jv_set_str(o, "SideOutputUrl", "");
    le_jv_set_str(o, "CallbackUrl", "");
    le_jv_set_str(o, "ProgramName", "");
    le_jv_set_int(o, "ProgramEffect", 0);
    le_jv_set_int(o, "ChannelEnable", 0);
    return o;
}

static const le_jv *member2(const le_jv *o, const char *a, const char *b)
{
    const le_jv *v = le_jv_get(o, a);
    return v ? v : le_jv_get(o, b);
}

static int transcode_cfg(const char *js, le_jv *cfg, le_cst_err *e)
{
    le_jv *in = js && strlen(js) <= 8192 ? le_jv_parse(js, strlen(js), LE_CST_JSON_DEPTH, NULL, 0) : NULL;
    le_jv *t = le_jv_set_obj(cfg, "TranscodeConfig");
    int rc = LE_OK;
    if (js && (!in || in->type != LE_JV_OBJ)) {
        rc = invalid(e, "TranscodeConfig", "a JSON object {\"CasterTemplate\",\"LiveTemplate\":[...]} of at most "
                                           "8192 bytes");
        goto out;
    }
    const le_jv *ct = in ? member2(in, "CasterTemplate", "casterTemplate") : NULL;
    const le_jv *lt = in ? member2(in, "LiveTemplate", "liveTemplate") : NULL;
    if (ct && (ct->type != LE_JV_STR || (*ct->s && le_cst_caster_template(ct->s, NULL, NULL) != LE_OK))) {
        rc = le_cst_fail(e, 400, "InvalidParameter", "The specified parameter \"TranscodeConfig\" is not valid: "
                         "CasterTemplate is one of lp_ld, lp_sd, lp_hd, lp_ud and their _v variants.");
        goto out;
    }
    le_jv_set_str(t, "CasterTemplate", ct ? ct->s : "");
    le_jv *arr = le_jv_set_arr(t, "LiveTemplate");
    if (lt && lt->type != LE_JV_ARR) {
        rc = invalid(e, "TranscodeConfig", "LiveTemplate is a list");
        goto out;
    }
    for (const le_jv *x = lt ? lt->first : NULL; x; x = x->next) {
        if (x->type != LE_JV_STR || !le_cst_live_template_ok(x->s)) {
            rc = invalid(e, "TranscodeConfig", "LiveTemplate holds lld, lsd, lhd, lud or daobo-lld ... daobo-lud");
            goto out;
        }
        int dup = 0;
        for (const le_jv *y = arr->first; y; y = y->next)
            dup |= !strcmp(y->s, x->s);
        if (!dup)   /* the API reference's example repeats "lld": kept once */
            le_jv_push_str(arr, x->s);
    }
out:
    le_jv_free(in);
    return rc;
}

int le_cst_config_parse(le_cst_get g, void *ctx, le_jv **out, le_cst_err *e)
{
    le_jv *o = le_jv_obj();
    int rc;
    const char *delay = get(g, ctx, "Delay"), *rec = get(g, ctx, "RecordConfig");
    double d = 0;
    if ((rc = opt_str(g, ctx, "DomainName", 255, o, e)) != LE_OK)
        goto bad;
    if (delay && num_range(delay, 0, LE_CST_DELAY_MAX, &d) != LE_OK) {
        rc = invalid(e, "Delay", "seconds from 0 to 60");
        goto bad;
    }
    le_jv_set_num(o, "Delay", d);
    if ((rc = transcode_cfg(get(g, ctx, "TranscodeConfig"), o, e)) != LE_OK)
        goto bad;
    le_jv *r = !rec ? le_jv_obj() : strlen(rec) <= 8192 ? le_jv_parse(rec, strlen(rec), LE_CST_JSON_DEPTH, NULL, 0)
                                                        : NULL;
    if (!r || r->type != LE_JV_OBJ) {
        le_jv_free(r);
        rc = invalid(e, "RecordConfig", "a JSON object of at most 8192 bytes");
        goto bad;
    }
    le_jv_set(o, "RecordConfig", r);
    if ((rc = opt_str(g, ctx, "UrgentMaterialId", LE_CST_NAME_MAX, o, e)) != LE_OK)
        goto bad;
    const char *um = le_jv_get_str(o, "UrgentMaterialId");
    if (*um && !le_cst_id_ok(um)) {
        rc = invalid(e, "UrgentMaterialId", "1 to 128 of letters, digits, '.', '_' and '-'");
        goto bad;
    }
    static const char *const urls[] = { "SideOutputUrl", "CallbackUrl" };
    for (int i = 0; i < 2; i++) {
        if ((rc = opt_str(g, ctx, urls[i], LE_CST_URL_MAX, o, e)) != LE_OK)
            goto bad;
        const char *u = le_jv_get_str(o, urls[i]);
        if (*u && !url_ok(u, 0)) {
            rc = invalid(e, urls[i], "an rtmp, rtmps, http, https or srt URL");
            goto bad;
        }
    }
    if ((rc = opt_str(g, ctx, "ProgramName", LE_CST_NAME_MAX, o, e)) != LE_OK)
        goto bad;
    static const char *const flags[] = { "ProgramEffect", "ChannelEnable" };
    for (int i = 0; i < 2; i++) {
        const char *v = get(g, ctx, flags[i]);
        if (v && strcmp(v, "0") && strcmp(v, "1")) {
            rc = invalid(e, flags[i], "0 or 1");
            goto bad;
        }
        le_jv_set_int(o, flags[i], v ? v[0] - '0' : 0);
    }
    *out = o;
    return LE_OK;
bad:
    le_jv_free(o);
    return rc;
}

int le_cst_resource_parse(le_cst_get g, void *ctx, le_jv **out, le_cst_err *e)
{
    le_jv *o = le_jv_obj();
    int rc;
    const char *loc = get(g, ctx, "LocationId"), *live = get(g, ctx, "LiveStreamUrl"),
               *vod = get(g, ctx, "VodUrl"), *mat = get(g, ctx, "MaterialId");
    int64_t rep = 0, beg = 0, end = 0;
    if ((rc = opt_str(g, ctx, "ResourceName", LE_CST_NAME_MAX, o, e)) != LE_OK)
        goto bad;
    if (!loc) {
        rc = le_cst_fail(e, 400, "MissingParameter", "LocationId is mandatory for this action.");
        goto bad;
    }
    if (le_cst_location(loc, 'V') < 0) {
        rc = le_cst_fail(e, 400, "InvalidLocationId.Malformed",
                  "Specified parameter LocationId is invalid: RV01 to RV12.");
        goto bad;
    }
    if (!live && !vod && !mat) {
        rc = le_cst_fail(e, 400, "InvalidParameter.Malformed",
                  "Specified parameter LiveStreamUrl, MaterialId can't be both empty.");
        goto bad;
    }
    if (!!live + !!vod + !!mat > 1) {
        rc = le_cst_fail(e, 400, "InvalidParameter.Malformed",
                  "Specified parameters LiveStreamUrl, VodUrl and MaterialId: give only one.");
        goto bad;
    }
    if (live && !url_ok(live, 0)) {
        rc = le_cst_fail(e, 400, "InvalidLiveStreamUrl.Malformed", "Specified parameter LiveStreamUrl is invalid.");
        goto bad;
    }
    if (vod && !url_ok(vod, 1)) {
        rc = le_cst_fail(e, 400, "InvalidVodUrl.Malformed",
                  "Specified parameter VodUrl is invalid: an http(s) URL of an mp4, flv, ts or mov file.");
        goto bad;
    }
    if (mat && !le_cst_id_ok(mat)) {
        rc = le_cst_fail(e, 400, "InvalidMaterialId.Malformed", "Specified parameter MaterialId is invalid");
        goto bad;
    }
    const char *v;
    if ((v = get(g, ctx, "RepeatNum")) && int_range(v, -1, 1000000, &rep) != LE_OK) {
        rc = invalid(e, "RepeatNum", "an integer from -1 (forever) to 1000000");
        goto bad;
    }
    if ((v = get(g, ctx, "BeginOffset")) && int_range(v, 0, 864000000, &beg) != LE_OK) {
        rc = invalid(e, "BeginOffset", "milliseconds from 0 to 864000000");
        goto bad;
    }
    if ((v = get(g, ctx, "EndOffset")) && int_range(v, -864000000, 864000000, &end) != LE_OK) {
        rc = invalid(e, "EndOffset", "milliseconds from -864000000 to 864000000 (negative: from the end)");
        goto bad;
    }
    if (beg > 0 && end > 0 && end <= beg) {
        rc = invalid(e, "EndOffset", "after BeginOffset");
        goto bad;
    }
    le_jv_set_str(o, "LocationId", loc);
    le_jv_set_str(o, "LiveStreamUrl", live ? live : "");
    le_jv_set_str(o, "VodUrl", vod ? vod : "");
    le_jv_set_str(o, "MaterialId", mat ? mat : "");
    le_jv_set_int(o, "RepeatNum", rep);
    le_jv_set_int(o, "BeginOffset", beg);
    le_jv_set_int(o, "EndOffset", end);
    *out = o;
    return LE_OK;
bad:
    le_jv_free(o);
    return rc;
}

static const char *const REFERS[] = { "topLeft", "topRight", "bottomLeft", "bottomRight", "center",
                                      "topCenter", "bottomCenter", "leftCenter", "rightCenter", NULL };

/* Height/WidthNormalized, PositionNormalized (x and y), PositionRefer from
 * the getter with names prefix+field into dst. */
static int geometry(le_cst_get g, void *ctx, const char *pfx, const char *what, int need_size, le_jv *dst,
                    le_cst_err *e)
{
    char n[96], n2[96];
    static const char *const sz[] = { "HeightNormalized", "WidthNormalized" };
    for (int i = 0; i < 2; i++) {
        snprintf(n, sizeof(n), "%s%s", pfx, sz[i]);
        const char *v = get(g, ctx, n);
        double d = 0;
        if (v && num_range(v, 0, 1, &d) != LE_OK)
            return invalid(e, n, "a number from 0 to 1");
        if (need_size && d <= 0)
            return invalid(e, n, "above 0 with FillMode fit");
        le_jv_set_num(dst, sz[i], d);
    }
    snprintf(n, sizeof(n), "%sPositionNormalized.1", pfx);
    snprintf(n2, sizeof(n2), "%sPositionNormalized.2", pfx);
    const char *x = get(g, ctx, n), *y = get(g, ctx, n2);
    double px = 0, py = 0;
    if (!!x != !!y)
        return le_cst_fail(e, 400, "InvalidPositionNormalized.Malformed",
                    "Specified parameter PositionNormalized size should be 2 is invalid (%s).", what);
    if (x && (num_range(x, 0, 1, &px) != LE_OK || num_range(y, 0, 1, &py) != LE_OK))
        return invalid(e, n, "two numbers from 0 to 1");
    le_jv *p = le_jv_set_arr(dst, "PositionNormalized");
    le_jv *a = le_jv_obj(), *b = le_jv_obj();
    a->type = b->type = LE_JV_NUM;
    a->d = px;
    b->d = py;
    le_jv_push(p, a);
    le_jv_push(p, b);
    snprintf(n, sizeof(n), "%sPositionRefer", pfx);
    const char *r = get(g, ctx, n);
    if (r && !one_of(r, REFERS))
        return invalid(e, n, "topLeft, topRight, bottomLeft, bottomRight, center, topCenter, bottomCenter, "
                             "leftCenter or rightCenter");
    le_jv_set_str(dst, "PositionRefer", r ? r : "topLeft");
    return LE_OK;
}

static int delay_ms(le_cst_get g, void *ctx, const char *name, le_jv *dst, le_cst_err *e)
{
    const char *v = get(g, ctx, name);
    int64_t d = 0;
    if (v && int_range(v, 0, 5000, &d) != LE_OK)
        return invalid(e, name, "milliseconds from 0 to 5000");
    le_jv_set_int(dst, "FixedDelayDuration", d);
    return LE_OK;
}

/* The first of "{a}.{i}.{f}" / "{b}.{i}.{f}" present selects the wire name. */
static const char *list_base(le_cst_get g, void *ctx, const char *a, const char *b, const char *const *fields,
                             int i)
{
    char n[96];
    const char *bases[] = { a, b };
    for (int k = 0; k < 2; k++)
        for (const char *const *f = fields; *f; f++) {
            if (**f)
                snprintf(n, sizeof(n), "%s.%d.%s", bases[k], i, *f);
            else
                snprintf(n, sizeof(n), "%s.%d", bases[k], i);
            if (get(g, ctx, n))
                return bases[k];
        }
    return NULL;
}

static const char *const VFIELDS[] = { "FillMode", "HeightNormalized", "WidthNormalized",
                                       "PositionNormalized.1", "PositionNormalized.2", "PositionRefer",
                                       "FixedDelayDuration", NULL };
static const char *const AFIELDS[] = { "VolumeRate", "ValidChannel", "FixedDelayDuration", NULL };
static const char *const LFIELDS[] = { "", NULL };

static int video_layers(le_cst_get g, void *ctx, le_jv *arr, le_cst_err *e)
{
    int i;
    for (i = 1;; i++) {
        const char *base = list_base(g, ctx, "VideoLayer", "VideoLayers", VFIELDS, i);
        if (!base)
            break;
        if (i > LE_CST_LAYERS_MAX)
            return invalid(e, "VideoLayers", "at most 12 layers");
        char pfx[64], n[96];
        snprintf(pfx, sizeof(pfx), "%s.%d.", base, i);
        le_jv *l = le_jv_push_obj(arr);
        snprintf(n, sizeof(n), "%sFillMode", pfx);
        const char *fm = get(g, ctx, n);
        if (fm && strcmp(fm, "none") && strcmp(fm, "fit"))
            return invalid(e, n, "none or fit");
        le_jv_set_str(l, "FillMode", fm ? fm : "none");
        int rc = geometry(g, ctx, pfx, "VideoLayers", fm && !strcmp(fm, "fit"), l, e);
        if (rc != LE_OK)
            return rc;
        snprintf(n, sizeof(n), "%sFixedDelayDuration", pfx);
        if ((rc = delay_ms(g, ctx, n, l, e)) != LE_OK)
            return rc;
    }
    return i - 1;
}

static int audio_layers(le_cst_get g, void *ctx, le_jv *arr, le_cst_err *e)
{
    int i;
    for (i = 1;; i++) {
        const char *base = list_base(g, ctx, "AudioLayer", "AudioLayers", AFIELDS, i);
        if (!base)
            break;
        if (i > LE_CST_LAYERS_MAX)
            return invalid(e, "AudioLayers", "at most 12 layers");
        char n[96];
        le_jv *l = le_jv_push_obj(arr);
        snprintf(n, sizeof(n), "%s.%d.VolumeRate", base, i);
        const char *v = get(g, ctx, n);
        double vol = 1.0;
        if (v && num_range(v, 0, 10, &vol) != LE_OK)
            return invalid(e, n, "a number from 0 to 10");
        le_jv_set_num(l, "VolumeRate", vol);
        snprintf(n, sizeof(n), "%s.%d.ValidChannel", base, i);
        const char *ch = get(g, ctx, n);
        if (ch && strcmp(ch, "leftChannel") && strcmp(ch, "rightChannel") && strcmp(ch, "all"))
            return invalid(e, n, "leftChannel, rightChannel or all");
        le_jv_set_str(l, "ValidChannel", ch ? ch : "all");
        snprintf(n, sizeof(n), "%s.%d.FixedDelayDuration", base, i);
        int rc = delay_ms(g, ctx, n, l, e);
        if (rc != LE_OK)
            return rc;
    }
    return i - 1;
}

/* BlendList / MixList: RVnn each; MixList without repeats. */
static int loc_list(le_cst_get g, void *ctx, const char *a, const char *b, int uniq, le_jv *arr, le_cst_err *e)
{
    int i;
    for (i = 1;; i++) {
        const char *base = list_base(g, ctx, a, b, LFIELDS, i);
        if (!base)
            break;
        char n[64];
        snprintf(n, sizeof(n), "%s.%d", base, i);
        const char *v = get(g, ctx, n);
        if (i > LE_CST_LAYERS_MAX)
            return invalid(e, a, "at most 12 entries");
        if (le_cst_location(v, 'V') < 0)
            return le_cst_fail(e, 400, "InvalidLocationId.Malformed",
                        "Specified parameter %s is invalid: LocationIds RV01 to RV12.", n);
        for (const le_jv *x = arr->first; uniq && x; x = x->next)
            if (!strcmp(x->s, v))
                return le_cst_fail(e, 400, "InvalidParameter.Malformed", "The %s has duplicate LocationId.", a);
        le_jv_push_str(arr, v);
    }
    return i - 1;
}

int le_cst_layout_parse(le_cst_get g, void *ctx, const le_jv *old, le_jv **out, le_cst_err *e)
{
    le_jv *o = le_jv_obj();
    le_jv *vl = le_jv_set_arr(o, "VideoLayers"), *al = le_jv_set_arr(o, "AudioLayers"),
          *bl = le_jv_set_arr(o, "BlendList"), *ml = le_jv_set_arr(o, "MixList");
    int nv, na, nb, nm, rc = LE_OK;
    if ((nv = video_layers(g, ctx, vl, e)) < 0 || (na = audio_layers(g, ctx, al, e)) < 0 ||
        (nb = loc_list(g, ctx, "BlendList", "BlendLists", 0, bl, e)) < 0 ||
        (nm = loc_list(g, ctx, "MixList", "MixLists", 1, ml, e)) < 0) {
        rc = LE_EINVAL;
        goto out;
    }
    if (old) {   /* Modify: what the request leaves out stays */
        static const char *const k[] = { "VideoLayers", "AudioLayers", "BlendList", "MixList" };
        int *cnt[] = { &nv, &na, &nb, &nm };
        for (int i = 0; i < 4; i++) {
            if (*cnt[i])
                continue;
            const le_jv *ov = le_jv_get(old, k[i]);
            le_jv *dst = (le_jv *)le_jv_get(o, k[i]);
            for (const le_jv *x = ov && ov->type == LE_JV_ARR ? ov->first : NULL; x; x = x->next) {
                le_jv_push(dst, le_cst_copy(x));
                (*cnt[i])++;
            }
        }
    }
    if (!nv && !na) {
        rc = le_cst_fail(e, 400, "MissingParameter", "VideoLayers or AudioLayers is mandatory for this action.");
        goto out;
    }
    if (nv != nb) {
        rc = le_cst_fail(e, 400, "InvalidVideoLayersAndBlendListSize.Mismatch",
                  "Specified parameter VideoLayers and BlendList size is invalid.");
        goto out;
    }
    if (na != nm)
        rc = le_cst_fail(e, 400, "InvalidAudioLayersAndMixListSize.Mismatch",
                  "Specified parameter AudioLayers and MixList size is invalid.");
out:
    if (rc != LE_OK) {
        le_jv_free(o);
        return rc;
    }
    *out = o;
    return LE_OK;
}

static int color_ok(const char *s)
{
    if (!s || strlen(s) != 8 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
        return 0;
    for (int i = 2; i < 8; i++)
        if (!strchr("0123456789abcdefABCDEF", s[i]))
            return 0;
    return 1;
}

/* A JSON-object parameter: NULL and LE_OK if absent. */
static int json_param(le_cst_get g, void *ctx, const char *name, le_jv **out, le_cst_err *e)
{
    const char *v = get(g, ctx, name);
    *out = NULL;
    if (!v || !strcmp(v, "{}"))
        return LE_OK;
    if (strlen(v) > 8192 || !(*out = le_jv_parse(v, strlen(v), LE_CST_JSON_DEPTH, NULL, 0)) ||
        (*out)->type != LE_JV_OBJ) {
        le_jv_free(*out);
        *out = NULL;
        return invalid(e, name, "a JSON object");
    }
    return LE_OK;
}

/* Getter over a JSON object's members (numbers rendered). */
typedef struct objget {
    const le_jv *o;
    char buf[8][64];
    int k;
} objget;

static const char *obj_get(void *ctx, const char *name)
{
    objget *og = ctx;
    const char *dot = strrchr(name, '.');
    const le_jv *v;
    if (dot && !strncmp(name, "PositionNormalized.", 19)) {   /* [x, y] */
        const le_jv *a = le_jv_get(og->o, "PositionNormalized");
        int idx = dot[1] - '1';
        if (a && (a->type != LE_JV_ARR || a->n != 2))   /* reported as the malformed pair */
            return idx == 0 ? "bad" : NULL;
        v = a ? a->first : NULL;
        for (int i = 0; v && i < idx; i++)
            v = v->next;
    } else {
        v = le_jv_get(og->o, name);
    }
    if (!v)
        return NULL;
    char *b = og->buf[og->k++ % 8];
    switch (v->type) {
    case LE_JV_STR: return v->s;
    case LE_JV_INT: snprintf(b, 64, "%lld", (long long)v->i); return b;
    case LE_JV_NUM: snprintf(b, 64, "%.17g", v->d); return b;
    default: return "bad";
    }
}

static int text_content(const le_jv *in, le_jv *o, le_cst_err *e)
{
    objget og = { .o = in };
    const char *t = obj_get(&og, "Text");
    if (!t)
        return le_cst_fail(e, 400, "MissingParameter", "TextLayerContent.Text is mandatory for a text component.");
    if (strlen(t) > LE_CST_TEXT_MAX)
        return invalid(e, "TextLayerContent", "Text of at most 1024 bytes");
    le_jv *c = le_jv_set_obj(o, "TextLayerContent");
    le_jv_set_str(c, "Text", t);
    const char *col = obj_get(&og, "Color"), *bc = obj_get(&og, "BorderColor"), *fn = obj_get(&og, "FontName");
    if ((col && !color_ok(col)) || (bc && !color_ok(bc)))
        return invalid(e, "TextLayerContent", "Color and BorderColor are 0x000000 to 0xffffff");
    le_jv_set_str(c, "Color", col ? col : "0xffffff");
    if (fn && (!*fn || strlen(fn) > 64))
        return invalid(e, "TextLayerContent", "FontName of 1 to 64 bytes");
    le_jv_set_str(c, "FontName", fn ? fn : "KaiTi");
    double sz = 0.1, bw = 0;
    const char *v = obj_get(&og, "SizeNormalized");
    if (v && num_range(v, 0, 1, &sz) != LE_OK)
        return invalid(e, "TextLayerContent", "SizeNormalized is a number from 0 to 1");
    le_jv_set_num(c, "SizeNormalized", sz);
    if ((v = obj_get(&og, "BorderWidthNormalized")) && num_range(v, 0, 1, &bw) != LE_OK)
        return invalid(e, "TextLayerContent", "BorderWidthNormalized is a number from 0 to 1");
    le_jv_set_num(c, "BorderWidthNormalized", bw);
    le_jv_set_str(c, "BorderColor", bc ? bc : "0x000000");
    return LE_OK;
}

int le_cst_component_parse(le_cst_get g, void *ctx, le_jv **out, le_cst_err *e)
{
    le_jv *o = le_jv_obj(), *layer = NULL, *text = NULL, *img = NULL;
    int rc;
    const char *loc = get(g, ctx, "LocationId"), *type = get(g, ctx, "ComponentType"),
               *eff = get(g, ctx, "Effect");
    if ((rc = opt_str(g, ctx, "ComponentName", LE_CST_NAME_MAX, o, e)) != LE_OK)
        goto out;
    if (!loc || !type) {
        rc = le_cst_fail(e, 400, "MissingParameter", "%s is mandatory for this action.", !loc ? "LocationId" :
                         "ComponentType");
        goto out;
    }
    if (le_cst_location(loc, 'C') < 0) {
        rc = le_cst_fail(e, 400,
                "InvalidLocationId.Malformed", "Specified parameter LocationId is invalid: RC01 to RC99.");
        goto out;
    }
    if (!strcmp(type, "caption")) {
        rc = le_cst_fail(e, 400, "InvalidComponentType.NotSupported",
                  "ComponentType caption needs speech recognition, which this node does not have.");
        goto out;
    }
    if (strcmp(type, "text") && strcmp(type, "image")) {
        rc = invalid(e, "ComponentType", "text or image (caption is not supported)");
        goto out;
    }
    if (eff && strcmp(eff, "none") && strcmp(eff, "animateH") && strcmp(eff, "animateV")) {
        rc = invalid(e, "Effect", "none, animateH or animateV");
        goto out;
    }
    le_jv_set_str(o, "LocationId", loc);
    le_jv_set_str(o, "ComponentType", type);
    le_jv_set_str(o, "Effect", eff ? eff : "none");
    if ((rc = json_param(g, ctx, "ComponentLayer", &layer, e)) != LE_OK)
        goto out;
    objget og = { .o = layer };
    le_jv *cl = le_jv_set_obj(o, "ComponentLayer");
    if (layer) {
        if ((rc = geometry(obj_get, &og, "", "ComponentLayer", 0, cl, e)) != LE_OK)
            goto out;
    } else {
        objget none = { .o = NULL };
        geometry(obj_get, &none, "", "ComponentLayer", 0, cl, e);
    }
    if (!strcmp(type, "text")) {
        if ((rc = json_param(g, ctx, "TextLayerContent", &text, e)) != LE_OK)
            goto out;
        if (!text) {
            rc = le_cst_fail(e, 400, "MissingParameter", "TextLayerContent is mandatory for a text component.");
            goto out;
        }
        rc = text_content(text, o, e);
    } else {
        if ((rc = json_param(g, ctx, "ImageLayerContent", &img, e)) != LE_OK)
            goto out;
        const char *m = img ? le_jv_get_str(img, "MaterialId") : NULL;
        if (!m) {
            rc = le_cst_fail(e, 400,
                    "MissingParameter", "ImageLayerContent.MaterialId is mandatory for an image component.");
            goto out;
        }
        if (!le_cst_id_ok(m)) {
            rc = le_cst_fail(e, 400, "InvalidMaterialId.Malformed", "Specified parameter MaterialId is invalid");
            goto out;
        }
        le_jv_set_str(le_jv_set_obj(o, "ImageLayerContent"), "MaterialId", m);
    }
out:
    le_jv_free(layer);
    le_jv_free(text);
    le_jv_free(img);
    if (rc != LE_OK) {
        le_jv_free(o);
        return rc;
    }
    *out = o;
    return LE_OK;
}

const char *le_cst_merge_get(void *merge, const char *name)
{
    le_cst_merge *m = merge;
    const char *v = m->g(m->ctx, name);
    if (v || !m->old)
        return v;
    const le_jv *o = le_jv_get(m->old, name);
    if (!o)
        return NULL;
    if (o->type == LE_JV_STR)
        return o->s;
    if (m->nbufs >= (int)(sizeof(m->bufs) / sizeof(m->bufs[0])))
        return NULL;
    le_buf b = { 0 };
    le_jv_to_json(o, &b);
    char *s = le_xcalloc(1, b.len + 1);
    memcpy(s, b.p, b.len);
    le_buf_free(&b);
    m->bufs[m->nbufs++] = s;
    return s;
}

void le_cst_merge_free(le_cst_merge *m)
{
    for (int i = 0; i < m->nbufs; i++)
        free(m->bufs[i]);
    m->nbufs = 0;
}

le_jv *le_cst_decode(const char *s, size_t n)
{
    le_jv *v = s ? le_jv_parse(s, n, LE_CST_JSON_DEPTH, NULL, 0) : NULL;
    if (v && v->type != LE_JV_OBJ) {
        le_jv_free(v);
        v = NULL;
    }
    return v;
}

le_jv *le_cst_copy(const le_jv *v)
{
    le_buf b = { 0 };
    le_jv_to_json(v, &b);
    le_jv *c = le_jv_parse((const char *)b.p, b.len, LE_CST_JSON_DEPTH + 2, NULL, 0);
    le_buf_free(&b);
    return c;
}
