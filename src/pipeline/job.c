/* Pipeline jobs (pipeline/job.h): the loop side (queues, overload policy,
 * hand-back) and the worker slice that feeds the codec half (codec.c). */
#include "pipeline/job.h"
#include "pipeline/job_impl.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "media/flv.h"

#include <libavcodec/avcodec.h>
#include <stdlib.h>
#include <string.h>

#define MOD "pipeline"
#define DROP_LOG_MS 10000

static void job_work(le_pipe_task *t);
static void job_reap(le_pipe_task *t);

int le_pipe_job_new(le_pipe_pool *pool, const le_pipe_cfg *cfg, le_pipe_job **out)
{
    *out = NULL;
    if (!pool || !cfg || !cfg->graph || !cfg->on_pkt || cfg->ninputs < 1 || cfg->ninputs > LE_PIPE_MAX_IN ||
        cfg->noutputs < 1 || cfg->noutputs > LE_PIPE_MAX_OUT)
        return LE_EINVAL;
    for (int i = 0; i < cfg->noutputs; i++)
        if (cfg->out[i].bitrate_kbps < 1 || cfg->out[i].bitrate_kbps > 100000)
            return LE_EINVAL;
    for (int i = 0; i < cfg->noutputs; i++)
        if (!avcodec_find_encoder_by_name(cfg->out[i].hevc ? "libx265" : "libx264"))
            return LE_ENOTFOUND;
    le_pipe_job *j = le_xcalloc(1, sizeof(*j));
    j->cfg = *cfg;
    j->graph_desc = le_xstrdup(cfg->graph);
    j->cfg.graph = j->graph_desc;
    j->name = le_xstrdup(cfg->name ? cfg->name : "job");
    j->cfg.name = j->name;
    for (int i = 0; i < cfg->noutputs; i++) {
        j->preset[i] = le_xstrdup(cfg->out[i].preset ? cfg->out[i].preset : "veryfast");
        j->cfg.out[i].preset = j->preset[i];
    }
    if (!j->cfg.fps_hint)
        j->cfg.fps_hint = 30;
    if (!j->cfg.max_gop_frames)
        j->cfg.max_gop_frames = 300;
    if (!j->cfg.in_max_bytes)
        j->cfg.in_max_bytes = 8u << 20;
    if (!j->cfg.in_max_pkts)
        j->cfg.in_max_pkts = 300;
    if (!j->cfg.out_max_pkts)
        j->cfg.out_max_pkts = 512;
    if (!j->cfg.batch_ms)
        j->cfg.batch_ms = 40;
    pthread_mutex_init(&j->mu, NULL);
    le_pipe_task_init(&j->task, pool);
    j->task.work = job_work;
    j->task.reap = job_reap;
    le_pipe_codec_init(j);
    *out = j;
    return LE_OK;
}

/* ---- loop side ---- */

int le_pipe_job_push(le_pipe_job *j, int input, const le_pkt *p)
{
    if (input < 0 || input >= j->cfg.ninputs || j->finished || !p)
        return LE_EINVAL;
    int video = p->type == LE_PKT_VIDEO;
    if (p->type != LE_PKT_VIDEO && !(p->type == LE_PKT_AUDIO && input == 0))
        return LE_OK;       /* data tags and other inputs' audio are not used */
    int seq = (p->flags & LE_PKT_SEQHDR) != 0, key = (p->flags & LE_PKT_KEY) != 0;
    pthread_mutex_lock(&j->mu);
    int full = j->q_pkts >= (size_t)j->cfg.in_max_pkts || j->q_bytes + p->len > j->cfg.in_max_bytes;
    int drop = 0;
    if (seq && j->q_bytes + p->len <= j->cfg.in_max_bytes + (1u << 20)) {
        drop = 0;           /* headers always pass (small; a 1 MiB margin) */
    } else if (video) {
        if (j->dropping[input] && key && !full)
            j->dropping[input] = 0;
        if (full)
            j->dropping[input] = 1;
        drop = j->dropping[input];
    } else {
        drop = full;
    }
    if (drop) {
        if (video)
            j->sh.dropped_video++;
        else
            j->sh.dropped_audio++;
        size_t qp = j->q_pkts, qb = j->q_bytes;
        pthread_mutex_unlock(&j->mu);
        j->drops_since_log++;
        uint64_t now = le_mono_ms();
        if (!j->last_drop_log || now - j->last_drop_log >= DROP_LOG_MS) {
            le_warn(MOD, "%s: overloaded, input %d queue full (%zu packets, %zu bytes): "
                    "%llu packets dropped since last report, video resumes at the next keyframe",
                    j->name, input, qp, qb, (unsigned long long)j->drops_since_log);
            j->last_drop_log = now;
            j->drops_since_log = 0;
        }
        return LE_ETOOBIG;
    }
    le_pipe_inq *q = le_xmalloc(sizeof(*q) + p->len);
    q->next = NULL;
    q->input = input;
    q->type = p->type;
    q->ts = p->ts;
    q->len = p->len;
    q->eof = 0;
    memcpy(q->data, p->data, p->len);
    if (j->qtail)
        j->qtail->next = q;
    else
        j->qhead = q;
    j->qtail = q;
    j->q_pkts++;
    j->q_bytes += p->len;
    j->sh.in_pkts++;
    j->sh.in_bytes += p->len;
    pthread_mutex_unlock(&j->mu);
    le_pipe_pool_kick(&j->task);
    return LE_OK;
}

void le_pipe_job_finish(le_pipe_job *j)
{
    if (j->finished)
        return;
    j->finished = 1;
    le_pipe_inq *q = le_xcalloc(1, sizeof(*q));
    q->eof = 1;
    pthread_mutex_lock(&j->mu);
    if (j->qtail)
        j->qtail->next = q;
    else
        j->qhead = q;
    j->qtail = q;
    pthread_mutex_unlock(&j->mu);
    le_pipe_pool_kick(&j->task);
}

void le_pipe_job_stats(le_pipe_job *j, le_pipe_stats *st)
{
    pthread_mutex_lock(&j->mu);
    *st = j->sh;
    st->queue_pkts = j->q_pkts;
    st->queue_bytes = j->q_bytes;
    pthread_mutex_unlock(&j->mu);
}

static void free_outq(le_pipe_outq *o)
{
    while (o) {
        le_pipe_outq *n = o->next;
        le_pkt_unref(o->p);
        free(o);
        o = n;
    }
}

/* The task is dead: nothing runs or refers to j any more. */
static void job_destroy(le_pipe_job *j)
{
    le_pipe_codec_free(j);
    for (le_pipe_inq *q = j->qhead; q;) {
        le_pipe_inq *n = q->next;
        free(q);
        q = n;
    }
    free_outq(j->ohead);
    free_outq(j->phead);
    pthread_mutex_destroy(&j->mu);
    for (int i = 0; i < j->cfg.noutputs; i++)
        free(j->preset[i]);
    free(j->graph_desc);
    free(j->name);
    free(j);
}

/* Never waits for a running slice: then the pool reaps the job once more
 * after it, and job_reap destroys it. */
static void job_stop(le_pipe_job *j)
{
    j->dying = 1;
    if (le_pipe_task_stop(&j->task))
        job_destroy(j);
}

void le_pipe_job_free(le_pipe_job *j)
{
    if (!j || j->dying)
        return;
    if (j->in_reap) {       /* freed from its own on_pkt: after the batch */
        j->free_later = 1;
        return;
    }
    job_stop(j);
}

static void job_reap(le_pipe_task *t)
{
    le_pipe_job *j = (le_pipe_job *)t;
    if (j->dying) {
        if (le_pipe_task_dead(t))
            job_destroy(j);
        return;
    }
    pthread_mutex_lock(&j->mu);
    le_pipe_outq *o = j->ohead;
    j->ohead = j->otail = NULL;
    int was_full = j->o_pkts >= (size_t)j->cfg.out_max_pkts;
    j->o_pkts = 0;
    int pending = j->qhead != NULL;
    pthread_mutex_unlock(&j->mu);
    j->in_reap = 1;
    while (o) {
        le_pipe_outq *n = o->next;
        if (!j->free_later)
            j->cfg.on_pkt(j->cfg.ud, o->out, o->p);
        else
            le_pkt_unref(o->p);
        free(o);
        o = n;
    }
    j->in_reap = 0;
    if (j->free_later) {
        job_stop(j);
        return;
    }
    if (was_full && pending)
        le_pipe_pool_kick(&j->task);
}

/* ---- worker side ---- */

void le_pipe_emit(le_pipe_job *j, int out, le_pkt *p)
{
    le_pipe_outq *o = le_xmalloc(sizeof(*o));
    o->next = NULL;
    o->out = out;
    o->p = p;
    if (j->ptail)
        j->ptail->next = o;
    else
        j->phead = o;
    j->ptail = o;
    j->p_pkts++;
    if (p)
        j->st.out_pkts++;
}

/* Moves the private outputs to the shared queue and wakes the loop. */
static void hand_back(le_pipe_job *j)
{
    pthread_mutex_lock(&j->mu);
    if (j->phead) {
        if (j->otail)
            j->otail->next = j->phead;
        else
            j->ohead = j->phead;
        j->otail = j->ptail;
        j->o_pkts += j->p_pkts;
    }
    uint64_t in_pkts = j->sh.in_pkts, in_bytes = j->sh.in_bytes;
    uint64_t dv = j->sh.dropped_video, da = j->sh.dropped_audio;
    j->sh = j->st;
    j->sh.in_pkts = in_pkts;
    j->sh.in_bytes = in_bytes;
    j->sh.dropped_video = dv;
    j->sh.dropped_audio = da;
    pthread_mutex_unlock(&j->mu);
    int any = j->phead != NULL;
    j->phead = j->ptail = NULL;
    j->p_pkts = 0;
    if (any)
        le_pipe_pool_post(&j->task);
}

/* One slice: input packets until batch_ms of media went through (or the
 * queue is empty, or the output queue is full), then one hand-back. */
static void job_work(le_pipe_task *t)
{
    le_pipe_job *j = (le_pipe_job *)t;
    int64_t first_ts = -1;
    int n = 0;
    for (;;) {
        pthread_mutex_lock(&j->mu);
        le_pipe_inq *q = NULL;
        if (j->o_pkts + j->p_pkts < (size_t)j->cfg.out_max_pkts && j->qhead) {
            q = j->qhead;
            j->qhead = q->next;
            if (!j->qhead)
                j->qtail = NULL;
            if (!q->eof) {
                j->q_pkts--;
                j->q_bytes -= q->len;
            }
        }
        pthread_mutex_unlock(&j->mu);
        if (!q)
            break;
        if (q->eof) {
            if (!j->eof_done) {
                le_pipe_codec_drain(j);
                le_pipe_emit(j, -1, NULL);
                j->eof_done = 1;
            }
        } else if (!j->eof_done) {
            le_pipe_codec_input(j, q);
        }
        n++;
        if (first_ts < 0)
            first_ts = q->ts;
        int64_t span = (int64_t)q->ts - first_ts;
        free(q);
        if (span >= j->cfg.batch_ms || n >= 64) {
            /* let other jobs have the thread; come back for the rest */
            pthread_mutex_lock(&j->mu);
            int more = j->qhead != NULL;
            pthread_mutex_unlock(&j->mu);
            if (more)
                le_pipe_pool_kick(&j->task);
            break;
        }
    }
    hand_back(j);
}
