/* Carousels, the pure part (studio/carousel.h): the request's items and
 * settings, and the order of play. */
#include "studio/carousel.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "core/util.h"


/* scheme://host...: the scheme is one of the listed ones and a host follows. */
static int url_scheme_ok(const char *u, const char *const *schemes)
{
    for (const char *const *p = schemes; *p; p++) {
        size_t l = strlen(*p);
        if (!strncasecmp(u, *p, l) && u[l] && u[l] != '/' && u[l] != ':' && u[l] != '?')
            return 1;
    }
    return 0;
}

/* A VodUrl: a file:// URL, an absolute path or an http(s) URL (of this
 * node's /record/ files; resolved when played) of an mp4, flv, ts or mov
 * file. */
static int vod_ok(const char *u)
{
    static const char *const web[] = { "http://", "https://", NULL };
    if (!le_cst_nospace_ok(u, LE_CST_URL_MAX))
        return 0;
    if (strncmp(u, "file:///", 8) != 0 && u[0] != '/' && !url_scheme_ok(u, web))
        return 0;
    return le_cst_media_ext_ok(u);
}

static int count(const le_jv *a)
{
    int n = 0;
    for (const le_jv *x = a->first; x; x = x->next)
        n++;
    return n;
}

static int add_item(le_jv *items, int idx, const char *name, const char *vod, le_cst_err *e)
{
    if (!name || !*name)
        return le_cst_fail(e, 400, "MissingParameter", "Items.%d.ItemName is mandatory for this action.", idx);
    if (!vod || !*vod)
        return le_cst_fail(e, 400, "MissingParameter", "Items.%d.VodUrl is mandatory for this action.", idx);
    if (!le_cst_name_ok(name))
        return le_cst_fail(e, 400, "InvalidParameter", "Items.%d.ItemName is invalid: 1 to %d bytes, no control "
                           "characters.", idx, LE_CST_NAME_MAX);
    if (!vod_ok(vod))
        return le_cst_fail(e, 400, "InvalidVodUrl.Malformed", "Items.%d.VodUrl is invalid: a file:// URL, an absolute "
                           "path or an http(s) URL of an mp4, flv, ts or mov file.", idx);
    if (count(items) >= LE_CRL_ITEMS_MAX)
        return le_cst_fail(e, 400, "InvalidParameter", "Items: at most %d items.", LE_CRL_ITEMS_MAX);
    le_jv *it = le_jv_push_obj(items);
    le_jv_set_str(it, "ItemName", name);
    le_jv_set_str(it, "VodUrl", vod);
    return LE_OK;
}

static int items_parse(le_cst_get g, void *ctx, le_jv *items, le_cst_err *e)
{
    const char *js = g(ctx, "Items");
    if (js && *js) {   /* a JSON array */
        char why[64];
        if (strlen(js) > LE_CRL_CONTENT_MAX)
            return le_cst_fail(e, 400, "InvalidParameter", "Items is too long.");
        le_jv *a = le_jv_parse(js, strlen(js), LE_CST_JSON_DEPTH, why, sizeof(why));
        if (!a || a->type != LE_JV_ARR) {
            le_jv_free(a);
            return le_cst_fail(e, 400, "InvalidParameter", "Items is not a JSON array of {ItemName, VodUrl}.");
        }
        int idx = 0, rc = LE_OK;
        for (const le_jv *x = a->first; x && rc == LE_OK; x = x->next) {
            idx++;
            if (x->type != LE_JV_OBJ)
                rc = le_cst_fail(e, 400, "InvalidParameter", "Items.%d is not an object.", idx);
            else
                rc = add_item(items, idx, le_jv_get_str(x, "ItemName"), le_jv_get_str(x, "VodUrl"), e);
        }
        le_jv_free(a);
        return rc;
    }
    for (int i = 1; i <= LE_CRL_ITEMS_MAX + 1; i++) {
        char kn[48], kv[48];
        snprintf(kn, sizeof(kn), "Items.%d.ItemName", i);
        snprintf(kv, sizeof(kv), "Items.%d.VodUrl", i);
        const char *n = g(ctx, kn), *v = g(ctx, kv);
        if (!n && !v)
            break;
        int rc = add_item(items, i, n, v, e);
        if (rc != LE_OK)
            return rc;
    }
    return LE_OK;
}

int le_crl_parse(le_cst_get g, void *ctx, le_jv **out, le_cst_err *e)
{
    *out = NULL;
    le_jv *o = le_jv_obj();
    int rc = LE_OK;
    const char *dn = g(ctx, "DomainName"), *st = g(ctx, "StartTime"), *rn = g(ctx, "RepeatNum"),
               *so = g(ctx, "SideOutputUrl"), *cb = g(ctx, "CallbackUrl");
    static const char *const rtmp[] = { "rtmp://", "rtmps://", NULL };
    static const char *const web[] = { "http://", "https://", NULL };
    int64_t ms = 0;
    long long rep = 0;
    if (!dn || !*dn) {
        rc = le_cst_fail(e, 400, "MissingParameter", "DomainName is mandatory for this action.");
        goto out;
    }
    if (!le_cst_nospace_ok(dn, 255)) {
        rc = le_cst_fail(e, 400, "InvalidParameter", "DomainName is invalid.");
        goto out;
    }
    le_jv_set_str(o, "DomainName", dn);
    le_jv *items = le_jv_set_arr(o, "Items");
    if ((rc = items_parse(g, ctx, items, e)) != LE_OK)
        goto out;
    if (count(items) == 0) {
        rc = le_cst_fail(e, 400, "MissingParameter", "Items is mandatory for this action.");
        goto out;
    }
    if (st && *st && le_parse_utc(st, &ms) != LE_OK) {
        rc = le_cst_fail(e, 400, "InvalidStartTime.Malformed", "Specified parameter StartTime is not valid: UTC "
                         "YYYY-MM-DDThh:mm:ssZ.");
        goto out;
    }
    le_jv_set_str(o, "StartTime", st ? st : "");
    if (rn && *rn) {
        char *end = NULL;
        rep = strtoll(rn, &end, 10);
        if (*end || end == rn || rep < -1 || rep > LE_CRL_REPEAT_MAX) {
            rc = le_cst_fail(e, 400, "InvalidParameter", "RepeatNum is invalid: -1 (forever) or 0 to %d.",
                      LE_CRL_REPEAT_MAX);
            goto out;
        }
    }
    le_jv_set_int(o, "RepeatNum", rep);
    if (so && *so && (!le_cst_nospace_ok(so, LE_CST_URL_MAX) || !url_scheme_ok(so, rtmp))) {
        rc = le_cst_fail(e, 400, "InvalidParameter", "SideOutputUrl is invalid: an rtmp:// or rtmps:// URL.");
        goto out;
    }
    le_jv_set_str(o, "SideOutputUrl", so ? so : "");
    if (cb && *cb && (!le_cst_nospace_ok(cb, LE_CST_URL_MAX) || !url_scheme_ok(cb, web))) {
        rc = le_cst_fail(e, 400, "InvalidParameter", "CallbackUrl is invalid: an http:// or https:// URL.");
        goto out;
    }
    le_jv_set_str(o, "CallbackUrl", cb ? cb : "");
out:
    if (rc != LE_OK) {
        le_jv_free(o);
        return rc;
    }
    *out = o;
    return LE_OK;
}

/* Content's members as parameters: strings as they are, numbers in
 * decimal, Items (an array) as its JSON. */
typedef struct content {
    const le_jv *obj;
    char num[32];
    le_buf items;
} content;

static const char *content_get(void *ctx, const char *name)
{
    content *c = ctx;
    const le_jv *v = le_jv_get(c->obj, name);
    if (!v)
        return NULL;
    switch (v->type) {
    case LE_JV_STR:
        return v->s;
    case LE_JV_INT:
        snprintf(c->num, sizeof(c->num), "%lld", (long long)v->i);
        return c->num;
    case LE_JV_NUM:
        if (v->d >= -1e15 && v->d <= 1e15 && v->d == (double)(long long)v->d)
            snprintf(c->num, sizeof(c->num), "%lld", (long long)v->d);
        else
            snprintf(c->num, sizeof(c->num), "x");   /* not an integer: refused as such */
        return c->num;
    case LE_JV_ARR:   /* only Items (the types are checked first) */
        c->items.len = 0;
        le_jv_to_json(v, &c->items);
        le_buf_append(&c->items, "", 1);
        return (const char *)c->items.p;
    default:
        return NULL;
    }
}

int le_crl_parse_content(const char *json, size_t n, le_jv **out, le_cst_err *e)
{
    *out = NULL;
    if (!json || n == 0)
        return le_cst_fail(e, 400, "MissingParameter", "Content is mandatory for this action.");
    if (n > LE_CRL_CONTENT_MAX)
        return le_cst_fail(e, 400, "InvalidParameter", "Content is over %d bytes.", LE_CRL_CONTENT_MAX);
    char why[64];
    le_jv *o = le_jv_parse(json, n, LE_CST_JSON_DEPTH, why, sizeof(why));
    if (!o || o->type != LE_JV_OBJ) {
        le_jv_free(o);
        return le_cst_fail(e, 400, "InvalidParameter", "Content is not a JSON object.");
    }
    const le_jv *it = le_jv_get(o, "Items");
    if (it && it->type != LE_JV_ARR) {
        le_jv_free(o);
        return le_cst_fail(e, 400, "InvalidParameter", "Content.Items is not an array.");
    }
    static const char *const strs[] = { "DomainName", "StartTime", "SideOutputUrl", "CallbackUrl", NULL };
    for (const char *const *k = strs; *k; k++) {
        const le_jv *v = le_jv_get(o, *k);
        if (v && v->type != LE_JV_STR) {
            le_jv_free(o);
            return le_cst_fail(e, 400, "InvalidParameter", "Content.%s is not a string.", *k);
        }
    }
    const le_jv *rn = le_jv_get(o, "RepeatNum");
    if (rn && rn->type != LE_JV_INT && rn->type != LE_JV_NUM && rn->type != LE_JV_STR) {
        le_jv_free(o);
        return le_cst_fail(e, 400, "InvalidParameter", "Content.RepeatNum is not a number.");
    }
    content c;
    memset(&c, 0, sizeof(c));
    c.obj = o;
    int rc = le_crl_parse(content_get, &c, out, e);
    le_buf_free(&c.items);
    le_jv_free(o);
    return rc;
}

int le_crl_next(int n, int repeat, int *item, int *loop)
{
    if (n < 1 || *item < 0 || *item >= n || *loop < 0 || repeat < -1 || (repeat >= 0 && *loop > repeat))
        return LE_EINVAL;
    if (*item + 1 < n) {
        (*item)++;
        return LE_OK;
    }
    if (repeat >= 0 && *loop >= repeat)
        return LE_ENOTFOUND;
    *item = 0;
    if (*loop < INT_MAX)   /* forever: the count stops there */
        (*loop)++;
    return LE_OK;
}
