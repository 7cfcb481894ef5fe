/* Running casters: leases, the events channel and one studio engine per
 * caster this node holds (studio/caster.h, docs/STUDIO.md "Running a
 * caster"). The slots' live sources (taps and ingests) are in
 * caster_src.c. */
#include "studio/caster.h"
#include "studio/caster_int.h"

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "control/domains.h"
#include "control/publish.h"
#include "core/err.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/util.h"
#include "media/stream.h"
#include "node.h"
#include "record/recorder.h"
#include "store/store.h"
#include "studio/carousel.h"
#include "studio/scene.h"
#include "transcode/template.h"

#define MOD "caster"
#define TICK_MS 1000   /* le_caster_tick runs every second (node.c) */
#define LEASE_MARGIN_MS 1000
#define SLOW_LOG_MS 10000

le_cst_rt CR;

/* ---- small helpers ---- */

static const le_lease_ops lease_ops;
static const le_lease_opts lease_opts;

/* Frees an unlinked c once no reply is outstanding (its loads', its
 * lease's). */
static void cur_free(le_cst_run *c)
{
    if (c->cur) {
        le_scn_caster_free(c->cur);
        free(c->cur);
        c->cur = NULL;
    }
}

static void reap(le_cst_run *c)
{
    if (c->dead && c->pending == 0 && !le_lease_busy(&c->lease)) {
        cur_free(c);
        free(c);
    }
}

static void caster_unref(le_cst_run *c)
{
    c->pending--;
    reap(c);
}

void le_cst_hash_split(const redisReply *rep, le_cst_hash *h)
{
    size_t n = rep->elements / 2;
    h->f = le_xcalloc(n + 1, sizeof(*h->f));
    h->v = le_xcalloc(n + 1, sizeof(*h->v));
    h->fl = le_xcalloc(n + 1, sizeof(*h->fl));
    h->vl = le_xcalloc(n + 1, sizeof(*h->vl));
    h->n = 0;
    for (size_t i = 0; i + 1 < rep->elements; i += 2) {
        const redisReply *a = rep->element[i], *b = rep->element[i + 1];
        if (a->type != REDIS_REPLY_STRING || b->type != REDIS_REPLY_STRING)
            continue;
        h->f[h->n] = a->str;
        h->fl[h->n] = a->len;
        h->v[h->n] = b->str;
        h->vl[h->n++] = b->len;
    }
}

void le_cst_hash_free(le_cst_hash *h)
{
    free(h->f);
    free(h->v);
    free(h->fl);
    free(h->vl);
    memset(h, 0, sizeof(*h));
}

static le_cst_run *find(const char *id)
{
    for (le_cst_run *c = CR.list; c; c = c->next)
        if (strcmp(c->id, id) == 0)
            return c;
    return NULL;
}

static le_cst_run *get(const char *id)
{
    le_cst_run *c = find(id);
    if (c)
        return c;
    c = le_xcalloc(1, sizeof(*c));
    snprintf(c->id, sizeof(c->id), "%s", id);
    char lkey[LE_CST_KEY_MAX];
    le_store_key(lkey, sizeof(lkey), "caster:lease:%s", id);
    le_lease_init(&c->lease, lkey, &lease_opts, &lease_ops, c);
    le_store_key(c->key, sizeof(c->key), "caster:%s", id);
    c->next = CR.list;
    CR.list = c;
    return c;
}

static void unlink_caster(le_cst_run *c)
{
    for (le_cst_run **pp = &CR.list; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    c->dead = 1;
    c->next = NULL;
    reap(c);
}

static size_t running_count(void)
{
    size_t n = 0;
    for (le_cst_run *c = CR.list; c; c = c->next)
        n += le_lease_holding(&c->lease) || le_lease_claiming(&c->lease);
    return n;
}

/* ---- outputs: publishes of the scenes (studio/output.h) ---- */

/* An output body into its publish: the reference is ours. */
static void deliver(le_cst_run *c, int scene, int out, le_pkt *p)
{
    if (scene < 0 || scene >= LE_CST_SCENES || out < 0 || out >= c->sc[scene].nout || !c->sc[scene].running) {
        le_pkt_unref(p);
        return;
    }
    if (le_so_deliver(&c->sc[scene].out[out], p))
        CR.st.frames_out++;
}

/* ---- the broadcast delay (SetCasterConfig Delay) ---- */

static le_cst_dq *dq_pop(le_cst_run *c)
{
    le_cst_dq *d = c->dq_head;
    c->dq_head = d->next;
    if (!c->dq_head)
        c->dq_tail = NULL;
    c->dq_bytes -= d->p->len;
    return d;
}

static int is_key(const le_pkt *p)
{
    return p->type == LE_PKT_VIDEO && (p->flags & LE_PKT_KEY) && !(p->flags & LE_PKT_SEQHDR);
}

/* PGM's bodies whose time has come, in order. */
static void dq_release(le_cst_run *c, uint64_t now)
{
    while (c->dq_head && c->dq_head->due <= now) {
        le_cst_dq *d = dq_pop(c);
        le_pkt *p = d->p;
        int o = d->out;
        free(d);
        if (p->type == LE_PKT_VIDEO && !(p->flags & LE_PKT_SEQHDR) && o < LE_SE_MAX_OUT && c->dq_needkey[o]) {
            if (!is_key(p)) {
                le_pkt_unref(p);
                continue;
            }
            c->dq_needkey[o] = 0;
        }
        deliver(c, LE_CST_PGM, o, p);
    }
}

/* Over the bound: the oldest GOP goes (sequence headers are kept as the
 * outputs' headers), every output's video then resumes at a keyframe. */
static void dq_drop_gop(le_cst_run *c)
{
    le_cst_scene *s = &c->sc[LE_CST_PGM];
    uint64_t n = 0;
    do {
        le_cst_dq *d = dq_pop(c);
        if ((d->p->flags & LE_PKT_SEQHDR) && d->out < LE_SE_MAX_OUT)
            le_so_keep_header(&s->out[d->out], d->p);
        le_pkt_unref(d->p);
        free(d);
        n++;
    } while (c->dq_head && !is_key(c->dq_head->p));
    for (int k = 0; k < LE_SE_MAX_OUT; k++)
        c->dq_needkey[k] = 1;
    CR.st.delay_dropped += n;
    c->dq_since_log += n;
    uint64_t now = le_mono_ms();
    if (!c->dq_logged_ms || now >= c->dq_logged_ms + SLOW_LOG_MS) {
        le_warn(MOD, "%s: broadcast delay queue over %u bytes: %" PRIu64 " PGM bodies (oldest GOPs) dropped since "
                "the last report", c->id, LE_CST_DQ_MAX_BYTES, c->dq_since_log);
        c->dq_logged_ms = now;
        c->dq_since_log = 0;
    }
}

static void dq_free(le_cst_run *c)
{
    while (c->dq_head) {
        le_cst_dq *d = dq_pop(c);
        le_pkt_unref(d->p);
        free(d);
    }
    memset(c->dq_needkey, 0, sizeof(c->dq_needkey));
}

/* The engine's output, on the loop: the reference is ours. PGM's bodies
 * wait bdelay_ms in the delay queue (in order behind what waits there). */
static void on_pkt(void *ud, int scene, int out, le_pkt *p)
{
    le_cst_run *c = ud;
    if (!p)
        return;
    uint64_t now = le_mono_ms();
    dq_release(c, now);
    if (scene != LE_CST_PGM || out < 0 || out >= LE_SE_MAX_OUT || (!c->bdelay_ms && !c->dq_head)) {
        deliver(c, scene, out, p);
        return;
    }
    while (c->dq_head && c->dq_bytes + p->len > LE_CST_DQ_MAX_BYTES)
        dq_drop_gop(c);
    le_cst_dq *d = le_xmalloc(sizeof(*d));
    d->next = NULL;
    d->out = out;
    d->due = now + c->bdelay_ms;
    d->p = p;
    if (c->dq_tail)
        c->dq_tail->next = d;
    else
        c->dq_head = d;
    c->dq_tail = d;
    c->dq_bytes += p->len;
    dq_release(c, now);
}

/* The engine's events, on the loop (engine.h LE_SE_EV_*). */
static void on_event(void *ud, int slot, int ev, int64_t clock_ms)
{
    le_cst_run *c = ud;
    le_cst_prog_event(c, slot, ev, clock_ms);
}

/* ---- scenes ---- */

static int even(int v) { return v & ~1; }

/* The output sizes of a scene: PGM at the CasterTemplate's size plus one
 * output per LiveTemplate; PVW at most lp_sd. */
static void scene_outputs(const le_scn_caster *sc, int pgm, int fps, int *w, int *h, le_se_out *out,
                          char names[][16], int *nout)
{
    const le_jv *tc = le_jv_get(sc->config, "TranscodeConfig");
    const char *ct = le_jv_get_str(tc, "CasterTemplate");
    if (!ct || !*ct)
        ct = le_jv_get_str(sc->info, "CasterTemplate");
    if (!ct || le_sg_template_size(ct, w, h) != LE_OK) {
        *w = 854;
        *h = 480;
    }
    if (!pgm && (int64_t)*w * *h > 854 * 480) {
        if (*w >= *h) {
            *w = 854;
            *h = 480;
        } else {
            *w = 480;
            *h = 854;
        }
    }
    int n = 0;
    /* A bitrate for x264 veryfast at this size: about 0.07 bit per pixel. */
    int64_t kb = (int64_t)*w * *h * fps * 7 / 100000;
    out[n].width = *w;
    out[n].height = *h;
    out[n].bitrate_kbps = kb < 300 ? 300 : kb > 6000 ? 6000 : (int)kb;
    names[n][0] = '\0';
    n++;
    const le_jv *lt = tc ? le_jv_get(tc, "LiveTemplate") : NULL;
    if (pgm && lt && lt->type == LE_JV_ARR) {
        for (const le_jv *t = lt->first; t && n < LE_SE_MAX_OUT; t = t->next) {
            if (t->type != LE_JV_STR)
                continue;
            const char *nm = t->s;
            if (strncmp(nm, "daobo-", 6) == 0)
                nm += 6;
            le_trans_tpl tpl;
            le_trans_out to;
            if (le_trans_std(nm, &tpl) != LE_OK || le_trans_output(&tpl, *w, *h, fps, &to) != LE_OK)
                continue;
            int dup = 0;
            for (int k = 1; k < n; k++)
                dup |= strcmp(names[k], t->s) == 0;
            if (dup || strlen(t->s) >= 16)
                continue;
            out[n].width = even(to.width);
            out[n].height = even(to.height);
            out[n].bitrate_kbps = to.kbps > 0 ? to.kbps : 500;
            snprintf(names[n], 16, "%s", t->s);
            n++;
        }
    }
    *nout = n;
}

/* Scene idx (0 PVW, 1 PGM) of c->cur: what the engine should show and
 * which streams it publishes; applied when it differs from what runs
 * (caster_int.h). */
void le_cst_scene_apply(le_cst_run *c, int idx, int64_t at_unix_ms)
{
    const le_scn_caster *sc = c->cur;
    if (!sc || !c->eng || idx < 0 || idx >= LE_CST_SCENES)
        return;
    int64_t now_unix = le_wall_ms();
    /* A boundary goes to the engine as a timed change even when this
     * reactor reads it late: a worker behind the clock still applies it on
     * its own tick, never on an earlier one. Only a future one is never
     * skipped as equal to the last change, and sets no delays yet. */
    int timed = at_unix_ms > 0, future = at_unix_ms > now_unix;
    le_cst_scene *s = &c->sc[idx];
    const char *sid = idx == LE_CST_PGM ? sc->pgm : sc->pvw;
    /* PGM as the programme has it at that time (NULL: the stored scene). */
    le_jv *ov = idx == LE_CST_PGM && *sid ? le_cst_prog_pgm(c, sc, timed ? at_unix_ms : now_unix) : NULL;
    le_se_scene *ns = le_xcalloc(1, sizeof(*ns));
    char (*images)[LE_SCN_PATH_MAX] = le_xcalloc(LE_SG_MAX_IMAGES, LE_SCN_PATH_MAX);
    char names[LE_SE_MAX_OUT][16];
    char *desc = le_xcalloc(1, LE_SG_GRAPH_MAX);
    int w = 0, h = 0, nout = 0;
    const le_jv *sj = ov ? ov : *sid ? le_jv_get(sc->scenes, sid) : NULL;
    int64_t st = 0;
    int want = sj != NULL;
    if (want && idx == LE_CST_PVW)
        want = le_jv_get_int(sj, "Status", &st) == LE_OK && st == 1;
    scene_outputs(sc, idx == LE_CST_PGM, c->fps, &w, &h, ns->out, names, &nout);
    ns->nout = nout;
    if (want) {
        le_cst_err e;
        memset(&e, 0, sizeof(e));
        int rc = le_scn_picture_of(sc, sj, w, h, CR.o.material_dir, &ns->pic, images, &e);
        if (rc != LE_OK) {
            if (strcmp(s->err, e.code) != 0)
                le_warn(MOD, "%s: scene %s not shown (%s: %s)", c->id, sid, e.code, e.msg);
            snprintf(s->err, sizeof(s->err), "%s", e.code);
            want = 0;
        } else {
            s->err[0] = '\0';
            for (int k = 0; k < ns->pic.nimages && k < LE_SG_MAX_IMAGES; k++)
                snprintf(ns->images[k], sizeof(ns->images[k]), "%s", images[k]);
            if (le_sg_build(&ns->pic, desc, LE_SG_GRAPH_MAX) != LE_OK)
                desc[0] = '\0';
        }
    }
    if (!want) {   /* a stopped scene: an empty picture of its size */
        memset(&ns->pic, 0, sizeof(ns->pic));
        ns->pic.width = w;
        ns->pic.height = h;
        ns->pic.ninputs = ns->pic.naudio_inputs = LE_SG_MAX_INPUTS;
    }
    ns->running = want;
    /* What identifies the scene's state: the graph description (every
     * position, size, text and volume is in it), the image files, the
     * outputs and the scene id. */
    le_buf key = { 0 };
    le_buf_printf(&key, "%d|%s|%s|%s|", want, sid, c->domain, desc);
    for (int k = 0; want && k < ns->pic.nimages; k++)
        le_buf_printf(&key, "%s|", ns->images[k]);
    for (int k = 0; k < nout; k++)
        le_buf_printf(&key, "%dx%d@%d:%s|", ns->out[k].width, ns->out[k].height, ns->out[k].bitrate_kbps, names[k]);
    int same = !future && s->key && strlen(s->key) == key.len && memcmp(s->key, key.p, key.len) == 0;
    if (!same) {
        /* Stream names of the outputs, and the domain: outputs that change
         * name, domain or size end their publish. */
        char dom[LE_CST_DOMAIN_MAX];
        snprintf(dom, sizeof(dom), "%s", c->domain);
        for (int k = 0; k < LE_SE_MAX_OUT; k++) {
            le_cst_out *o = &s->out[k];
            char nm[LE_CST_STREAM_MAX] = "";
            if (want && k < nout)
                le_scn_stream_name(sid, names[k][0] ? names[k] : NULL, nm, sizeof(nm));
            int keep = want && k < nout && strcmp(nm, o->name) == 0 && strcasecmp(dom, o->domain) == 0 &&
                       o->w == ns->out[k].width && o->h == ns->out[k].height;
            if (!keep) {
                le_so_reset(o, want ? "scene outputs changed" : "scene stopped");
                snprintf(o->app, sizeof(o->app), "caster");
                snprintf(o->owner, sizeof(o->owner), "caster://%s", c->id);
                snprintf(o->name, sizeof(o->name), "%s", nm);
                snprintf(o->domain, sizeof(o->domain), "%s", dom);
                o->w = k < nout ? ns->out[k].width : 0;
                o->h = k < nout ? ns->out[k].height : 0;
            }
            o->kbps = k < nout ? ns->out[k].bitrate_kbps : 0;
            o->fps = c->fps;
        }
        s->running = want;
        s->nout = want ? nout : 0;
        int rc = timed ? le_se_set_scene_at(c->eng, idx, ns, le_se_clock_of(c->eng, at_unix_ms))
                       : le_se_set_scene(c->eng, idx, ns);
        if (rc != LE_OK) {
            le_warn(MOD, "%s: the engine refused scene %s (%s)", c->id, sid, le_strerror(rc));
            free(s->key);
            s->key = NULL;   /* tried again at the next read */
        } else {
            le_debug(MOD, "%s: scene %s %s applied", c->id, sid, idx == LE_CST_PGM ? "PGM" : "PVW");
            free(s->key);
            s->key = le_xstrndup((const char *)key.p, key.len);
        }
    }
    if (idx == LE_CST_PGM && !future) {
        /* FixedDelayDuration: each slot delayed as PGM's layers ask (PVW
         * shows the same delayed source). */
        int vd[LE_SG_MAX_INPUTS], ad[LE_SG_MAX_INPUTS];
        le_scn_delays_of(sc, sj, vd, ad);
        for (int i = 0; i < LE_SE_SLOTS; i++)
            le_se_set_delay(c->eng, i, vd[i], ad[i]);
    }
    le_jv_free(ov);
    le_buf_free(&key);
    free(desc);
    free(images);
    free(ns);
}

/* ---- the engine ---- */

static int engine_start(le_cst_run *c)
{
    le_se_cfg cfg;
    char name[LE_CST_ID_MAX + 8];
    memset(&cfg, 0, sizeof(cfg));
    snprintf(name, sizeof(name), "caster %s", c->id);
    c->fps = CR.o.fps;   /* a SIGHUP changes the casters started after it */
    cfg.fps = c->fps;
    cfg.stall_ms = CR.o.source_timeout_ms;
    cfg.name = name;
    cfg.on_pkt = on_pkt;
    cfg.on_event = on_event;
    cfg.ud = c;
    int rc = le_se_new(CR.base, CR.pool, &cfg, &c->eng);
    if (rc != LE_OK) {
        le_error(MOD, "%s: cannot start the studio engine (%s)", c->id, le_strerror(rc));
        c->eng = NULL;
        return rc;
    }
    c->started_ms = le_mono_ms();
    c->slow_logged_ms = 0;
    c->slow_dropped = 0;
    CR.st.started++;
    le_info(MOD, "%s: caster runs on this node (lease %s, %d fps)", c->id, le_lease_token(&c->lease), c->fps);
    return LE_OK;
}

static void engine_stop(le_cst_run *c, const char *reason)
{
    for (int i = 0; i < LE_CST_SCENES; i++) {
        le_cst_scene *s = &c->sc[i];
        for (int k = 0; k < LE_SE_MAX_OUT; k++) {
            le_so_reset(&s->out[k], reason);
            s->out[k].name[0] = '\0';
        }
        free(s->key);
        s->key = NULL;
        s->running = 0;
        s->nout = 0;
    }
    le_cst_prog_stop(c);
    le_cst_urgent_stop(c);
    le_cst_outputs_stop(c);
    le_cst_sources_stop(c);
    dq_free(c);
    cur_free(c);
    if (c->eng) {
        le_se_stats es;
        le_se_get_stats(c->eng, &es);
        CR.st.ticks += es.ticks;
        CR.st.dropped_ticks += es.dropped_ticks;
        CR.st.rebuilds += es.rebuilds;
        CR.st.commands += es.commands;
        CR.st.delay_dropped += es.delay_dropped;
        le_se_free(c->eng);
        c->eng = NULL;
        CR.st.stopped++;
        le_info(MOD, "%s: caster stops on this node (%s; %" PRIu64 " ticks, %" PRIu64 " dropped)", c->id, reason,
                es.ticks, es.dropped_ticks);
    }
}

/* ---- the lease ---- */

/* Stops c on this node and gives its lease back. */
static void drop(le_cst_run *c, const char *reason)
{
    engine_stop(c, reason);
    le_lease_release(&c->lease);
}

static void load(le_cst_run *c);

/* The lease's results (control/lease.h). */
static int lease_gone(void *ctx)
{
    le_cst_run *c = ctx;
    return c->dead || CR.stopped;
}

static void lease_won(void *ctx)
{
    le_cst_run *c = ctx;
    if (engine_start(c) != LE_OK) {
        drop(c, "engine failed");
        le_lease_defer(&c->lease, le_mono_ms() + 30000);   /* another node may do better */
    } else {
        load(c);   /* read it again: apply what it is now */
    }
}

static void lease_lost(void *ctx)
{
    le_cst_run *c = ctx;
    le_warn(MOD, "%s: the lease is held by another node", c->id);
    drop(c, "lease lost");
}

static void lease_reply(void *ctx)
{
    reap(ctx);
}

static const le_lease_ops lease_ops = {
    .gone = lease_gone, .won = lease_won, .lost = lease_lost, .reply = lease_reply,
};
static const le_lease_opts lease_opts = {
    .lease_ms = LE_CASTER_LEASE_MS, .renew_ms = LE_CASTER_RENEW_MS, .margin_ms = LEASE_MARGIN_MS, .tick_ms = TICK_MS,
};

/* ---- reading a caster ---- */

/* What the hash says now (the holder applies it; another node may claim).
 * 1 when c keeps sc as c->cur (the holder's engine runs). */
static int take(le_cst_run *c, le_scn_caster *sc, int exists)
{
    uint64_t now = le_mono_ms();
    c->status = exists ? sc->status : 0;
    c->seen_ms = now;
    if (!c->status) {
        if (le_lease_holding(&c->lease) || c->eng)
            drop(c, exists ? "StopCaster" : "caster deleted");
        return 0;
    }
    if (!le_lease_holding(&c->lease)) {
        if (running_count() + (size_t)le_carousel_running() < (size_t)CR.o.max_running)
            le_lease_claim(&c->lease, now);
        return 0;
    }
    if (!c->eng)
        return 0;
    /* The domain the outputs are published on. */
    const char *dn = le_jv_get_str(sc->config, "DomainName");
    if (!dn || !*dn)
        dn = le_node_conf()->default_domain;
    snprintf(c->domain, sizeof(c->domain), "%s", dn ? dn : "");
    /* Delay (s): PGM's outputs wait this long; a change applies to the
     * bodies made after it. */
    const le_jv *dj = le_jv_get(sc->config, "Delay");
    double dl = dj && dj->type == LE_JV_NUM ? dj->d : dj && dj->type == LE_JV_INT ? (double)dj->i : 0;
    if (dl < 0 || dl > LE_CST_DELAY_MAX)
        dl = 0;
    c->bdelay_ms = (uint64_t)(dl * 1000 + 0.5);
    cur_free(c);
    c->cur = sc;
    le_cst_sources_apply(c, sc);
    le_cst_scene_apply(c, LE_CST_PVW, 0);
    le_cst_scene_apply(c, LE_CST_PGM, 0);
    le_cst_prog_apply(c);
    le_cst_outputs_apply(c);
    return 1;
}

static void load_cb(redisReply *rep, void *arg)
{
    le_cst_run *c = arg;
    c->loading = 0;
    if (!c->dead && !CR.stopped && rep && rep->type == REDIS_REPLY_ARRAY) {
        le_cst_hash h;
        le_cst_hash_split(rep, &h);
        le_scn_caster *sc = le_xcalloc(1, sizeof(*sc));
        int bad = 0;
        if (h.n == 0) {
            take(c, sc, 0);
        } else if (le_scn_caster_load(c->id, h.f, h.fl, h.v, h.vl, h.n, sc, &bad) == LE_OK) {
            if (bad && !c->bad_logged)
                le_warn(MOD, "%s: %d stored objects do not parse; left out", c->id, bad);
            c->bad_logged = bad > 0;
            if (take(c, sc, 1))
                sc = NULL;   /* c->cur now */
            else
                le_scn_caster_free(sc);
        }
        free(sc);
        le_cst_hash_free(&h);
    }
    if (!c->dead && c->reload) {
        c->reload = 0;
        caster_unref(c);
        load(c);
        return;
    }
    caster_unref(c);
}

static void load(le_cst_run *c)
{
    if (c->loading) {
        c->reload = 1;   /* a change announced while a read runs */
        return;
    }
    if (!le_store_connected())
        return;
    if (le_store_cmd(load_cb, c, "HGETALL %s", c->key) == 0) {
        c->loading = 1;
        c->pending++;
    }
}

/* ---- the scan: every caster's status ---- */

typedef struct scan {
    int pending, failed;
    uint64_t gen;
} scan;

typedef struct sone {
    scan *s;
    char id[LE_CST_ID_MAX];
} sone;

static void scan_done(scan *s)
{
    if (--s->pending > 0)
        return;
    if (!s->failed && !CR.stopped && CR.up) {
        /* Casters no longer listed (deleted) stop. */
        for (le_cst_run *c = CR.list, *next; c; c = next) {
            next = c->next;
            if (c->gen != s->gen && !c->loading && !le_lease_claiming(&c->lease)) {
                drop(c, "caster deleted");
                if (!le_lease_releasing(&c->lease))
                    unlink_caster(c);
            }
        }
    }
    CR.scanning = 0;
    free(s);
}

static void status_cb(redisReply *rep, void *arg)
{
    sone *o = arg;
    scan *s = o->s;
    if (!rep) {
        s->failed = 1;
    } else if (CR.up && !CR.stopped) {
        int st = rep->type == REDIS_REPLY_STRING && rep->len == 1 && rep->str[0] == '1';
        le_cst_run *c = find(o->id);
        if (st || c) {
            c = get(o->id);
            c->gen = s->gen;
            /* A started caster nobody runs here, or one this node runs
             * (a change whose event was missed), is read in full. */
            if ((st && !le_lease_holding(&c->lease)) || le_lease_holding(&c->lease) || c->eng)
                load(c);
        }
    }
    free(o);
    scan_done(s);
}

static void members_cb(redisReply *rep, void *arg)
{
    scan *s = arg;
    if (!rep || rep->type != REDIS_REPLY_ARRAY) {
        s->failed = 1;
    } else if (CR.up && !CR.stopped) {
        for (size_t i = 0; i < rep->elements; i++) {
            redisReply *e = rep->element[i];
            if (e->type != REDIS_REPLY_STRING || e->len == 0 || e->len >= LE_CST_ID_MAX ||
                !le_cst_id_ok(e->str))
                continue;
            le_cst_run *c = find(e->str);
            if (c)
                c->gen = s->gen;
            sone *o = le_xcalloc(1, sizeof(*o));
            o->s = s;
            memcpy(o->id, e->str, e->len);
            char key[LE_CST_KEY_MAX];
            le_store_key(key, sizeof(key), "caster:%s", o->id);
            s->pending++;
            if (le_store_cmd(status_cb, o, "HGET %s status", key) != 0) {
                s->failed = 1;
                s->pending--;
                free(o);
            }
        }
    }
    scan_done(s);
}

static void start_scan(uint64_t now)
{
    char key[LE_CST_KEY_MAX];
    scan *s = le_xcalloc(1, sizeof(*s));
    s->gen = ++CR.gen;
    s->pending = 1;
    CR.last_scan = now;
    le_store_key(key, sizeof(key), "casters");
    if (le_store_cmd(members_cb, s, "SMEMBERS %s", key) != 0) {
        free(s);
        return;
    }
    CR.scanning = 1;
}

static void ev_caster(const char *kind, const char *arg)
{
    (void)kind;
    if (!CR.up || CR.stopped || !arg || !*arg || strlen(arg) >= LE_CST_ID_MAX || !le_cst_id_ok(arg))
        return;
    le_cst_run *c = get(arg);
    c->gen = CR.gen;   /* known to the current scan */
    load(c);
}

/* ---- the tick ---- */

static void step(le_cst_run *c, uint64_t now)
{
    le_lease_flush(&c->lease);
    if (!le_lease_holding(&c->lease))
        return;
    /* Could the lease expire in Redis before the next tick? */
    if (!le_lease_held(&c->lease, now)) {
        le_warn(MOD, "%s: lease not renewed for %" PRIu64 " ms (state store unreachable): caster stopped before "
                "the lease can expire", c->id, now - le_lease_sent(&c->lease));
        drop(c, "lease not renewed");
        le_lease_defer(&c->lease, now + LE_LEASE_RETRY_MS);
        return;
    }
    le_lease_renew(&c->lease, now);
    le_cst_sources_tick(c);
    if (c->eng) {
        le_cst_prog_tick(c);
        le_cst_urgent_tick(c);
        le_se_stats es;
        le_se_get_stats(c->eng, &es);
        if (es.dropped_ticks > c->slow_dropped && now >= c->slow_logged_ms + SLOW_LOG_MS) {
            le_warn(MOD, "%s: cannot keep real time on this node: %" PRIu64 " of %" PRIu64
                    " ticks dropped since the last report (caster_fps %d)", c->id, es.dropped_ticks - c->slow_dropped,
                    es.ticks + es.dropped_ticks - c->slow_ticks, c->fps);
            c->slow_dropped = es.dropped_ticks;
            c->slow_ticks = es.ticks + es.dropped_ticks;
            c->slow_logged_ms = now;
        }
    }
}

void le_caster_tick(void)
{
    if (!CR.up || CR.stopped)
        return;
    uint64_t now = le_mono_ms();
    if (!CR.scanning && le_store_connected() && now >= CR.last_scan + LE_CASTER_SCAN_MS)
        start_scan(now);
    for (le_cst_run *c = CR.list, *next; c; c = next) {
        next = c->next;
        step(c, now);
    }
}

/* ---- stats ---- */

void le_caster_get_stats(le_caster_stats *out)
{
    *out = CR.st;
    out->running = 0;
    for (le_cst_run *c = CR.list; c; c = c->next) {
        if (!c->eng)
            continue;
        le_se_stats es;
        le_se_get_stats(c->eng, &es);
        out->running++;
        out->ticks += es.ticks;
        out->dropped_ticks += es.dropped_ticks;
        out->rebuilds += es.rebuilds;
        out->commands += es.commands;
        out->delay_dropped += es.delay_dropped;
    }
}

static void caster_metrics(le_buf *out)
{
    le_caster_stats s;
    le_caster_get_stats(&s);
    le_buf_printf(out,
                  "# TYPE livedge_casters_running gauge\n"
                  "livedge_casters_running %" PRIu64 "\n"
                  "# TYPE livedge_casters_started_total counter\n"
                  "livedge_casters_started_total %" PRIu64 "\n"
                  "# TYPE livedge_casters_stopped_total counter\n"
                  "livedge_casters_stopped_total %" PRIu64 "\n"
                  "# TYPE livedge_caster_ticks_total counter\n"
                  "livedge_caster_ticks_total %" PRIu64 "\n"
                  "# TYPE livedge_caster_dropped_ticks_total counter\n"
                  "livedge_caster_dropped_ticks_total %" PRIu64 "\n"
                  "# TYPE livedge_caster_rebuilds_total counter\n"
                  "livedge_caster_rebuilds_total %" PRIu64 "\n"
                  "# TYPE livedge_caster_commands_total counter\n"
                  "livedge_caster_commands_total %" PRIu64 "\n"
                  "# TYPE livedge_caster_frames_total counter\n"
                  "livedge_caster_frames_total %" PRIu64 "\n"
                  "# TYPE livedge_caster_delay_dropped_total counter\n"
                  "livedge_caster_delay_dropped_total %" PRIu64 "\n",
                  s.running, s.started, s.stopped, s.ticks, s.dropped_ticks, s.rebuilds, s.commands, s.frames_out,
                  s.delay_dropped);
    /* Per running caster: its clock, the clock time of the last scene
     * change applied (stream time of the outputs, ms) and the wall time of
     * clock 0 (ms since 1970: stream time t is wall time epoch + t). */
    static const char *const names[3] = { "livedge_caster_clock_ms", "livedge_caster_last_change_ms",
                                          "livedge_caster_epoch_ms" };
    for (int k = 0; k < 3; k++) {
        int head = 0;
        for (le_cst_run *c = CR.list; c; c = c->next) {
            if (!c->eng)
                continue;
            le_se_stats es;
            le_se_get_stats(c->eng, &es);
            if (!head++)
                le_buf_printf(out, "# TYPE %s gauge\n", names[k]);
            le_buf_printf(out, "%s{caster=\"%s\"} %" PRId64 "\n", names[k], c->id,
                          k == 0 ? es.clock_ms : k == 1 ? es.last_change_ms : es.epoch_ms);
        }
    }
}

/* ---- the face ---- */

void le_caster_set_opts(const le_caster_opts *o)
{
    snprintf(CR.material_dir, sizeof(CR.material_dir), "%s", o && o->material_dir ? o->material_dir : "");
    CR.o = o ? *o : (le_caster_opts){ 0 };
    CR.o.material_dir = CR.material_dir[0] ? CR.material_dir : NULL;
    if (CR.o.fps <= 0 || CR.o.fps > 60)
        CR.o.fps = 30;
    if (CR.o.source_timeout_ms <= 0)
        CR.o.source_timeout_ms = 2000;
    if (CR.o.max_running < 0)
        CR.o.max_running = 0;
}

int le_caster_init(struct event_base *base, le_pipe_pool *pool, const le_caster_opts *o)
{
    memset(&CR, 0, sizeof(CR));
    CR.base = base;
    CR.pool = pool;
    le_caster_set_opts(o);
    le_control_on_event("caster", ev_caster);
    le_metrics_add(caster_metrics);
    CR.up = 1;
    return LE_OK;
}

void le_caster_shutdown(void)
{
    if (!CR.up || CR.stopped)
        return;
    CR.stopped = 1;
    for (le_cst_run *c = CR.list; c; c = c->next)
        drop(c, "node stopping");
}

void le_caster_free(void)
{
    if (!CR.up)
        return;
    le_caster_shutdown();
    while (CR.list)
        unlink_caster(CR.list);
    CR.up = 0;
}
