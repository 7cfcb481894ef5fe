/* The programme of a running caster (caster_int.h, docs/STUDIO.md
 * "Programmes"): the holder reads the episodes (ep:* and epend:* of the
 * caster's hash) after every read of the caster, and each second hands the
 * engine the next boundary within LOOKAHEAD_MS as a timed PGM change (and,
 * for a file episode, its file as a timed source), so an episode starts on
 * the first tick at or after its StartTime. A ContentFirst episode ends at
 * its file's LE_SE_EV_EOF; the holder records that end as epend:{EpisodeId}
 * so statuses and the schedule survive a restart or a move. */
#include "studio/caster_int.h"

#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "record/recorder.h"
#include "store/store.h"
#include "studio/program.h"

#define MOD "caster"
#define LOOKAHEAD_MS 2500
/* PGM "now" asked for this close before a boundary already handed to the
 * engine is PGM as of that boundary: an untimed change made from the state
 * just before it could reach the engine after the boundary's tick and undo
 * it (caster.c skips a change equal to the last one, so nothing is sent). */
#define EDGE_MS 200
/* A boundary passed less than this ago whose change the engine has not
 * applied yet (its worker runs up to LE_SE_MAX_LAG_MS behind): the next
 * boundary waits for the next second, as a timed change of the same scene
 * would replace the one still waiting. */
#define HOLD_MS (LE_SE_MAX_LAG_MS + 500)

/* The programme's fields of the caster's hash, as field/value pairs. */
static const char READ_LUA[] =
    "local r = {} "
    "local all = redis.call('HGETALL', KEYS[1]) "
    "for i = 1, #all, 2 do "
    "  local f = all[i] "
    "  if string.sub(f, 1, 3) == 'ep:' or string.sub(f, 1, 6) == 'epend:' then "
    "    r[#r + 1] = f; r[#r + 1] = all[i + 1] "
    "  end "
    "end "
    "return r";

/* KEYS caster; ARGV EpisodeId, end (unix ms): recorded while the episode
 * exists. */
static const char END_LUA[] =
    "if redis.call('HEXISTS', KEYS[1], 'ep:' .. ARGV[1]) == 0 then return 0 end "
    "redis.call('HSET', KEYS[1], 'epend:' .. ARGV[1], ARGV[2]) "
    "return 1";

typedef struct le_cst_prog {
    le_cst_run *c;               /* NULL once the caster stopped here (a read may still be out) */
    le_prg prg;
    int loaded, reading, again, bad_logged;
    char src_ep[LE_SCN_ID_MAX];  /* the episode whose file was handed to the engine ... */
    int64_t src_start;           /* ... for this StartTime */
    int64_t sent_b;              /* the boundary last sent as a timed change (0 none) */
} le_cst_prog;

static int effect_on(const le_scn_caster *sc)
{
    int64_t v = 0;
    return sc && le_jv_get_int(sc->config, "ProgramEffect", &v) == LE_OK && v == 1;
}

/* ---- PGM ---- */

struct le_jv *le_cst_prog_pgm(le_cst_run *c, const le_scn_caster *sc, int64_t unix_ms)
{
    le_cst_prog *p = c->prog;
    if (!p || !p->loaded || !effect_on(sc) || !*sc->pgm)
        return NULL;
    if (p->sent_b > unix_ms && p->sent_b - unix_ms <= EDGE_MS)
        unix_ms = p->sent_b;
    int i = le_prg_on_air(&p->prg, unix_ms);
    const le_jv *pgm = le_jv_get(sc->scenes, sc->pgm);
    if (i < 0 || !pgm)
        return NULL;
    return le_prg_pgm(pgm, &p->prg.ep[i]);
}

/* ---- the file of a Resource episode ---- */

/* Episode i's file starts on its slot: at its StartTime (timed) or, for an
 * episode already on air when this node learns of it, now at the elapsed
 * offset. Once per episode and StartTime. */
static void episode_source(le_cst_run *c, le_cst_prog *p, int i, int timed, int64_t now)
{
    const le_prg_ep *x = &p->prg.ep[i];
    if (x->type != LE_PRG_RESOURCE || (!strcmp(p->src_ep, x->id) && p->src_start == x->start_ms))
        return;
    int slot = le_prg_res_slot(c->cur, x->resource);
    if (slot < 0)
        return;
    le_scn_src src;
    le_cst_err e;
    memset(&e, 0, sizeof(e));
    const char *rd = le_record_root();
    if (le_scn_source(c->cur->res[slot], CR.o.material_dir, rd && *rd ? rd : NULL, &src, &e) != LE_OK ||
        src.kind != LE_SCN_SRC_FILE)
        return;
    int repeat = x->content_first && src.repeat < 0 ? 0 : src.repeat;   /* a ContentFirst file must end */
    int rc;
    if (timed) {
        rc = le_se_set_source_at(c->eng, slot, 0, src.path, repeat, src.begin_ms, src.end_ms,
                                 le_se_clock_of(c->eng, x->start_ms));
    } else {
        int64_t el = now > x->start_ms ? now - x->start_ms : 0;
        rc = le_se_set_source(c->eng, slot, 0, src.path, repeat, src.begin_ms + el, src.end_ms);
        le_info(MOD, "%s: episode %s on air since %" PRId64 " ms: RV%02d plays %s from %" PRId64 " ms", c->id, x->id,
                el, slot + 1, src.path, src.begin_ms + el);
    }
    if (rc != LE_OK) {
        le_warn(MOD, "%s: episode %s: the engine refused RV%02d's file (%s)", c->id, x->id, slot + 1, le_strerror(rc));
        return;
    }
    snprintf(p->src_ep, sizeof(p->src_ep), "%s", x->id);
    p->src_start = x->start_ms;
}

/* ---- the schedule ---- */

static void schedule(le_cst_run *c)
{
    le_cst_prog *p = c->prog;
    if (!p || !p->loaded || !c->eng || !c->cur)
        return;
    int64_t now = le_wall_ms();
    if (!effect_on(c->cur)) {
        if (p->sent_b > now)   /* a timed change still waiting: PGM as it will be then */
            le_cst_scene_apply(c, LE_CST_PGM, p->sent_b);
        p->sent_b = 0;
        return;
    }
    /* PGM as of now, unless a boundary's change is waiting (then it is
     * what was last applied): puts right whatever came in between. */
    if (p->sent_b <= now)
        le_cst_scene_apply(c, LE_CST_PGM, 0);
    int i = le_prg_on_air(&p->prg, now);
    if (i >= 0)
        episode_source(c, p, i, 0, now);
    int64_t b = le_prg_next_boundary(&p->prg, now);
    if (p->sent_b && p->sent_b <= now && now - p->sent_b < HOLD_MS && b != p->sent_b) {
        le_se_stats es;
        le_se_get_stats(c->eng, &es);
        if (es.last_change_ms < le_se_clock_of(c->eng, p->sent_b))
            return;
    }
    if (p->sent_b > now && p->sent_b != b)   /* the schedule changed: what was sent for then is redone */
        le_cst_scene_apply(c, LE_CST_PGM, p->sent_b);
    p->sent_b = 0;
    if (b == LE_PRG_NONE || b - now > LOOKAHEAD_MS)
        return;
    le_cst_scene_apply(c, LE_CST_PGM, b);
    p->sent_b = b;
    int j = le_prg_on_air(&p->prg, b);
    if (j >= 0 && p->prg.ep[j].start_ms == b)
        episode_source(c, p, j, 1, now);
}

/* ---- reading the programme ---- */

static void read_start(le_cst_prog *p);

static void read_cb(redisReply *rep, void *arg)
{
    le_cst_prog *p = arg;
    p->reading = 0;
    le_cst_run *c = p->c;
    if (!c) {   /* the caster stopped here meanwhile */
        le_prg_free(&p->prg);
        free(p);
        return;
    }
    if (rep && rep->type == REDIS_REPLY_ARRAY) {
        le_cst_hash h;
        le_cst_hash_split(rep, &h);
        le_prg np;
        int bad = 0;
        le_prg_load(h.f, h.fl, h.v, h.vl, h.n, &np, &bad);
        le_cst_hash_free(&h);
        if (bad && !p->bad_logged)
            le_warn(MOD, "%s: %d stored episodes do not parse; left out", c->id, bad);
        p->bad_logged = bad > 0;
        /* An end this node recorded just now, whose write a read sent
         * before it did not see. */
        int64_t now = le_wall_ms();
        for (size_t k = 0; k < p->prg.n; k++) {
            int64_t en = p->prg.ep[k].ended_ms;
            int i = en >= 0 && now - en < 5000 ? le_prg_find(&np, p->prg.ep[k].id) : -1;
            if (i >= 0 && np.ep[i].ended_ms < 0 && np.ep[i].content_first &&
                np.ep[i].start_ms == p->prg.ep[k].start_ms)
                np.ep[i].ended_ms = p->prg.ep[k].ended_ms;
        }
        le_prg_free(&p->prg);
        p->prg = np;
        p->loaded = 1;
        /* PGM as the programme has it now, then the boundary ahead. */
        le_cst_scene_apply(c, LE_CST_PGM, 0);
        schedule(c);
    }
    if (p->again) {
        p->again = 0;
        read_start(p);
    }
}

static void read_start(le_cst_prog *p)
{
    if (p->reading) {
        p->again = 1;
        return;
    }
    if (!le_store_connected())
        return;
    if (le_store_cmd(read_cb, p, "EVAL %s 1 %s", READ_LUA, p->c->key) == 0)
        p->reading = 1;
}

/* ---- the hooks ---- */

void le_cst_prog_apply(le_cst_run *c)
{
    if (!c->eng)
        return;
    if (!c->prog) {
        c->prog = le_xcalloc(1, sizeof(*c->prog));
        c->prog->c = c;
    }
    read_start(c->prog);
    schedule(c);   /* take() applied PGM as of now: the waiting boundary again */
}

void le_cst_prog_tick(le_cst_run *c)
{
    schedule(c);
}

void le_cst_prog_event(le_cst_run *c, int slot, int ev, int64_t clock_ms)
{
    le_cst_prog *p = c->prog;
    if (ev != LE_SE_EV_EOF || !p || !p->loaded || !c->eng || !c->cur || !effect_on(c->cur))
        return;
    le_se_stats es;
    le_se_get_stats(c->eng, &es);
    int64_t at = es.epoch_ms + clock_ms;
    int i = le_prg_on_air(&p->prg, at);
    if (i < 0)
        return;
    le_prg_ep *x = &p->prg.ep[i];
    /* The end of the file this node started for the episode on air. */
    if (!x->content_first || x->ended_ms >= 0 || le_prg_res_slot(c->cur, x->resource) != slot ||
        strcmp(p->src_ep, x->id) || p->src_start != x->start_ms)
        return;
    x->ended_ms = at;
    char val[24];
    snprintf(val, sizeof(val), "%" PRId64, at);
    le_store_write("EVAL %s 1 %s %s %s", END_LUA, c->key, x->id, val);
    le_info(MOD, "%s: episode %s (ContentFirst) ends: its file played out at clock %" PRId64 " ms", c->id, x->id,
            clock_ms);
    le_cst_scene_apply(c, LE_CST_PGM, 0);
    schedule(c);
}

void le_cst_prog_stop(le_cst_run *c)
{
    le_cst_prog *p = c->prog;
    if (!p)
        return;
    c->prog = NULL;
    if (p->reading) {   /* freed by read_cb */
        p->c = NULL;
        return;
    }
    le_prg_free(&p->prg);
    free(p);
}
