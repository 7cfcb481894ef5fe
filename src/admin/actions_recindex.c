/* Recorded content and index files (API reference chapter 11):
 * DescribeLiveStreamRecordContent, CreateLiveStreamRecordIndexFiles,
 * DescribeLiveStreamRecordIndexFile, DescribeLiveStreamRecordIndexFiles.
 *
 * They answer from the record index (record/index.h): whole files and
 * playlists for the content, TS slices for the index files. An index file
 * is a VOD m3u8 written under {record_root}/{OssBucket}/{key} by the
 * time-shift writer threads (timeshift/writer.h, never on the loop), then
 * stored as RecordInfo JSON in {prefix}recfiles:{d/a/s}; the answer comes
 * once both are done. DomainName is the play domain (a push domain mapped
 * onto one stands for it); the index is kept under that name. */
#include "admin/actions.h"
#include "admin/admin.h"
#include "admin/params.h"
#include "control/domains.h"
#include "core/err.h"
#include "core/json.h"
#include "core/log.h"
#include "core/util.h"
#include "record/index.h"
#include "record/recorder.h"
#include "record/s3.h"
#include "record/tmpl.h"
#include "store/store.h"
#include "timeshift/writer.h"

#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#define MOD "record"
#define WINDOW_MAX_MS (4 * LE_DAY_MS)
/* Index files one stream keeps at most (the hash is read whole). */
#define FILES_MAX 1000

/* HSET unless the stream already has FILES_MAX index files. 1 stored, 0 full. */
static const char *const ADD_LUA =
    "if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 and "
    "redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end "
    "redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) return 1";

/* DomainName, AppName, StreamName and a required window of at most 4 days
 * with EndTime after StartTime. */
static int common(le_admin_req *r, int window, le_domain **d, const char **app, const char **stream,
                  int64_t *start, int64_t *end)
{
    if (le_params_domain_play(r, d) != 0 || le_params_app_stream(r, app, stream) != 0)
        return LE_EINVAL;
    if (!window)
        return LE_OK;
    if (le_params_window(r, 1, WINDOW_MAX_MS, WINDOW_MAX_MS, start, end) != 0)
        return LE_EINVAL;
    if (*end == *start) {
        le_admin_error(r, 400, "InvalidEndTime.Mismatch",
                       "Specified end time does not match the specified start time (EndTime is not later).");
        return LE_EINVAL;
    }
    return LE_OK;
}

/* ---- DescribeLiveStreamRecordContent ---- */

typedef struct content_q {
    le_admin_req *r;
    le_jv *body, *arr;
} content_q;

static void content_each(const le_rec_entry *e, void *arg)
{
    content_q *q = arg;
    char ts[21];
    le_jv *o = le_jv_push_obj(q->arr);
    le_jv_set_str(o, "OssEndpoint", e->endpoint);
    le_jv_set_str(o, "OssBucket", e->bucket);
    le_jv_set_str(o, "OssObjectPrefix", e->key);
    le_jv_set_str(o, "StartTime", le_fmt_utc(e->start_ms, ts));
    le_jv_set_str(o, "EndTime", le_fmt_utc(e->end_ms, ts));
    le_jv_set_num(o, "Duration", (double)e->duration_ms / 1000.0);
}

static void content_done(int rc, int truncated, void *arg)
{
    content_q *q = arg;
    if (rc != LE_OK) {
        le_jv_free(q->body);
        le_params_unavailable(q->r);
    } else {
        if (truncated)
            le_warn(MOD, "DescribeLiveStreamRecordContent: more than %d index entries in range; answer cut",
                    LE_REC_INDEX_MAX_READ);
        le_admin_reply(q->r, q->body);
    }
    free(q);
}

static void record_content(le_admin_req *r)
{
    le_domain *d;
    const char *app, *stream;
    int64_t start, end;
    if (common(r, 1, &d, &app, &stream, &start, &end) != 0 || le_params_store(r) != 0)
        return;
    content_q *q = le_xcalloc(1, sizeof(*q));
    q->r = r;
    q->body = le_jv_obj();
    q->arr = le_jv_set_arr(le_jv_set_obj(q->body, "RecordContentInfoList"), "RecordContentInfo");
    if (le_rec_index_range(d->name, app, stream, start, end, 0, content_each, content_done, q) != LE_OK) {
        le_jv_free(q->body);
        free(q);
        le_params_unavailable(r);
    }
}

/* ---- CreateLiveStreamRecordIndexFiles ---- */

typedef struct create_q {
    le_admin_req *r;
    char domain[256], app[256], stream[256];
    char bucket[64], endpoint[256], key[LE_REC_KEY_MAX + 8], object[LE_REC_KEY_MAX + 8];
    char path[PATH_MAX];
    int64_t start_ms, end_ms, duration_ms;
    int width, height;
    le_rec_slice *s;
    size_t n, cap;
    le_buf uris;                /* the slices' URIs, NUL-separated */
    size_t *uoff;
    le_buf m3u8;                /* kept until the write completes */
    le_jv *info;
} create_q;

static void create_free(create_q *q)
{
    free(q->s);
    free(q->uoff);
    le_buf_free(&q->uris);
    le_buf_free(&q->m3u8);
    le_jv_free(q->info);
    free(q);
}

static void create_slice(const le_rec_entry *e, void *arg)
{
    create_q *q = arg;
    if (q->n == q->cap) {
        q->cap = q->cap ? q->cap * 2 : 64;
        q->s = le_xrealloc(q->s, q->cap * sizeof(*q->s));
        q->uoff = le_xrealloc(q->uoff, q->cap * sizeof(*q->uoff));
    }
    le_rec_slice *s = &q->s[q->n];
    s->start_ms = e->start_ms;
    s->end_ms = e->end_ms;
    s->duration_ms = e->duration_ms;
    s->width = e->width;
    s->height = e->height;
    s->uri = NULL;
    char uri[sizeof(e->url)];
    q->uoff[q->n] = q->uris.len;
    le_rec_slice_uri(e, uri, sizeof(uri));
    le_buf_append(&q->uris, uri, strlen(uri) + 1);
    if (!q->width && e->width) {
        q->width = e->width;
        q->height = e->height;
    }
    q->n++;
}

static void stored_cb(redisReply *rep, void *arg)
{
    create_q *q = arg;
    if (!rep || rep->type != REDIS_REPLY_INTEGER) {
        le_params_unavailable(q->r);
    } else if (rep->integer == 0) {
        char msg[160];
        snprintf(msg, sizeof(msg), "The stream has %d index files already, the most it may keep.", FILES_MAX);
        le_admin_error(q->r, 400, "QuotaExceeded.RecordIndexFile", msg);
    } else {
        le_jv *body = le_jv_obj();
        le_jv_set(body, "RecordInfo", q->info);
        q->info = NULL;
        le_admin_reply(q->r, body);
    }
    create_free(q);
}

static void uploaded(int rc, void *arg)
{
    char *what = arg;
    if (rc != LE_OK)
        le_warn(MOD, "index file %s: not uploaded (%s)", what, le_strerror(rc));
    free(what);
}

static void written(int rc, int sys_errno, void *arg)
{
    create_q *q = arg;
    if (rc != LE_OK) {
        le_warn(MOD, "index file %s: %s", q->path, strerror(sys_errno));
        le_admin_error(q->r, 500, "InternalError", "The index file could not be written.");
        create_free(q);
        return;
    }
    if (le_s3_enabled()) {
        char *what = le_xstrdup(q->path);
        if (le_s3_upload(q->bucket, q->key, q->path, "application/vnd.apple.mpegurl", uploaded, what) != LE_OK) {
            le_warn(MOD, "index file %s: upload not queued", q->path);
            free(what);
        }
    }
    char url[4096], ts[21], id[37], hkey[1024];
    le_record_url(q->bucket, q->key, url, sizeof(url));
    le_uuid_v4(id, 0);
    le_jv *o = q->info = le_jv_obj();
    le_jv_set_str(o, "RecordUrl", url);
    le_jv_set_str(o, "DomainName", q->domain);
    le_jv_set_str(o, "AppName", q->app);
    le_jv_set_str(o, "StreamName", q->stream);
    le_jv_set_str(o, "StartTime", le_fmt_utc(q->start_ms, ts));
    le_jv_set_str(o, "EndTime", le_fmt_utc(q->end_ms, ts));
    le_jv_set_num(o, "Duration", (double)q->duration_ms / 1000.0);
    le_jv_set_int(o, "Height", q->height);
    le_jv_set_int(o, "Width", q->width);
    le_jv_set_str(o, "CreateTime", le_fmt_utc(le_wall_ms(), ts));
    le_jv_set_str(o, "RecordId", id);
    le_jv_set_str(o, "OssBucket", q->bucket);
    le_jv_set_str(o, "OssEndpoint", q->endpoint);
    le_jv_set_str(o, "OssObject", q->key);
    le_buf b = { 0 };
    le_jv_to_json(o, &b);
    char max[16];
    snprintf(max, sizeof(max), "%d", FILES_MAX);
    le_rec_files_key(hkey, sizeof(hkey), q->domain, q->app, q->stream);
    const char *av[] = { "EVAL", ADD_LUA, "1", hkey, id, (const char *)b.p, max };
    size_t al[] = { 4, strlen(ADD_LUA), 1, strlen(hkey), strlen(id), b.len, strlen(max) };
    int src = le_store_cmdargv(stored_cb, q, 7, av, al);
    le_buf_free(&b);
    if (src != 0) {
        le_params_unavailable(q->r);
        create_free(q);
    }
}

static void create_done(int rc, int truncated, void *arg)
{
    create_q *q = arg;
    if (rc != LE_OK) {
        le_params_unavailable(q->r);
        create_free(q);
        return;
    }
    if (truncated) {
        le_admin_error(q->r, 400, "InvalidParameter",
                       "The window holds too many recorded slices; ask for a shorter one.");
        create_free(q);
        return;
    }
    if (q->n == 0) {
        le_admin_error(q->r, 404, "InvalidStream.NotFound",
                       "The stream has no recorded m3u8 slices in this window (it must have been published "
                       "and recorded as m3u8).");
        create_free(q);
        return;
    }
    for (size_t i = 0; i < q->n; i++)
        q->s[i].uri = (const char *)q->uris.p + q->uoff[i];
    q->duration_ms = le_rec_m3u8_build(&q->m3u8, q->s, q->n);
    int wrc = le_tsw_write(q->path, q->m3u8.p, q->m3u8.len, written, q);
    if (wrc != LE_OK) {
        le_warn(MOD, "index file %s: writer refused (%s)", q->path, le_strerror(wrc));
        le_admin_error(q->r, 503, "ServiceUnavailable", "The index file could not be queued for writing.");
        create_free(q);
    }
}

/* A bucket is a directory under record_root: one safe name. */
static int valid_bucket(const char *b)
{
    size_t n = strlen(b);
    return n > 0 && n < 64 && le_name_valid(b, n);
}

static void create_files(le_admin_req *r)
{
    le_domain *d;
    const char *app, *stream, *bucket, *endpoint, *object;
    int64_t start, end;
    if (common(r, 1, &d, &app, &stream, &start, &end) != 0 || le_admin_require(r, "OssBucket", &bucket) != 0 ||
        le_admin_require(r, "OssEndpoint", &endpoint) != 0 || le_admin_require(r, "OssObject", &object) != 0)
        return;
    if (!valid_bucket(bucket)) {
        le_params_invalid(r, "OssBucket");
        return;
    }
    size_t el = strlen(endpoint);
    for (size_t i = 0; i < el; i++)
        if ((unsigned char)endpoint[i] < 0x20 || endpoint[i] == 0x7f)
            el = 256;
    if (el >= 256) {
        le_params_invalid(r, "OssEndpoint");
        return;
    }
    char why[200] = "", key[LE_REC_KEY_MAX + 8];
    le_rec_vars v = { .app = app, .stream = stream, .sequence = 0, .start_ms = start, .end_ms = end };
    if (le_rec_tmpl_check(object, why, sizeof(why)) != LE_OK ||
        le_rec_tmpl_expand(object, &v, "m3u8", key, sizeof(key)) != LE_OK) {
        char msg[300];
        snprintf(msg, sizeof(msg), "The specified parameter \"OssObject\" is not valid%s%s.", why[0] ? ": " : "",
                 why);
        le_admin_error(r, 400, "InvalidParameter", msg);
        return;
    }
    const char *root = le_record_root();
    create_q *q = le_xcalloc(1, sizeof(*q));
    if (!root || (size_t)snprintf(q->path, sizeof(q->path), "%s/%s/%s", root, bucket, key) >= sizeof(q->path)) {
        free(q);
        le_params_invalid(r, "OssObject");
        return;
    }
    if (le_params_store(r) != 0) {
        free(q);
        return;
    }
    q->r = r;
    snprintf(q->domain, sizeof(q->domain), "%s", d->name);
    snprintf(q->app, sizeof(q->app), "%s", app);
    snprintf(q->stream, sizeof(q->stream), "%s", stream);
    snprintf(q->bucket, sizeof(q->bucket), "%s", bucket);
    snprintf(q->endpoint, sizeof(q->endpoint), "%s", endpoint);
    snprintf(q->key, sizeof(q->key), "%s", key);
    q->start_ms = start;
    q->end_ms = end;
    if (le_rec_index_range(d->name, app, stream, start, end, 1, create_slice, create_done, q) != LE_OK) {
        create_free(q);
        le_params_unavailable(r);
    }
}

/* ---- DescribeLiveStreamRecordIndexFile(s) ---- */

static const char *const INFO_KEYS[] = { "RecordUrl", "DomainName", "AppName", "StreamName", "StartTime",
                                         "EndTime", "Duration", "Height", "Width", "CreateTime", "RecordId",
                                         "OssBucket", "OssEndpoint", "OssObject", NULL };

/* The stored RecordInfo in the documented order, or NULL if it does not parse. */
static le_jv *info_from(const char *js, size_t n)
{
    le_jv *rec = le_jv_parse(js, n, 2, NULL, 0);
    if (!rec || rec->type != LE_JV_OBJ) {
        le_jv_free(rec);
        return NULL;
    }
    le_jv *o = le_jv_obj();
    for (int k = 0; INFO_KEYS[k]; k++) {
        const le_jv *v = le_jv_get(rec, INFO_KEYS[k]);
        if (!v)
            continue;
        if (v->type == LE_JV_STR)
            le_jv_set_str(o, INFO_KEYS[k], v->s);
        else if (v->type == LE_JV_INT)
            le_jv_set_int(o, INFO_KEYS[k], v->i);
        else if (v->type == LE_JV_NUM)
            le_jv_set_num(o, INFO_KEYS[k], v->d);
    }
    le_jv_free(rec);
    return o;
}

typedef struct files_q {
    le_admin_req *r;
    int64_t start_ms, end_ms, num, size;
    int desc;
    const char *order;
} files_q;

/* HGET id (HGETALL for id NULL) on the stream's index-files hash; cb gets
 * q. If the store does not take it: 503, q freed. */
static void files_cmd(files_q *q, const le_domain *d, const char *app, const char *stream, le_store_cb cb,
                      const char *id)
{
    char key[1024];
    le_rec_files_key(key, sizeof(key), d->name, app, stream);
    int rc = id ? le_store_cmd(cb, q, "HGET %s %s", key, id) : le_store_cmd(cb, q, "HGETALL %s", key);
    if (rc != 0) {
        le_params_unavailable(q->r);
        free(q);
    }
}

static void file_cb(redisReply *rep, void *arg)
{
    files_q *q = arg;
    if (!rep || (rep->type != REDIS_REPLY_STRING && rep->type != REDIS_REPLY_NIL)) {
        le_params_unavailable(q->r);
    } else {
        le_jv *o = rep->type == REDIS_REPLY_STRING ? info_from(rep->str, rep->len) : NULL;
        if (!o) {
            le_admin_error(q->r, 404, "InvalidRecordId.NotFound", "The specified RecordId does not exist.");
        } else {
            le_jv *body = le_jv_obj();
            le_jv_set(body, "RecordIndexInfo", o);
            le_admin_reply(q->r, body);
        }
    }
    free(q);
}

static void index_file(le_admin_req *r)
{
    le_domain *d;
    const char *app, *stream, *id;
    if (common(r, 0, &d, &app, &stream, NULL, NULL) != 0 || le_admin_require(r, "RecordId", &id) != 0)
        return;
    if (strlen(id) > 64) {
        le_params_invalid(r, "RecordId");
        return;
    }
    if (le_params_store(r) != 0)
        return;
    files_q *q = le_xcalloc(1, sizeof(*q));
    q->r = r;
    files_cmd(q, d, app, stream, file_cb, id);
}

typedef struct sorted {
    int64_t start;
    le_jv *o;
} sorted;

static int cmp_asc(const void *a, const void *b)
{
    const sorted *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    const char *xi = le_jv_get_str(x->o, "RecordId"), *yi = le_jv_get_str(y->o, "RecordId");
    return strcmp(xi ? xi : "", yi ? yi : "");
}

static int cmp_desc(const void *a, const void *b)
{
    return cmp_asc(b, a);
}

static void files_cb(redisReply *rep, void *arg)
{
    files_q *q = arg;
    if (!rep || rep->type != REDIS_REPLY_ARRAY) {
        le_params_unavailable(q->r);
        free(q);
        return;
    }
    size_t n = 0;
    sorted *v = le_xcalloc(rep->elements / 2 + 1, sizeof(*v));
    for (size_t i = 0; i + 1 < rep->elements; i += 2) {
        redisReply *e = rep->element[i + 1];
        if (e->type != REDIS_REPLY_STRING)
            continue;
        le_jv *o = info_from(e->str, e->len);
        int64_t s, t;
        const char *ss = le_jv_get_str(o, "StartTime"), *es = le_jv_get_str(o, "EndTime");
        /* Index files whose window overlaps the one asked for. */
        if (!o || !ss || !es || le_parse_utc(ss, &s) != 0 || le_parse_utc(es, &t) != 0 || s >= q->end_ms ||
            t <= q->start_ms) {
            le_jv_free(o);
            continue;
        }
        v[n].start = s;
        v[n++].o = o;
    }
    qsort(v, n, sizeof(*v), q->desc ? cmp_desc : cmp_asc);
    le_jv *body = le_jv_obj();
    le_jv *arr = le_jv_set_arr(le_jv_set_obj(body, "RecordIndexInfoList"), "RecordIndexInfo");
    int64_t from = (q->num - 1) * q->size;
    for (size_t i = 0; i < n; i++) {
        if ((int64_t)i >= from && (int64_t)i < from + q->size)
            le_jv_push(arr, v[i].o);
        else
            le_jv_free(v[i].o);
    }
    free(v);
    le_params_paging_reply(body, q->num, q->size, (int64_t)n);
    le_jv_set_str(body, "Order", q->order);
    le_admin_reply(q->r, body);
    free(q);
}

static void index_files(le_admin_req *r)
{
    le_domain *d;
    const char *app, *stream, *order;
    int64_t start, end, num, size;
    if (common(r, 1, &d, &app, &stream, &start, &end) != 0 ||
        le_params_order_page(r, "asc", 5, 30, 10, &order, &num, &size) != 0)
        return;
    if (le_params_store(r) != 0)
        return;
    files_q *q = le_xcalloc(1, sizeof(*q));
    q->r = r;
    q->start_ms = start;
    q->end_ms = end;
    q->num = num;
    q->size = size;
    q->order = order;
    q->desc = strcmp(order, "desc") == 0;
    /* At most FILES_MAX fields: one bounded reply. */
    files_cmd(q, d, app, stream, files_cb, NULL);
}

void le_actions_recindex_register(void)
{
    le_admin_register("DescribeLiveStreamRecordContent", record_content);
    le_admin_register("CreateLiveStreamRecordIndexFiles", create_files);
    le_admin_register("DescribeLiveStreamRecordIndexFile", index_file);
    le_admin_register("DescribeLiveStreamRecordIndexFiles", index_files);
}
