/* The record index in Redis (record/index.h): entry JSON, the ZADD of a
 * finished file, range reads for the index-file actions, and the VOD
 * playlist those actions write over TS slices. */
#include "record/index.h"

#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/json.h"
#include "core/util.h"
#include "hls/playlist.h"
#include "record/config.h"
#include "store/store.h"

/* ---- entry JSON ---- */

#define MAX_TIME_MS 253402300799999LL   /* 9999-12-31T23:59:59.999Z */

void le_rec_entry_to_json(le_buf *out, const le_rec_entry *e)
{
    le_jv *o = le_jv_obj();
    const char *fmt = le_rec_fmt_name(e->fmt);
    le_jv_set_str(o, "fmt", fmt ? fmt : "");
    le_jv_set_bool(o, "slice", e->slice != 0);
    le_jv_set_str(o, "key", e->key);
    le_jv_set_str(o, "bucket", e->bucket);
    le_jv_set_str(o, "endpoint", e->endpoint);
    le_jv_set_str(o, "url", e->url);
    le_jv_set_int(o, "start", e->start_ms);
    le_jv_set_int(o, "end", e->end_ms);
    le_jv_set_int(o, "duration", e->duration_ms);
    le_jv_set_int(o, "width", e->width);
    le_jv_set_int(o, "height", e->height);
    le_jv_set_int(o, "bytes", (int64_t)e->bytes);
    le_jv_set_str(o, "node", e->node);
    le_jv_to_json(o, out);
    le_jv_free(o);
}

static int get_int(const le_jv *o, const char *name, int required, int64_t *out)
{
    *out = 0;
    int rc = le_jv_get_int(o, name, out);
    if (rc == LE_ENOTFOUND && !required)
        return LE_OK;
    return rc == LE_OK ? LE_OK : LE_EPROTO;
}

int le_rec_entry_from_json(const char *js, size_t n, le_rec_entry *out)
{
    memset(out, 0, sizeof(*out));
    le_jv *o = le_jv_parse(js, n, 2, NULL, 0);
    if (!o || o->type != LE_JV_OBJ) {
        le_jv_free(o);
        return LE_EPROTO;
    }
    int rc = LE_EPROTO;
    char fmt[16];
    int64_t start, end, dur, w, h, bytes;
    const le_jv *sl = le_jv_get(o, "slice");
    if (le_jv_copy_str(o, "fmt", fmt, sizeof(fmt)) != LE_OK || (out->fmt = le_rec_fmt_parse(fmt)) < 0)
        goto done;
    if (sl && sl->type != LE_JV_BOOL)
        goto done;
    out->slice = sl ? (int)sl->i : 0;
    if (le_jv_copy_str(o, "key", out->key, sizeof(out->key)) != LE_OK || !out->key[0] ||
        le_jv_copy_str(o, "bucket", out->bucket, sizeof(out->bucket)) != LE_OK || !out->bucket[0])
        goto done;
    if (le_jv_copy_str(o, "endpoint", out->endpoint, sizeof(out->endpoint)) == LE_EPROTO ||
        le_jv_copy_str(o, "url", out->url, sizeof(out->url)) == LE_EPROTO ||
        le_jv_copy_str(o, "node", out->node, sizeof(out->node)) == LE_EPROTO)
        goto done;
    if (get_int(o, "start", 1, &start) != LE_OK || get_int(o, "end", 1, &end) != LE_OK ||
        get_int(o, "duration", 0, &dur) != LE_OK || get_int(o, "width", 0, &w) != LE_OK ||
        get_int(o, "height", 0, &h) != LE_OK || get_int(o, "bytes", 0, &bytes) != LE_OK)
        goto done;
    /* Times before year 10000, a duration within the index's keep: sums
     * and differences of them never overflow. */
    if (start >= 0 && end >= start && dur == 0)
        dur = end - start;
    if (start < 0 || end < start || end > MAX_TIME_MS || dur < 0 || dur > LE_REC_INDEX_KEEP_MS || w < 0 ||
        w > 65535 || h < 0 || h > 65535 || bytes < 0)
        goto done;
    out->start_ms = start;
    out->end_ms = end;
    out->duration_ms = dur;
    out->width = (int)w;
    out->height = (int)h;
    out->bytes = (uint64_t)bytes;
    rc = LE_OK;
done:
    le_jv_free(o);
    if (rc != LE_OK)
        memset(out, 0, sizeof(*out));
    return rc;
}

/* ---- keys, writes ---- */

char *le_rec_index_key(char *out, size_t n, const char *domain, const char *app, const char *stream)
{
    return le_store_key(out, n, "recidx:%s/%s/%s", domain, app, stream);
}

char *le_rec_files_key(char *out, size_t n, const char *domain, const char *app, const char *stream)
{
    return le_store_key(out, n, "recfiles:%s/%s/%s", domain, app, stream);
}

int le_rec_index_add(const char *domain, const char *app, const char *stream, const le_rec_entry *e)
{
    char key[1024], score[32], cut[32];
    le_rec_index_key(key, sizeof(key), domain, app, stream);
    le_buf b = { 0 };
    le_rec_entry_to_json(&b, e);
    snprintf(score, sizeof(score), "%" PRId64, e->start_ms);
    const char *av[] = { "ZADD", key, score, (const char *)b.p };
    size_t al[] = { 4, strlen(key), strlen(score), b.len };
    int rc = le_store_writeargv(4, av, al);
    le_buf_free(&b);
    if (rc != LE_OK)
        return rc;
    /* Entries that started more than LE_REC_INDEX_KEEP_MS ago go. */
    snprintf(cut, sizeof(cut), "(%" PRId64, (int64_t)(le_wall_ms() - LE_REC_INDEX_KEEP_MS));
    const char *tv[] = { "ZREMRANGEBYSCORE", key, "-inf", cut };
    size_t tl[] = { 16, strlen(key), 4, strlen(cut) };
    return le_store_writeargv(4, tv, tl);
}

/* ---- range reads ---- */

typedef struct range_req {
    int64_t start_ms, end_ms;
    int slices;
    le_rec_index_each each;
    le_rec_index_done done;
    void *arg;
} range_req;

static void range_cb(redisReply *rep, void *arg)
{
    range_req *q = arg;
    if (!rep || rep->type != REDIS_REPLY_ARRAY) {
        q->done(LE_EIO, 0, q->arg);
        free(q);
        return;
    }
    le_rec_entry *e = le_xmalloc(sizeof(*e));
    size_t n = rep->elements > LE_REC_INDEX_MAX_READ ? LE_REC_INDEX_MAX_READ : rep->elements;
    for (size_t i = 0; i < n; i++) {
        redisReply *x = rep->element[i];
        if (x->type != REDIS_REPLY_STRING || le_rec_entry_from_json(x->str, x->len, e) != LE_OK)
            continue;
        if ((e->slice != 0) != (q->slices != 0) || e->start_ms >= q->end_ms || e->end_ms <= q->start_ms)
            continue;
        q->each(e, q->arg);
    }
    free(e);
    q->done(LE_OK, rep->elements > LE_REC_INDEX_MAX_READ, q->arg);
    free(q);
}

int le_rec_index_range(const char *domain, const char *app, const char *stream, int64_t start_ms, int64_t end_ms,
                       int slices, le_rec_index_each each, le_rec_index_done done, void *arg)
{
    char key[1024], lo[32], hi[32], lim[32];
    le_rec_index_key(key, sizeof(key), domain, app, stream);
    snprintf(lo, sizeof(lo), "%" PRId64, (int64_t)(start_ms - LE_REC_INDEX_LOOKBACK_MS));
    snprintf(hi, sizeof(hi), "(%" PRId64, end_ms);
    snprintf(lim, sizeof(lim), "%d", LE_REC_INDEX_MAX_READ + 1);
    range_req *q = le_xcalloc(1, sizeof(*q));
    q->start_ms = start_ms;
    q->end_ms = end_ms;
    q->slices = slices;
    q->each = each;
    q->done = done;
    q->arg = arg;
    const char *av[] = { "ZRANGEBYSCORE", key, lo, hi, "LIMIT", "0", lim };
    size_t al[] = { 13, strlen(key), strlen(lo), strlen(hi), 5, 1, strlen(lim) };
    if (le_store_cmdargv(range_cb, q, 7, av, al) != 0) {
        free(q);
        return LE_EIO;
    }
    return LE_OK;
}

/* ---- the playlist ---- */

char *le_rec_slice_uri(const le_rec_entry *e, char *out, size_t n)
{
    if (e->url[0])
        snprintf(out, n, "%s", e->url);
    else
        snprintf(out, n, "/record/%s/%s", e->bucket, e->key);
    return out;
}

int64_t le_rec_m3u8_build(le_buf *out, const le_rec_slice *s, size_t n)
{
    le_m3u8_seg *segs = le_xcalloc(n ? n : 1, sizeof(*segs));
    int64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        segs[i].seq = i;
        segs[i].duration_ms = s[i].duration_ms;
        segs[i].uri = s[i].uri;
        if (i > 0) {
            int64_t d = s[i].start_ms - s[i - 1].end_ms;
            segs[i].disc = d > LE_REC_CONTIG_MS || d < -LE_REC_CONTIG_MS || s[i].width != s[i - 1].width ||
                           s[i].height != s[i - 1].height;
        }
        /* each timeline's absolute start */
        segs[i].pdt_ms = i == 0 || segs[i].disc ? s[i].start_ms : 0;
        total += s[i].duration_ms;
    }
    le_m3u8_opts o;
    memset(&o, 0, sizeof(o));
    o.endlist = 1;
    o.playlist_type = 2;
    le_m3u8_build(out, segs, n, &o);
    free(segs);
    return total;
}
