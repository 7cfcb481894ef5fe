/* Time-shift glue: the segment poller, the sweep, --reindex, metrics. */
#include "timeshift/timeshift.h"

#include <dirent.h>
#include <errno.h>
#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admin/admin.h"
#include "conf/conf.h"
#include "control/domains.h"
#include "core/err.h"
#include "core/keytab.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/util.h"
#include "hls/segmenter.h"
#include "media/stream.h"
#include "node.h"
#include "store/store.h"
#include "timeshift/ts_http.h"
#include "timeshift/writer.h"

#define MOD "timeshift"
#define POLL_MS 250
#define SWEEP_MAX_MS 60000          /* the sweep runs at least this often */
#define SWEEP_MIN_MS 1000
#define SWEEP_BATCH 1000            /* entries per range query and unlink job */
#define STOP_WAIT_MS 1500           /* writer drain at shutdown (of the 10 s a stop may take, livedge(8)) */
#define LOSS_LOG_MS 10000           /* at most one loss line per this, with a count */
#define MAX_RING 256
#define DEF_RETENTION_MS (7LL * 86400 * 1000)

/* Per stream, for as long as the node runs (a few dozen bytes per stream
 * ever published on a time-shift domain; streams come back by name). */
typedef struct ts_stream {
    char *key;                  /* "domain/app/name" */
    char *domain, *app, *name;  /* owned copies, safe path parts */
    int have_run;               /* a segment was seen in this process */
    int64_t seq_off;            /* time-shift seq = segmenter seq + seq_off */
    uint64_t dseq;              /* current discontinuity sequence */
    uint64_t last_seq;          /* segmenter seq of the newest segment seen */
    int64_t last_end_ms;        /* its wall end */
    le_keytab_ent ke;           /* in T.tab by key */
} ts_stream;

/* A write in flight: holds a segment reference until the completion. */
typedef struct wjob {
    ts_stream *ts;
    le_hls_seg *seg;
    le_tsi_ent e;
} wjob;

static struct {
    int started;
    char *root;                 /* {data_dir}/ts */
    struct event *poll_ev;
    le_keytab tab;              /* ts_stream by "domain/app/name" */
    le_timeshift_stats st;
    uint64_t last_sweep_ms;     /* monotonic */
    int sweep_pending;          /* replies and jobs of the running sweep; 0: none runs */
    uint64_t loss_last_ms, loss_suppressed;
} T;

const le_timeshift_stats *le_timeshift_get_stats(void) { return &T.st; }

/* "{data_dir}/ts", allocated. */
static char *ts_root(const char *data_dir)
{
    size_t n = strlen(data_dir) + 4;
    char *root = le_xmalloc(n);
    snprintf(root, n, "%s/ts", data_dir);
    return root;
}

static int safe(const char *s) { return s && le_name_valid(s, strlen(s)); }

static int path_under(const char *root, const char *domain, const char *app, const char *name,
                      const le_tsi_ent *e, char *out, size_t outsz)
{
    char rel[LE_TSI_REL_MAX];
    if (!root || !safe(domain) || !safe(app) || !safe(name) || le_tsi_rel_build(e, rel, sizeof(rel)))
        return LE_EINVAL;
    int n = snprintf(out, outsz, "%s/%s/%s/%s/%s", root, domain, app, name, rel);
    return n > 0 && (size_t)n < outsz ? 0 : LE_EINVAL;
}

int le_timeshift_path(const char *domain, const char *app, const char *name, const le_tsi_ent *e,
                      char *out, size_t outsz)
{
    return path_under(T.root, domain, app, name, e, out, outsz);
}

static int64_t retention_of(const char *domain)
{
    const le_conf_domain *d = le_node_domain(domain);
    return d && d->timeshift_retention_ms > 0 ? d->timeshift_retention_ms : DEF_RETENTION_MS;
}

static void loss(const char *key, const char *why)
{
    uint64_t now = le_mono_ms();
    if (T.loss_last_ms && now - T.loss_last_ms < LOSS_LOG_MS) {
        T.loss_suppressed++;
        return;
    }
    le_warn(MOD, "%s: a segment was not persisted: %s (%llu more losses since the last report; "
                 "live playback is not affected)",
            key, why, (unsigned long long)T.loss_suppressed);
    T.loss_last_ms = now;
    T.loss_suppressed = 0;
}

/* ---- the poller ---- */

static ts_stream *ts_get(le_stream *st)
{
    const char *key = le_stream_key(st);
    le_keytab_ent *e = le_keytab_find(&T.tab, key);
    if (e)
        return LE_KEYTAB_OBJ(e, ts_stream, ke);
    ts_stream *t = le_xcalloc(1, sizeof(*t));
    t->key = le_xstrdup(key);
    t->domain = le_xstrdup(le_stream_domain(st));
    t->app = le_xstrdup(le_stream_app(st));
    t->name = le_xstrdup(le_stream_name(st));
    le_keytab_insert(&T.tab, &t->ke, t->key);
    return t;
}

static void write_done(int rc, int sys_errno, void *arg)
{
    wjob *j = arg;
    if (rc == 0) {
        if (le_tsi_add(j->ts->domain, j->ts->app, j->ts->name, &j->e) == 0)
            T.st.segments_indexed++;
        else
            le_warn(MOD, "%s: segment %" PRId64 " is on disk but its index entry could not be queued "
                         "(store stopped); `livedge --reindex` restores it", j->ts->key, j->e.start_ms);
    } else {
        T.st.dropped_error++;
        char why[128];
        snprintf(why, sizeof(why), "write failed: %s", strerror(sys_errno));
        loss(j->ts->key, why);
    }
    le_hls_seg_unref(j->seg);
    free(j);
}

static void persist(ts_stream *t, le_hls_seg *s)
{
    int disc;
    if (!t->have_run) {
        /* First segment of this stream in this process, see timeshift.h. */
        t->have_run = 1;
        t->seq_off = s->start_wall_ms - (int64_t)s->seq;
        t->dseq = (uint64_t)s->start_wall_ms;
        disc = 1;
    } else {
        disc = s->disc || s->start_wall_ms - t->last_end_ms > LE_TSI_GAP_MS;
        if (disc)
            t->dseq++;
    }
    t->last_seq = s->seq;
    t->last_end_ms = s->start_wall_ms + s->duration_ms;

    le_tsi_ent e = { s->start_wall_ms, s->duration_ms, (uint64_t)((int64_t)s->seq + t->seq_off), t->dseq,
                     disc };
    char path[4096];
    if (path_under(T.root, t->domain, t->app, t->name, &e, path, sizeof(path)) != 0) {
        T.st.dropped_invalid++;
        if (e.duration_ms > 0)   /* an empty segment at an unpublish is nothing lost */
            loss(t->key, "no valid file name (duration over 60 s or unsafe name)");
        return;
    }
    wjob *j = le_xmalloc(sizeof(*j));
    j->ts = t;
    j->seg = le_hls_seg_ref(s);
    j->e = e;
    int rc = le_tsw_write(path, s->data, s->len, write_done, j);
    if (rc != 0) {
        T.st.dropped_queue++;
        loss(t->key, rc == LE_ETOOBIG ? "writer queue full (disk slow or stalled)" : "writer not running");
        le_hls_seg_unref(j->seg);
        free(j);
        return;
    }
    T.st.segments_queued++;
}

static void poll_stream(le_stream *st, void *arg)
{
    (void)arg;
    le_hls *h = le_hls_of(st);
    if (!h)
        return;
    const le_conf_domain *d = le_node_domain(le_stream_domain(st));
    if (!d || !d->timeshift)
        return;
    le_hls_seg *segs[MAX_RING];
    size_t n = le_hls_segments(h, segs, MAX_RING, 0);
    if (n == 0)
        return;
    ts_stream *t = ts_get(st);
    for (size_t i = 0; i < n; i++)
        if (!t->have_run || segs[i]->seq > t->last_seq)
            persist(t, segs[i]);
}

/* ---- the sweep ---- */

typedef struct sweep_ctx {
    char *domain, *app, *name;
    int64_t cutoff_ms;          /* entries starting before this are expired */
    le_tsi_ent *ents;
    size_t n;
    int more;
} sweep_ctx;

static void sweep_dec(void)
{
    T.sweep_pending--;
}

static void sweep_ctx_free(sweep_ctx *c)
{
    free(c->domain);
    free(c->app);
    free(c->name);
    free(c->ents);
    free(c);
}

static void sweep_stream(sweep_ctx *c);

/* A stream whose zset is empty leaves the domain's set, atomically with the
 * check so that a segment indexed meanwhile keeps it there. */
static void forget_if_empty(const sweep_ctx *c)
{
    static const char lua[] = "if redis.call('ZCARD', KEYS[1]) == 0 then "
                              "return redis.call('SREM', KEYS[2], ARGV[1]) end return 0";
    char zkey[900], skey[400], member[520];
    le_tsi_key(zkey, sizeof(zkey), c->domain, c->app, c->name);
    le_store_key(skey, sizeof(skey), "ts:streams:%s", c->domain);
    snprintf(member, sizeof(member), "%s/%s", c->app, c->name);
    le_store_cmd(NULL, NULL, "EVAL %s 2 %s %s %s", lua, zkey, skey, member);
}

static void unlink_done(int rc, int sys_errno, void *arg)
{
    sweep_ctx *c = arg;
    if (rc != 0) {
        T.st.sweep_errors++;
        le_warn(MOD, "sweep %s/%s/%s: cannot remove expired segments: %s (index kept, retried on the next "
                     "sweep)", c->domain, c->app, c->name, strerror(sys_errno));
        sweep_ctx_free(c);
        sweep_dec();
        return;
    }
    le_tsi_remove(c->domain, c->app, c->name, c->ents, c->n);
    T.st.swept += c->n;
    le_debug(MOD, "sweep %s/%s/%s: %zu expired segments removed", c->domain, c->app, c->name, c->n);
    free(c->ents);
    c->ents = NULL;
    if (c->more && T.started) {
        sweep_stream(c);
        return;
    }
    forget_if_empty(c);
    sweep_ctx_free(c);
    sweep_dec();
}

static void expired_cb(int ok, const le_tsi_ent *e, size_t n, size_t bad, void *arg)
{
    sweep_ctx *c = arg;
    if (!ok || n == 0 || !T.started) {
        if (ok && n == 0 && bad == 0)
            forget_if_empty(c);
        sweep_ctx_free(c);
        sweep_dec();
        return;
    }
    char **paths = le_xmalloc(n * sizeof(*paths));
    size_t np = 0;
    for (size_t i = 0; i < n; i++) {
        char p[4096];
        if (path_under(T.root, c->domain, c->app, c->name, &e[i], p, sizeof(p)) == 0)
            paths[np++] = le_xstrdup(p);
    }
    c->ents = le_xmalloc(n * sizeof(*c->ents));
    memcpy(c->ents, e, n * sizeof(*e));
    c->n = n;
    c->more = n + bad >= SWEEP_BATCH;
    if (le_tsw_unlink(paths, np, T.root, unlink_done, c) != 0) {
        /* Queue full: the disk is busy; the next sweep tries again. */
        sweep_ctx_free(c);
        sweep_dec();
    }
}

static void sweep_stream(sweep_ctx *c)
{
    if (le_tsi_range(c->domain, c->app, c->name, INT64_MIN, c->cutoff_ms, 1, 0, SWEEP_BATCH, expired_cb,
                     c) != 0) {
        sweep_ctx_free(c);
        sweep_dec();
    }
}

static void streams_cb(redisReply *r, void *arg)
{
    char *domain = arg;
    if (r && r->type == REDIS_REPLY_ARRAY && T.started) {
        int64_t cutoff = le_wall_ms() - retention_of(domain);
        for (size_t i = 0; i < r->elements; i++) {
            redisReply *m = r->element[i];
            if (m->type != REDIS_REPLY_STRING)
                continue;
            const char *slash = memchr(m->str, '/', m->len);
            if (!slash)
                continue;
            size_t al = (size_t)(slash - m->str), nl = m->len - al - 1;
            if (!le_name_valid(m->str, al) || !le_name_valid(slash + 1, nl))
                continue;
            sweep_ctx *c = le_xcalloc(1, sizeof(*c));
            c->domain = le_xstrdup(domain);
            c->app = le_xstrndup(m->str, al);
            c->name = le_xstrndup(slash + 1, nl);
            c->cutoff_ms = cutoff;
            T.sweep_pending++;
            sweep_stream(c);
        }
    }
    free(domain);
    sweep_dec();
}

static void domains_cb(redisReply *r, void *arg)
{
    (void)arg;
    if (r && r->type == REDIS_REPLY_ARRAY && T.started) {
        for (size_t i = 0; i < r->elements; i++) {
            redisReply *m = r->element[i];
            if (m->type != REDIS_REPLY_STRING || !le_name_valid(m->str, m->len))
                continue;
            char key[400];
            char *domain = le_xstrndup(m->str, m->len);
            le_store_key(key, sizeof(key), "ts:streams:%s", domain);
            T.sweep_pending++;
            if (le_store_cmd(streams_cb, domain, "SMEMBERS %s", key) != 0) {
                free(domain);
                sweep_dec();
            }
        }
    }
    sweep_dec();
}

static void sweep_start(void)
{
    if (T.sweep_pending || !le_store_connected())
        return;
    char key[128];
    le_store_key(key, sizeof(key), "ts:domains");
    T.sweep_pending = 1;
    T.last_sweep_ms = le_mono_ms();
    if (le_store_cmd(domains_cb, NULL, "SMEMBERS %s", key) != 0)
        T.sweep_pending = 0;
}

/* Sweeps at least every minute, more often for short retentions (a quarter
 * of the shortest), so what expires goes within a small fraction of it. */
static void min_retention(le_domain *d, void *arg)
{
    int64_t *min = arg;
    if (!d->edge && d->cf && d->cf->timeshift && d->cf->timeshift_retention_ms < *min)
        *min = d->cf->timeshift_retention_ms;
}

static uint64_t sweep_interval_ms(void)
{
    int64_t min = SWEEP_MAX_MS * 4;
    le_domains_foreach(min_retention, &min);
    int64_t iv = min / 4;
    return (uint64_t)(iv < SWEEP_MIN_MS ? SWEEP_MIN_MS : iv > SWEEP_MAX_MS ? SWEEP_MAX_MS : iv);
}

static void store_event(int connected, void *arg)
{
    (void)arg;
    if (connected && T.started)
        sweep_start();
}

static void poll_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    le_stream_foreach(poll_stream, NULL);
    if (le_mono_ms() - T.last_sweep_ms >= sweep_interval_ms())
        sweep_start();
}

/* ---- metrics ---- */

static void metrics(le_buf *out)
{
    le_tsw_stats w;
    le_tsw_get_stats(&w);
    le_buf_printf(out,
                  "# TYPE livedge_timeshift_segments_written_total counter\n"
                  "livedge_timeshift_segments_written_total %llu\n"
                  "# TYPE livedge_timeshift_segments_indexed_total counter\n"
                  "livedge_timeshift_segments_indexed_total %llu\n"
                  "# TYPE livedge_timeshift_segments_lost_total counter\n"
                  "livedge_timeshift_segments_lost_total{reason=\"queue_full\"} %llu\n"
                  "livedge_timeshift_segments_lost_total{reason=\"write_error\"} %llu\n"
                  "livedge_timeshift_segments_lost_total{reason=\"invalid\"} %llu\n"
                  "# TYPE livedge_timeshift_writer_queue_jobs gauge\n"
                  "livedge_timeshift_writer_queue_jobs %llu\n"
                  "# TYPE livedge_timeshift_writer_queue_bytes gauge\n"
                  "livedge_timeshift_writer_queue_bytes %llu\n"
                  "# TYPE livedge_timeshift_bytes_written_total counter\n"
                  "livedge_timeshift_bytes_written_total %llu\n"
                  "# TYPE livedge_timeshift_segments_swept_total counter\n"
                  "livedge_timeshift_segments_swept_total %llu\n"
                  "# TYPE livedge_timeshift_sweep_errors_total counter\n"
                  "livedge_timeshift_sweep_errors_total %llu\n",
                  (unsigned long long)w.written, (unsigned long long)T.st.segments_indexed,
                  (unsigned long long)T.st.dropped_queue, (unsigned long long)T.st.dropped_error,
                  (unsigned long long)T.st.dropped_invalid, (unsigned long long)w.jobs_now,
                  (unsigned long long)w.bytes_now, (unsigned long long)w.write_bytes,
                  (unsigned long long)T.st.swept, (unsigned long long)T.st.sweep_errors);
}

/* ---- lifecycle ---- */

int le_timeshift_init(char *err, size_t errlen)
{
    const le_conf *c = le_node_conf();
    if (T.started)
        return 0;
    T.root = ts_root(c->data_dir);
    int rc = le_tsw_start(le_node_base(), 0, 0, 0, err, errlen);
    if (rc != 0) {
        free(T.root);
        T.root = NULL;
        return rc;
    }
    T.poll_ev = event_new(le_node_base(), -1, EV_PERSIST, poll_cb, NULL);
    struct timeval tv = { 0, POLL_MS * 1000 };
    event_add(T.poll_ev, &tv);
    le_store_on_event(store_event, NULL);
    le_metrics_add(metrics);
    le_ts_http_init();
    T.started = 1;
    return 0;
}

void le_timeshift_shutdown(void)
{
    if (!T.started)
        return;
    /* What the closed publishers' segmenters sealed last. */
    le_stream_foreach(poll_stream, NULL);
    T.started = 0;
    le_tsw_stop(STOP_WAIT_MS);
    if (T.poll_ev)
        event_free(T.poll_ev);
    T.poll_ev = NULL;
    LE_KEYTAB_FOREACH(&T.tab, e, nx) {
        ts_stream *t = LE_KEYTAB_OBJ(e, ts_stream, ke);
        le_keytab_remove(&T.tab, e);
        free(t->key);
        free(t->domain);
        free(t->app);
        free(t->name);
        free(t);
    }
    le_keytab_free(&T.tab);
    free(T.root);
    T.root = NULL;
}

/* ---- --reindex ---- */

typedef struct rx {
    struct event_base *base;
    int connected;
    int waiting;                /* a synchronous command is out */
    char **strs;                /* the last array reply's strings */
    size_t nstrs;
    int reply_ok;
} rx;

static rx R;

static void rx_event(int connected, void *arg)
{
    (void)arg;
    R.connected = connected;
}

static void rx_strs_free(void)
{
    for (size_t i = 0; i < R.nstrs; i++)
        free(R.strs[i]);
    free(R.strs);
    R.strs = NULL;
    R.nstrs = 0;
}

static void rx_reply(redisReply *r, void *arg)
{
    (void)arg;
    R.waiting = 0;
    R.reply_ok = r && r->type == REDIS_REPLY_ARRAY;
    if (!R.reply_ok)
        return;
    R.strs = le_xcalloc(r->elements ? r->elements : 1, sizeof(char *));
    for (size_t i = 0; i < r->elements; i++)
        if (r->element[i]->type == REDIS_REPLY_STRING)
            R.strs[R.nstrs++] = le_xstrndup(r->element[i]->str, r->element[i]->len);
}

/* Runs the loop until pred() or the deadline. */
static int rx_run_until(int (*pred)(void), uint64_t ms)
{
    uint64_t end = le_mono_ms() + ms;
    while (!pred()) {
        if (le_mono_ms() >= end)
            return LE_EIO;              /* Redis did not answer in time */
        struct timeval tv = { 0, 50000 };
        event_base_loopexit(R.base, &tv);
        event_base_dispatch(R.base);
    }
    return 0;
}

static int rx_connected(void) { return R.connected; }
static int rx_answered(void) { return !R.waiting; }
static int rx_flushed(void)
{
    return le_store_get_stats()->writes_queued_now == 0 && le_store_get_xstats()->cmds_pending == 0;
}

/* An array-of-strings command, synchronously (this mode serves nobody). */
static int rx_cmd(const char *fmt, const char *a)
{
    rx_strs_free();
    R.waiting = 1;
    if (le_store_cmd(rx_reply, NULL, fmt, a) != 0) {
        R.waiting = 0;
        return LE_EIO;                  /* the store is not running */
    }
    int rc = rx_run_until(rx_answered, 10000);
    return rc != 0 ? rc : R.reply_ok ? 0 : LE_EIO;
}

/* Takes over the last reply's strings (free_list them). */
static char **rx_take(size_t *n)
{
    char **v = R.strs;
    *n = R.nstrs;
    R.strs = NULL;
    R.nstrs = 0;
    return v;
}

typedef struct rx_count {
    uint64_t files, streams, stale, tmp_removed, skipped;
} rx_count;

static int is_dir(const char *p)
{
    struct stat sb;
    return lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* Sub-directories (or files) of dir that are safe names, sorted. */
static char **list_dir(const char *dir, int want_dirs, size_t *n)
{
    DIR *d = opendir(dir);
    *n = 0;
    if (!d)
        return NULL;
    size_t cap = 16;
    char **v = le_xmalloc(cap * sizeof(*v));
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!le_name_valid(de->d_name, strlen(de->d_name)))
            continue;
        char p[4096];
        snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
        if (is_dir(p) != want_dirs)
            continue;
        if (*n == cap) {
            cap *= 2;
            v = le_xrealloc(v, cap * sizeof(*v));
        }
        v[(*n)++] = le_xstrdup(de->d_name);
    }
    closedir(d);
    return v;
}

/* list_dir of parent/child; the joined path goes to path. */
static char **list_child(const char *parent, const char *child, int want_dirs, char *path, size_t pathsz,
                         size_t *n)
{
    snprintf(path, pathsz, "%s/%s", parent, child);
    return list_dir(path, want_dirs, n);
}

static void free_list(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void rx_stream(const char *root, const char *dom, const char *app, const char *name, rx_count *cnt)
{
    char sdir[4096];
    snprintf(sdir, sizeof(sdir), "%s/%s/%s/%s", root, dom, app, name);
    size_t nd;
    char **days = list_dir(sdir, 1, &nd);
    int any = 0;
    for (size_t i = 0; i < nd; i++) {
        char ddir[4200];
        size_t nf;
        char **files = list_child(sdir, days[i], 0, ddir, sizeof(ddir), &nf);
        for (size_t k = 0; k < nf; k++) {
            char fp[4400];
            snprintf(fp, sizeof(fp), "%s/%s", ddir, files[k]);
            size_t fl = strlen(files[k]);
            if (fl > 4 && strcmp(files[k] + fl - 4, ".tmp") == 0) {
                /* A write cut short by a crash: never indexed, never will be. */
                if (unlink(fp) == 0)
                    cnt->tmp_removed++;
                continue;
            }
            le_tsi_ent e;
            char day[9];
            struct stat sb;
            if (le_tsi_name_parse(files[k], fl, &e) != 0 || (le_tsi_day(e.start_ms, day), strcmp(day, days[i])) ||
                lstat(fp, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size == 0) {
                cnt->skipped++;
                le_warn(MOD, "reindex: skipping %s (not a time-shift segment name)", fp);
                continue;
            }
            if (le_tsi_add(dom, app, name, &e) == 0) {
                cnt->files++;
                any = 1;
            }
        }
        free_list(files, nf);
        /* Keep the store's write queue short. */
        rx_run_until(rx_flushed, 30000);
    }
    free_list(days, nd);
    cnt->streams += any;
}

static void rx_prune(const char *root, rx_count *cnt)
{
    char key[400];
    le_store_key(key, sizeof(key), "ts:domains");
    if (rx_cmd("SMEMBERS %s", key) != 0)
        return;
    size_t nd;
    char **doms = rx_take(&nd);
    for (size_t i = 0; i < nd; i++) {
        if (!le_name_valid(doms[i], strlen(doms[i])))
            continue;
        le_store_key(key, sizeof(key), "ts:streams:%s", doms[i]);
        if (rx_cmd("SMEMBERS %s", key) != 0)
            continue;
        size_t ns;
        char **streams = rx_take(&ns);
        for (size_t k = 0; k < ns; k++) {
            char *slash = strchr(streams[k], '/');
            if (!slash)
                continue;
            *slash = '\0';
            const char *app = streams[k], *name = slash + 1;
            if (!safe(app) || !safe(name))
                continue;
            char zkey[900];
            le_tsi_key(zkey, sizeof(zkey), doms[i], app, name);
            if (rx_cmd("ZRANGE %s 0 -1", zkey) != 0)
                continue;
            le_tsi_ent *gone = le_xmalloc((R.nstrs ? R.nstrs : 1) * sizeof(*gone));
            size_t ng = 0;
            for (size_t m = 0; m < R.nstrs; m++) {
                le_tsi_ent e;
                char p[4096];
                struct stat sb;
                if (le_tsi_member_parse(R.strs[m], strlen(R.strs[m]), &e) != 0)
                    continue;
                if (path_under(root, doms[i], app, name, &e, p, sizeof(p)) == 0 && stat(p, &sb) != 0 &&
                    errno == ENOENT)
                    gone[ng++] = e;
            }
            for (size_t off = 0; off < ng; off += SWEEP_BATCH)
                le_tsi_remove(doms[i], app, name, gone + off, ng - off < SWEEP_BATCH ? ng - off : SWEEP_BATCH);
            cnt->stale += ng;
            free(gone);
            rx_run_until(rx_flushed, 30000);
        }
        free_list(streams, ns);
    }
    free_list(doms, nd);
    rx_strs_free();
}

int le_timeshift_reindex(const le_conf *conf)
{
    char err[512];
    memset(&R, 0, sizeof(R));
    R.base = event_base_new();
    if (!R.base) {
        fprintf(stderr, "livedge: --reindex: event_base_new failed\n");
        return 1;
    }
    le_log_route_libs();
    if (le_store_start(R.base, conf, err, sizeof(err)) != 0) {
        fprintf(stderr, "livedge: --reindex: %s\n", err);
        event_base_free(R.base);
        return 1;
    }
    le_store_on_event(rx_event, NULL);
    int rc = 1;
    if (rx_run_until(rx_connected, 15000) != 0) {
        fprintf(stderr, "livedge: --reindex: cannot reach Redis (%s)\n", conf->redis);
        goto out;
    }
    char *root = ts_root(conf->data_dir);
    rx_count cnt;
    memset(&cnt, 0, sizeof(cnt));
    size_t nd;
    char **doms = list_dir(root, 1, &nd);
    for (size_t i = 0; i < nd; i++) {
        char ddir[4200];
        size_t na;
        char **apps = list_child(root, doms[i], 1, ddir, sizeof(ddir), &na);
        for (size_t a = 0; a < na; a++) {
            char adir[4400];
            size_t ns;
            char **streams = list_child(ddir, apps[a], 1, adir, sizeof(adir), &ns);
            for (size_t s = 0; s < ns; s++)
                rx_stream(root, doms[i], apps[a], streams[s], &cnt);
            free_list(streams, ns);
        }
        free_list(apps, na);
    }
    free_list(doms, nd);
    rx_run_until(rx_flushed, 30000);
    rx_prune(root, &cnt);
    free(root);
    if (rx_run_until(rx_flushed, 30000) != 0) {
        fprintf(stderr, "livedge: --reindex: Redis did not acknowledge every write in time\n");
        goto out;
    }
    printf("livedge: reindex: %llu segments in %llu streams indexed, %llu stale entries removed, "
           "%llu unfinished files removed, %llu files skipped\n",
           (unsigned long long)cnt.files, (unsigned long long)cnt.streams, (unsigned long long)cnt.stale,
           (unsigned long long)cnt.tmp_removed, (unsigned long long)cnt.skipped);
    rc = 0;
out:
    rx_strs_free();
    le_store_stop();
    event_base_free(R.base);
    R.base = NULL;
    return rc;
}
