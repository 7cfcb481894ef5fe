/* On-demand recording, see ondemand.h: the OnDemandUrl reply (parse,
 * apply), its query, the publish argument of OnDemand 2, and the request
 * (net/httpc.h: one attempt, LE_REC_ONDEMAND_TIMEOUT_MS, a body of at most
 * LE_REC_ONDEMAND_MAX_BODY bytes). */
#include "record/ondemand.h"
#include "control/notify.h"
#include "core/err.h"
#include "core/json.h"
#include "core/util.h"
#include "net/httpc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_DEPTH 8

/* ---- pure part ---- */

/* "flv", "mp4", "m3u8", any case; -1 for anything else. */
static int fmt_of(const char *s)
{
    if (!s)
        return -1;
    if (strcasecmp(s, "flv") == 0)
        return LE_REC_FLV;
    if (strcasecmp(s, "mp4") == 0)
        return LE_REC_MP4;
    if (strcasecmp(s, "m3u8") == 0)
        return LE_REC_M3U8;
    return -1;
}

static int clamp_interval(const le_jv *v)
{
    double d = v->type == LE_JV_INT ? (double)v->i : v->d;
    if (d < LE_REC_CYCLE_MIN_S)
        return LE_REC_CYCLE_MIN_S;
    if (d > LE_REC_CYCLE_MAX_S)
        return LE_REC_CYCLE_MAX_S;
    return (int)d;
}

int le_rec_ondemand_parse(const char *body, size_t n, le_rec_ondemand_reply *out)
{
    memset(out, 0, sizeof(*out));
    if (!body)
        return LE_EPROTO;
    le_jv *root = le_jv_parse(body, n, MAX_DEPTH, NULL, 0);
    int rc = LE_EPROTO;
    if (!root || root->type != LE_JV_OBJ)
        goto out;
    const le_jv *nr = le_jv_get(root, "NeedRecord");
    if (!nr || nr->type != LE_JV_BOOL)
        goto out;
    out->need_record = nr->i != 0;
    const le_jv *iv = le_jv_get(root, "Interval");
    if (iv) {
        if (iv->type != LE_JV_OBJ)
            goto out;
        for (const le_jv *m = iv->first; m; m = m->next) {
            int f = fmt_of(m->key);
            if (f < 0)
                continue;
            if (m->type != LE_JV_INT && m->type != LE_JV_NUM)
                goto out;
            if (!out->interval_s[f])   /* with the same format twice, the first */
                out->interval_s[f] = clamp_interval(m);
        }
    }
    const le_jv *fa = le_jv_get(root, "Format");
    if (fa) {
        if (fa->type != LE_JV_ARR)
            goto out;
        out->has_formats = 1;
        for (const le_jv *m = fa->first; m; m = m->next) {
            if (m->type != LE_JV_STR)
                goto out;
            int f = fmt_of(m->s);
            if (f >= 0)
                out->formats |= 1u << f;
        }
    }
    rc = LE_OK;
out:
    le_jv_free(root);
    if (rc != LE_OK)
        memset(out, 0, sizeof(*out));
    return rc;
}

int le_rec_ondemand_apply(const le_rec_ondemand_reply *r, le_rec_config *cfg)
{
    if (!r || !r->need_record)
        return 0;
    int k = 0;
    for (int i = 0; i < cfg->nformats && i < LE_REC_NFMT; i++) {
        le_rec_format f = cfg->formats[i];
        if (f.fmt < 0 || f.fmt >= LE_REC_NFMT)
            continue;
        if (r->has_formats && !(r->formats & (1u << f.fmt)))
            continue;
        if (r->interval_s[f.fmt] > 0)
            f.cycle_s = r->interval_s[f.fmt];
        cfg->formats[k++] = f;
    }
    cfg->nformats = k;
    return k > 0;
}

static void kv(le_buf *out, const char *k, const char *v, int first)
{
    if (!first)
        le_buf_u8(out, '&');
    le_buf_append(out, k, strlen(k));
    le_buf_u8(out, '=');
    if (v)
        le_notify_pct(out, v, strlen(v));
}

void le_rec_ondemand_query(le_buf *out, const char *domain, const char *app, const char *stream,
                           const char *codec, int vbitrate_kbps)
{
    char num[16];
    snprintf(num, sizeof(num), "%d", vbitrate_kbps > 0 ? vbitrate_kbps : 0);
    kv(out, "domain", domain, 1);
    kv(out, "app", app, 0);
    kv(out, "stream", stream, 0);
    kv(out, "codec", codec, 0);
    kv(out, "vbitrate", num, 0);
}

/* Whether [v, v+n) is one of the words that switch recording on. */
static int arg_on(const char *v, size_t n)
{
    static const char *const yes[] = { "on", "1", "true", "yes" };
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
        if (strlen(yes[i]) == n && strncasecmp(v, yes[i], n) == 0)
            return 1;
    return 0;
}

int le_rec_ondemand_arg(const char *usrargs)
{
    if (!usrargs)
        return 0;
    const char *p = usrargs;
    if (*p == '?')
        p++;
    const size_t kl = strlen(LE_REC_ONDEMAND_PARAM);
    while (*p) {
        const char *end = strchr(p, '&');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        size_t klen = eq ? (size_t)(eq - p) : len;
        if (klen == kl && strncasecmp(p, LE_REC_ONDEMAND_PARAM, kl) == 0)
            return eq ? arg_on(eq + 1, len - klen - 1) : 0;
        if (!end)
            break;
        p = end + 1;
    }
    return 0;
}

/* ---- the request ---- */

struct le_rec_ondemand_req {
    le_httpc_req *hr;
    le_rec_ondemand_cb cb;
    void *arg;
};

static void ask_done(const le_httpc_resp *r, void *arg)
{
    le_rec_ondemand_req *rq = arg;
    le_rec_ondemand_reply rep;
    char why[160];
    int rc;
    if (r->status != 200) {
        rc = LE_EIO;
        if (r->status)
            snprintf(why, sizeof(why), "HTTP %d", r->status);
        else
            snprintf(why, sizeof(why), "%s", r->why && *r->why ? r->why : "no answer");
    } else if (le_rec_ondemand_parse((const char *)r->body, r->body_len, &rep) != LE_OK) {
        rc = LE_EPROTO;
        snprintf(why, sizeof(why), "the reply is not the expected JSON (NeedRecord, Interval, Format)");
    } else {
        rc = LE_OK;
        snprintf(why, sizeof(why), "NeedRecord %s", rep.need_record ? "true" : "false");
    }
    le_rec_ondemand_cb cb = rq->cb;
    void *cbarg = rq->arg;
    free(rq);
    cb(rc, rc == LE_OK ? &rep : NULL, why, cbarg);
}

int le_rec_ondemand_ask(const char *url, const char *domain, const char *app, const char *stream,
                        const char *codec, int vbitrate_kbps, le_rec_ondemand_cb cb, void *arg,
                        le_rec_ondemand_req **out)
{
    char *path = NULL, *uquery = NULL;
    if (!url || !cb || le_httpc_url_parts(url, &path, &uquery) != LE_OK)
        return LE_EINVAL;
    le_buf q = { 0 }, t = { 0 };
    le_rec_ondemand_query(&q, domain, app, stream, codec, vbitrate_kbps);
    le_buf_u8(&q, 0);
    le_notify_target(&t, path, uquery, (const char *)q.p);
    le_buf_u8(&t, 0);
    free(path);
    free(uquery);
    le_buf_free(&q);

    le_rec_ondemand_req *rq = le_xcalloc(1, sizeof(*rq));
    rq->cb = cb;
    rq->arg = arg;
    le_httpc_opts o = { 0 };
    o.url = url;
    o.target = (const char *)t.p;
    /* the client's own "User-Agent: livedge/VERSION" identifies us */
    o.timeout_ms = LE_REC_ONDEMAND_TIMEOUT_MS;
    o.retries = 0;
    o.ok_status = 200;
    o.max_body = LE_REC_ONDEMAND_MAX_BODY;
    int rc = le_httpc_request(&o, ask_done, rq, &rq->hr);
    le_buf_free(&t);
    if (rc != LE_OK) {
        free(rq);
        return LE_EINVAL;
    }
    if (out)
        *out = rq;
    return LE_OK;
}

void le_rec_ondemand_cancel(le_rec_ondemand_req *rq)
{
    if (!rq)
        return;
    le_httpc_cancel(rq->hr);
    free(rq);
}
