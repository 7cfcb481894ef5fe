/* The recorder (record/recorder.h; docs/RECORD.md, "Tasks").
 *
 * A task is one recording of one stream. On the loop it is:
 *   LOOKUP   the config lookup runs (record/config.h);
 *   WAIT     OnDemand 1: the tap is open, packets are held (bounded) until
 *            the metadata gives codec and bitrate or 1 s passes;
 *   ASK      OnDemand 1: the query to OnDemandUrl runs;
 *   RUN      packets go to the writers;
 *   GAP      the publisher left (files closed, writers and their sequence
 *            numbers kept): a publish within record_stitch resumes, else
 *            the task ends at the tick.
 * An ended task is "dead" and freed once nothing it started is in flight
 * (a lookup, a job).
 *
 * Packets: the tap's wake drains it into the task's open batch (packet
 * references + arrival wall ms). A task has at most one job on the writer
 * threads (record/pool.h); when it comes back the references are released
 * here (refcounts are not atomic) and the next batch goes. What waits in
 * batches is bounded per task (record_queue_bytes) and for all tasks
 * (4 x record_queue_bytes): past either, audio/video packets are skipped,
 * counted, until the next keyframe (metadata and sequence headers are
 * always kept). The tap itself has the same bound.
 *
 * Files: the writers report finished files and pauses on their thread;
 * copies come back here in order, before the job they happened in. */
#include "record/recorder.h"
#include "conf/conf.h"
#include "control/cluster.h"
#include "control/publish.h"
#include "core/err.h"
#include "core/json.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/util.h"
#include "http/server.h"
#include "media/flv.h"
#include "media/stream.h"
#include "media/tap.h"
#include "node.h"
#include "record/config.h"
#include "record/index.h"
#include "record/notify.h"
#include "record/ondemand.h"
#include "record/pool.h"
#include "record/s3.h"
#include "record/writer.h"
#include "store/store.h"

#include <errno.h>
#include <event2/event.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define MOD "record"
#define ONDEMAND_WAIT_MS 1000
#define GLOBAL_QUEUE_FACTOR 4
/* A batch goes to the writer threads when it is this old or this big (or
 * ends a publish): one thread hand-over per batch, not per packet, keeps
 * the wake-ups of 2.5 Mbit/s streams to a few a second (docs/RECORD.md,
 * "Threads"). */
#define BATCH_MS 250
#define BATCH_BYTES (512 * 1024)
#define NAME_MAX_ 256
/* At stop, what the uploads in flight get (docs/RECORD.md, "Stop"). */
#define STOP_S3_MS 1500

enum { T_LOOKUP = 0, T_WAIT, T_ASK, T_RUN, T_GAP };

typedef struct task task;

typedef struct wctx {
    task *t;
    int fmt;
} wctx;

typedef struct bent {
    le_pkt *p;
    int64_t wall;
} bent;

typedef struct rjob {
    le_recp_job j;
    task *t;
    bent *v;
    size_t n, cap, bytes;
    uint64_t since;                     /* mono ms of its first packet */
    int close, free_writers;
} rjob;

/* A config lookup in flight; t is cleared when the task goes first. */
typedef struct ticket {
    task *t;
    int manual;
    le_record_cmd_cb cb;
    void *arg;
} ticket;

struct task {
    task *next;
    char domain[NAME_MAX_], app[NAME_MAX_], stream[NAME_MAX_];
    char dkey[3 * NAME_MAX_ + 4];      /* "d/a/s" */
    int state, manual, dead, counted;
    ticket *lookup;
    le_rec_ondemand_req *odreq;
    struct event *tmr;                  /* OnDemand 1: the metadata wait */
    struct event *flush;                /* sends a young batch once it is BATCH_MS old */
    le_rec_config cfg;
    int has_notify;
    le_rec_notify_cfg notify;
    le_tap *tap;
    le_recw *w[LE_REC_NFMT];
    wctx wc[LE_REC_NFMT];
    int nw;
    rjob *pend;                         /* the open batch */
    int busy;                           /* a job is on the threads */
    size_t qbytes;                      /* packet bytes in its batches */
    int resync, has_video;
    unsigned paused_mask;
    uint64_t gap_deadline, next_refresh;    /* mono ms */
    int keyed;                          /* the rectask key is ours */
    int64_t start_wall;                 /* when recording started (the key's "start") */
    int hold;                           /* inside a handler that still uses it: not freed */
    char codec[16];
    int vkbps, have_meta, have_vhdr;
    uint64_t tap_skipped;               /* what its tap skipped, counted at its end */
    int pinned;                         /* recorded with pin (le_record_pin), not a looked-up config */
    le_rec_config pin;
};

/* A stream recorded with a given config (le_record_pin). */
typedef struct pin {
    struct pin *next;
    char domain[NAME_MAX_], app[NAME_MAX_], stream[NAME_MAX_];
    le_rec_config cfg;
} pin;

typedef struct msg {
    le_recp_item item;
    task *t;
    int is_file;
    int status;
    char why[256];
    le_rec_file f;
} msg;

/* A finished file on its way to the index / callback / upload. */
typedef struct fileinfo {
    char domain[NAME_MAX_], app[NAME_MAX_], stream[NAME_MAX_];
    char bucket[64], endpoint[256];
    int has_notify;
    char notify_url[1024];
    le_rec_file f;
} fileinfo;

static struct {
    struct event_base *base;
    int started, stopping;
    char root[PATH_MAX];
    task *tasks;
    pin *pins;
    size_t qbytes, qmax_task, qmax_all;
    le_record_stats st;
    uint64_t write_errors;              /* atomic: the threads add */
    int http_port;                      /* last listener port seen (local URLs) */
} R;

static const char *fmt_ext(int fmt)
{
    return fmt == LE_REC_FLV ? "flv" : fmt == LE_REC_MP4 ? "mp4" : "m3u8";
}

static const char *bucket_of(const le_rec_config *c)
{
    return c->oss_bucket[0] ? c->oss_bucket : "default";
}

/* ---- the rectask key ---- */

static void key_set(task *t)
{
    char key[1024];
    le_store_key(key, sizeof(key), "rectask:%s", t->dkey);
    le_jv *o = le_jv_obj();
    le_jv_set_str(o, "node", le_cluster_node());
    le_jv_set_bool(o, "manual", t->manual);
    le_jv_set_int(o, "start", t->start_wall);
    le_buf b = { 0 };
    le_jv_to_json(o, &b);
    le_jv_free(o);
    le_buf_u8(&b, 0);
    le_store_write("SET %s %s PX %lld", key, (const char *)b.p, (long long)LE_REC_TASK_TTL_MS);
    le_buf_free(&b);
    t->keyed = 1;
    t->next_refresh = le_mono_ms() + LE_REC_TASK_REFRESH_MS;
}

static void key_del(const char *dkey)
{
    char key[1024];
    le_store_key(key, sizeof(key), "rectask:%s", dkey);
    le_store_write("DEL %s", key);
}

/* ---- status events ---- */

static const char *sign_key_of(const char *domain)
{
    const le_conf_domain *d = le_node_domain(domain);
    return d && d->notify_auth_key && *d->notify_auth_key ? d->notify_auth_key : NULL;
}

static void status_event(task *t, const char *event)
{
    if (!t->has_notify || !t->notify.need_status || !t->notify.notify_url[0])
        return;
    int rc = le_recn_status(t->notify.notify_url, sign_key_of(t->domain), t->domain, t->app, t->stream, event);
    if (rc != LE_OK)
        le_warn(MOD, "%s: %s callback not queued: %s", t->dkey, event, le_strerror(rc));
}

/* ---- batches and jobs ---- */

static rjob *job_new(task *t)
{
    rjob *j = le_xcalloc(1, sizeof(*j));
    j->t = t;
    return j;
}

static void job_release(rjob *j)
{
    for (size_t i = 0; i < j->n; i++)
        le_pkt_unref(j->v[i].p);
    if (j->t)
        j->t->qbytes -= j->bytes;
    R.qbytes -= j->bytes;
    free(j->v);
    free(j);
}

static void job_work(le_recp_job *lj)
{
    rjob *j = (rjob *)lj;
    task *t = j->t;
    for (size_t i = 0; i < j->n; i++)
        for (int k = 0; k < t->nw; k++) {
            if (!t->w[k])
                continue;
            int was = le_recw_paused(t->w[k]);
            int rc = le_recw_feed(t->w[k], j->v[i].p, j->v[i].wall);
            if (rc == LE_EIO && !was)
                __atomic_add_fetch(&R.write_errors, 1, __ATOMIC_RELAXED);
        }
    if (j->close || j->free_writers)
        for (int k = 0; k < t->nw; k++)
            if (t->w[k])
                le_recw_close(t->w[k]);
    if (j->free_writers)
        for (int k = 0; k < t->nw; k++) {
            le_recw_free(t->w[k]);
            t->w[k] = NULL;
        }
}

static void maybe_reap(task *t);
static void try_submit(task *t);

static void flush_cb(evutil_socket_t fd, short what, void *arg)
{
    task *t = arg;
    (void)fd;
    (void)what;
    t->hold++;
    try_submit(t);
    t->hold--;
    maybe_reap(t);
}

static void job_done(le_recp_item *it)
{
    rjob *j = (rjob *)it;
    task *t = j->t;
    job_release(j);
    t->busy = 0;
    try_submit(t);
    maybe_reap(t);
}

static void try_submit(task *t)
{
    if (t->busy || !t->pend)
        return;
    if (!t->dead && t->state != T_RUN && t->state != T_GAP)
        return;          /* no writers yet: the batch waits */
    rjob *j = t->pend;
    if (j->n == 0 && !j->close && !j->free_writers)
        return;
    uint64_t age = le_mono_ms() - j->since;
    if (!j->close && !j->free_writers && !t->dead && !R.stopping && j->bytes < BATCH_BYTES && age < BATCH_MS) {
        if (!t->flush)
            t->flush = evtimer_new(R.base, flush_cb, t);
        if (!evtimer_pending(t->flush, NULL)) {
            uint64_t left = BATCH_MS - age;
            struct timeval tv = { (time_t)(left / 1000), (suseconds_t)(left % 1000) * 1000 };
            evtimer_add(t->flush, &tv);
        }
        return;
    }
    if (t->flush)
        evtimer_del(t->flush);
    t->pend = NULL;
    if (t->nw == 0) {    /* never started: nothing to write */
        job_release(j);
        return;
    }
    j->j.item.run = job_done;
    j->j.work = job_work;
    t->busy = 1;
    le_recp_submit(&j->j);
}

static rjob *pend_of(task *t)
{
    if (!t->pend) {
        t->pend = job_new(t);
        t->pend->since = le_mono_ms();
    }
    return t->pend;
}

static int is_resync_point(const task *t, const le_pkt *p)
{
    if (t->has_video)
        return p->type == LE_PKT_VIDEO && (p->flags & LE_PKT_KEY);
    return p->type == LE_PKT_AUDIO;
}

/* Takes the caller's reference. */
static void add_pkt(task *t, le_pkt *p)
{
    int hdr = (p->flags & (LE_PKT_META | LE_PKT_SEQHDR)) != 0 || p->type == LE_PKT_DATA;
    if (p->type == LE_PKT_VIDEO)
        t->has_video = 1;
    if (!hdr) {
        if (t->resync && !is_resync_point(t, p)) {
            R.st.skipped++;
            le_pkt_unref(p);
            return;
        }
        if (t->qbytes + p->len > R.qmax_task || R.qbytes + p->len > R.qmax_all) {
            if (!t->resync)
                le_warn(MOD, "%s: writers behind (%zu bytes queued): skipping to the next keyframe", t->dkey,
                        t->qbytes);
            t->resync = 1;
            R.st.skipped++;
            le_pkt_unref(p);
            return;
        }
        t->resync = 0;
    }
    rjob *j = pend_of(t);
    if (j->n == j->cap) {
        j->cap = j->cap ? j->cap * 2 : 64;
        j->v = le_xrealloc(j->v, j->cap * sizeof(*j->v));
    }
    j->v[j->n].p = p;
    j->v[j->n].wall = le_wall_ms();
    j->n++;
    j->bytes += p->len;
    t->qbytes += p->len;
    R.qbytes += p->len;
}

/* ---- files ---- */

static const char *content_type(const le_rec_file *f)
{
    if (f->is_slice)
        return "video/mp2t";
    return f->fmt == LE_REC_FLV ? "video/x-flv" : f->fmt == LE_REC_MP4 ? "video/mp4" : "application/vnd.apple.mpegurl";
}

/* Index entry and file callback, with the URL the file is reachable at. */
static void file_publish(fileinfo *fi, const char *url)
{
    le_rec_entry e;
    memset(&e, 0, sizeof(e));
    e.fmt = fi->f.fmt;
    e.slice = fi->f.is_slice;
    snprintf(e.key, sizeof(e.key), "%s", fi->f.key);
    snprintf(e.bucket, sizeof(e.bucket), "%s", fi->bucket);
    snprintf(e.endpoint, sizeof(e.endpoint), "%s", fi->endpoint);
    snprintf(e.url, sizeof(e.url), "%s", url);
    e.start_ms = fi->f.start_ms;
    e.end_ms = fi->f.end_ms;
    e.duration_ms = fi->f.duration_ms;
    e.width = fi->f.width;
    e.height = fi->f.height;
    e.bytes = fi->f.bytes;
    snprintf(e.node, sizeof(e.node), "%s", le_cluster_node());
    int rc = le_rec_index_add(fi->domain, fi->app, fi->stream, &e);
    if (rc != LE_OK)
        le_warn(MOD, "%s/%s/%s: %s not indexed: %s", fi->domain, fi->app, fi->stream, fi->f.key, le_strerror(rc));
    if (fi->has_notify && !fi->f.is_slice) {
        rc = le_recn_file(fi->notify_url, sign_key_of(fi->domain), fi->domain, fi->app, fi->stream, fi->f.key,
                          fi->f.duration_ms, fi->f.start_ms / 1000, fi->f.end_ms / 1000);
        if (rc != LE_OK)
            le_warn(MOD, "%s/%s/%s: callback for %s not queued: %s", fi->domain, fi->app, fi->stream, fi->f.key,
                    le_strerror(rc));
    }
}

static char *local_url(const char *bucket, const char *key, char *out, size_t n);

static void s3_done(int rc, void *arg)
{
    fileinfo *fi = arg;
    char url[2048];
    if (rc == LE_OK) {
        le_s3_url(fi->bucket, fi->f.key, url, sizeof(url));
    } else {
        /* Stopped before the upload: the file stays local and is indexed
         * with its local URL. */
        le_warn(MOD, "%s: upload not finished (%s), indexed with its local URL", fi->f.path, le_strerror(rc));
        local_url(fi->bucket, fi->f.key, url, sizeof(url));
    }
    file_publish(fi, url);
    free(fi);
}

static void file_done(task *t, const le_rec_file *f)
{
    R.st.files++;
    R.st.bytes += f->bytes;
    le_info(MOD, "%s: %s%s %s (%.3f s, %llu bytes)", t->dkey, f->is_slice ? "slice " : "", fmt_ext(f->fmt), f->key,
            (double)f->duration_ms / 1000.0, (unsigned long long)f->bytes);
    fileinfo *fi = le_xcalloc(1, sizeof(*fi));
    snprintf(fi->domain, sizeof(fi->domain), "%s", t->domain);
    snprintf(fi->app, sizeof(fi->app), "%s", t->app);
    snprintf(fi->stream, sizeof(fi->stream), "%s", t->stream);
    snprintf(fi->bucket, sizeof(fi->bucket), "%s", bucket_of(&t->cfg));
    snprintf(fi->endpoint, sizeof(fi->endpoint), "%s", t->cfg.oss_endpoint);
    fi->has_notify = t->has_notify && t->notify.notify_url[0];
    if (fi->has_notify)
        snprintf(fi->notify_url, sizeof(fi->notify_url), "%s", t->notify.notify_url);
    fi->f = *f;
    if (le_s3_enabled()) {
        /* Indexed and announced once the object is stored: the local file
         * may be gone by then (keep_local off). */
        int rc = le_s3_upload(fi->bucket, f->key, f->path, content_type(f), s3_done, fi);
        if (rc == LE_OK)
            return;
        le_warn(MOD, "%s: upload not queued (%s): indexed with its local URL", f->path, le_strerror(rc));
    }
    char url[2048];
    file_publish(fi, local_url(fi->bucket, f->key, url, sizeof(url)));
    free(fi);
}

static void status_done(task *t, int fmt, int status, const char *why)
{
    unsigned bit = 1u << fmt;
    if (status == LE_RECW_PAUSED) {
        if (t->paused_mask & bit)
            return;
        le_warn(MOD, "%s: %s recording paused: %s", t->dkey, fmt_ext(fmt), why);
        if (!t->paused_mask) {
            R.st.paused_now++;
            R.st.pauses++;
            status_event(t, "record_paused");
        }
        t->paused_mask |= bit;
    } else if (status == LE_RECW_RESUMED) {
        if (!(t->paused_mask & bit))
            return;
        t->paused_mask &= ~bit;
        le_info(MOD, "%s: %s recording resumed", t->dkey, fmt_ext(fmt));
        if (!t->paused_mask) {
            R.st.paused_now--;
            status_event(t, "record_resumed");
        }
    }
}

static void msg_run(le_recp_item *it)
{
    msg *m = (msg *)it;
    if (m->is_file)
        file_done(m->t, &m->f);
    else
        status_done(m->t, m->f.fmt, m->status, m->why);
    free(m);
}

/* Writer callbacks, on a writer thread. */
static void w_on_file(const le_rec_file *f, void *arg)
{
    wctx *c = arg;
    msg *m = le_xcalloc(1, sizeof(*m));
    m->item.run = msg_run;
    m->t = c->t;
    m->is_file = 1;
    m->f = *f;
    le_recp_post(&m->item);
}

static void w_on_status(int status, const char *why, void *arg)
{
    wctx *c = arg;
    msg *m = le_xcalloc(1, sizeof(*m));
    m->item.run = msg_run;
    m->t = c->t;
    m->status = status;
    m->f.fmt = c->fmt;
    snprintf(m->why, sizeof(m->why), "%s", why ? why : "");
    le_recp_post(&m->item);
}

/* ---- task lifetime ---- */

static task *task_find(const char *d, const char *a, const char *s)
{
    for (task *t = R.tasks; t; t = t->next)
        if (!t->dead && strcmp(t->domain, d) == 0 && strcmp(t->app, a) == 0 && strcmp(t->stream, s) == 0)
            return t;
    return NULL;
}

static void maybe_reap(task *t)
{
    if (!t->dead || t->busy || t->pend || t->lookup || t->odreq || t->hold)
        return;
    for (task **pp = &R.tasks; *pp; pp = &(*pp)->next)
        if (*pp == t) {
            *pp = t->next;
            break;
        }
    if (t->tmr)
        event_free(t->tmr);
    if (t->flush)
        event_free(t->flush);
    free(t);
}

static void end_task(task *t, const char *why)
{
    if (t->dead)
        return;
    t->dead = 1;
    if (t->counted) {
        R.st.tasks_now--;
        le_info(MOD, "%s: recording ended: %s", t->dkey, why);
    } else {
        le_debug(MOD, "%s: no recording: %s", t->dkey, why);
    }
    if (t->paused_mask)
        R.st.paused_now--;
    t->paused_mask = 0;
    if (t->tmr)
        evtimer_del(t->tmr);
    if (t->odreq) {
        le_rec_ondemand_cancel(t->odreq);
        t->odreq = NULL;
    }
    if (t->lookup) {
        t->lookup->t = NULL;
        t->lookup = NULL;
    }
    if (t->tap) {
        le_tap_stats ts;
        le_tap_get_stats(t->tap, &ts);
        R.st.skipped += ts.skipped;
        le_tap_close(t->tap);
        t->tap = NULL;
    }
    if (t->keyed)
        key_del(t->dkey);
    t->keyed = 0;
    if (t->nw > 0) {
        pend_of(t)->free_writers = 1;
        try_submit(t);
    } else if (t->pend) {
        job_release(t->pend);
        t->pend = NULL;
    }
    maybe_reap(t);
}

static void tap_wake(le_tap *tp, void *ctx);
static const le_tap_ops tap_ops = { tap_wake, NULL };

static int open_tap(task *t)
{
    if (t->tap)
        return LE_OK;
    le_stream *st = le_stream_find(t->domain, t->app, t->stream, 0);
    if (!st || !le_stream_is_live(st))
        return LE_ENOTFOUND;
    t->tap = le_tap_open(st, &tap_ops, t, R.qmax_task);
    return t->tap ? LE_OK : LE_ENOMEM;
}

/* Writers per format of the config, then RUN. */
static int start_recording(task *t)
{
    char dir[PATH_MAX], err[256];
    int n = snprintf(dir, sizeof(dir), "%s/%s", R.root, bucket_of(&t->cfg));
    if (n < 0 || (size_t)n >= sizeof(dir))
        return LE_ETOOBIG;
    const le_conf *c = le_node_conf();
    for (int i = 0; i < t->cfg.nformats && t->nw < LE_REC_NFMT; i++) {
        const le_rec_format *f = &t->cfg.formats[i];
        t->wc[t->nw].t = t;
        t->wc[t->nw].fmt = f->fmt;
        le_recw_params p = {
            .fmt = f->fmt,
            .dir = dir,
            .app = t->app,
            .stream = t->stream,
            .prefix = f->prefix,
            .slice_prefix = f->slice_prefix,
            .cycle_ms = (int64_t)(f->cycle_s > 0 ? f->cycle_s : LE_REC_CYCLE_DEFAULT_S) * 1000,
            .slice_ms = 0,
            .fragment_ms = c ? c->record_fragment_ms : 0,
            .min_free = c ? c->record_min_free : 0,
            .first_sequence = 0,
            .on_file = w_on_file,
            .on_status = w_on_status,
            .arg = &t->wc[t->nw],
        };
        le_recw *w = le_recw_new(&p, err, sizeof(err));
        if (!w) {
            le_error(MOD, "%s: %s writer: %s", t->dkey, le_rec_fmt_name(f->fmt), err);
            continue;
        }
        t->w[t->nw++] = w;
    }
    if (t->nw == 0)
        return LE_EINVAL;
    int rc = open_tap(t);
    if (rc != LE_OK)
        return rc;
    t->state = T_RUN;
    t->counted = 1;
    R.st.tasks_now++;
    t->start_wall = le_wall_ms();
    key_set(t);
    char fl[64] = "";
    for (int i = 0; i < t->nw; i++)
        snprintf(fl + strlen(fl), sizeof(fl) - strlen(fl), "%s%s", i ? "," : "", le_rec_fmt_name(t->wc[i].fmt));
    le_info(MOD, "%s: recording started (%s, %s) to %s", t->dkey, t->manual ? "manual" : "automatic", fl, dir);
    status_event(t, "record_started");
    try_submit(t);
    return LE_OK;
}

static void od_done(int rc, const le_rec_ondemand_reply *reply, const char *why, void *arg)
{
    task *t = arg;
    t->odreq = NULL;
    if (t->dead) {
        maybe_reap(t);
        return;
    }
    if (rc != LE_OK || !reply) {
        R.st.ondemand_failed++;
        le_warn(MOD, "%s: OnDemandUrl gave no decision (%s): not recorded", t->dkey, why ? why : le_strerror(rc));
        end_task(t, "on-demand query failed");
        return;
    }
    if (!le_rec_ondemand_apply(reply, &t->cfg)) {
        R.st.ondemand_no++;
        le_info(MOD, "%s: OnDemandUrl says no recording", t->dkey);
        end_task(t, "on-demand: no");
        return;
    }
    R.st.ondemand_yes++;
    rc = start_recording(t);
    if (rc != LE_OK)
        end_task(t, le_strerror(rc));
}

static void od_ask(task *t)
{
    if (t->state != T_WAIT)
        return;
    evtimer_del(t->tmr);
    t->state = T_ASK;
    int rc = le_rec_ondemand_ask(t->notify.on_demand_url, t->domain, t->app, t->stream, t->codec, t->vkbps,
                                 od_done, t, &t->odreq);
    if (rc != LE_OK) {
        t->odreq = NULL;
        R.st.ondemand_failed++;
        le_warn(MOD, "%s: OnDemandUrl %s refused (%s): not recorded", t->dkey, t->notify.on_demand_url,
                le_strerror(rc));
        end_task(t, "bad OnDemandUrl");
    }
}

static void od_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    od_ask(arg);
}

static const char *codec_name(int c)
{
    switch (c) {
    case LE_CODEC_H264: return "h264";
    case LE_CODEC_H265: return "h265";
    case LE_CODEC_AV1: return "av1";
    case LE_CODEC_VP9: return "vp9";
    default: return "";
    }
}

/* OnDemand 1: what the query needs, from the packets held. */
static void od_watch(task *t, const le_pkt *p)
{
    if ((p->type == LE_PKT_AUDIO || p->type == LE_PKT_VIDEO) && !evtimer_pending(t->tmr, NULL)) {
        struct timeval tv = { ONDEMAND_WAIT_MS / 1000, (ONDEMAND_WAIT_MS % 1000) * 1000 };
        evtimer_add(t->tmr, &tv);
    }
    if (p->flags & LE_PKT_META) {
        le_flv_meta m;
        if (le_flv_parse_meta(p->data, p->len, &m) == LE_OK) {
            t->have_meta = 1;
            if (m.videodatarate > 0)
                t->vkbps = (int)(m.videodatarate + 0.5);
            if (!t->codec[0] && m.videocodecid > 0)
                snprintf(t->codec, sizeof(t->codec), "%s", codec_name((int)m.videocodecid));
        }
    }
    if (p->type == LE_PKT_VIDEO && (p->flags & LE_PKT_SEQHDR)) {
        t->have_vhdr = 1;
        snprintf(t->codec, sizeof(t->codec), "%s", codec_name(p->codec));
    }
    if (t->codec[0] && t->vkbps > 0)
        od_ask(t);
}

static void tap_wake(le_tap *tp, void *ctx)
{
    task *t = ctx;
    le_pkt *p;
    int k;
    t->hold++;
    while (t->tap == tp && (k = le_tap_next(tp, &p)) != LE_TAP_NONE) {
        switch (k) {
        case LE_TAP_PKT:
            if (t->state == T_WAIT)
                od_watch(t, p);
            if (t->state == T_GAP) {      /* nothing between unpublish and publish */
                le_pkt_unref(p);
                break;
            }
            add_pkt(t, p);
            break;
        case LE_TAP_UNPUBLISH:
            if (t->state != T_RUN) {
                end_task(t, "the publisher left before recording started");
                break;
            }
            pend_of(t)->close = 1;
            if (t->manual || le_node_conf()->record_stitch_ms <= 0 || R.stopping) {
                end_task(t, "the publisher left");
                break;
            }
            t->state = T_GAP;
            t->gap_deadline = le_mono_ms() + (uint64_t)le_node_conf()->record_stitch_ms;
            le_info(MOD, "%s: publisher left: files closed, the task waits %lld ms for it", t->dkey,
                    (long long)le_node_conf()->record_stitch_ms);
            status_event(t, "record_paused");
            break;
        case LE_TAP_PUBLISH:
            if (t->state == T_GAP) {
                t->state = T_RUN;
                t->resync = 0;
                le_info(MOD, "%s: publisher back: the task continues", t->dkey);
                status_event(t, "record_resumed");
            }
            break;
        case LE_TAP_DROPPED:
            le_warn(MOD, "%s: the tap fell behind and was emptied: the recording continues at the next keyframe",
                    t->dkey);
            break;
        default:
            break;
        }
    }
    if (!t->dead)
        try_submit(t);
    t->hold--;
    maybe_reap(t);
}

/* ---- config lookup ---- */

static void reply_cmd(ticket *tk, int rc)
{
    if (tk->cb)
        tk->cb(rc, tk->arg);
}

static void lookup_done(int rc, const le_rec_config *cfg, const le_rec_notify_cfg *notify, void *arg)
{
    ticket *tk = arg;
    task *t = tk->t;
    if (!t) {                 /* the task ended meanwhile */
        reply_cmd(tk, LE_ENOTFOUND);
        free(tk);
        return;
    }
    t->lookup = NULL;
    t->hold++;
    le_stream *st = le_stream_find(t->domain, t->app, t->stream, 0);
    if (t->pinned && rc != LE_OK) {
        /* The config is known: only the notify config is missing. */
        le_warn(MOD, "%s: record notify config lookup failed (%s): recorded without callbacks", t->dkey,
                le_strerror(rc));
        rc = LE_OK;
        cfg = NULL;
        notify = NULL;
    }
    if (t->pinned && rc == LE_OK)
        cfg = &t->pin;
    if (rc != LE_OK) {
        le_warn(MOD, "%s: record config lookup failed (%s): not recorded", t->dkey, le_strerror(rc));
        reply_cmd(tk, LE_EIO);
        end_task(t, "config lookup failed");
    } else if (!st || !le_stream_is_live(st)) {
        reply_cmd(tk, LE_ENOTFOUND);
        end_task(t, "the publisher left");
    } else if (!cfg) {
        reply_cmd(tk, LE_EINVAL);
        end_task(t, "no record config");
    } else {
        t->cfg = *cfg;
        if (notify) {
            t->has_notify = 1;
            t->notify = *notify;
        }
        if (t->manual || t->pinned || cfg->on_demand == LE_REC_ONDEMAND_OFF) {
            rc = start_recording(t);
            reply_cmd(tk, rc == LE_OK ? LE_OK : rc == LE_ENOTFOUND ? LE_ENOTFOUND : LE_EIO);
            if (rc != LE_OK)
                end_task(t, le_strerror(rc));
        } else if (cfg->on_demand == LE_REC_ONDEMAND_ARG) {
            if (le_rec_ondemand_arg(le_publish_usrargs(st))) {
                R.st.ondemand_yes++;
                rc = start_recording(t);
                if (rc != LE_OK)
                    end_task(t, le_strerror(rc));
            } else {
                R.st.ondemand_no++;
                le_info(MOD, "%s: OnDemand 2 and no %s=on in the publish: not recorded", t->dkey,
                        LE_REC_ONDEMAND_PARAM);
                end_task(t, "on-demand argument absent");
            }
        } else if (!t->has_notify || !t->notify.on_demand_url[0]) {
            R.st.ondemand_no++;
            le_info(MOD, "%s: OnDemand 1 without an OnDemandUrl in the notify config: not recorded", t->dkey);
            end_task(t, "no OnDemandUrl");
        } else if ((rc = open_tap(t)) != LE_OK) {
            end_task(t, le_strerror(rc));
        } else {
            /* The wait for metadata starts with the first media packet
             * (od_watch): an encoder may take longer than that to start. */
            t->state = T_WAIT;
            t->tmr = evtimer_new(R.base, od_timer, t);
        }
    }
    free(tk);
    t->hold--;
    maybe_reap(t);
}

static task *task_new(const char *d, const char *a, const char *s, int manual, const pin *pn,
                      le_record_cmd_cb cb, void *arg)
{
    task *t = le_xcalloc(1, sizeof(*t));
    if (pn) {
        t->pinned = 1;
        t->pin = pn->cfg;
    }
    snprintf(t->domain, sizeof(t->domain), "%s", d);
    snprintf(t->app, sizeof(t->app), "%s", a);
    snprintf(t->stream, sizeof(t->stream), "%s", s);
    snprintf(t->dkey, sizeof(t->dkey), "%s/%s/%s", d, a, s);
    t->manual = manual;
    t->state = T_LOOKUP;
    t->next = R.tasks;
    R.tasks = t;
    ticket *tk = le_xcalloc(1, sizeof(*tk));
    tk->t = t;
    tk->manual = manual;
    tk->cb = cb;
    tk->arg = arg;
    t->lookup = tk;
    int rc = le_rec_config_lookup(d, a, s, le_wall_ms(), lookup_done, tk);
    if (rc != LE_OK) {
        t->lookup = NULL;
        free(tk);
        le_warn(MOD, "%s: record config lookup not possible (%s): not recorded", t->dkey, le_strerror(rc));
        end_task(t, "store not running");
        return NULL;
    }
    return t;
}

static pin *pin_find(const char *d, const char *a, const char *s)
{
    for (pin *p = R.pins; p; p = p->next)
        if (strcmp(p->domain, d) == 0 && strcmp(p->app, a) == 0 && strcmp(p->stream, s) == 0)
            return p;
    return NULL;
}

static void on_publish(le_stream *st)
{
    if (!R.started || R.stopping)
        return;
    const char *d = le_stream_domain(st), *a = le_stream_app(st), *s = le_stream_name(st);
    const pin *pn = pin_find(d, a, s);
    task *t = task_find(d, a, s);
    if (t && pn && !(t->pinned && le_rec_config_same(&t->pin, &pn->cfg)))
        end_task(t, "the stream is recorded with its pinned config");
    else if (t)
        return;              /* a task waiting in its stitch window: its tap resumes it */
    task_new(d, a, s, 0, pn, NULL, NULL);
}

int le_record_pin(const char *domain, const char *app, const char *stream, const le_rec_config *cfg)
{
    if (!domain || !*domain || !app || !*app || !stream || !*stream || !cfg || cfg->nformats < 1 ||
        cfg->nformats > LE_REC_NFMT || strlen(domain) >= NAME_MAX_ || strlen(app) >= NAME_MAX_ ||
        strlen(stream) >= NAME_MAX_)
        return LE_EINVAL;
    if (!R.started)
        return LE_EIO;
    pin *pn = pin_find(domain, app, stream);
    if (!pn) {
        pn = le_xcalloc(1, sizeof(*pn));
        snprintf(pn->domain, sizeof(pn->domain), "%s", domain);
        snprintf(pn->app, sizeof(pn->app), "%s", app);
        snprintf(pn->stream, sizeof(pn->stream), "%s", stream);
        pn->next = R.pins;
        R.pins = pn;
    }
    pn->cfg = *cfg;
    snprintf(pn->cfg.domain, sizeof(pn->cfg.domain), "%s", domain);
    snprintf(pn->cfg.app, sizeof(pn->cfg.app), "%s", app);
    snprintf(pn->cfg.stream, sizeof(pn->cfg.stream), "%s", stream);
    pn->cfg.on_demand = LE_REC_ONDEMAND_OFF;
    task *t = task_find(domain, app, stream);
    if (t && t->pinned && le_rec_config_same(&t->pin, &pn->cfg))
        return LE_OK;
    if (t)
        end_task(t, "its record config changed");
    le_stream *st = le_stream_find(domain, app, stream, 0);
    if (st && le_stream_is_live(st) && !R.stopping)
        task_new(domain, app, stream, 0, pn, NULL, NULL);
    return LE_OK;
}

int le_record_unpin(const char *domain, const char *app, const char *stream)
{
    if (!domain || !app || !stream)
        return LE_EINVAL;
    for (pin **pp = &R.pins; *pp; pp = &(*pp)->next) {
        pin *pn = *pp;
        if (strcmp(pn->domain, domain) != 0 || strcmp(pn->app, app) != 0 || strcmp(pn->stream, stream) != 0)
            continue;
        *pp = pn->next;
        free(pn);
        task *t = task_find(domain, app, stream);
        if (t && t->pinned)
            end_task(t, "its recording was stopped");
        return LE_OK;
    }
    return LE_ENOTFOUND;
}

/* ---- commands ---- */

typedef struct deferred {
    le_record_cmd_cb cb;
    void *arg;
    int rc;
} deferred;

static void deferred_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    deferred *d = arg;
    d->cb(d->rc, d->arg);
    free(d);
}

static void reply_later(le_record_cmd_cb cb, void *arg, int rc)
{
    if (!cb)
        return;
    deferred *d = le_xcalloc(1, sizeof(*d));
    d->cb = cb;
    d->arg = arg;
    d->rc = rc;
    struct timeval tv = { 0, 0 };
    if (event_base_once(R.base, -1, EV_TIMEOUT, deferred_cb, d, &tv) != 0) {
        le_error(MOD, "cannot schedule a command reply");
        free(d);
    }
}

int le_record_command(int start, const char *domain, const char *app, const char *stream, le_record_cmd_cb cb,
                      void *arg)
{
    if (!domain || !app || !stream || !R.started)
        return LE_EINVAL;
    task *t = task_find(domain, app, stream);
    if (!start) {
        if (!t) {
            reply_later(cb, arg, LE_ENOTFOUND);
            return LE_OK;
        }
        end_task(t, "RealTimeRecordCommand stop");
        reply_later(cb, arg, LE_OK);
        return LE_OK;
    }
    le_stream *st = le_stream_find(domain, app, stream, 0);
    if (R.stopping || !st || !le_stream_is_live(st)) {
        reply_later(cb, arg, LE_ENOTFOUND);
        return LE_OK;
    }
    if (t) {
        reply_later(cb, arg, LE_EEXIST);
        return LE_OK;
    }
    if (!task_new(le_stream_domain(st), le_stream_app(st), le_stream_name(st), 1,
                  pin_find(le_stream_domain(st), le_stream_app(st), le_stream_name(st)), cb, arg))
        reply_later(cb, arg, LE_EIO);
    return LE_OK;
}

typedef struct chan_req {
    int start;
    char dkey[3 * NAME_MAX_ + 4];
} chan_req;

static void chan_done(int rc, void *arg)
{
    chan_req *c = arg;
    if (rc != LE_OK)
        le_warn(MOD, "RealTimeRecordCommand %s %s: %s", c->start ? "start" : "stop", c->dkey, le_strerror(rc));
    /* A start that did not happen gives back the claim the action made. */
    if (c->start && rc != LE_OK && rc != LE_EEXIST)
        key_del(c->dkey);
    free(c);
}

/* "start|stop NODE d/a/s" on {prefix}record:cmd. */
static void on_cmd(const char *channel, const char *m, size_t len, void *arg)
{
    (void)channel;
    (void)arg;
    char buf[1024], verb[8], node[256], dkey[3 * NAME_MAX_ + 4];
    if (len >= sizeof(buf))
        return;
    memcpy(buf, m, len);
    buf[len] = '\0';
    if (sscanf(buf, "%7s %255s %770s", verb, node, dkey) != 3)
        return;
    if (strcmp(node, le_cluster_node()) != 0)
        return;
    int start = strcmp(verb, "start") == 0;
    if (!start && strcmp(verb, "stop") != 0)
        return;
    chan_req *c = le_xcalloc(1, sizeof(*c));
    c->start = start;
    memcpy(c->dkey, dkey, sizeof(c->dkey));
    char *a = strchr(dkey, '/');
    char *s = a ? strchr(a + 1, '/') : NULL;
    if (!a || !s) {
        free(c);
        return;
    }
    *a++ = '\0';
    *s++ = '\0';
    le_info(MOD, "RealTimeRecordCommand %s %s", verb, c->dkey);
    if (le_record_command(start, dkey, a, s, chan_done, c) != LE_OK)
        free(c);
}

/* ---- root, URLs, metrics ---- */

const char *le_record_root(void) { return R.root; }

static int is_unreserved(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
           c == '.' || c == '~' || c == '/';
}

/* The URL of a file under record_root on this node's HTTP port. */
static char *local_url(const char *bucket, const char *key, char *out, size_t n)
{
    if (n == 0)
        return out;
    const le_conf *c = le_node_conf();
    char base[1024];
    if (c && c->record_url_base && *c->record_url_base) {
        snprintf(base, sizeof(base), "%s", c->record_url_base);
        size_t bl = strlen(base);
        while (bl > 0 && base[bl - 1] == '/')
            base[--bl] = '\0';
    } else {
        /* From http_listen: a wildcard address gives the loopback one;
         * record_url_base names the host others reach. */
        char host[256] = "127.0.0.1";
        const char *hl = c && c->http_listen ? c->http_listen : "";
        const char *colon = strrchr(hl, ':');
        if (colon && colon > hl) {
            size_t hlen = (size_t)(colon - hl);
            if (hlen < sizeof(host) && !(hlen == 7 && strncmp(hl, "0.0.0.0", 7) == 0) &&
                !(hlen == 4 && strncmp(hl, "[::]", 4) == 0) && !(hlen == 1 && hl[0] == '*')) {
                memcpy(host, hl, hlen);
                host[hlen] = '\0';
            }
        }
        /* At stop the listener is closed before the uploads are cancelled
         * (their files are indexed with this URL): then the port is the
         * last one seen, else the one http_listen names. */
        int port = le_http_port();
        if (port > 0)
            R.http_port = port;
        else if (R.http_port > 0)
            port = R.http_port;
        else if (colon)
            port = atoi(colon + 1);
        snprintf(base, sizeof(base), "http://%s:%d", host, port);
    }
    size_t o = (size_t)snprintf(out, n, "%s/record/%s/", base, bucket);
    for (const unsigned char *k = (const unsigned char *)key; *k && o + 4 < n; k++) {
        if (is_unreserved(*k))
            out[o++] = (char)*k;
        else
            o += (size_t)snprintf(out + o, n - o, "%%%02X", *k);
    }
    if (o < n)
        out[o] = '\0';
    else
        out[n - 1] = '\0';
    return out;
}

char *le_record_url(const char *bucket, const char *key, char *out, size_t n)
{
    if (le_s3_enabled())
        return le_s3_url(bucket, key, out, n);
    return local_url(bucket, key, out, n);
}

void le_record_get_stats(le_record_stats *out)
{
    *out = R.st;
    for (const task *t = R.tasks; t; t = t->next)
        if (t->tap) {
            le_tap_stats ts;
            le_tap_get_stats(t->tap, &ts);
            out->skipped += ts.skipped;
        }
    out->write_errors = __atomic_load_n(&R.write_errors, __ATOMIC_RELAXED);
}

static void record_metrics(le_buf *out)
{
    le_record_stats s;
    le_record_get_stats(&s);
    le_s3_stats ss;
    memset(&ss, 0, sizeof(ss));
    le_s3_get_stats(&ss);
    le_recn_stats ns;
    memset(&ns, 0, sizeof(ns));
    le_recn_get_stats(&ns);
    le_buf_printf(out,
        "# TYPE livedge_record_tasks gauge\n"
        "livedge_record_tasks %llu\n"
        "# TYPE livedge_record_files_total counter\n"
        "livedge_record_files_total %llu\n"
        "# TYPE livedge_record_bytes_total counter\n"
        "livedge_record_bytes_total %llu\n"
        "# TYPE livedge_record_skipped_total counter\n"
        "livedge_record_skipped_total %llu\n"
        "# TYPE livedge_record_paused gauge\n"
        "livedge_record_paused %llu\n"
        "# TYPE livedge_record_pauses_total counter\n"
        "livedge_record_pauses_total %llu\n"
        "# TYPE livedge_record_write_errors_total counter\n"
        "livedge_record_write_errors_total %llu\n"
        "# TYPE livedge_record_ondemand_total counter\n"
        "livedge_record_ondemand_total{decision=\"yes\"} %llu\n"
        "livedge_record_ondemand_total{decision=\"no\"} %llu\n"
        "livedge_record_ondemand_total{decision=\"failed\"} %llu\n"
        "# TYPE livedge_record_uploads_pending gauge\n"
        "livedge_record_uploads_pending %llu\n"
        "# TYPE livedge_record_uploads_total counter\n"
        "livedge_record_uploads_total %llu\n"
        "# TYPE livedge_record_upload_failures_total counter\n"
        "livedge_record_upload_failures_total %llu\n"
        "# TYPE livedge_record_callbacks_total counter\n"
        "livedge_record_callbacks_total{result=\"sent\"} %llu\n"
        "livedge_record_callbacks_total{result=\"failed\"} %llu\n"
        "livedge_record_callbacks_total{result=\"dropped\"} %llu\n",
        (unsigned long long)s.tasks_now, (unsigned long long)s.files, (unsigned long long)s.bytes,
        (unsigned long long)s.skipped, (unsigned long long)s.paused_now, (unsigned long long)s.pauses,
        (unsigned long long)s.write_errors, (unsigned long long)s.ondemand_yes,
        (unsigned long long)s.ondemand_no, (unsigned long long)s.ondemand_failed,
        (unsigned long long)ss.pending, (unsigned long long)ss.uploaded, (unsigned long long)ss.failures,
        (unsigned long long)ns.sent, (unsigned long long)ns.failed, (unsigned long long)ns.dropped);
}

/* mkdir -p (at start, before the loop runs). */
static int mkdirs(const char *path)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
        return LE_ETOOBIG;
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
                return LE_EIO;
            *p = '/';
        }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
        return LE_EIO;
    return LE_OK;
}

int le_record_init(struct event_base *base, char *err, size_t errlen)
{
    const le_conf *c = le_node_conf();
    memset(&R, 0, sizeof(R));
    R.base = base;
    int n;
    if (c && c->record_root && *c->record_root) {
        if (c->record_root[0] == '/') {
            n = snprintf(R.root, sizeof(R.root), "%s", c->record_root);
        } else {
            char cwd[PATH_MAX];
            if (!getcwd(cwd, sizeof(cwd))) {
                snprintf(err, errlen, "record_root: getcwd: %s", strerror(errno));
                return LE_EIO;
            }
            n = snprintf(R.root, sizeof(R.root), "%s/%s", cwd, c->record_root);
        }
    } else {
        n = snprintf(R.root, sizeof(R.root), "%s/record", c && c->data_dir ? c->data_dir : "/var/lib/livedge");
    }
    if (n < 0 || (size_t)n >= sizeof(R.root)) {
        snprintf(err, errlen, "record_root: path too long");
        return LE_EIO;
    }
    if (mkdirs(R.root) != LE_OK) {
        snprintf(err, errlen, "record_root %s: %s", R.root, strerror(errno));
        return LE_EIO;
    }
    R.qmax_task = c && c->record_queue_bytes ? c->record_queue_bytes : (size_t)16 << 20;
    R.qmax_all = R.qmax_task * GLOBAL_QUEUE_FACTOR;
    int rc = le_recp_start(base, c ? c->record_threads : 2, err, errlen);
    if (rc != LE_OK)
        return rc;
    if ((rc = le_stream_on_publish(on_publish)) != LE_OK) {
        snprintf(err, errlen, "record: no stream hook slot left");
        le_recp_stop();
        return LE_EIO;
    }
    char ch[512];
    le_store_key(ch, sizeof(ch), "%s", LE_REC_CMD_CHANNEL);
    le_store_subscribe(ch, on_cmd, NULL);
    le_metrics_add(record_metrics);
    R.started = 1;
    le_info(MOD, "recordings under %s, %d writer threads", R.root, c ? c->record_threads : 2);
    return LE_OK;
}

void le_record_tick(void)
{
    if (!R.started)
        return;
    int port = le_http_port();
    if (port > 0)
        R.http_port = port;     /* for local URLs after the listener closed */
    uint64_t now = le_mono_ms();
    for (task *t = R.tasks, *next; t; t = next) {
        next = t->next;
        if (t->dead)
            continue;
        if (t->state == T_GAP && now >= t->gap_deadline) {
            end_task(t, "the publisher did not return within record_stitch");
            continue;
        }
        if (t->keyed && now >= t->next_refresh)
            key_set(t);
    }
}

static void end_all(const char *why)
{
    for (task *t = R.tasks, *next; t; t = next) {
        next = t->next;
        end_task(t, why);
    }
}

void le_record_stop(int64_t wait_ms)
{
    if (!R.started || R.stopping)
        return;
    R.stopping = 1;
    end_all("node stopping");
    if (!le_recp_wait(le_mono_ms() + (uint64_t)(wait_ms > 0 ? wait_ms : 0)))
        le_warn(MOD, "writers still busy after %lld ms: their last files may stay .tmp", (long long)wait_ms);
    /* With uploads on, a file's index entry and callback wait for its
     * upload: the uploads end here, while the loop still runs to send those
     * callbacks (after it, they would be abandoned). */
    le_s3_stop(STOP_S3_MS);
}

void le_record_free(void)
{
    if (!R.started)
        return;
    R.stopping = 1;
    end_all("node stopping");
    le_recp_wait(le_mono_ms() + 2000);
    le_recp_stop();
    /* Tasks still waiting on a lookup or an on-demand query. */
    while (R.tasks) {
        task *t = R.tasks;
        R.tasks = t->next;
        if (t->lookup)
            t->lookup->t = NULL;
        if (t->odreq)
            le_rec_ondemand_cancel(t->odreq);
        if (t->pend)
            job_release(t->pend);
        if (t->tmr)
            event_free(t->tmr);
        if (t->flush)
            event_free(t->flush);
        free(t);
    }
    while (R.pins) {
        pin *pn = R.pins;
        R.pins = pn->next;
        free(pn);
    }
    R.started = 0;
}
