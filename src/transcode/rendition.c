/* Renditions: on-demand transcoder jobs published back into the node
 * (transcode/rendition.h, docs/TRANSCODE.md "Renditions"). */
#include "transcode/rendition.h"

#include <event2/event.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "control/domains.h"
#include "control/publish.h"
#include "core/err.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/util.h"
#include "hls/segmenter.h"
#include "media/amf.h"
#include "media/stream.h"
#include "media/tap.h"
#include "pipeline/job.h"
#include "transcode/config.h"
#include "transcode/template.h"

#define MOD "trans"
#define NAME_MAX_LEN 256
#define TICK_MS 1000

/* A live source stream and the templates configured for its app. */
typedef struct src {
    char domain[NAME_MAX_LEN], app[NAME_MAX_LEN], name[NAME_MAX_LEN];
    le_stream *st;
    le_trans_cfg *cfgs;
    size_t ncfg;
    uint64_t gen;              /* which publish the config answer is for */
    struct src *next;
} src;

/* One rendition's job. */
typedef struct job {
    src *s;                    /* NULL once the source's publish ended */
    char domain[NAME_MAX_LEN], app[NAME_MAX_LEN], name[NAME_MAX_LEN];
    le_trans_tpl tpl;
    le_tap *tap;
    le_pipe_job *pj;
    le_publish pub;
    uint64_t last_active_ms;
    int stopping, stop_how;
    char stop_reason[64];
    uint64_t frames_out;
    struct job *next;
} job;

/* A pending config read: the source may be gone (or republished) when the
 * answer comes, so it is found again by name and publish generation. */
typedef struct lookup {
    char domain[NAME_MAX_LEN], app[NAME_MAX_LEN], name[NAME_MAX_LEN];
    uint64_t gen;
} lookup;

static struct {
    struct event_base *base;
    le_pipe_pool *pool;
    le_rend_opts o;
    src *srcs;
    job *jobs;
    struct event *tick, *reap;
    uint64_t gen;
    le_rend_stats st;
    int up;
} R;

static void job_stop(job *j, int how, const char *reason);

/* ---- lookup ---- */

static src *src_by_stream(const le_stream *st)
{
    for (src *s = R.srcs; s; s = s->next)
        if (s->st == st)
            return s;
    return NULL;
}

static job *job_find(const char *domain, const char *app, const char *name)
{
    for (job *j = R.jobs; j; j = j->next)
        if (!j->stopping && strcasecmp(j->domain, domain) == 0 && strcmp(j->app, app) == 0 &&
            strcmp(j->name, name) == 0)
            return j;
    return NULL;
}

/* The template of s that name ("{source}_{template}") asks for, or NULL. */
static const le_trans_cfg *src_template(const src *s, const char *name)
{
    const char *names[LE_TRANS_MAX_PER_DOMAIN];
    size_t n = 0, which;
    char base[NAME_MAX_LEN];
    for (size_t i = 0; i < s->ncfg && n < LE_TRANS_MAX_PER_DOMAIN; i++)
        names[n++] = s->cfgs[i].tpl.name;
    if (le_trans_split(name, names, n, base, sizeof(base), &which) != LE_OK || strcmp(base, s->name) != 0)
        return NULL;
    return &s->cfgs[which];
}

/* ---- the rendition's publish ---- */

static void pub_kick(void *ctx, const char *reason)
{
    job *j = ctx;
    /* ForbidLiveStream of the rendition, a takeover or the node's stop: the
     * publish ends now, the job is reaped from the loop. */
    job_stop(j, LE_PUB_END_UNPUBLISHED, reason ? reason : "kicked");
    le_publish_end(&j->pub, LE_PUB_END_UNPUBLISHED, j->stop_reason);
}
static const le_pub_ops pub_ops = { .kick = pub_kick };

/* onMetaData for the rendition: what players and the online list show. */
static void push_meta(job *j)
{
    le_stream *sst = j->s ? j->s->st : NULL;
    const le_stream_stats *ss = sst ? le_stream_get_stats(sst) : NULL;
    le_trans_out out;
    memset(&out, 0, sizeof(out));
    if (!ss || le_trans_output(&j->tpl, (int)ss->width, (int)ss->height, ss->framerate, &out) != LE_OK)
        return;
    le_buf b = { 0 };
    le_amf_put_string(&b, "onMetaData");
    le_amf_put_ecma_start(&b, 6);
    le_amf_put_prop_number(&b, "width", out.width);
    le_amf_put_prop_number(&b, "height", out.height);
    le_amf_put_prop_number(&b, "framerate", out.fps);
    le_amf_put_prop_number(&b, "videocodecid", 7);
    le_amf_put_prop_number(&b, "videodatarate", out.kbps);
    le_amf_put_prop_string(&b, "encoder", "livedge transcoder");
    le_amf_put_object_end(&b);
    le_pkt *p = le_pkt_new(LE_PKT_DATA, 0, b.p, (uint32_t)b.len);
    le_buf_free(&b);
    le_stream_push(j->pub.st, p);
    le_pkt_unref(p);
}

static int begin_publish(job *j)
{
    le_domain *d = le_domain_get(j->domain);
    char why[256], url[NAME_MAX_LEN * 3 + 16];
    if (!d || d->edge || !d->cf) {
        le_warn(MOD, "%s/%s/%s: no play domain %s on this node", j->domain, j->app, j->name, j->domain);
        return LE_ENOTFOUND;
    }
    le_pub_info info;
    memset(&info, 0, sizeof(info));
    info.kind = LE_PUB_TRANSCODE;
    info.client_ip = "127.0.0.1";
    snprintf(url, sizeof(url), "rtmp://%s/%s/%s", j->domain, j->app, j->s ? j->s->name : "?");
    info.source_url = url;
    info.usrargs = "";
    info.no_access_check = info.no_blocklist = info.no_callbacks = 1;
    int rc = le_publish_begin(&j->pub, d->cf, j->app, j->name, &info, &pub_ops, j, why, sizeof(why));
    if (rc != LE_OK) {
        le_warn(MOD, "%s/%s/%s: publish refused: %s", j->domain, j->app, j->name, why);
        return rc;
    }
    le_info(MOD, "%s/%s/%s: rendition live (%s)", j->domain, j->app, j->name, j->tpl.name);
    /* HLS segments cut at the source's keyframes get the source's numbers
     * (players switching variants line them up by number). */
    if (j->s)
        le_hls_follow(j->pub.st, j->s->domain, j->s->app, j->s->name);
    push_meta(j);
    return LE_OK;
}

/* The pipeline's output, on the loop: the reference is ours. */
static void on_pkt(void *ud, int out, le_pkt *p)
{
    job *j = ud;
    (void)out;
    if (!p)
        return;
    if (j->stopping || (!j->pub.st && begin_publish(j) != LE_OK)) {
        le_pkt_unref(p);
        if (!j->stopping)
            job_stop(j, LE_PUB_END_UNPUBLISHED, "publish refused");
        return;
    }
    if (p->type == LE_PKT_VIDEO && !(p->flags & LE_PKT_SEQHDR))
        j->frames_out++;
    le_stream_push(j->pub.st, p);
    le_pkt_unref(p);
}

/* ---- the source tap ---- */

static void tap_wake(le_tap *t, void *ctx)
{
    job *j = ctx;
    le_pkt *p;
    int k;
    while ((k = le_tap_next(t, &p)) != LE_TAP_NONE) {
        if (k != LE_TAP_PKT)
            continue;   /* publish markers: the source's hooks decide */
        if (!j->stopping && j->pj && p->type != LE_PKT_DATA)
            le_pipe_job_push(j->pj, 0, p);   /* copies; overload is counted there */
        le_pkt_unref(p);
    }
}
static const le_tap_ops tap_ops = { .wake = tap_wake, .drop = NULL };

/* ---- jobs ---- */

/* The libavfilter graph of template t: its size computed per frame from
 * the input's (so a source that changes resolution keeps its aspect),
 * never larger than the source, even sides. */
static void job_graph(const le_trans_tpl *t, double src_fps, char *out, size_t n)
{
    char fps[48] = "";
    if (t->fps > 0 && src_fps > t->fps + 0.5)
        snprintf(fps, sizeof(fps), ",fps=%d", t->fps);
    if (t->custom)
        snprintf(out, n,
                 "[in0]scale=w='min(%d,iw)':h='min(%d,ih)':force_original_aspect_ratio=decrease:"
                 "force_divisible_by=2%s[o0]",
                 t->width, t->height, fps);
    else   /* the template's height is the short side */
        snprintf(out, n,
                 "[in0]scale=w='if(gte(iw,ih),-2,trunc(min(%d,iw)/2)*2)':"
                 "h='if(gte(iw,ih),trunc(min(%d,ih)/2)*2,-2)'%s[o0]",
                 t->height, t->height, fps);
}

static job *job_start(src *s, const le_trans_cfg *c)
{
    char name[NAME_MAX_LEN];
    if (le_trans_rendition_name(s->name, c->tpl.name, name, sizeof(name)) != LE_OK)
        return NULL;
    job *j = job_find(s->domain, s->app, name);
    if (j)
        return j;
    j = le_xcalloc(1, sizeof(*j));
    j->s = s;
    snprintf(j->domain, sizeof(j->domain), "%s", s->domain);
    snprintf(j->app, sizeof(j->app), "%s", s->app);
    snprintf(j->name, sizeof(j->name), "%s", name);
    j->tpl = c->tpl;
    j->last_active_ms = le_mono_ms();

    const le_stream_stats *ss = le_stream_get_stats(s->st);
    le_trans_out o;
    int kbps = c->tpl.kbps;
    if (le_trans_output(&c->tpl, (int)ss->width, (int)ss->height, ss->framerate, &o) == LE_OK)
        kbps = o.kbps;
    char graph[512], label[NAME_MAX_LEN * 3 + 4];
    job_graph(&c->tpl, ss->framerate, graph, sizeof(graph));
    snprintf(label, sizeof(label), "%s/%s/%s", j->domain, j->app, j->name);
    le_pipe_cfg pc;
    memset(&pc, 0, sizeof(pc));
    pc.ninputs = 1;
    pc.noutputs = 1;
    pc.graph = graph;
    pc.out[0].bitrate_kbps = kbps > 0 ? kbps : 500;
    pc.out[0].audio = 1;
    pc.fps_hint = ss->framerate > 0 ? (int)(ss->framerate + 0.5) : 0;
    pc.name = label;
    pc.on_pkt = on_pkt;
    pc.ud = j;
    int rc = le_pipe_job_new(R.pool, &pc, &j->pj);
    if (rc != LE_OK) {
        le_error(MOD, "%s: cannot start the job (%s)", label, le_strerror(rc));
        free(j);
        return NULL;
    }
    j->tap = le_tap_open(s->st, &tap_ops, j, R.o.tap_bytes);
    j->next = R.jobs;
    R.jobs = j;
    R.st.jobs++;
    R.st.started++;
    le_info(MOD, "%s: job started (%s%s, %d kbit/s, %s)", label, c->tpl.custom ? "custom " : "", c->tpl.name,
            pc.out[0].bitrate_kbps, c->tpl.mode == LE_TRANS_ALWAYS ? "always" : "on demand");
    return j;
}

/* Marks j for the reaper (never frees inside a callback of its own). how:
 * LE_PUB_END_DROPPED keeps the rendition's players waiting (the source
 * dropped: it may come back within the grace). */
static void job_stop(job *j, int how, const char *reason)
{
    if (j->stopping)
        return;
    j->stopping = 1;
    j->stop_how = how;
    snprintf(j->stop_reason, sizeof(j->stop_reason), "%s", reason);
    if (R.reap)
        event_active(R.reap, 0, 0);
}

static void job_free(job *j)
{
    le_pipe_stats ps;
    memset(&ps, 0, sizeof(ps));
    if (j->tap)
        le_tap_close(j->tap);
    if (j->pj) {
        le_pipe_job_stats(j->pj, &ps);
        le_pipe_job_free(j->pj);
    }
    R.st.dropped_video += ps.dropped_video;
    R.st.decode_errors += ps.decode_errors;
    R.st.frames_out += j->frames_out;
    R.st.jobs--;
    R.st.stopped++;
    le_publish_end(&j->pub, j->stop_how, j->stop_reason);
    le_info(MOD, "%s/%s/%s: job stopped (%s; %" PRIu64 " frames out, %" PRIu64 " dropped, %" PRIu64
            " decode errors)", j->domain, j->app, j->name, j->stop_reason, j->frames_out, ps.dropped_video,
            ps.decode_errors);
    free(j);
}

static void reap_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd; (void)what; (void)arg;
    job **pp = &R.jobs;
    while (*pp) {
        job *j = *pp;
        if (j->stopping) {
            *pp = j->next;
            job_free(j);
        } else {
            pp = &j->next;
        }
    }
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd; (void)what; (void)arg;
    uint64_t now = le_mono_ms();
    for (job *j = R.jobs; j; j = j->next) {
        if (j->stopping)
            continue;
        le_stream *rs = le_stream_find(j->domain, j->app, j->name, 0);
        if (rs && le_stream_viewers(rs) > 0)
            j->last_active_ms = now;
        if (j->tpl.mode != LE_TRANS_ALWAYS && now - j->last_active_ms >= (uint64_t)R.o.idle_ms)
            job_stop(j, LE_PUB_END_UNPUBLISHED, "no viewer");
    }
}

/* ---- sources ---- */

static void on_config(int rc, const le_trans_cfg *cfgs, size_t n, void *arg)
{
    lookup *lk = arg;
    src *s = NULL;
    for (src *x = R.srcs; x; x = x->next)
        if (x->gen == lk->gen && strcmp(x->name, lk->name) == 0 && strcmp(x->app, lk->app) == 0 &&
            strcasecmp(x->domain, lk->domain) == 0)
            s = x;
    free(lk);
    if (!s)
        return;   /* the publish ended meanwhile */
    if (rc != LE_OK) {
        le_warn(MOD, "%s/%s/%s: transcode configs not read (%s); no renditions this publish", s->domain, s->app,
                s->name, le_strerror(rc));
        return;
    }
    free(s->cfgs);
    s->cfgs = n ? le_xcalloc(n, sizeof(*s->cfgs)) : NULL;
    s->ncfg = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(cfgs[i].app, s->app) == 0)
            s->cfgs[s->ncfg++] = cfgs[i];
    for (size_t i = 0; i < s->ncfg; i++) {
        char name[NAME_MAX_LEN];
        if (le_trans_rendition_name(s->name, s->cfgs[i].tpl.name, name, sizeof(name)) != LE_OK)
            continue;
        le_stream *rs = le_stream_find(s->domain, s->app, name, 0);
        /* always; or viewers still waiting from the last publish */
        if (s->cfgs[i].tpl.mode == LE_TRANS_ALWAYS || (rs && le_stream_viewers(rs) > 0))
            job_start(s, &s->cfgs[i]);
    }
}

static void on_publish(le_stream *st)
{
    if (le_publish_kind(st) == LE_PUB_TRANSCODE || le_publish_kind(st) == LE_PUB_STUDIO)
        return;   /* no renditions of renditions */
    src *s = src_by_stream(st);
    if (!s) {
        s = le_xcalloc(1, sizeof(*s));
        s->st = st;
        snprintf(s->domain, sizeof(s->domain), "%s", le_stream_domain(st));
        snprintf(s->app, sizeof(s->app), "%s", le_stream_app(st));
        snprintf(s->name, sizeof(s->name), "%s", le_stream_name(st));
        s->next = R.srcs;
        R.srcs = s;
    }
    s->gen = ++R.gen;   /* a takeover reads the configs again */
    lookup *lk = le_xcalloc(1, sizeof(*lk));
    snprintf(lk->domain, sizeof(lk->domain), "%s", s->domain);
    snprintf(lk->app, sizeof(lk->app), "%s", s->app);
    snprintf(lk->name, sizeof(lk->name), "%s", s->name);
    lk->gen = s->gen;
    if (le_trans_config_list(s->domain, s->app, on_config, lk) != LE_OK)
        free(lk);   /* no store: no renditions */
}

static void on_unpublish(le_stream *st)
{
    src **pp = &R.srcs;
    while (*pp && (*pp)->st != st)
        pp = &(*pp)->next;
    src *s = *pp;
    if (!s)
        return;
    *pp = s->next;
    for (job *j = R.jobs; j; j = j->next)
        if (j->s == s) {
            j->s = NULL;
            job_stop(j, LE_PUB_END_DROPPED, "source ended");
        }
    free(s->cfgs);
    free(s);
}

/* ---- the face ---- */

int le_rend_want(const le_conf_domain *dom, const char *app, const char *name)
{
    if (!R.up || !dom || !strchr(name, '_'))
        return 0;
    for (src *s = R.srcs; s; s = s->next) {
        if (strcasecmp(s->domain, dom->name) != 0 || strcmp(s->app, app) != 0)
            continue;
        const le_trans_cfg *c = src_template(s, name);
        if (!c)
            continue;
        job *j = job_start(s, c);
        if (!j)
            return 0;
        j->last_active_ms = le_mono_ms();
        le_stream *rs = le_stream_find(s->domain, app, name, 1);
        if (!le_stream_is_live(rs))
            le_stream_hold(rs, R.o.wait_ms);
        return 1;
    }
    return 0;
}

int64_t le_rend_wait_ms(void) { return R.o.wait_ms; }

size_t le_rend_variants(const char *domain, const char *app, const char *name, le_rend_variant *out, size_t n)
{
    src *s = NULL;
    for (src *x = R.srcs; x && !s; x = x->next)
        if (strcasecmp(x->domain, domain) == 0 && strcmp(x->app, app) == 0 && strcmp(x->name, name) == 0)
            s = x;
    if (!s || !s->ncfg || n == 0)
        return 0;
    const le_stream_stats *ss = le_stream_get_stats(s->st);
    size_t k = 0;
    le_rend_variant *v = &out[k++];
    memset(v, 0, sizeof(*v));
    snprintf(v->name, sizeof(v->name), "%s", s->name);
    v->width = (int)ss->width;
    v->height = (int)ss->height;
    uint64_t since = le_stream_publish_started_ms(s->st);
    int64_t el = le_wall_ms() - (int64_t)since;
    v->kbps = el > 1000 ? (int)(ss->bytes_in * 8 / (uint64_t)el) : 0;
    v->running = 1;
    for (size_t i = 0; i < s->ncfg && k < n; i++) {
        v = &out[k];
        memset(v, 0, sizeof(*v));
        if (le_trans_rendition_name(s->name, s->cfgs[i].tpl.name, v->name, sizeof(v->name)) != LE_OK)
            continue;
        le_trans_out o;
        v->kbps = s->cfgs[i].tpl.kbps;
        if (le_trans_output(&s->cfgs[i].tpl, (int)ss->width, (int)ss->height, ss->framerate, &o) == LE_OK) {
            v->width = o.width;
            v->height = o.height;
            v->kbps = o.kbps;
        }
        v->running = job_find(domain, app, v->name) != NULL;
        k++;
    }
    return k;
}

int le_rend_source(const char *domain, const char *app, const char *name, char *out, size_t n)
{
    if (!strchr(name, '_'))
        return LE_ENOTFOUND;
    for (src *s = R.srcs; s; s = s->next) {
        if (strcasecmp(s->domain, domain) != 0 || strcmp(s->app, app) != 0 || !src_template(s, name))
            continue;
        return snprintf(out, n, "%s", s->name) < (int)n ? LE_OK : LE_EINVAL;
    }
    return LE_ENOTFOUND;
}

void le_rend_get_stats(le_rend_stats *out)
{
    *out = R.st;
    for (job *j = R.jobs; j; j = j->next) {
        le_pipe_stats ps;
        memset(&ps, 0, sizeof(ps));
        if (j->pj)
            le_pipe_job_stats(j->pj, &ps);
        out->dropped_video += ps.dropped_video;
        out->decode_errors += ps.decode_errors;
        out->frames_out += j->frames_out;
    }
}

static void rend_metrics(le_buf *out)
{
    le_rend_stats s;
    le_rend_get_stats(&s);
    le_buf_printf(out,
                  "# TYPE livedge_transcode_jobs gauge\n"
                  "livedge_transcode_jobs %" PRIu64 "\n"
                  "# TYPE livedge_transcode_jobs_started_total counter\n"
                  "livedge_transcode_jobs_started_total %" PRIu64 "\n"
                  "# TYPE livedge_transcode_frames_total counter\n"
                  "livedge_transcode_frames_total %" PRIu64 "\n"
                  "# TYPE livedge_transcode_dropped_frames_total counter\n"
                  "livedge_transcode_dropped_frames_total %" PRIu64 "\n"
                  "# TYPE livedge_transcode_decode_errors_total counter\n"
                  "livedge_transcode_decode_errors_total %" PRIu64 "\n",
                  s.jobs, s.started, s.frames_out, s.dropped_video, s.decode_errors);
}

void le_rend_set_opts(const le_rend_opts *o)
{
    R.o = *o;
    if (R.o.idle_ms < 0)
        R.o.idle_ms = 0;
    if (R.o.wait_ms <= 0)
        R.o.wait_ms = 5000;
    if (R.o.tap_bytes == 0)
        R.o.tap_bytes = 4u << 20;
}

int le_rend_init(struct event_base *base, le_pipe_pool *pool, const le_rend_opts *o)
{
    int rc;
    memset(&R, 0, sizeof(R));
    R.base = base;
    R.pool = pool;
    le_rend_set_opts(o);
    if ((rc = le_stream_on_publish(on_publish)) != LE_OK || (rc = le_stream_on_unpublish(on_unpublish)) != LE_OK)
        return rc;
    R.tick = event_new(base, -1, EV_PERSIST, tick_cb, NULL);
    R.reap = event_new(base, -1, 0, reap_cb, NULL);
    struct timeval tv = { TICK_MS / 1000, 0 };
    event_add(R.tick, &tv);
    le_metrics_add(rend_metrics);
    R.up = 1;
    return LE_OK;
}

void le_rend_free(void)
{
    if (!R.up)
        return;
    for (job *j = R.jobs; j; j = j->next)
        job_stop(j, LE_PUB_END_UNPUBLISHED, "node stopping");
    reap_cb(-1, 0, NULL);
    while (R.srcs) {
        src *s = R.srcs;
        R.srcs = s->next;
        free(s->cfgs);
        free(s);
    }
    if (R.tick)
        event_free(R.tick);
    if (R.reap)
        event_free(R.reap);
    R.up = 0;
}
