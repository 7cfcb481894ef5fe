/* Transcoding templates (transcode/template.h, docs/TRANSCODE.md). */
#include "transcode/template.h"
#include "core/err.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* The standard templates: the output's short side and the bitrate cap.
 * ld..ud are the Narrowband HD names: the same sizes at 70% of the cap. */
static const struct std_tpl {
    const char *name;
    int short_side, kbps;
} STD[] = {
    { "lld", 360, 470 },  { "lsd", 432, 680 },  { "lhd", 648, 1500 }, { "lud", 1080, 2500 },
    { "ld", 360, 330 },   { "sd", 432, 480 },   { "hd", 648, 1050 },  { "ud", 1080, 1750 },
};
#define NSTD (sizeof(STD) / sizeof(STD[0]))
#define SRC_SIDE_MAX 16384

int le_trans_std(const char *name, le_trans_tpl *out)
{
    for (size_t i = 0; name && i < NSTD; i++) {
        if (strcmp(name, STD[i].name) != 0)
            continue;
        memset(out, 0, sizeof(*out));
        snprintf(out->name, sizeof(out->name), "%s", STD[i].name);
        out->height = STD[i].short_side;
        out->fps = LE_TRANS_FPS_MAX;
        out->kbps = STD[i].kbps;
        out->mode = LE_TRANS_ONDEMAND;
        return LE_OK;
    }
    return LE_ENOTFOUND;
}

int le_trans_is_std(const char *name)
{
    le_trans_tpl t;
    return le_trans_std(name, &t) == LE_OK;
}

int le_trans_custom_name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    /* "abr" names the master playlist ({Stream}_abr.m3u8, docs/TRANSCODE.md). */
    if (n < 1 || n >= LE_TRANS_NAME_MAX || le_trans_is_std(name) || strcasecmp(name, "abr") == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'))
            return 0;
    }
    return 1;
}

int le_trans_custom_check(const le_trans_tpl *t, const char **bad, const char **why)
{
    *bad = NULL;
    *why = NULL;
    if (!le_trans_custom_name_ok(t->name)) {
        *bad = "Template";
        *why = "1 to 63 of letters, digits and -, not a standard template name nor abr";
    } else if (strcmp(t->type, "h264") != 0 && strcmp(t->type, "h264-nbhd") != 0) {
        *bad = "TemplateType";
        *why = "h264 or h264-nbhd";
    } else if (t->fps < 1 || t->fps > LE_TRANS_FPS_MAX) {
        *bad = "FPS";
        *why = "an integer from 1 to 30";
    } else if (t->kbps < 1 || t->kbps > LE_TRANS_KBPS_MAX) {
        *bad = "VideoBitrate";
        *why = "kbit/s from 1 to 6000";
    } else if (t->width < LE_TRANS_SIDE_MIN || t->height < LE_TRANS_SIDE_MIN) {
        *bad = t->width < LE_TRANS_SIDE_MIN ? "Width" : "Height";
        *why = "at least 100";
    } else if ((t->width > t->height ? t->width : t->height) > LE_TRANS_LONG_MAX) {
        *bad = t->width > t->height ? "Width" : "Height";
        *why = "max(Width, Height) must not exceed 1920";
    } else if ((t->width < t->height ? t->width : t->height) > LE_TRANS_SHORT_MAX) {
        *bad = t->width < t->height ? "Width" : "Height";
        *why = "min(Width, Height) must not exceed 1080";
    }
    return *bad ? LE_EINVAL : LE_OK;
}

/* v rounded to the nearest even number, at least 2 and at most lim (even). */
static int even_le(double v, int lim)
{
    int e = 2 * (int)floor(v / 2 + 0.5);
    lim &= ~1;
    if (e > lim)
        e = lim;
    return e < 2 ? 2 : e;
}

int le_trans_output(const le_trans_tpl *t, int src_w, int src_h, double src_fps, le_trans_out *out)
{
    if (!t || !out || src_w < 2 || src_h < 2 || src_w > SRC_SIDE_MAX || src_h > SRC_SIDE_MAX)
        return LE_EINVAL;
    int box_w, box_h;
    if (t->custom) {
        box_w = t->width;
        box_h = t->height;
    } else if (src_w >= src_h) {
        box_w = LE_TRANS_LONG_MAX;
        box_h = t->height;
    } else {
        box_w = t->height;
        box_h = LE_TRANS_LONG_MAX;
    }
    if (box_w < 2 || box_h < 2)
        return LE_EINVAL;
    double sw = (double)box_w / src_w, sh = (double)box_h / src_h;
    double scale = sw < sh ? sw : sh;     /* the template's size for this aspect */
    double used = scale < 1 ? scale : 1;  /* never upscale */
    out->width = even_le(src_w * used, src_w);
    out->height = even_le(src_h * used, src_h);
    /* The cap belongs to the template's size: a smaller output gets less. */
    double nominal = (src_w * scale) * (src_h * scale);
    double ratio = nominal > 0 ? (double)out->width * out->height / nominal : 1;
    if (ratio > 1)
        ratio = 1;
    if (ratio < 0.25)
        ratio = 0.25;
    out->kbps = (int)floor(t->kbps * ratio + 0.5);
    if (out->kbps < 1)
        out->kbps = 1;
    out->fps = t->fps;
    if (src_fps > 0 && src_fps < out->fps)
        out->fps = src_fps;
    return LE_OK;
}

int le_trans_rendition_name(const char *stream, const char *tpl, char *out, size_t n)
{
    int w = snprintf(out, n, "%s_%s", stream, tpl);
    return w < 0 || (size_t)w >= n ? LE_ETOOBIG : LE_OK;
}

int le_trans_split(const char *name, const char *const *tpls, size_t ntpl, char *src, size_t n, size_t *which)
{
    size_t len = strlen(name), best_len = 0, best = 0;
    int found = 0;
    for (size_t i = 0; i < ntpl; i++) {
        size_t tl = tpls[i] ? strlen(tpls[i]) : 0;
        if (tl == 0 || tl + 2 > len || name[len - tl - 1] != '_' || strcmp(name + len - tl, tpls[i]) != 0)
            continue;
        if (!found || tl > best_len) {
            found = 1;
            best = i;
            best_len = tl;
        }
    }
    if (!found)
        return LE_ENOTFOUND;
    size_t sl = len - best_len - 1;
    if (sl + 1 > n)
        return LE_ETOOBIG;
    memcpy(src, name, sl);
    src[sl] = '\0';
    *which = best;
    return LE_OK;
}
