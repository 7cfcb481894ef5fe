/* Running carousels (studio/carousel.h, docs/STUDIO.md "Carousels").
 *
 * State in Redis (written by admin/actions_carousel.c, the position by the
 * holder):
 *   {prefix}carousels               set of the ProgramIds
 *   {prefix}carousel:{ProgramId}    hash: config (JSON), status ("0"
 *                                   waiting, "1" playing, "2" finished),
 *                                   item, loop (the position: the holder
 *                                   writes them at each item change, so a
 *                                   node taking over resumes there)
 *   {prefix}carousel:lease:{ProgramId}  the lease (control/lease.h, the
 *                                   casters' timings)
 * Every node re-reads a carousel on the event "carousel {ProgramId}" and
 * scans the set every LE_CASTER_SCAN_MS; a waiting or playing carousel
 * whose StartTime has come is claimed by a node with room under
 * caster_max. The holder runs one studio engine: one scene showing slot 0
 * (the current item, a file) full frame with its sound, published as
 * carousel/{ProgramId without dashes} (studio/output.h), pushed to
 * SideOutputUrl (relay/push.h); the engine's end-of-file event of the item
 * (or, as a safety net, its probed duration plus LE_CRL_GRACE_MS) moves to
 * the next item. CallbackUrl gets a POST at the start, each item change
 * and the end (net/httpc.h). */
#include "studio/carousel.h"

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <libavformat/avformat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/domains.h"
#include "control/lease.h"
#include "core/err.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/util.h"
#include "net/httpc.h"
#include "record/recorder.h"
#include "relay/push.h"
#include "store/store.h"
#include "studio/engine.h"
#include "studio/output.h"
#include "studio/scene.h"

#define MOD "carousel"
#define TICK_MS 1000
#define LEASE_MARGIN_MS 1000
#define LE_CRL_GRACE_MS 2000   /* an item without its end-of-file event moves on this long after its duration */
#define CLAIM_AHEAD_MS 2000    /* the lease is claimed this long before StartTime */
#define ID_MAX 64
#define KEY_MAX 300
#define CB_TIMEOUT_MS 5000
#define CB_RETRIES 2

/* KEYS carousel; ARGV status, item, loop. Only an existing carousel. */
static const char POS_LUA[] =
    "if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end "
    "redis.call('HSET', KEYS[1], 'status', ARGV[1], 'item', ARGV[2], 'loop', ARGV[3]) "
    "return 1";

/* KEYS carousels; ARGV key prefix: the ProgramIds not finished. */
static const char LIST_LUA[] =
    "local out = {} "
    "for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do "
    "  local s = redis.call('HGET', ARGV[1] .. id, 'status') "
    "  if s and s ~= '2' then out[#out + 1] = id end "
    "end "
    "return out";

struct probe;

typedef struct crl {
    struct crl *next;
    char id[ID_MAX];
    char key[KEY_MAX];
    le_lease lease;
    int loading, reload, dead, pending;
    uint64_t gen;
    int exists, status;           /* as last read */
    int item, loop;               /* the position as last read / now played (holder) */
    le_jv *cfg;                   /* the config as last read */
    int nitems, repeat;
    int64_t start_unix;           /* StartTime, ms since 1970 (0: at once) */
    /* the holder's */
    le_se *eng;
    le_so out;
    char push_id[ID_MAX + 16];
    int pushing;
    int64_t item_clock;           /* engine clock when the item was set */
    int64_t *dur;                 /* probed durations (ms, -1 unknown), nitems; NULL before */
    struct probe *probe;
    int ended;                    /* the last item played out: finish() at the next tick */
} crl;

typedef struct cbreq {
    struct cbreq *next;
    le_httpc_req *rq;
    char id[ID_MAX];
    char ev[8];
} cbreq;

static struct {
    struct event_base *base;
    le_pipe_pool *pool;
    le_caster_opts o;
    crl *list;
    cbreq *cbs;
    int up, stopped, scanning;
    uint64_t gen, last_scan;
    uint64_t started, finished, items, callbacks_failed;
    uint64_t ticks, dropped_ticks;   /* of the engines stopped */
} CL;

static const le_lease_ops lease_ops;
static const le_lease_opts lease_opts;

/* ---- the list ---- */

static void reap(crl *c)
{
    if (c->dead && c->pending == 0 && !le_lease_busy(&c->lease) && !c->probe) {
        le_jv_free(c->cfg);
        free(c->dur);
        free(c);
    }
}

static crl *find(const char *id)
{
    for (crl *c = CL.list; c; c = c->next)
        if (strcmp(c->id, id) == 0)
            return c;
    return NULL;
}

static crl *get(const char *id)
{
    crl *c = find(id);
    if (c)
        return c;
    c = le_xcalloc(1, sizeof(*c));
    snprintf(c->id, sizeof(c->id), "%s", id);
    char lkey[KEY_MAX];
    le_store_key(lkey, sizeof(lkey), "carousel:lease:%s", id);
    le_lease_init(&c->lease, lkey, &lease_opts, &lease_ops, c);
    le_store_key(c->key, sizeof(c->key), "carousel:%s", id);
    c->next = CL.list;
    CL.list = c;
    return c;
}

static void unlink_crl(crl *c)
{
    for (crl **pp = &CL.list; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    c->dead = 1;
    c->next = NULL;
    reap(c);
}

int le_carousel_running(void)
{
    int n = 0;
    for (crl *c = CL.list; c; c = c->next)
        n += le_lease_holding(&c->lease) || le_lease_claiming(&c->lease);
    return n;
}

/* ---- durations (a safety net for the end-of-file event) ---- */

typedef struct probe {
    le_pipe_task t;               /* first */
    crl *c;                       /* NULL once c no longer wants it */
    int n, done;
    char **paths;
    int64_t *dur;
} probe;

static void probe_free(probe *p)
{
    for (int i = 0; i < p->n; i++)
        free(p->paths[i]);
    free(p->paths);
    free(p->dur);
    free(p);
}

/* Worker: each file's duration from its container (ms; -1 unknown). */
static void probe_work(le_pipe_task *t)
{
    probe *p = (probe *)t;
    for (int i = 0; i < p->n; i++) {
        p->dur[i] = -1;
        AVFormatContext *fc = NULL;
        if (!p->paths[i] || avformat_open_input(&fc, p->paths[i], NULL, NULL) < 0)
            continue;
        if (avformat_find_stream_info(fc, NULL) >= 0 && fc->duration > 0)
            p->dur[i] = fc->duration / 1000;
        avformat_close_input(&fc);
    }
    p->done = 1;
    le_pipe_pool_post(t);
}

static void probe_reap(le_pipe_task *t)
{
    probe *p = (probe *)t;
    if (le_pipe_task_dead(t)) {   /* the last reap after a stop */
        probe_free(p);
        return;
    }
    if (!p->done)
        return;
    crl *c = p->c;
    if (c) {
        free(c->dur);
        c->dur = p->dur;
        p->dur = NULL;
        c->probe = NULL;
        p->c = NULL;
    }
    if (le_pipe_task_stop(t))
        probe_free(p);
    if (c)
        reap(c);
}

static void probe_stop(crl *c)
{
    probe *p = c->probe;
    if (!p)
        return;
    c->probe = NULL;
    p->c = NULL;
    if (le_pipe_task_stop(&p->t))
        probe_free(p);
}

static const le_jv *item_of(const crl *c, int i)
{
    const le_jv *items = le_jv_get(c->cfg, "Items");
    const le_jv *it = items ? items->first : NULL;
    for (int k = 0; it && k < i; k++)
        it = it->next;
    return it;
}

/* The local file of item i (studio/scene.h's VodUrl rules), or LE_EINVAL. */
static int item_path(const crl *c, int i, char *out, size_t n)
{
    const le_jv *it = item_of(c, i);
    if (!it)
        return LE_EINVAL;
    le_jv *res = le_jv_obj();
    le_jv_set_str(res, "VodUrl", le_jv_get_str(it, "VodUrl"));
    le_scn_src src;
    le_cst_err e;
    const char *rd = le_record_root();
    int rc = le_scn_source(res, NULL, rd && *rd ? rd : NULL, &src, &e);
    le_jv_free(res);
    if (rc != LE_OK || src.kind != LE_SCN_SRC_FILE)
        return LE_EINVAL;
    snprintf(out, n, "%s", src.path);
    return LE_OK;
}

static void probe_start(crl *c)
{
    probe *p = le_xcalloc(1, sizeof(*p));
    p->n = c->nitems;
    p->paths = le_xcalloc((size_t)p->n, sizeof(*p->paths));
    p->dur = le_xcalloc((size_t)p->n, sizeof(*p->dur));
    for (int i = 0; i < p->n; i++) {
        char path[LE_SCN_PATH_MAX];
        if (item_path(c, i, path, sizeof(path)) == LE_OK)
            p->paths[i] = le_xstrdup(path);
    }
    p->c = c;
    p->t.work = probe_work;
    p->t.reap = probe_reap;
    le_pipe_task_init(&p->t, CL.pool);
    c->probe = p;
    le_pipe_pool_kick(&p->t);
}

/* ---- CallbackUrl ---- */

static void cb_done(const le_httpc_resp *r, void *arg)
{
    cbreq *q = arg;
    for (cbreq **pp = &CL.cbs; *pp; pp = &(*pp)->next)
        if (*pp == q) {
            *pp = q->next;
            break;
        }
    if (r->status < 200 || r->status >= 300) {
        CL.callbacks_failed++;
        le_warn(MOD, "%s: callback %s not taken after %d attempts (%s%s%d)", q->id, q->ev, r->attempts,
                r->why ? r->why : "", r->why && *r->why ? ", status " : "status ", r->status);
    }
    free(q);
}

/* POST {ProgramId, Event, ItemId, ItemName, ItemIndex, Loop, Time,
 * StreamTime, DomainName, StreamName[, Reason]} (docs/STUDIO.md). */
static void callback(crl *c, const char *ev, const char *reason)
{
    const char *url = le_jv_get_str(c->cfg, "CallbackUrl");
    if (!url || !*url)
        return;
    const le_jv *it = item_of(c, c->item);
    char ts[21], sname[LE_SO_NAME_MAX + 16];
    le_jv *b = le_jv_obj();
    le_jv_set_str(b, "ProgramId", c->id);
    le_jv_set_str(b, "Event", ev);
    le_jv_set_str(b, "ItemId", it ? le_jv_get_str(it, "ItemId") : "");
    le_jv_set_str(b, "ItemName", it ? le_jv_get_str(it, "ItemName") : "");
    le_jv_set_int(b, "ItemIndex", c->item);
    le_jv_set_int(b, "Loop", c->loop);
    le_jv_set_str(b, "Time", le_fmt_utc(le_wall_ms(), ts));
    if (c->eng) {
        le_se_stats es;
        le_se_get_stats(c->eng, &es);
        le_jv_set_int(b, "StreamTime", strcmp(ev, "end") ? c->item_clock : es.clock_ms);
    }
    le_jv_set_str(b, "DomainName", le_jv_get_str(c->cfg, "DomainName"));
    snprintf(sname, sizeof(sname), "carousel/%s", c->out.name);
    le_jv_set_str(b, "StreamName", sname);
    if (reason)
        le_jv_set_str(b, "Reason", reason);
    le_buf body = { 0 };
    le_jv_to_json(b, &body);
    le_jv_free(b);
    static const char *const hdr[] = { "Content-Type: application/json", NULL };
    le_httpc_opts o;
    memset(&o, 0, sizeof(o));
    o.method = "POST";
    o.url = url;
    o.headers = hdr;
    o.body = body.p;
    o.body_len = body.len;
    o.timeout_ms = CB_TIMEOUT_MS;
    o.retries = CB_RETRIES;
    o.retry_gap_ms = 1000;
    cbreq *q = le_xcalloc(1, sizeof(*q));
    snprintf(q->id, sizeof(q->id), "%s", c->id);
    snprintf(q->ev, sizeof(q->ev), "%s", ev);
    if (le_httpc_request(&o, cb_done, q, &q->rq) != LE_OK) {
        le_warn(MOD, "%s: CallbackUrl not usable; callback %s not sent", c->id, ev);
        free(q);
    } else {
        q->next = CL.cbs;
        CL.cbs = q;
    }
    le_buf_free(&body);
}

/* ---- the engine ---- */

static void save_pos(crl *c, int status)
{
    char it[16], lp[16], st[4];
    snprintf(it, sizeof(it), "%d", c->item);
    snprintf(lp, sizeof(lp), "%d", c->loop);
    snprintf(st, sizeof(st), "%d", status);
    const char *argv[] = { "EVAL", POS_LUA, "1", c->key, st, it, lp };
    le_store_writeargv(7, argv, NULL);
}

static void on_pkt(void *ud, int scene, int out, le_pkt *p)
{
    crl *c = ud;
    if (!p)
        return;
    if (scene != 0 || out != 0 || !c->eng) {
        le_pkt_unref(p);
        return;
    }
    le_so_deliver(&c->out, p);
}

/* Item c->item of loop c->loop into slot 0 (a file that cannot be found
 * shows black until the safety net moves on). */
static void play_item(crl *c, const char *ev)
{
    char path[LE_SCN_PATH_MAX];
    le_se_stats es;
    le_se_get_stats(c->eng, &es);
    c->item_clock = es.clock_ms;
    if (item_path(c, c->item, path, sizeof(path)) != LE_OK) {
        le_warn(MOD, "%s: item %d: VodUrl is not a file of this node; skipped", c->id, c->item + 1);
        le_se_set_source(c->eng, 0, 0, NULL, 0, 0, 0);
    } else {
        le_se_set_source(c->eng, 0, 0, path, 0, 0, 0);
    }
    const le_jv *it = item_of(c, c->item);
    le_info(MOD, "%s: item %d/%d (%s), loop %d, at stream time %" PRId64 " ms", c->id, c->item + 1, c->nitems,
            it ? le_jv_get_str(it, "ItemName") : "", c->loop, c->item_clock);
    CL.items++;
    save_pos(c, 1);
    callback(c, ev, NULL);
}

static void engine_stop(crl *c, const char *reason)
{
    probe_stop(c);
    if (c->pushing) {
        le_push_stop_id(c->push_id);
        c->pushing = 0;
    }
    uint64_t frames = c->out.frames;
    le_so_reset(&c->out, reason);
    if (c->eng) {
        le_se_stats es;
        le_se_get_stats(c->eng, &es);
        CL.ticks += es.ticks;
        CL.dropped_ticks += es.dropped_ticks;
        le_se_free(c->eng);
        c->eng = NULL;
        le_info(MOD, "%s: carousel stops on this node (%s; %" PRIu64 " frames)", c->id, reason, frames);
    }
}

static void drop(crl *c, const char *reason)
{
    if (c->eng && reason)
        callback(c, "end", reason);
    engine_stop(c, reason ? reason : "finished");
    le_lease_release(&c->lease);
}

/* After the last item: the end callback, status 2, the lease given back;
 * the hash stays (DeleteCasterEpisodeGroup removes it). */
static void finish(crl *c)
{
    le_info(MOD, "%s: carousel finished (%d items, %d loops)", c->id, c->nitems, c->loop + 1);
    callback(c, "end", "finished");
    save_pos(c, 2);
    c->status = 2;
    CL.finished++;
    drop(c, NULL);
}

/* The next item, or the end: from the engine's event the end waits for
 * the next tick (the engine is not freed from inside its own callback). */
static void next_item(crl *c, int in_event)
{
    int item = c->item, loop = c->loop;
    if (le_crl_next(c->nitems, c->repeat, &item, &loop) != LE_OK) {
        if (in_event)
            c->ended = 1;
        else
            finish(c);
        return;
    }
    c->item = item;
    c->loop = loop;
    play_item(c, "item");
}

static void on_event(void *ud, int slot, int ev, int64_t clock_ms)
{
    crl *c = ud;
    /* An end of an item set before the current one is stale. */
    if (!c->eng || slot != 0 || ev != LE_SE_EV_EOF || clock_ms < c->item_clock || c->ended)
        return;
    next_item(c, 1);
}

static int engine_start(crl *c)
{
    le_se_cfg cfg;
    char name[ID_MAX + 16];
    memset(&cfg, 0, sizeof(cfg));
    snprintf(name, sizeof(name), "carousel %s", c->id);
    cfg.fps = CL.o.fps;
    cfg.stall_ms = CL.o.source_timeout_ms;
    cfg.name = name;
    cfg.on_pkt = on_pkt;
    cfg.on_event = on_event;
    cfg.ud = c;
    int rc = le_se_new(CL.base, CL.pool, &cfg, &c->eng);
    if (rc != LE_OK) {
        le_error(MOD, "%s: cannot start the studio engine (%s)", c->id, le_strerror(rc));
        c->eng = NULL;
        return rc;
    }
    /* One scene: slot 0 fitted to the frame (centred, black bars), its
     * sound alone. */
    le_se_scene *s = le_xcalloc(1, sizeof(*s));
    s->running = 1;
    s->pic.width = LE_CRL_WIDTH;
    s->pic.height = LE_CRL_HEIGHT;
    s->pic.ninputs = s->pic.naudio_inputs = LE_SE_SLOTS;
    s->pic.nlayers = 1;
    s->pic.layers[0].input = 0;
    s->pic.layers[0].fill = LE_SG_FILL_FIT;
    s->pic.layers[0].place.height_norm = 1;
    s->pic.layers[0].place.width_norm = 1;
    s->pic.naudio = 1;
    s->pic.audio[0].input = 0;
    s->pic.audio[0].volume_rate = 1;
    s->nout = 1;
    s->out[0].width = LE_CRL_WIDTH;
    s->out[0].height = LE_CRL_HEIGHT;
    int64_t kb = (int64_t)LE_CRL_WIDTH * LE_CRL_HEIGHT * cfg.fps * 7 / 100000;
    int kbps = kb < 300 ? 300 : kb > 6000 ? 6000 : (int)kb;
    s->out[0].bitrate_kbps = kbps;
    rc = le_se_set_scene(c->eng, 0, s);
    free(s);
    if (rc != LE_OK) {
        le_error(MOD, "%s: the engine refused the carousel's scene (%s)", c->id, le_strerror(rc));
        le_se_free(c->eng);
        c->eng = NULL;
        return rc;
    }
    const char *dn = le_jv_get_str(c->cfg, "DomainName");
    le_so_reset(&c->out, "restart");
    snprintf(c->out.app, sizeof(c->out.app), "carousel");
    snprintf(c->out.owner, sizeof(c->out.owner), "carousel://%s", c->id);
    snprintf(c->out.domain, sizeof(c->out.domain), "%s", dn ? dn : "");
    size_t k = 0;
    for (const char *p = c->id; *p && k + 1 < sizeof(c->out.name); p++)
        if (*p != '-')
            c->out.name[k++] = *p;
    c->out.name[k] = '\0';
    c->out.w = LE_CRL_WIDTH;
    c->out.h = LE_CRL_HEIGHT;
    c->out.kbps = kbps;
    c->out.fps = cfg.fps;
    c->ended = 0;
    const char *so = le_jv_get_str(c->cfg, "SideOutputUrl");
    if (so && *so) {
        snprintf(c->push_id, sizeof(c->push_id), "carousel:%s", c->id);
        le_push_stop_id(c->push_id);   /* one left from an earlier run here */
        const le_domain *pd = le_so_play_domain(c->out.domain);
        rc = le_push_start_id(c->push_id, pd ? pd->name : c->out.domain, "carousel", c->out.name, so);
        if (rc != LE_OK)
            le_warn(MOD, "%s: SideOutputUrl not pushed (%s)", c->id, le_strerror(rc));
        c->pushing = rc == LE_OK;
    }
    CL.started++;
    le_info(MOD, "%s: carousel runs on this node (lease %s, %d items, RepeatNum %d, stream %s/carousel/%s)", c->id,
            le_lease_token(&c->lease), c->nitems, c->repeat, c->out.domain, c->out.name);
    probe_start(c);
    /* A node taking over resumes at the stored item, from its start. */
    int resumed = c->status == 1;
    if (c->item < 0 || c->item >= c->nitems || c->loop < 0 || (c->repeat >= 0 && c->loop > c->repeat))
        c->item = c->loop = 0;
    play_item(c, resumed ? "item" : "start");
    c->status = 1;
    return LE_OK;
}

/* ---- the lease ---- */

static void load(crl *c);

static int lease_gone(void *ctx)
{
    crl *c = ctx;
    return c->dead || CL.stopped;
}

static void lease_won(void *ctx)
{
    load(ctx);   /* read it again: start from what it is now */
}

static void lease_lost(void *ctx)
{
    crl *c = ctx;
    le_warn(MOD, "%s: the lease is held by another node", c->id);
    engine_stop(c, "lease lost");
    le_lease_release(&c->lease);
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

/* ---- reading a carousel ---- */

static int room(void)
{
    le_caster_stats cs;
    le_caster_get_stats(&cs);
    return (int64_t)cs.running + le_carousel_running() < (int64_t)CL.o.max_running;
}

/* Claims, starts or stops c as its state says (after a read, every tick). */
static void apply(crl *c, uint64_t now)
{
    if (!c->exists || c->status == 2 || !c->cfg) {
        if (le_lease_holding(&c->lease) || c->eng)
            drop(c, c->exists ? NULL : "deleted");
        return;
    }
    int64_t wall = le_wall_ms();
    if (!le_lease_holding(&c->lease)) {
        if (wall + CLAIM_AHEAD_MS >= c->start_unix && !le_lease_claiming(&c->lease) && room())
            le_lease_claim(&c->lease, now);
        return;
    }
    if (!c->eng && wall >= c->start_unix && engine_start(c) != LE_OK) {
        drop(c, NULL);
        le_lease_defer(&c->lease, now + 30000);   /* another node may do better */
    }
}

static void take(crl *c, redisReply *rep)
{
    const char *cfg = NULL, *st = NULL, *it = NULL, *lp = NULL;
    size_t cfgl = 0;
    for (size_t i = 0; i + 1 < rep->elements; i += 2) {
        redisReply *f = rep->element[i], *v = rep->element[i + 1];
        if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            continue;
        if (!strcmp(f->str, "config")) {
            cfg = v->str;
            cfgl = v->len;
        } else if (!strcmp(f->str, "status")) {
            st = v->str;
        } else if (!strcmp(f->str, "item")) {
            it = v->str;
        } else if (!strcmp(f->str, "loop")) {
            lp = v->str;
        }
    }
    c->exists = cfg != NULL;
    if (c->eng) {   /* the holder plays on from its own position; only a delete or a finish counts */
        c->status = c->exists ? (st && st[0] == '2' ? 2 : 1) : 0;
        apply(c, le_mono_ms());
        return;
    }
    le_jv_free(c->cfg);
    c->cfg = cfg ? le_cst_decode(cfg, cfgl) : NULL;
    c->status = st ? atoi(st) : 0;
    c->item = it ? atoi(it) : 0;
    c->loop = lp ? atoi(lp) : 0;
    c->nitems = 0;
    const le_jv *items = le_jv_get(c->cfg, "Items");
    for (const le_jv *x = items && items->type == LE_JV_ARR ? items->first : NULL; x; x = x->next)
        c->nitems++;
    int64_t v = 0;
    c->repeat = le_jv_get_int(c->cfg, "RepeatNum", &v) == LE_OK && v >= -1 && v <= LE_CRL_REPEAT_MAX ? (int)v : 0;
    const char *s = le_jv_get_str(c->cfg, "StartTime");
    c->start_unix = 0;
    if (s && *s && le_parse_utc(s, &v) == LE_OK)
        c->start_unix = v;
    if (c->cfg && c->nitems == 0) {
        le_jv_free(c->cfg);
        c->cfg = NULL;
    }
    apply(c, le_mono_ms());
}

static void load_cb(redisReply *rep, void *arg)
{
    crl *c = arg;
    c->loading = 0;
    c->pending--;
    if (!c->dead && !CL.stopped && rep && rep->type == REDIS_REPLY_ARRAY) {
        take(c, rep);
        /* Gone and idle here: forgotten. */
        if (!c->exists && !le_lease_holding(&c->lease) && !le_lease_claiming(&c->lease) && !c->eng &&
            !le_lease_releasing(&c->lease) && !c->reload) {
            unlink_crl(c);
            return;
        }
    }
    if (!c->dead && c->reload) {
        c->reload = 0;
        load(c);
        return;
    }
    reap(c);
}

static void load(crl *c)
{
    if (c->loading) {
        c->reload = 1;
        return;
    }
    if (!le_store_connected())
        return;
    if (le_store_cmd(load_cb, c, "HGETALL %s", c->key) == 0) {
        c->loading = 1;
        c->pending++;
    }
}

/* ---- the scan ---- */

static void scan_cb(redisReply *rep, void *arg)
{
    (void)arg;
    CL.scanning = 0;
    if (!rep || rep->type != REDIS_REPLY_ARRAY || !CL.up || CL.stopped)
        return;
    uint64_t gen = ++CL.gen;
    for (size_t i = 0; i < rep->elements; i++) {
        redisReply *e = rep->element[i];
        if (e->type != REDIS_REPLY_STRING || e->len == 0 || e->len >= ID_MAX || !le_cst_id_ok(e->str))
            continue;
        crl *c = get(e->str);
        c->gen = gen;
        if (!le_lease_holding(&c->lease))
            load(c);   /* a waiting or playing carousel: claimed when its time has come */
    }
    /* Ours no longer listed (deleted, finished elsewhere): read again. */
    for (crl *c = CL.list; c; c = c->next)
        if (c->gen != gen && (le_lease_holding(&c->lease) || c->eng))
            load(c);
}

static void start_scan(uint64_t now)
{
    char skey[KEY_MAX], pfx[KEY_MAX];
    le_store_key(skey, sizeof(skey), "carousels");
    le_store_key(pfx, sizeof(pfx), "carousel:");
    CL.last_scan = now;
    if (le_store_cmd(scan_cb, NULL, "EVAL %s 1 %s %s", LIST_LUA, skey, pfx) == 0)
        CL.scanning = 1;
}

static void ev_carousel(const char *kind, const char *arg)
{
    (void)kind;
    if (!CL.up || CL.stopped || !arg || !*arg || strlen(arg) >= ID_MAX || !le_cst_id_ok(arg))
        return;
    load(get(arg));
}

/* ---- the tick ---- */

static void step(crl *c, uint64_t now)
{
    le_lease_flush(&c->lease);
    if (!le_lease_holding(&c->lease))
        return;
    if (!le_lease_held(&c->lease, now)) {
        le_warn(MOD, "%s: lease not renewed for %" PRIu64 " ms (state store unreachable): carousel stopped before "
                "the lease can expire", c->id, now - le_lease_sent(&c->lease));
        engine_stop(c, "lease not renewed");
        le_lease_release(&c->lease);
        le_lease_defer(&c->lease, now + LE_LEASE_RETRY_MS);
        return;
    }
    le_lease_renew(&c->lease, now);
    if (!c->eng) {
        apply(c, now);
        return;
    }
    if (c->ended) {
        finish(c);
        return;
    }
    /* The safety net: an item that outlived its duration without an
     * end-of-file event (or whose file was not found) moves on. */
    if (c->dur && c->item < c->nitems) {
        le_se_stats es;
        le_se_get_stats(c->eng, &es);
        int64_t d = c->dur[c->item] > 0 ? c->dur[c->item] : 0;
        if (es.clock_ms >= c->item_clock + d + LE_CRL_GRACE_MS) {
            le_debug(MOD, "%s: item %d ended by its duration (%" PRId64 " ms)", c->id, c->item + 1, d);
            next_item(c, 0);
        }
    }
}

void le_carousel_tick(void)
{
    if (!CL.up || CL.stopped)
        return;
    uint64_t now = le_mono_ms();
    if (!CL.scanning && le_store_connected() && now >= CL.last_scan + LE_CASTER_SCAN_MS)
        start_scan(now);
    for (crl *c = CL.list, *next; c; c = next) {
        next = c->next;
        step(c, now);
    }
}

/* ---- metrics and the face ---- */

static void carousel_metrics(le_buf *out)
{
    uint64_t running = 0, ticks = CL.ticks, dropped = CL.dropped_ticks;
    for (crl *c = CL.list; c; c = c->next) {
        if (!c->eng)
            continue;
        le_se_stats es;
        le_se_get_stats(c->eng, &es);
        running++;
        ticks += es.ticks;
        dropped += es.dropped_ticks;
    }
    le_buf_printf(out,
                  "# TYPE livedge_carousels_running gauge\n"
                  "livedge_carousels_running %" PRIu64 "\n"
                  "# TYPE livedge_carousels_started_total counter\n"
                  "livedge_carousels_started_total %" PRIu64 "\n"
                  "# TYPE livedge_carousels_finished_total counter\n"
                  "livedge_carousels_finished_total %" PRIu64 "\n"
                  "# TYPE livedge_carousel_items_total counter\n"
                  "livedge_carousel_items_total %" PRIu64 "\n"
                  "# TYPE livedge_carousel_callbacks_failed_total counter\n"
                  "livedge_carousel_callbacks_failed_total %" PRIu64 "\n"
                  "# TYPE livedge_carousel_ticks_total counter\n"
                  "livedge_carousel_ticks_total %" PRIu64 "\n"
                  "# TYPE livedge_carousel_dropped_ticks_total counter\n"
                  "livedge_carousel_dropped_ticks_total %" PRIu64 "\n",
                  running, CL.started, CL.finished, CL.items, CL.callbacks_failed, ticks, dropped);
}

void le_carousel_set_opts(const le_caster_opts *o)
{
    CL.o = o ? *o : (le_caster_opts){ 0 };
    CL.o.material_dir = NULL;   /* not used: items are VodUrls */
    if (CL.o.fps <= 0 || CL.o.fps > 60)
        CL.o.fps = 30;
    if (CL.o.source_timeout_ms <= 0)
        CL.o.source_timeout_ms = 2000;
    if (CL.o.max_running < 0)
        CL.o.max_running = 0;
}

int le_carousel_init(struct event_base *base, le_pipe_pool *pool, const le_caster_opts *o)
{
    memset(&CL, 0, sizeof(CL));
    CL.base = base;
    CL.pool = pool;
    le_carousel_set_opts(o);
    le_httpc_init(base);
    le_control_on_event("carousel", ev_carousel);
    le_metrics_add(carousel_metrics);
    CL.up = 1;
    return LE_OK;
}

void le_carousel_shutdown(void)
{
    if (!CL.up || CL.stopped)
        return;
    CL.stopped = 1;
    for (crl *c = CL.list; c; c = c->next) {
        engine_stop(c, "node stopping");
        le_lease_release(&c->lease);
    }
}

void le_carousel_free(void)
{
    if (!CL.up)
        return;
    le_carousel_shutdown();
    while (CL.list)
        unlink_crl(CL.list);
    while (CL.cbs) {
        cbreq *q = CL.cbs;
        CL.cbs = q->next;
        le_httpc_cancel(q->rq);
        free(q);
    }
    le_httpc_free();
    CL.up = 0;
}
