/* The studio engine (studio/engine.h), loop side: the clock's timer, the
 * input queue (live bodies and commands, in call order), the hand-back of
 * encoded bodies and the worker slice that runs the per-slot delay lines
 * and the due ticks (engine_render.c). */
#include "studio/engine.h"
#include "studio/engine_impl.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"

#include <event2/event.h>
#include <libavcodec/avcodec.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MOD "studio"
#define LOG_EVERY_MS 10000
#define TICKS_PER_SLICE 4       /* then the worker lets other tasks run */
#define SEQ_MARGIN (1u << 20)   /* sequence headers pass over the bound by this */

static void se_work(le_pipe_task *t);
static void se_reap(le_pipe_task *t);

static uint64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void on_timer(evutil_socket_t fd, short ev, void *arg)
{
    (void)fd;
    (void)ev;
    le_se *e = arg;
    le_pipe_pool_kick(&e->task);
}

int le_se_new(struct event_base *base, le_pipe_pool *pool, const le_se_cfg *cfg, le_se **out)
{
    *out = NULL;
    if (!base || !pool || !cfg || !cfg->on_pkt || cfg->fps < 0 || cfg->fps > 60 || cfg->gop_frames < 0 ||
        cfg->stall_ms < 0)
        return LE_EINVAL;
    if (!avcodec_find_encoder_by_name("libx264") || !avcodec_find_encoder_by_name("aac"))
        return LE_ENOTFOUND;
    le_se *e = le_xcalloc(1, sizeof(*e));
    e->cfg = *cfg;
    if (!e->cfg.fps)
        e->cfg.fps = 30;
    if (!e->cfg.gop_frames)
        e->cfg.gop_frames = 2 * e->cfg.fps;
    if (!e->cfg.stall_ms)
        e->cfg.stall_ms = 2000;
    if (!e->cfg.in_max_bytes)
        e->cfg.in_max_bytes = 16u << 20;
    if (!e->cfg.delay_max_bytes)
        e->cfg.delay_max_bytes = 64u << 20;
    e->name = le_xstrdup(cfg->name ? cfg->name : "caster");
    e->cfg.name = e->name;
    e->preset = le_xstrdup(cfg->preset ? cfg->preset : "veryfast");
    e->cfg.preset = e->preset;
    e->base = base;
    if (le_se_render_init(e) != 0) {
        le_se_render_free(e);
        free(e->name);
        free(e->preset);
        free(e);
        return LE_ENOMEM;
    }
    pthread_mutex_init(&e->mu, NULL);
    le_pipe_task_init(&e->task, pool);
    e->task.work = se_work;
    e->task.reap = se_reap;
    e->timer = event_new(base, -1, EV_PERSIST, on_timer, e);
    if (!e->timer) {
        le_pipe_task_cancel(&e->task);
        le_se_render_free(e);
        pthread_mutex_destroy(&e->mu);
        free(e->name);
        free(e->preset);
        free(e);
        return LE_ENOMEM;
    }
    int us = 1000000 / e->cfg.fps;
    struct timeval tv = { us / 1000000, us % 1000000 };
    e->start_us = mono_us();
    e->epoch_ms = le_wall_ms();
    for (int i = 0; i < LE_SE_SLOTS; i++)
        e->slot_st[i].last_frame_ms = e->slot_sh[i].last_frame_ms = -1;
    evtimer_add(e->timer, &tv);
    le_pipe_pool_kick(&e->task);
    *out = e;
    return LE_OK;
}

/* ---- loop side: the input queue ---- */

static void enqueue(le_se *e, se_item *it, size_t bytes)
{
    it->next = NULL;
    if (e->qtail)
        e->qtail->next = it;
    else
        e->qhead = it;
    e->qtail = it;
    e->q_bytes += bytes;
}

static void push_item(le_se *e, se_item *it)
{
    pthread_mutex_lock(&e->mu);
    enqueue(e, it, 0);
    pthread_mutex_unlock(&e->mu);
    le_pipe_pool_kick(&e->task);
}

static int64_t clock_now(const le_se *e)
{
    return (int64_t)((mono_us() - e->start_us) / 1000u);
}

/* A timed source's live flag takes over once the clock reaches its time
 * (the worker applies it at that tick). */
static void live_switch(le_se *e, int slot)
{
    if (e->tlive[slot].on && clock_now(e) >= e->tlive[slot].at_ms) {
        e->tlive[slot].on = 0;
        if (e->live[slot] != e->tlive[slot].live)
            e->dropping[slot] = 0;
        e->live[slot] = e->tlive[slot].live;
    }
}

static int set_source(le_se *e, int slot, int live, const char *path, int repeat, int64_t begin_ms,
                      int64_t end_ms, int timed, int64_t at_ms)
{
    if (!e || e->dying || slot < 0 || slot >= LE_SE_SLOTS || (live && path) || repeat < -1 || begin_ms < 0 ||
        (path && (!*path || strlen(path) >= LE_SE_PATH_MAX)))
        return LE_EINVAL;
    se_item *it = le_xcalloc(1, sizeof(*it));
    it->kind = SE_SOURCE;
    it->slot = slot;
    it->live = live != 0;
    it->path = path ? le_xstrdup(path) : NULL;
    it->repeat = repeat;
    it->begin_ms = begin_ms;
    it->end_ms = end_ms;
    it->timed = timed;
    it->at_ms = at_ms < 0 ? 0 : at_ms;
    if (timed && it->at_ms > clock_now(e)) {
        /* feeds are taken from now on when the new source is live, until
         * its time when it is not */
        e->tlive[slot].on = 1;
        e->tlive[slot].live = live != 0;
        e->tlive[slot].at_ms = it->at_ms;
        if (live && !e->live[slot]) {
            e->live[slot] = 1;
            e->dropping[slot] = 0;
        }
    } else {
        if (timed)
            e->tlive[slot].on = 0;
        e->live[slot] = live != 0;
        e->dropping[slot] = 0;
    }
    push_item(e, it);
    return LE_OK;
}

int le_se_set_source(le_se *e, int slot, int live, const char *path, int repeat, int64_t begin_ms,
                     int64_t end_ms)
{
    return set_source(e, slot, live, path, repeat, begin_ms, end_ms, 0, 0);
}

int le_se_set_source_at(le_se *e, int slot, int live, const char *path, int repeat, int64_t begin_ms,
                        int64_t end_ms, int64_t at_ms)
{
    return set_source(e, slot, live, path, repeat, begin_ms, end_ms, 1, at_ms);
}

void le_se_source_reset(le_se *e, int slot)
{
    if (!e || e->dying || slot < 0 || slot >= LE_SE_SLOTS)
        return;
    live_switch(e, slot);
    if (!e->live[slot])
        return;
    se_item *it = le_xcalloc(1, sizeof(*it));
    it->kind = SE_RESET;
    it->slot = slot;
    it->arr_ms = clock_now(e);
    e->dropping[slot] = 0;
    push_item(e, it);
}

int le_se_feed(le_se *e, int slot, const le_pkt *p)
{
    if (!e || e->dying || slot < 0 || slot >= LE_SE_SLOTS || !p)
        return LE_EINVAL;
    live_switch(e, slot);
    if (!e->live[slot])
        return LE_EINVAL;
    if (p->type != LE_PKT_VIDEO && p->type != LE_PKT_AUDIO)
        return LE_OK;
    int video = p->type == LE_PKT_VIDEO;
    int seq = (p->flags & LE_PKT_SEQHDR) != 0, key = (p->flags & LE_PKT_KEY) != 0;
    pthread_mutex_lock(&e->mu);
    int full = e->q_bytes + p->len > e->cfg.in_max_bytes;
    int drop;
    if (seq && e->q_bytes + p->len <= e->cfg.in_max_bytes + SEQ_MARGIN) {
        drop = 0;
    } else if (video) {
        if (e->dropping[slot] && key && !full)
            e->dropping[slot] = 0;
        if (full)
            e->dropping[slot] = 1;
        drop = e->dropping[slot];
    } else {
        drop = full;
    }
    if (drop) {
        e->in_dropped++;
        size_t qb = e->q_bytes;
        pthread_mutex_unlock(&e->mu);
        e->drops_since_log++;
        uint64_t now = le_mono_ms();
        if (!e->last_drop_log || now - e->last_drop_log >= LOG_EVERY_MS) {
            le_warn(MOD, "%s: overloaded, input queue full (%zu bytes): %llu bodies dropped since last report, "
                    "video of slot %d resumes at its next keyframe", e->name, qb,
                    (unsigned long long)e->drops_since_log, slot);
            e->last_drop_log = now;
            e->drops_since_log = 0;
        }
        return LE_ETOOBIG;
    }
    se_item *it = le_xmalloc(sizeof(*it) + p->len);
    memset(it, 0, sizeof(*it));
    it->kind = SE_FEED;
    it->slot = slot;
    it->type = p->type;
    it->flags = (uint8_t)(p->flags & (LE_PKT_KEY | LE_PKT_SEQHDR));
    it->arr_ms = clock_now(e);
    it->ts = p->ts;
    it->len = p->len;
    memcpy(it->data, p->data, p->len);
    enqueue(e, it, p->len);
    pthread_mutex_unlock(&e->mu);
    return LE_OK;
}

int le_se_set_delay(le_se *e, int slot, int video_ms, int audio_ms)
{
    if (!e || e->dying || slot < 0 || slot >= LE_SE_SLOTS || video_ms < 0 || audio_ms < 0 ||
        video_ms > LE_SE_MAX_DELAY_MS || audio_ms > LE_SE_MAX_DELAY_MS)
        return LE_EINVAL;
    if (e->delay_set[slot][0] == video_ms && e->delay_set[slot][1] == audio_ms)
        return LE_OK;
    e->delay_set[slot][0] = video_ms;
    e->delay_set[slot][1] = audio_ms;
    se_item *it = le_xcalloc(1, sizeof(*it));
    it->kind = SE_DELAY;
    it->slot = slot;
    it->begin_ms = video_ms;
    it->end_ms = audio_ms;
    push_item(e, it);
    return LE_OK;
}

void le_se_scene_copy_free(se_scene_copy *c)
{
    if (!c)
        return;
    for (int i = 0; i < LE_SG_MAX_COMPONENTS; i++)
        for (int k = 0; k < 4; k++)
            free(c->strs[i][k]);
    free(c->desc);
    free(c);
}

static const char *dup_str(se_scene_copy *c, int i, int k, const char *s)
{
    if (!s)
        return NULL;
    c->strs[i][k] = le_xstrdup(s);
    return c->strs[i][k];
}

static int set_scene(le_se *e, int idx, const le_se_scene *s, int timed, int64_t at_ms)
{
    if (!e || e->dying || idx < 0 || idx >= LE_SE_MAX_SCENES || !s)
        return LE_EINVAL;
    const le_sg_scene *pic = &s->pic;
    if (pic->ninputs < 1 || pic->ninputs > LE_SE_SLOTS || pic->naudio_inputs < 0 ||
        pic->naudio_inputs > LE_SE_SLOTS || pic->nimages < 0 || pic->nimages > LE_SG_MAX_IMAGES ||
        s->nout < 1 || s->nout > LE_SE_MAX_OUT || s->out[0].width != pic->width ||
        s->out[0].height != pic->height)
        return LE_EINVAL;
    for (int o = 0; o < s->nout; o++) {
        const le_se_out *x = &s->out[o];
        if (x->width < 16 || x->height < 16 || x->width > LE_SG_MAX_DIM || x->height > LE_SG_MAX_DIM ||
            (x->width & 1) || (x->height & 1) || x->bitrate_kbps < 1 || x->bitrate_kbps > 100000)
            return LE_EINVAL;
    }
    for (int k = 0; k < pic->nimages; k++)
        if (!memchr(s->images[k], 0, LE_SE_PATH_MAX))
            return LE_EINVAL;
    char *desc = le_xmalloc(LE_SG_GRAPH_MAX);
    int rc = le_sg_build(pic, desc, LE_SG_GRAPH_MAX);
    if (rc != 0) {
        free(desc);
        return rc == LE_ETOOBIG ? LE_ETOOBIG : LE_EINVAL;
    }
    se_scene_copy *c = le_xcalloc(1, sizeof(*c));
    c->s = *s;
    c->desc = le_xstrdup(desc);
    free(desc);
    for (int i = 0; i < pic->ncomponents && i < LE_SG_MAX_COMPONENTS; i++) {
        le_sg_component *k = &c->s.pic.comps[i];
        k->text = dup_str(c, i, 0, k->text);
        k->color = dup_str(c, i, 1, k->color);
        k->font_name = dup_str(c, i, 2, k->font_name);
        k->border_color = dup_str(c, i, 3, k->border_color);
    }
    se_item *it = le_xcalloc(1, sizeof(*it));
    it->kind = SE_SCENE;
    it->slot = idx;
    it->scene = c;
    it->timed = timed;
    it->at_ms = at_ms < 0 ? 0 : at_ms;
    push_item(e, it);
    return LE_OK;
}

int le_se_set_scene(le_se *e, int idx, const le_se_scene *s)
{
    return set_scene(e, idx, s, 0, 0);
}

int le_se_set_scene_at(le_se *e, int idx, const le_se_scene *s, int64_t at_ms)
{
    return set_scene(e, idx, s, 1, at_ms);
}

int64_t le_se_clock_of(le_se *e, int64_t unix_ms)
{
    return unix_ms - e->epoch_ms;
}

static int file_cmd(le_se *e, int kind, int slot, int64_t offset_ms, int paused)
{
    if (!e || e->dying || slot < 0 || slot >= LE_SE_SLOTS || offset_ms < 0)
        return LE_EINVAL;
    se_item *it = le_xcalloc(1, sizeof(*it));
    it->kind = kind;
    it->slot = slot;
    it->begin_ms = offset_ms;
    it->live = paused != 0;
    push_item(e, it);
    return LE_OK;
}

int le_se_seek(le_se *e, int slot, int64_t offset_ms)
{
    return file_cmd(e, SE_SEEK, slot, offset_ms, 0);
}

int le_se_pause(le_se *e, int slot, int paused)
{
    return file_cmd(e, SE_PAUSE, slot, 0, paused);
}

int le_se_slot_stats_get(le_se *e, int slot, le_se_slot_stats *out)
{
    if (!e || slot < 0 || slot >= LE_SE_SLOTS || !out)
        return LE_EINVAL;
    pthread_mutex_lock(&e->mu);
    *out = e->slot_sh[slot];
    pthread_mutex_unlock(&e->mu);
    return LE_OK;
}

void le_se_get_stats(le_se *e, le_se_stats *st)
{
    pthread_mutex_lock(&e->mu);
    *st = e->sh;
    pthread_mutex_unlock(&e->mu);
    st->in_dropped = e->in_dropped;
    st->clock_ms = clock_now(e);
    st->epoch_ms = e->epoch_ms;
}

static void free_item(se_item *it)
{
    if (it->kind == SE_SCENE)
        le_se_scene_copy_free(it->scene);
    free(it->path);
    free(it);
}

static void free_outq(se_outq *o)
{
    while (o) {
        se_outq *n = o->next;
        le_pkt_unref(o->p);     /* NULL for an event */
        free(o);
        o = n;
    }
}

static void dl_clear(le_se *e, int slot)
{
    for (int k = 0; k < 2; k++) {
        for (se_item *it = e->dl[slot][k].head; it;) {
            se_item *n = it->next;
            if (it->kind == SE_FEED)
                e->dl_bytes -= it->len;
            free_item(it);
            it = n;
        }
        e->dl[slot][k].head = e->dl[slot][k].tail = NULL;
    }
    e->dl_dropping[slot] = 0;
}

/* Nothing runs or refers to e any more. */
static void se_destroy(le_se *e)
{
    for (int i = 0; i < LE_SE_SLOTS; i++)
        dl_clear(e, i);
    for (se_item *it = e->pend; it;) {
        se_item *n = it->next;
        free_item(it);
        it = n;
    }
    le_se_render_free(e);
    for (se_item *it = e->qhead; it;) {
        se_item *n = it->next;
        free_item(it);
        it = n;
    }
    free_outq(e->ohead);
    free_outq(e->phead);
    pthread_mutex_destroy(&e->mu);
    free(e->name);
    free(e->preset);
    free(e);
}

static void se_stop(le_se *e)
{
    e->dying = 1;
    if (le_pipe_task_stop(&e->task))
        se_destroy(e);
}

void le_se_free(le_se *e)
{
    if (!e || e->dying)
        return;
    if (e->timer) {
        event_free(e->timer);
        e->timer = NULL;
    }
    if (e->in_reap) {           /* from its own on_pkt: after the batch */
        e->free_later = 1;
        return;
    }
    se_stop(e);
}

static void se_reap(le_pipe_task *t)
{
    le_se *e = (le_se *)t;
    if (e->dying) {
        if (le_pipe_task_dead(t))
            se_destroy(e);
        return;
    }
    pthread_mutex_lock(&e->mu);
    se_outq *o = e->ohead;
    e->ohead = e->otail = NULL;
    e->o_pkts = 0;
    pthread_mutex_unlock(&e->mu);
    e->in_reap = 1;
    while (o) {
        se_outq *n = o->next;
        if (!o->p) {
            if (!e->free_later && e->cfg.on_event)
                e->cfg.on_event(e->cfg.ud, o->scene, o->out, o->ev_ms);
        } else if (!e->free_later) {
            e->cfg.on_pkt(e->cfg.ud, o->scene, o->out, o->p);
        } else {
            le_pkt_unref(o->p);
        }
        free(o);
        o = n;
    }
    e->in_reap = 0;
    if (e->free_later)
        se_stop(e);
}

/* ---- worker side ---- */

void le_se_emit(le_se *e, int scene, int out, le_pkt *p)
{
    se_outq *o = le_xmalloc(sizeof(*o));
    o->next = NULL;
    o->ev_ms = 0;
    o->scene = scene;
    o->out = out;
    o->p = p;
    if (e->ptail)
        e->ptail->next = o;
    else
        e->phead = o;
    e->ptail = o;
    e->p_pkts++;
}

void le_se_emit_event(le_se *e, int slot, int ev, int64_t clock_ms)
{
    se_outq *o = le_xcalloc(1, sizeof(*o));
    o->scene = slot;
    o->out = ev;
    o->ev_ms = clock_ms;
    if (e->ptail)
        e->ptail->next = o;
    else
        e->phead = o;
    e->ptail = o;
}

static void hand_back(le_se *e)
{
    pthread_mutex_lock(&e->mu);
    if (e->phead) {
        if (e->otail)
            e->otail->next = e->phead;
        else
            e->ohead = e->phead;
        e->otail = e->ptail;
        e->o_pkts += e->p_pkts;
    }
    e->sh = e->st;
    memcpy(e->slot_sh, e->slot_st, sizeof(e->slot_sh));
    pthread_mutex_unlock(&e->mu);
    int any = e->phead != NULL;
    e->phead = e->ptail = NULL;
    e->p_pkts = 0;
    if (any)
        le_pipe_pool_post(&e->task);
}

static void skip_ticks(le_se *e, int64_t n, const char *why)
{
    e->st.dropped_ticks += (uint64_t)n;
    le_se_skip(e, e->next_tick, n);
    e->next_tick += n;
    e->lag_since_log += (uint64_t)n;
    uint64_t now = le_mono_ms();
    if (!e->last_lag_log || now - e->last_lag_log >= LOG_EVERY_MS) {
        le_warn(MOD, "%s: %s: %llu ticks skipped since last report to keep real time", e->name, why,
                (unsigned long long)e->lag_since_log);
        e->last_lag_log = now;
        e->lag_since_log = 0;
    }
}

/* ---- worker side: the delay lines ---- */

static void dl_push(le_se *e, int slot, int k, se_item *it)
{
    it->next = NULL;
    if (e->dl[slot][k].tail)
        e->dl[slot][k].tail->next = it;
    else
        e->dl[slot][k].head = it;
    e->dl[slot][k].tail = it;
}

/* A live body or a reset into its slot's line (the bound applied), or
 * applied at once when its line is empty and not delayed. 1: kept. */
static int dl_take(le_se *e, se_item *it)
{
    int slot = it->slot;
    if (it->kind == SE_RESET) {
        int k = e->dl_ms[slot][0] <= e->dl_ms[slot][1] ? 0 : 1;
        if (!e->dl[slot][0].head && !e->dl[slot][1].head)
            return 0;
        dl_push(e, slot, k, it);
        return 1;
    }
    int k = it->type == LE_PKT_VIDEO ? 0 : 1;
    if (!e->dl_ms[slot][k] && !e->dl[slot][k].head)
        return 0;
    int seq = (it->flags & LE_PKT_SEQHDR) != 0, key = (it->flags & LE_PKT_KEY) != 0;
    size_t max = e->cfg.delay_max_bytes;
    int full = e->dl_bytes + it->len > max;
    int drop;
    if (seq && e->dl_bytes + it->len <= max + SEQ_MARGIN) {
        drop = 0;
    } else if (k == 0) {
        if (e->dl_dropping[slot] && key && !full)
            e->dl_dropping[slot] = 0;
        if (full)
            e->dl_dropping[slot] = 1;
        drop = e->dl_dropping[slot];
    } else {
        drop = full;
    }
    if (drop) {
        e->st.delay_dropped++;
        e->dl_since_log++;
        uint64_t now = le_mono_ms();
        if (!e->last_dl_log || now - e->last_dl_log >= LOG_EVERY_MS) {
            le_warn(MOD, "%s: delay lines full (%zu bytes): %llu bodies dropped since last report, "
                    "video of slot RV%02d resumes at its next keyframe", e->name, e->dl_bytes,
                    (unsigned long long)e->dl_since_log, slot + 1);
            e->last_dl_log = now;
            e->dl_since_log = 0;
        }
        free_item(it);
        return 1;
    }
    e->dl_bytes += it->len;
    dl_push(e, slot, k, it);
    return 1;
}

/* Bodies whose time has come, per slot in the order of their due time. */
static void dl_release(le_se *e, int64_t now_ms)
{
    for (int i = 0; i < LE_SE_SLOTS; i++) {
        for (;;) {
            int best = -1;
            int64_t due = 0;
            for (int k = 0; k < 2; k++) {
                se_item *h = e->dl[i][k].head;
                if (!h || h->arr_ms + e->dl_ms[i][k] > now_ms)
                    continue;
                if (best < 0 || h->arr_ms + e->dl_ms[i][k] < due) {
                    best = k;
                    due = h->arr_ms + e->dl_ms[i][k];
                }
            }
            if (best < 0)
                break;
            se_item *h = e->dl[i][best].head;
            e->dl[i][best].head = h->next;
            if (!h->next)
                e->dl[i][best].tail = NULL;
            if (h->kind == SE_FEED)
                e->dl_bytes -= h->len;
            le_se_apply(e, h);
            free_item(h);
        }
    }
}

/* ---- worker side: timed commands ---- */

static void apply_cmd(le_se *e, se_item *q);

/* A timed command waiting for the same scene (slot) is replaced, unless
 * its time has already come by the clock (a worker running behind it has
 * not rendered that tick yet): that one keeps its tick, and 1 is returned
 * so the new one waits behind it rather than going first. Applying it now
 * would show it on a tick before its time. */
static int pend_drop(le_se *e, int kind, int slot)
{
    int64_t now_ms = clock_now(e);
    int kept = 0;
    for (se_item **pp = &e->pend; *pp;) {
        se_item *x = *pp;
        if (x->kind != kind || x->slot != slot) {
            pp = &x->next;
        } else if (x->at_ms <= now_ms) {
            kept = 1;
            pp = &x->next;
        } else {
            *pp = x->next;
            if (kind == SE_SOURCE && !kept)   /* (a kept one, earlier in time, owns the stage) */
                le_se_stage(e, slot, NULL);
            free_item(x);
        }
    }
    return kept;
}

/* In time order; equal times keep the call order. */
static void pend_add(le_se *e, se_item *it)
{
    se_item **pp = &e->pend;
    while (*pp && (*pp)->at_ms <= it->at_ms)
        pp = &(*pp)->next;
    it->next = *pp;
    *pp = it;
}

static void apply_cmd(le_se *e, se_item *q)
{
    if (q->kind == SE_SOURCE)
        dl_clear(e, q->slot);
    le_se_apply(e, q);
    free_item(q);
}

/* Before tick `tick`: the timed commands whose time has come. */
static void pend_run(le_se *e, int64_t tick)
{
    int64_t now = le_se_tick_ms(e, tick);
    while (e->pend && e->pend->at_ms <= now) {
        se_item *q = e->pend;
        e->pend = q->next;
        apply_cmd(e, q);
    }
}

/* One queued item on the worker: delay commands and the delay lines here,
 * timed commands to the waiting list (or at once when their tick is the
 * next one), the rest to engine_render.c. */
static void route(le_se *e, se_item *q)
{
    if (q->kind == SE_DELAY) {
        e->dl_ms[q->slot][0] = q->begin_ms;
        e->dl_ms[q->slot][1] = q->end_ms;
    } else if (q->kind == SE_FEED || q->kind == SE_RESET) {
        if (dl_take(e, q))
            return;
        le_se_apply(e, q);
    } else if (q->timed) {
        int behind = pend_drop(e, q->kind, q->slot);
        if (!behind && q->at_ms <= le_se_tick_ms(e, e->next_tick)) {
            q->timed = 0;       /* its tick is the next one: as untimed */
            apply_cmd(e, q);
            return;
        }
        /* the one still waiting has the slot's made-ahead source; this one
         * makes its own when it is applied */
        if (q->kind == SE_SOURCE && !behind)
            le_se_stage(e, q->slot, q);
        pend_add(e, q);
        return;
    } else {
        apply_cmd(e, q);
        return;
    }
    free_item(q);
}

/* One slice: the queued bodies and commands, then the ticks that are due
 * (at most TICKS_PER_SLICE; it kicks itself for the rest). */
static void se_work(le_pipe_task *t)
{
    le_se *e = (le_se *)t;
    pthread_mutex_lock(&e->mu);
    se_item *q = e->qhead;
    e->qhead = e->qtail = NULL;
    e->q_bytes = 0;
    pthread_mutex_unlock(&e->mu);
    while (q) {
        se_item *n = q->next;
        route(e, q);
        q = n;
    }
    int64_t fps = e->cfg.fps;
    uint64_t el = mono_us() - e->start_us;
    dl_release(e, (int64_t)(el / 1000u));
    int64_t due = (int64_t)(el * (uint64_t)fps / 1000000u) + 1;    /* ticks 0..due-1 are due */
    int64_t lag_ticks = (int64_t)LE_SE_MAX_LAG_MS * fps / 1000;
    if (due - 1 - e->next_tick > lag_ticks)
        skip_ticks(e, due - 1 - e->next_tick, "behind the clock");
    for (int n = 0; e->next_tick < due; n++) {
        if (n == TICKS_PER_SLICE) {
            le_pipe_pool_kick(&e->task);
            break;
        }
        pthread_mutex_lock(&e->mu);
        int full = e->o_pkts + e->p_pkts >= LE_SE_OUT_MAX_PKTS;
        pthread_mutex_unlock(&e->mu);
        if (full) {
            skip_ticks(e, 1, "output queue full");
            continue;
        }
        pend_run(e, e->next_tick);
        le_se_tick(e, e->next_tick);
        e->st.ticks++;
        e->next_tick++;
    }
    e->st.clock_ms = le_se_tick_ms(e, e->next_tick);
    hand_back(e);
}
