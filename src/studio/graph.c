/* Scene graphs: layout and components to a libavfilter description
 * (docs/STUDIO.md, "Scene graphs"). */
#include "studio/graph.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"

/* ---- names ---- */

static const struct { const char *name; int w, h; } templates[] = {
    { "lp_ld", 640, 360 },   { "lp_sd", 854, 480 },   { "lp_hd", 1280, 720 },   { "lp_ud", 1920, 1080 },
    { "lp_ld_v", 360, 640 }, { "lp_sd_v", 480, 854 }, { "lp_hd_v", 720, 1280 }, { "lp_ud_v", 1080, 1920 },
};

int le_sg_template_size(const char *tmpl, int *w, int *h)
{
    if (!tmpl)
        return LE_ENOTFOUND;
    for (size_t i = 0; i < sizeof templates / sizeof templates[0]; i++)
        if (strcmp(tmpl, templates[i].name) == 0) {
            *w = templates[i].w;
            *h = templates[i].h;
            return LE_OK;
        }
    return LE_ENOTFOUND;
}

static int lookup(const char *s, const char *const *names, int n, int *out)
{
    if (!s || !*s) {
        *out = 0;
        return LE_OK;
    }
    for (int i = 0; i < n; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = i;
            return LE_OK;
        }
    return LE_EINVAL;
}

int le_sg_fill_parse(const char *s, le_sg_fill *out)
{
    static const char *const n[] = { "none", "fit" };
    int v, rc = lookup(s, n, 2, &v);
    if (rc == LE_OK)
        *out = (le_sg_fill)v;
    return rc;
}

int le_sg_refer_parse(const char *s, le_sg_refer *out)
{
    static const char *const n[] = { "topLeft", "topRight", "bottomLeft", "bottomRight", "center",
                                     "topCenter", "bottomCenter", "leftCenter", "rightCenter" };
    int v, rc = lookup(s, n, 9, &v);
    if (rc == LE_OK)
        *out = (le_sg_refer)v;
    return rc;
}

int le_sg_channel_parse(const char *s, le_sg_channel *out)
{
    static const char *const n[] = { "all", "leftChannel", "rightChannel" };
    int v, rc = lookup(s, n, 3, &v);
    if (rc == LE_OK)
        *out = (le_sg_channel)v;
    return rc;
}

int le_sg_effect_parse(const char *s, le_sg_effect *out)
{
    static const char *const n[] = { "none", "animateH", "animateV" };
    int v, rc = lookup(s, n, 3, &v);
    if (rc == LE_OK)
        *out = (le_sg_effect)v;
    return rc;
}

/* ---- fonts ---- */

#define DEJAVU "/usr/share/fonts/truetype/dejavu/"
#define NOTO_CJK "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
#define NOTO_SERIF_CJK "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc"
#define WQY_ZENHEI "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"
#define WQY_MICROHEI "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
#define LIBERATION "/usr/share/fonts/truetype/liberation/"

/* FontName -> candidate files, first present wins. Chinese names map to a
 * CJK font (fonts-noto-cjk, else fonts-wqy-zenhei / -microhei); Latin names
 * to DejaVu or Liberation. Keep in step with docs/STUDIO.md. */
static const struct { const char *name; const char *files[4]; } fonts[] = {
    { "KaiTi",         { NOTO_SERIF_CJK, NOTO_CJK, WQY_ZENHEI, WQY_MICROHEI } },
    { "SimSun",        { NOTO_SERIF_CJK, NOTO_CJK, WQY_ZENHEI, WQY_MICROHEI } },
    { "SimHei",        { NOTO_CJK, WQY_ZENHEI, WQY_MICROHEI, NULL } },
    { "Microsoft YaHei", { NOTO_CJK, WQY_MICROHEI, WQY_ZENHEI, NULL } },
    { "NotoSansCJK",   { NOTO_CJK, WQY_ZENHEI, WQY_MICROHEI, NULL } },
    { "DejaVuSans",    { DEJAVU "DejaVuSans.ttf", NULL, NULL, NULL } },
    { "DejaVuSans-Bold", { DEJAVU "DejaVuSans-Bold.ttf", NULL, NULL, NULL } },
    { "DejaVuSerif",   { DEJAVU "DejaVuSerif.ttf", NULL, NULL, NULL } },
    { "DejaVuSansMono", { DEJAVU "DejaVuSansMono.ttf", NULL, NULL, NULL } },
    { "Arial",         { LIBERATION "LiberationSans-Regular.ttf", DEJAVU "DejaVuSans.ttf", NULL, NULL } },
    { "Times New Roman", { LIBERATION "LiberationSerif-Regular.ttf", DEJAVU "DejaVuSerif.ttf", NULL, NULL } },
    { "Courier New",   { LIBERATION "LiberationMono-Regular.ttf", DEJAVU "DejaVuSansMono.ttf", NULL, NULL } },
};
static const char *const font_fallback[] = {
    DEJAVU "DejaVuSans.ttf", LIBERATION "LiberationSans-Regular.ttf", NOTO_CJK, WQY_ZENHEI
};

const char *le_sg_font_file(const char *font_name)
{
    if (!font_name || !*font_name)
        font_name = "KaiTi";
    for (size_t i = 0; i < sizeof fonts / sizeof fonts[0]; i++) {
        if (strcmp(font_name, fonts[i].name) != 0)
            continue;
        for (int k = 0; k < 4 && fonts[i].files[k]; k++)
            if (access(fonts[i].files[k], R_OK) == 0)
                return fonts[i].files[k];
        break;
    }
    for (size_t k = 0; k < sizeof font_fallback / sizeof font_fallback[0]; k++)
        if (access(font_fallback[k], R_OK) == 0)
            return font_fallback[k];
    return NULL;
}

/* ---- bounded output ---- */

typedef struct sbuf {
    char *p;
    size_t cap, len;
    int err;
} sbuf;

static void put(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(sbuf *b, const char *fmt, ...)
{
    if (b->err)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= b->cap - b->len) {
        b->err = LE_ETOOBIG;
        b->p[b->len] = '\0';
        return;
    }
    b->len += (size_t)n;
}

static void putc_(sbuf *b, char c)
{
    if (b->err)
        return;
    if (b->len + 1 >= b->cap) {
        b->err = LE_ETOOBIG;
        return;
    }
    b->p[b->len++] = c;
    b->p[b->len] = '\0';
}

/* An option value (av_set_options_string level): as is when plain, else
 * single-quoted, a quote
 * written as '\''. With graph = 1 the result is escaped once more for the
 * graph parser (avfilter_graph_parse), which strips one level of quoting. */
static void put_value(sbuf *b, const char *v, int graph)
{
    if (!strpbrk(v, "\\'[],;:= \t\n") && *v) {
        put(b, "%s", v);
        return;
    }
    char one[4 * LE_SG_TEXT_MAX + 8];
    sbuf o = { one, sizeof one, 0, 0 };
    one[0] = '\0';
    putc_(&o, '\'');
    for (const char *s = v; *s; s++) {
        if (*s == '\'')
            put(&o, "'\\''");
        else
            putc_(&o, *s);
    }
    putc_(&o, '\'');
    if (o.err) {
        b->err = o.err;
        return;
    }
    if (!graph) {
        put(b, "%s", one);
        return;
    }
    for (const char *s = one; *s; s++) {
        if (strchr("\\'[],;:= \t\n", *s))
            putc_(b, '\\');
        putc_(b, *s);
    }
}

/* ---- checks ---- */

static int norm_ok(double v)
{
    return isfinite(v) && v >= 0.0 && v <= 1.0;
}

static int place_ok(const le_sg_place *p)
{
    return norm_ok(p->height_norm) && norm_ok(p->width_norm) && norm_ok(p->x) && norm_ok(p->y)
           && (int)p->refer >= 0 && p->refer <= LE_SG_REF_RIGHT_CENTER;
}

/* "0xRRGGBB" or "#RRGGBB" to "0xRRGGBB"; empty/NULL: dflt. */
static int color_norm(const char *c, const char *dflt, char out[9])
{
    if (!c || !*c) {
        snprintf(out, 9, "%s", dflt);
        return LE_OK;
    }
    const char *h;
    if (c[0] == '#')
        h = c + 1;
    else if (c[0] == '0' && (c[1] == 'x' || c[1] == 'X'))
        h = c + 2;
    else
        return LE_EINVAL;
    if (strlen(h) != 6)
        return LE_EINVAL;
    for (int i = 0; i < 6; i++)
        if (!strchr("0123456789abcdefABCDEF", h[i]))
            return LE_EINVAL;
    snprintf(out, 9, "0x%s", h);
    return LE_OK;
}

static int even_px(double f, int dim)
{
    long v = lround(f * dim) & ~1L;
    return v < 2 ? 2 : (int)v;
}

static int clampi(long v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : (int)v;
}

/* Fraction of the element's width (x) or height (y) to the left of / above
 * the reference point: 0, 1/2 or 1, as 0, 1, 2 halves. */
static int refer_halves(le_sg_refer r, int axis_y)
{
    switch (r) {
    case LE_SG_REF_TOP_LEFT: return 0;
    case LE_SG_REF_TOP_RIGHT: return axis_y ? 0 : 2;
    case LE_SG_REF_BOTTOM_LEFT: return axis_y ? 2 : 0;
    case LE_SG_REF_BOTTOM_RIGHT: return 2;
    case LE_SG_REF_CENTER: return 1;
    case LE_SG_REF_TOP_CENTER: return axis_y ? 0 : 1;
    case LE_SG_REF_BOTTOM_CENTER: return axis_y ? 2 : 1;
    case LE_SG_REF_LEFT_CENTER: return axis_y ? 1 : 0;
    case LE_SG_REF_RIGHT_CENTER: return axis_y ? 1 : 2;
    }
    return 0;
}

#define EXPR_MAX 96

/* Position expression of one axis. pos: the reference point in pixels;
 * var: the element's size variable ("w", "h", "tw", "th"); box > 0: fit
 * mode, the element is centred in a box of that size whose reference point
 * is pos. */
static void pos_expr(char out[EXPR_MAX], int pos, int halves, const char *var, int box)
{
    if (box > 0) {
        int start = pos - box * halves / 2;
        snprintf(out, EXPR_MAX, "%d+(%d-%s)/2", start, box, var);
    } else if (halves == 0)
        snprintf(out, EXPR_MAX, "%d", pos);
    else if (halves == 1)
        snprintf(out, EXPR_MAX, "%d-%s/2", pos, var);
    else
        snprintf(out, EXPR_MAX, "%d-%s", pos, var);
}

/* The scroll speed of animateH / animateV: an eighth of the output's width
 * (height) per second. */
static void anim_expr(char out[EXPR_MAX], const char *full, const char *var, int dim)
{
    int speed = dim / 8 > 0 ? dim / 8 : 1;
    snprintf(out, EXPR_MAX, "%s-mod(t*%d,%s+%s)", full, speed, full, var);
}

/* x and y expressions of a layer or component. text: drawtext variables
 * (w/h: frame, tw/th: text); otherwise overlay's (W/H: main, w/h: element). */
static void place_exprs(const le_sg_scene *s, const le_sg_place *p, le_sg_effect fx, int text, int boxw, int boxh,
                        char x[EXPR_MAX], char y[EXPR_MAX])
{
    int px = (int)lround(p->x * s->width), py = (int)lround(p->y * s->height);
    pos_expr(x, px, refer_halves(p->refer, 0), text ? "tw" : "w", boxw);
    pos_expr(y, py, refer_halves(p->refer, 1), text ? "th" : "h", boxh);
    if (fx == LE_SG_FX_ANIMATE_H)
        anim_expr(x, text ? "w" : "W", text ? "tw" : "w", s->width);
    else if (fx == LE_SG_FX_ANIMATE_V)
        anim_expr(y, text ? "h" : "H", text ? "th" : "h", s->height);
}

static int scene_ok(const le_sg_scene *s)
{
    if (s->width < 16 || s->height < 16 || s->width > LE_SG_MAX_DIM || s->height > LE_SG_MAX_DIM
        || (s->width & 1) || (s->height & 1))
        return LE_EINVAL;
    if (s->ninputs < 1 || s->ninputs > LE_SG_MAX_INPUTS || s->naudio_inputs < 0
        || s->naudio_inputs > LE_SG_MAX_INPUTS || s->nimages < 0 || s->nimages > LE_SG_MAX_IMAGES
        || s->nlayers < 0 || s->nlayers > LE_SG_MAX_LAYERS || s->ncomponents < 0
        || s->ncomponents > LE_SG_MAX_COMPONENTS || s->naudio < 0 || s->naudio > LE_SG_MAX_INPUTS)
        return LE_EINVAL;
    for (int i = 0; i < s->nlayers; i++) {
        const le_sg_video_layer *l = &s->layers[i];
        if (l->input < -1 || l->input >= s->ninputs || !place_ok(&l->place))
            return LE_EINVAL;
        if (l->fill != LE_SG_FILL_NONE && l->fill != LE_SG_FILL_FIT)
            return LE_EINVAL;
        if (l->fill == LE_SG_FILL_FIT && (l->place.height_norm <= 0 || l->place.width_norm <= 0))
            return LE_EINVAL;
    }
    int img_used[LE_SG_MAX_IMAGES] = { 0 };
    for (int i = 0; i < s->ncomponents; i++) {
        const le_sg_component *c = &s->comps[i];
        char col[9];
        if (!place_ok(&c->place) || (int)c->effect < 0 || c->effect > LE_SG_FX_ANIMATE_V)
            return LE_EINVAL;
        if (c->type == LE_SG_COMP_TEXT) {
            if (!c->text)
                return LE_EINVAL;
            if (strlen(c->text) > LE_SG_TEXT_MAX)
                return LE_ETOOBIG;
            if (!isfinite(c->size_norm) || c->size_norm > 1.0 || !norm_ok(c->border_width_norm))
                return LE_EINVAL;
            if (color_norm(c->color, "0xFFFFFF", col) != LE_OK
                || color_norm(c->border_color, "0x000000", col) != LE_OK)
                return LE_EINVAL;
            if (!le_sg_font_file(c->font_name))
                return LE_EINVAL;
        } else if (c->type == LE_SG_COMP_IMAGE) {
            if (c->image < 0 || c->image >= s->nimages || img_used[c->image]++)
                return LE_EINVAL;
        } else
            return LE_EINVAL;
    }
    for (int i = 0; i < s->naudio; i++) {
        const le_sg_audio_layer *a = &s->audio[i];
        if (a->input < 0 || a->input >= s->naudio_inputs || !isfinite(a->volume_rate) || a->volume_rate < 0
            || a->volume_rate > 10 || (int)a->channel < 0 || a->channel > LE_SG_CH_RIGHT)
            return LE_EINVAL;
    }
    return LE_OK;
}

/* ---- the description ---- */

/* Labels of the uses of each input: "in<k>" when used once, else a split. */
static void put_splits(sbuf *b, const char *prefix, const char *split, int n, const int *uses)
{
    for (int k = 0; k < n; k++) {
        if (uses[k] == 0)
            put(b, "[%s%d]%s;", prefix, k, split[0] == 'a' ? "anullsink" : "nullsink");
        else if (uses[k] > 1) {
            put(b, "[%s%d]%s=%d", prefix, k, split, uses[k]);
            for (int j = 0; j < uses[k]; j++)
                put(b, "[%s%d_%d]", prefix, k, j);
            putc_(b, ';');
        }
    }
}

static void put_use(sbuf *b, const char *prefix, int k, const int *uses, int *taken)
{
    if (uses[k] == 1)
        put(b, "[%s%d]", prefix, k);
    else
        put(b, "[%s%d_%d]", prefix, k, taken[k]++);
}

/* The scale filter's w and h of an element: fit, the box (the picture keeps
 * its aspect inside); none, the height (or else the width) with the other
 * side following the picture's aspect; neither, the picture's own size. */
static void scale_wh(const le_sg_scene *s, const le_sg_place *p, int fit, char w[16], char h[16])
{
    if (fit || p->height_norm > 0)
        snprintf(h, 16, "%d", even_px(p->height_norm, s->height));
    else
        snprintf(h, 16, "%s", p->width_norm > 0 ? "-2" : "ih");
    if (fit || (p->height_norm <= 0 && p->width_norm > 0))
        snprintf(w, 16, "%d", even_px(p->width_norm, s->width));
    else
        snprintf(w, 16, "%s", p->height_norm > 0 ? "-2" : "iw");
}

static void put_scale(sbuf *b, const char *name, const le_sg_scene *s, const le_sg_place *p, int fit)
{
    char w[16], h[16];
    scale_wh(s, p, fit, w, h);
    put(b, "scale@%s=w=%s:h=%s", name, w, h);
    if (fit)
        put(b, ":force_original_aspect_ratio=decrease:force_divisible_by=2");
}

static int font_px(const le_sg_scene *s, const le_sg_component *c)
{
    double f = c->size_norm > 0 ? c->size_norm : c->place.height_norm > 0 ? c->place.height_norm : 0.05;
    return clampi(lround(f * s->height), 1, 1024);
}

static int border_px(const le_sg_component *c, int fs)
{
    if (!c->border_color || !*c->border_color)
        return 0;
    return clampi(lround(c->border_width_norm * fs), 0, 16);
}

/* The drawtext options a reinit command may change (all of those the
 * scene sets), in graph (1) or command (0) quoting. */
static void put_text_opts(sbuf *b, const le_sg_scene *s, const le_sg_component *c, int graph)
{
    char col[9], bc[9], x[EXPR_MAX], y[EXPR_MAX];
    int fs = font_px(s, c);
    color_norm(c->color, "0xFFFFFF", col);
    color_norm(c->border_color, "0x000000", bc);
    place_exprs(s, &c->place, c->effect, 1, 0, 0, x, y);
    put(b, "fontfile=");
    put_value(b, le_sg_font_file(c->font_name), graph);
    put(b, ":fontsize=%d:borderw=%d:bordercolor=%s:text=", fs, border_px(c, fs), bc);
    put_value(b, c->text, graph);
    put(b, ":fontcolor=%s:x=", col);
    put_value(b, x, graph);
    put(b, ":y=");
    put_value(b, y, graph);
}

int le_sg_build(const le_sg_scene *s, char *buf, size_t cap)
{
    if (!s || !buf || cap == 0)
        return LE_EINVAL;
    buf[0] = '\0';
    int rc = scene_ok(s);
    if (rc != LE_OK)
        return rc;
    sbuf b = { buf, cap, 0, 0 };

    int vuses[LE_SG_MAX_INPUTS] = { 0 }, vtaken[LE_SG_MAX_INPUTS] = { 0 };
    vuses[0] = 1;                                   /* the canvas */
    for (int i = 0; i < s->nlayers; i++)
        if (s->layers[i].input >= 0)
            vuses[s->layers[i].input]++;
    put_splits(&b, "in", "split", s->ninputs, vuses);

    /* Black canvas timed by [in0]: a 2x2 crop made black, padded to size. */
    put_use(&b, "in", 0, vuses, vtaken);
    put(&b, "crop=2:2:0:0,format=yuv420p,lutyuv=y=16:u=128:v=128,pad=%d:%d:0:0:black,setsar=1[v0];",
        s->width, s->height);
    int v = 0;
    for (int i = 0; i < s->nlayers; i++) {
        const le_sg_video_layer *l = &s->layers[i];
        if (l->input < 0)
            continue;
        char name[16], x[EXPR_MAX], y[EXPR_MAX];
        int fit = l->fill == LE_SG_FILL_FIT;
        snprintf(name, sizeof name, "L%d", i);
        put_use(&b, "in", l->input, vuses, vtaken);
        put_scale(&b, name, s, &l->place, fit);
        put(&b, ",setsar=1[%s];", name);
        place_exprs(s, &l->place, LE_SG_FX_NONE, 0, fit ? even_px(l->place.width_norm, s->width) : 0,
                    fit ? even_px(l->place.height_norm, s->height) : 0, x, y);
        put(&b, "[v%d][%s]overlay@%s=x=", v, name, name);
        put_value(&b, x, 1);
        put(&b, ":y=");
        put_value(&b, y, 1);
        put(&b, ":eof_action=repeat[v%d];", v + 1);
        v++;
    }
    for (int i = 0; i < s->ncomponents; i++) {
        const le_sg_component *c = &s->comps[i];
        if (c->type == LE_SG_COMP_TEXT) {
            put(&b, "[v%d]drawtext@C%d=expansion=none:", v, i);
            put_text_opts(&b, s, c, 1);
            put(&b, "[v%d];", v + 1);
        } else {
            char name[16], x[EXPR_MAX], y[EXPR_MAX];
            snprintf(name, sizeof name, "C%d", i);
            put(&b, "[img%d]", c->image);
            put_scale(&b, name, s, &c->place, 0);
            put(&b, ",format=yuva420p[%s];", name);
            place_exprs(s, &c->place, c->effect, 0, 0, 0, x, y);
            put(&b, "[v%d][%s]overlay@%s=x=", v, name, name);
            put_value(&b, x, 1);
            put(&b, ":y=");
            put_value(&b, y, 1);
            put(&b, ":eof_action=repeat[v%d];", v + 1);
        }
        v++;
    }
    for (int k = 0; k < s->nimages; k++) {
        int used = 0;
        for (int i = 0; i < s->ncomponents; i++)
            used |= s->comps[i].type == LE_SG_COMP_IMAGE && s->comps[i].image == k;
        if (!used)
            put(&b, "[img%d]nullsink;", k);
    }
    put(&b, "[v%d]format=yuv420p,setsar=1[o0]", v);

    if (s->naudio_inputs > 0) {
        int auses[LE_SG_MAX_INPUTS] = { 0 }, ataken[LE_SG_MAX_INPUTS] = { 0 };
        for (int i = 0; i < s->naudio; i++)
            auses[s->audio[i].input]++;
        putc_(&b, ';');
        put_splits(&b, "ain", "asplit", s->naudio_inputs, auses);
        for (int i = 0; i < s->naudio; i++) {
            const le_sg_audio_layer *a = &s->audio[i];
            put_use(&b, "ain", a->input, auses, ataken);
            put(&b, "aformat=channel_layouts=stereo,");
            if (a->channel == LE_SG_CH_LEFT)
                put(&b, "pan=stereo|c0=c0|c1=c0,");
            else if (a->channel == LE_SG_CH_RIGHT)
                put(&b, "pan=stereo|c0=c1|c1=c1,");
            put(&b, "volume@A%d=volume=%.6g:precision=float[A%d];", i, a->volume_rate, i);
        }
        if (s->naudio == 1)
            put(&b, "[A0]");
        else if (s->naudio > 1) {
            for (int i = 0; i < s->naudio; i++)
                put(&b, "[A%d]", i);
            put(&b, "amix@mix=inputs=%d:duration=longest:dropout_transition=0:normalize=0,", s->naudio);
        }
        if (s->naudio > 0)
            put(&b, "aformat=sample_fmts=fltp:sample_rates=44100:channel_layouts=stereo[a0]");
        else if (b.len > 0 && b.p[b.len - 1] == ';')
            b.p[--b.len] = '\0';
    }
    if (b.err) {
        buf[0] = '\0';
        return b.err;
    }
    return LE_OK;
}

/* ---- run-time changes ---- */

static int add_cmd(le_sg_cmds *out, const char *target, const char *cmd, const char *arg)
{
    if (out->n >= LE_SG_MAX_CMDS)
        return LE_ETOOBIG;
    le_sg_cmd *c = &out->c[out->n];
    if ((size_t)snprintf(c->target, sizeof c->target, "%s", target) >= sizeof c->target
        || (size_t)snprintf(c->cmd, sizeof c->cmd, "%s", cmd) >= sizeof c->cmd
        || (size_t)snprintf(c->arg, sizeof c->arg, "%s", arg) >= sizeof c->arg)
        return LE_ETOOBIG;
    out->n++;
    return LE_OK;
}

static int xy_cmds(le_sg_cmds *out, const char *target, const char *x0, const char *y0, const char *x1,
                   const char *y1)
{
    int rc = LE_OK;
    if (strcmp(x0, x1) != 0)
        rc = add_cmd(out, target, "x", x1);
    if (rc == LE_OK && strcmp(y0, y1) != 0)
        rc = add_cmd(out, target, "y", y1);
    return rc;
}

/* New w and h of scale@<name>: a number before an expression, so that the
 * filter never sees two sides that follow each other ("-2"). */
static int scale_cmds(le_sg_cmds *out, const char *name, const le_sg_scene *s0, const le_sg_place *p0,
                      const le_sg_scene *s1, const le_sg_place *p1, int fit)
{
    char w0[16], h0[16], w1[16], h1[16], target[32];
    scale_wh(s0, p0, fit, w0, h0);
    scale_wh(s1, p1, fit, w1, h1);
    snprintf(target, sizeof target, "scale@%s", name);
    int rc = LE_OK, wch = strcmp(w0, w1) != 0, hch = strcmp(h0, h1) != 0;
    int h_first = hch && (h1[0] >= '0' && h1[0] <= '9');
    if (h_first)
        rc = add_cmd(out, target, "h", h1);
    if (rc == LE_OK && wch)
        rc = add_cmd(out, target, "w", w1);
    if (rc == LE_OK && hch && !h_first)
        rc = add_cmd(out, target, "h", h1);
    return rc;
}

static int needs_rebuild(const le_sg_scene *a, const le_sg_scene *b)
{
    if (a->width != b->width || a->height != b->height || a->ninputs != b->ninputs
        || a->naudio_inputs != b->naudio_inputs || a->nimages != b->nimages || a->nlayers != b->nlayers
        || a->ncomponents != b->ncomponents || a->naudio != b->naudio)
        return 1;
    for (int i = 0; i < a->nlayers; i++) {
        const le_sg_video_layer *x = &a->layers[i], *y = &b->layers[i];
        if (x->input != y->input || x->fill != y->fill)
            return 1;
    }
    for (int i = 0; i < a->ncomponents; i++) {
        const le_sg_component *x = &a->comps[i], *y = &b->comps[i];
        if (x->type != y->type || (x->type == LE_SG_COMP_IMAGE && x->image != y->image))
            return 1;
    }
    for (int i = 0; i < a->naudio; i++)
        if (a->audio[i].input != b->audio[i].input || a->audio[i].channel != b->audio[i].channel)
            return 1;
    return 0;
}

int le_sg_diff(const le_sg_scene *from, const le_sg_scene *to, le_sg_cmds *out)
{
    if (!from || !to || !out)
        return LE_EINVAL;
    out->rebuild = 0;
    out->n = 0;
    int rc = scene_ok(from);
    if (rc == LE_OK)
        rc = scene_ok(to);
    if (rc != LE_OK)
        return rc;
    if (needs_rebuild(from, to)) {
        out->rebuild = 1;
        return LE_OK;
    }
    char name[32], x0[EXPR_MAX], y0[EXPR_MAX], x1[EXPR_MAX], y1[EXPR_MAX];
    for (int i = 0; i < to->nlayers && rc == LE_OK; i++) {
        const le_sg_video_layer *a = &from->layers[i], *l = &to->layers[i];
        if (l->input < 0)
            continue;
        int fit = l->fill == LE_SG_FILL_FIT;
        place_exprs(from, &a->place, LE_SG_FX_NONE, 0, fit ? even_px(a->place.width_norm, from->width) : 0,
                    fit ? even_px(a->place.height_norm, from->height) : 0, x0, y0);
        place_exprs(to, &l->place, LE_SG_FX_NONE, 0, fit ? even_px(l->place.width_norm, to->width) : 0,
                    fit ? even_px(l->place.height_norm, to->height) : 0, x1, y1);
        snprintf(name, sizeof name, "L%d", i);
        rc = scale_cmds(out, name, from, &a->place, to, &l->place, fit);
        snprintf(name, sizeof name, "overlay@L%d", i);
        if (rc == LE_OK)
            rc = xy_cmds(out, name, x0, y0, x1, y1);
    }
    for (int i = 0; i < to->ncomponents && rc == LE_OK; i++) {
        const le_sg_component *a = &from->comps[i], *c = &to->comps[i];
        if (c->type == LE_SG_COMP_IMAGE) {
            place_exprs(from, &a->place, a->effect, 0, 0, 0, x0, y0);
            place_exprs(to, &c->place, c->effect, 0, 0, 0, x1, y1);
            snprintf(name, sizeof name, "C%d", i);
            rc = scale_cmds(out, name, from, &a->place, to, &c->place, 0);
            snprintf(name, sizeof name, "overlay@C%d", i);
            if (rc == LE_OK)
                rc = xy_cmds(out, name, x0, y0, x1, y1);
            continue;
        }
        char oa[sizeof out->c[0].arg], ob[sizeof out->c[0].arg];
        sbuf sa = { oa, sizeof oa, 0, 0 }, sb = { ob, sizeof ob, 0, 0 };
        oa[0] = ob[0] = '\0';
        put_text_opts(&sa, from, a, 0);
        put_text_opts(&sb, to, c, 0);
        if (sa.err || sb.err)
            return LE_ETOOBIG;
        if (strcmp(oa, ob) != 0) {
            snprintf(name, sizeof name, "drawtext@C%d", i);
            rc = add_cmd(out, name, "reinit", ob);
        }
    }
    for (int i = 0; i < to->naudio && rc == LE_OK; i++) {
        if (from->audio[i].volume_rate == to->audio[i].volume_rate)
            continue;
        char vol[32];
        snprintf(vol, sizeof vol, "%.6g", to->audio[i].volume_rate);
        snprintf(name, sizeof name, "volume@A%d", i);
        rc = add_cmd(out, name, "volume", vol);
    }
    if (rc == LE_ETOOBIG && out->n == LE_SG_MAX_CMDS) {
        out->rebuild = 1;       /* so many changes: a new graph is simpler */
        rc = LE_OK;
    }
    if (rc != LE_OK || out->rebuild)
        out->n = 0;
    return rc;
}
