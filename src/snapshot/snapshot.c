/* The snapshotter (snapshot/snapshot.h). */
#include "snapshot/snapshot.h"
#include "core/err.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/util.h"
#include "media/flv.h"
#include "media/pkt.h"
#include "media/stream.h"
#include "record/recorder.h"
#include "record/s3.h"
#include "record/tmpl.h"
#include "snapshot/config.h"
#include "snapshot/jpeg.h"
#include "store/store.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MOD "snapshot"
#define NAME_MAX_ 256
#define NOBJ 2          /* 0: OverwriteOssObject, 1: SequenceOssObject */

typedef struct task task;

typedef struct lookup {
    task *t;            /* NULL once the task is gone */
} lookup;

struct task {
    task *next;
    le_stream *st;
    uint64_t id;
    char domain[NAME_MAX_], app[NAME_MAX_], stream[NAME_MAX_];
    le_snap_config cfg;
    struct event *tmr;
    lookup *lk;
    int ow_uploading;   /* an Overwrite upload is in flight (s3) */
    uint64_t warned_ms; /* the last failure logged at warning level (le_mono_ms) */
    int warned_codec;
};

/* One snapshot, from the capture on the loop to its end on the loop. */
typedef struct job {
    struct job *next;
    uint64_t task_id;
    char domain[NAME_MAX_], app[NAME_MAX_], stream[NAME_MAX_];
    char bucket[64], endpoint[256];
    char key[NOBJ][LE_REC_KEY_MAX + 8];   /* "" when the config has no such object */
    char path[NOBJ][PATH_MAX];
    int rc[NOBJ];       /* per object: LE_OK once written */
    int64_t t_ms;       /* capture time, whole seconds */
    int codec;
    uint8_t *config, *frame;
    size_t config_len, frame_len;
    int rc_jpeg;
    size_t jpeg_len;
    int width, height;
    uint64_t work_us;   /* the worker's time on it */
} job;

static struct {
    struct event_base *base;
    int started;
    task *tasks;
    uint64_t next_id;
    le_snapshot_stats st;
    /* worker */
    pthread_t thr;
    int have_thr;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    job *qhead, *qtail, *dhead, *dtail;
    size_t queued;
    int stopping;
    int efd;
    struct event *ev;
} S = { .efd = -1 };

/* ---- the worker ---- */

static int mkdirs(char *path)   /* mkdir -p of path's directory */
{
    for (char *p = path + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            int rc = mkdir(path, 0755);
            *p = '/';
            if (rc != 0 && errno != EEXIST)
                return LE_EIO;
        }
    return LE_OK;
}

static int write_file(const char *path, const uint8_t *b, size_t n)
{
    char tmp[PATH_MAX + 8], dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", path);
    if (mkdirs(dir) != LE_OK)
        return LE_EIO;
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return LE_EIO;
    size_t off = 0;
    while (off < n) {
        ssize_t w = write(fd, b + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    if (close(fd) != 0 || off != n || rename(tmp, path) != 0) {
        unlink(tmp);
        return LE_EIO;
    }
    return LE_OK;
}

static uint64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void work(job *j)
{
    uint64_t t0 = mono_us();
    le_snap_image img;
    j->rc_jpeg = le_snap_jpeg_encode(j->codec, j->config, j->config_len, j->frame, j->frame_len, &img);
    free(j->config);
    free(j->frame);
    j->config = j->frame = NULL;
    for (int i = 0; i < NOBJ; i++) {
        if (j->rc_jpeg != LE_OK)
            j->rc[i] = j->rc_jpeg;
        else
            j->rc[i] = j->key[i][0] ? write_file(j->path[i], img.data, img.len) : LE_ENOTFOUND;
    }
    j->jpeg_len = img.len;
    j->width = img.width;
    j->height = img.height;
    le_snap_image_free(&img);
    j->work_us = mono_us() - t0;
}

static void *thread_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&S.mu);
    for (;;) {
        while (!S.qhead && !S.stopping)
            pthread_cond_wait(&S.cv, &S.mu);
        if (S.stopping)
            break;
        job *j = S.qhead;
        S.qhead = j->next;
        if (!S.qhead)
            S.qtail = NULL;
        pthread_mutex_unlock(&S.mu);
        work(j);
        pthread_mutex_lock(&S.mu);
        j->next = NULL;
        if (S.dtail)
            S.dtail->next = j;
        else
            S.dhead = j;
        S.dtail = j;
        pthread_mutex_unlock(&S.mu);
        uint64_t one = 1;
        ssize_t w = write(S.efd, &one, sizeof(one));
        (void)w;   /* EAGAIN: the counter is saturated, the loop wakes anyway */
    }
    pthread_mutex_unlock(&S.mu);
    return NULL;
}

static void job_free(job *j)
{
    free(j->config);
    free(j->frame);
    free(j);
}

/* ---- back on the loop: uploads and the index ---- */

static task *task_by_id(uint64_t id)
{
    for (task *t = S.tasks; t; t = t->next)
        if (t->id == id)
            return t;
    return NULL;
}

static void index_add(const job *j, const char *key)
{
    char ikey[1000], score[24], cut[32], keep[24], max[24];
    le_snap_entry e;
    memset(&e, 0, sizeof(e));
    e.create_ms = j->t_ms;
    snprintf(e.oss_endpoint, sizeof(e.oss_endpoint), "%s", j->endpoint);
    snprintf(e.oss_bucket, sizeof(e.oss_bucket), "%s", j->bucket);
    snprintf(e.object, sizeof(e.object), "%s", key);
    le_buf b = { 0 };
    le_snap_entry_to_json(&b, &e);
    le_store_key(ikey, sizeof(ikey), "snapidx:%s/%s/%s", j->domain, j->app, j->stream);
    snprintf(score, sizeof(score), "%lld", (long long)j->t_ms);
    snprintf(cut, sizeof(cut), "(%lld", (long long)(j->t_ms - LE_SNAP_INDEX_KEEP_MS));
    snprintf(keep, sizeof(keep), "%lld", (long long)LE_SNAP_INDEX_KEEP_MS);
    snprintf(max, sizeof(max), "%d", -(LE_SNAP_INDEX_MAX + 1));
    const char *av[] = { "ZADD", ikey, score, (const char *)b.p };
    size_t al[] = { 4, strlen(ikey), strlen(score), b.len };
    const char *tv[] = { "ZREMRANGEBYSCORE", ikey, "-inf", cut };
    size_t tl[] = { 16, strlen(ikey), 4, strlen(cut) };
    const char *rv[] = { "ZREMRANGEBYRANK", ikey, "0", max };
    size_t rl[] = { 15, strlen(ikey), 1, strlen(max) };
    const char *ev[] = { "PEXPIRE", ikey, keep };
    size_t el[] = { 7, strlen(ikey), strlen(keep) };
    if (le_store_writeargv(4, av, al) != 0 || le_store_writeargv(4, tv, tl) != 0 ||
        le_store_writeargv(4, rv, rl) != 0 || le_store_writeargv(3, ev, el) != 0)
        le_warn(MOD, "%s/%s/%s: %s not indexed", j->domain, j->app, j->stream, key);
    le_buf_free(&b);
}

/* An upload in flight: what its completion needs. */
typedef struct upload {
    job *j;
    int obj;
} upload;

static void object_stored(job *j, int obj)
{
    if (obj == 1)
        index_add(j, j->key[1]);
}

static int job_refs(job *j);

static void upload_done(int rc, void *arg)
{
    upload *u = arg;
    job *j = u->j;
    if (rc != LE_OK)
        le_warn(MOD, "%s/%s/%s: upload of %s not finished (%s): indexed as local", j->domain, j->app, j->stream,
                j->key[u->obj], le_strerror(rc));
    if (u->obj == 0) {
        task *t = task_by_id(j->task_id);
        if (t)
            t->ow_uploading = 0;
    }
    object_stored(j, u->obj);
    j->rc[u->obj] = LE_ENOTFOUND;   /* this object is done with */
    free(u);
    if (!job_refs(j))
        job_free(j);
}

/* Objects of j still waiting for an upload. */
static int job_refs(job *j)
{
    return j->rc[0] == 1 || j->rc[1] == 1;
}

/* Failures of a task: a warning at most once a minute, debug otherwise. */
#define WARN_EVERY_MS 60000

static int warn_level(task *t)
{
    uint64_t now = le_mono_ms();
    if (t && t->warned_ms && now - t->warned_ms < WARN_EVERY_MS)
        return LE_LOG_DEBUG;
    if (t)
        t->warned_ms = now;
    return LE_LOG_WARN;
}

static void finish(job *j)
{
    task *t = task_by_id(j->task_id);
    if (j->rc_jpeg != LE_OK) {
        S.st.failed++;
        le_log(warn_level(t), MOD, "%s/%s/%s: no snapshot: the keyframe did not make a JPEG (%s)", j->domain,
               j->app, j->stream, le_strerror(j->rc_jpeg));
        job_free(j);
        return;
    }
    for (int i = 0; i < NOBJ; i++) {
        if (!j->key[i][0])
            continue;
        if (j->rc[i] != LE_OK) {
            S.st.failed++;
            le_log(warn_level(t), MOD, "%s/%s/%s: %s not written under %s (%s)", j->domain, j->app, j->stream,
                   j->key[i], le_record_root(), le_strerror(j->rc[i]));
            continue;
        }
        S.st.taken++;
        S.st.bytes += j->jpeg_len;
        le_debug(MOD, "%s/%s/%s: %s/%s (%dx%d, %zu bytes, %.1f ms)", j->domain, j->app, j->stream, j->bucket,
                 j->key[i], j->width, j->height, j->jpeg_len, (double)j->work_us / 1000.0);
        if (le_s3_enabled()) {
            /* One Overwrite upload at a time per task: the next interval
             * uploads the newer file. */
            if (i == 0 && t && t->ow_uploading) {
                j->rc[i] = LE_ENOTFOUND;
                continue;
            }
            upload *u = le_xcalloc(1, sizeof(*u));
            u->j = j;
            u->obj = i;
            j->rc[i] = 1;   /* waiting for the upload */
            int rc = le_s3_upload(j->bucket, j->key[i], j->path[i], "image/jpeg", upload_done, u);
            if (rc == LE_OK) {
                if (i == 0 && t)
                    t->ow_uploading = 1;
                continue;
            }
            free(u);
            le_warn(MOD, "%s: upload not queued (%s): indexed as local", j->path[i], le_strerror(rc));
        }
        j->rc[i] = LE_ENOTFOUND;
        object_stored(j, i);
    }
    if (!job_refs(j))
        job_free(j);
}

static void reap(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    (void)arg;
    uint64_t v;
    ssize_t r = read(fd, &v, sizeof(v));
    (void)r;
    pthread_mutex_lock(&S.mu);
    job *j = S.dhead;
    S.dhead = S.dtail = NULL;
    pthread_mutex_unlock(&S.mu);
    while (j) {
        job *n = j->next;
        S.queued--;
        S.st.work_us += j->work_us;
        finish(j);
        j = n;
    }
}

/* ---- capture: a probe subscriber replays the stream's sequence headers
 * and GOP cache into it while attached, then detaches ---- */

typedef struct probe {
    le_sub sub;
    const le_pkt *vseq, *key;
} probe;

static void probe_packet(le_sub *s, le_pkt *p)
{
    probe *pr = s->ctx;
    if (p->type != LE_PKT_VIDEO)
        return;
    if (p->flags & LE_PKT_SEQHDR)
        pr->vseq = p;
    else if ((p->flags & LE_PKT_KEY) && !pr->key)
        pr->key = p;
}

static void probe_nothing(le_sub *s) { (void)s; }

static const le_sub_ops PROBE_OPS = { probe_packet, probe_nothing, probe_nothing };

static void submit(job *j)
{
    if (S.queued >= LE_SNAP_QUEUE_MAX) {
        S.st.failed++;
        le_warn(MOD, "%s/%s/%s: snapshot dropped: %d snapshots already queued", j->domain, j->app, j->stream,
                LE_SNAP_QUEUE_MAX);
        job_free(j);
        return;
    }
    S.queued++;
    pthread_mutex_lock(&S.mu);
    j->next = NULL;
    if (S.qtail)
        S.qtail->next = j;
    else
        S.qhead = j;
    S.qtail = j;
    pthread_cond_signal(&S.cv);
    pthread_mutex_unlock(&S.mu);
}

/* Keys of j's objects from the config's templates; then to the worker. */
static void expand_submit(job *j, const le_snap_config *cfg, uint64_t seq)
{
    le_rec_vars v = { .app = j->app, .stream = j->stream, .sequence = seq, .start_ms = j->t_ms };
    const char *tmpl[NOBJ] = { cfg->overwrite, cfg->sequence };
    for (int i = 0; i < NOBJ; i++) {
        if (!tmpl[i][0])
            continue;
        int rc = le_rec_tmpl_expand(tmpl[i], &v, "jpg", j->key[i], LE_REC_KEY_MAX);
        int n = rc == LE_OK ? snprintf(j->path[i], sizeof(j->path[i]), "%s/%s/%s", le_record_root(), j->bucket,
                                       j->key[i])
                            : 0;
        if (rc != LE_OK || n < 0 || (size_t)n >= sizeof(j->path[i])) {
            S.st.failed++;
            le_warn(MOD, "%s/%s/%s: object key of %s not usable (%s)", j->domain, j->app, j->stream, tmpl[i],
                    le_strerror(rc != LE_OK ? rc : LE_ETOOBIG));
            j->key[i][0] = '\0';
        }
    }
    if (!j->key[0][0] && !j->key[1][0]) {
        job_free(j);
        return;
    }
    submit(j);
}

typedef struct seqreq {
    job *j;
    le_snap_config cfg;
} seqreq;

static void incr_cb(redisReply *rep, void *arg)
{
    seqreq *q = arg;
    if (!rep || rep->type != REDIS_REPLY_INTEGER || rep->integer < 0) {
        S.st.failed++;
        le_warn(MOD, "%s/%s/%s: no {Sequence} number (the state store did not answer): snapshot dropped",
                q->j->domain, q->j->app, q->j->stream);
        job_free(q->j);
    } else if (!S.started) {
        job_free(q->j);
    } else {
        expand_submit(q->j, &q->cfg, (uint64_t)rep->integer);
    }
    free(q);
}

static void capture(task *t)
{
    if (!le_stream_is_live(t->st))
        return;
    probe pr;
    memset(&pr, 0, sizeof(pr));
    pr.sub.ops = &PROBE_OPS;
    pr.sub.ctx = &pr;
    le_stream_attach(t->st, &pr.sub);
    le_stream_detach(&pr.sub);   /* the packets stay the stream's: copied below */
    le_flv_info vi, ki;
    if (!pr.vseq || !pr.key || le_flv_video_info(pr.vseq->data, pr.vseq->len, &vi) != 0 ||
        le_flv_video_info(pr.key->data, pr.key->len, &ki) != 0 || vi.hdr_len >= pr.vseq->len ||
        ki.hdr_len >= pr.key->len) {
        S.st.skipped++;
        le_debug(MOD, "%s/%s/%s: no keyframe with a sequence header in the GOP cache: skipped", t->domain, t->app,
                 t->stream);
        return;
    }
    if ((ki.codec != LE_CODEC_H264 && ki.codec != LE_CODEC_H265) || ki.codec != vi.codec) {
        S.st.skipped++;
        if (!t->warned_codec++)
            le_warn(MOD, "%s/%s/%s: video codec %d: snapshots need H.264 or HEVC", t->domain, t->app, t->stream,
                    ki.codec);
        return;
    }
    job *j = le_xcalloc(1, sizeof(*j));
    j->task_id = t->id;
    memcpy(j->domain, t->domain, sizeof(j->domain));
    memcpy(j->app, t->app, sizeof(j->app));
    memcpy(j->stream, t->stream, sizeof(j->stream));
    snprintf(j->bucket, sizeof(j->bucket), "%s", t->cfg.oss_bucket);
    snprintf(j->endpoint, sizeof(j->endpoint), "%s", t->cfg.oss_endpoint);
    j->t_ms = le_wall_ms() / 1000 * 1000;
    j->codec = ki.codec;
    j->config_len = pr.vseq->len - vi.hdr_len;
    j->frame_len = pr.key->len - ki.hdr_len;
    j->config = le_xmalloc(j->config_len);
    j->frame = le_xmalloc(j->frame_len);
    memcpy(j->config, pr.vseq->data + vi.hdr_len, j->config_len);
    memcpy(j->frame, pr.key->data + ki.hdr_len, j->frame_len);
    if (!strstr(t->cfg.sequence, "{Sequence}")) {
        expand_submit(j, &t->cfg, 0);
        return;
    }
    char key[1000];
    le_store_key(key, sizeof(key), "snapseq:%s/%s/%s", t->domain, t->app, t->stream);
    seqreq *q = le_xcalloc(1, sizeof(*q));
    q->j = j;
    q->cfg = t->cfg;
    if (le_store_cmd(incr_cb, q, "INCR %s", key) != 0) {
        S.st.failed++;
        job_free(j);
        free(q);
    }
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    capture(arg);
}

/* ---- tasks ---- */

static void task_end(task *t)
{
    for (task **pp = &S.tasks; *pp; pp = &(*pp)->next)
        if (*pp == t) {
            *pp = t->next;
            break;
        }
    if (t->lk)
        t->lk->t = NULL;
    if (t->tmr) {
        event_free(t->tmr);
        le_info(MOD, "%s/%s/%s: snapshots ended", t->domain, t->app, t->stream);
        S.st.tasks_now--;
    }
    free(t);
}

static task *task_of(const le_stream *st)
{
    for (task *t = S.tasks; t; t = t->next)
        if (t->st == st)
            return t;
    return NULL;
}

static void lookup_done(int rc, const le_snap_config *cfg, void *arg)
{
    lookup *lk = arg;
    task *t = lk->t;
    free(lk);
    if (!t)
        return;
    t->lk = NULL;
    if (rc != LE_OK) {
        le_warn(MOD, "%s/%s/%s: snapshot config lookup failed (%s): no snapshots", t->domain, t->app, t->stream,
                le_strerror(rc));
        task_end(t);
        return;
    }
    if (!cfg) {
        task_end(t);
        return;
    }
    t->cfg = *cfg;
    t->tmr = event_new(S.base, -1, EV_PERSIST, on_timer, t);
    struct timeval tv = { cfg->interval_s, 0 };
    if (!t->tmr || event_add(t->tmr, &tv) != 0) {
        le_error(MOD, "%s/%s/%s: no timer: no snapshots", t->domain, t->app, t->stream);
        if (t->tmr)
            event_free(t->tmr);
        t->tmr = NULL;
        task_end(t);
        return;
    }
    S.st.tasks_now++;
    le_info(MOD, "%s/%s/%s: snapshots every %d s (config %s/%s)", t->domain, t->app, t->stream, cfg->interval_s,
            cfg->domain, cfg->app);
}

static void on_publish(le_stream *st)
{
    if (!S.started)
        return;
    task *old = task_of(st);
    if (old)
        task_end(old);   /* a takeover: the new publish reads the config again */
    task *t = le_xcalloc(1, sizeof(*t));
    t->st = st;
    t->id = ++S.next_id;
    snprintf(t->domain, sizeof(t->domain), "%s", le_stream_domain(st));
    snprintf(t->app, sizeof(t->app), "%s", le_stream_app(st));
    snprintf(t->stream, sizeof(t->stream), "%s", le_stream_name(st));
    t->lk = le_xcalloc(1, sizeof(*t->lk));
    t->lk->t = t;
    t->next = S.tasks;
    S.tasks = t;
    int rc = le_snap_config_lookup(t->domain, t->app, lookup_done, t->lk);
    if (rc != LE_OK) {
        free(t->lk);
        t->lk = NULL;
        le_debug(MOD, "%s/%s/%s: snapshot config lookup not possible (%s)", t->domain, t->app, t->stream,
                 le_strerror(rc));
        task_end(t);
    }
}

static void on_unpublish(le_stream *st)
{
    task *t = task_of(st);
    if (t)
        task_end(t);
}

/* ---- init, metrics, stats ---- */

void le_snapshot_get_stats(le_snapshot_stats *out)
{
    *out = S.st;
}

static void snapshot_metrics(le_buf *out)
{
    le_buf_printf(out,
        "# TYPE livedge_snapshot_tasks gauge\n"
        "livedge_snapshot_tasks %llu\n"
        "# TYPE livedge_snapshot_taken_total counter\n"
        "livedge_snapshot_taken_total %llu\n"
        "# TYPE livedge_snapshot_bytes_total counter\n"
        "livedge_snapshot_bytes_total %llu\n"
        "# TYPE livedge_snapshot_failed_total counter\n"
        "livedge_snapshot_failed_total %llu\n"
        "# TYPE livedge_snapshot_skipped_total counter\n"
        "livedge_snapshot_skipped_total %llu\n"
        "# TYPE livedge_snapshot_work_seconds_total counter\n"
        "livedge_snapshot_work_seconds_total %.6f\n",
        (unsigned long long)S.st.tasks_now, (unsigned long long)S.st.taken, (unsigned long long)S.st.bytes,
        (unsigned long long)S.st.failed, (unsigned long long)S.st.skipped, (double)S.st.work_us / 1e6);
}

int le_snapshot_init(struct event_base *base, char *err, size_t errlen)
{
    memset(&S, 0, sizeof(S));
    S.base = base;
    S.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (S.efd < 0) {
        snprintf(err, errlen, "snapshot: eventfd: %s", strerror(errno));
        return LE_EIO;
    }
    pthread_mutex_init(&S.mu, NULL);
    pthread_cond_init(&S.cv, NULL);
    S.ev = event_new(base, S.efd, EV_READ | EV_PERSIST, reap, NULL);
    if (!S.ev || event_add(S.ev, NULL) != 0 || pthread_create(&S.thr, NULL, thread_main, NULL) != 0) {
        snprintf(err, errlen, "snapshot: cannot start the worker thread");
        if (S.ev)
            event_free(S.ev);
        close(S.efd);
        S.efd = -1;
        return LE_EIO;
    }
    S.have_thr = 1;
    if (le_stream_on_publish(on_publish) != LE_OK || le_stream_on_unpublish(on_unpublish) != LE_OK) {
        snprintf(err, errlen, "snapshot: no stream hook slot left");
        le_snapshot_free();
        return LE_EIO;
    }
    le_metrics_add(snapshot_metrics);
    S.started = 1;
    return LE_OK;
}

void le_snapshot_free(void)
{
    S.started = 0;
    while (S.tasks)
        task_end(S.tasks);
    if (S.have_thr) {
        pthread_mutex_lock(&S.mu);
        S.stopping = 1;
        pthread_cond_broadcast(&S.cv);
        pthread_mutex_unlock(&S.mu);
        pthread_join(S.thr, NULL);
        S.have_thr = 0;
        /* Jobs never run, and finished ones never reaped: dropped. Jobs
         * waiting for an upload belong to the upload's completion. */
        for (job *j = S.qhead, *n; j; j = n) {
            n = j->next;
            job_free(j);
        }
        for (job *j = S.dhead, *n; j; j = n) {
            n = j->next;
            job_free(j);
        }
        S.qhead = S.qtail = S.dhead = S.dtail = NULL;
        pthread_mutex_destroy(&S.mu);
        pthread_cond_destroy(&S.cv);
    }
    if (S.ev) {
        event_free(S.ev);
        S.ev = NULL;
    }
    if (S.efd >= 0) {
        close(S.efd);
        S.efd = -1;
    }
}
