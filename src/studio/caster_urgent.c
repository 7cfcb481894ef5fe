/* The standby video of a running caster (caster_int.h, docs/STUDIO.md
 * "Standby"): automatic standby. With caster_urgent_after above 0 and an
 * UrgentMaterialId set, the holder looks every second at the slots PGM
 * shows (its layers' sources, as the programme has PGM now); when none of
 * them has had a new picture for caster_urgent_after (a paused channel
 * counts as alive), it sets "Urgent": 1 on the PGM scene in Redis, exactly
 * as EffectCasterUrgent does, and publishes the caster's event: every
 * node's re-read then shows the standby file (caster_src.c, scene.c). The
 * operator's next take leaves it. */
#include "studio/caster_int.h"

#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/domains.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "store/store.h"

#define MOD "caster"
#define RESEND_MS 3000   /* a write not yet seen in a re-read is sent again after this */

struct le_cst_urg {
    uint32_t mask;          /* the slots PGM shows (bit i: slot i) */
    int64_t watch_from;     /* clock ms since which PGM shows those slots */
    uint64_t sent_ms;       /* mono ms of the last write */
};

/* KEYS caster; ARGV PGM SceneId, sver the scene was read at, the scene
 * with Urgent 1. 1 written; 0 not running / no such scene; -9 the scenes
 * changed meanwhile (the next tick decides again on the new read). */
static const char URGENT_LUA[] =
    "if redis.call('HGET', KEYS[1], 'status') ~= '1' then return 0 end "
    "if (redis.call('HGET', KEYS[1], 'sver') or '0') ~= ARGV[2] then return -9 end "
    "if redis.call('HEXISTS', KEYS[1], 'scene:' .. ARGV[1]) == 0 then return 0 end "
    "redis.call('HSET', KEYS[1], 'scene:' .. ARGV[1], ARGV[3]) "
    "redis.call('HINCRBY', KEYS[1], 'sver', 1) "
    "return 1";

static void urgent_cb(redisReply *rep, void *arg)
{
    char *id = arg;   /* the caster may be gone by now: only its id is used */
    if (rep && rep->type == REDIS_REPLY_INTEGER && rep->integer == 1)
        le_control_publish_event("caster %s", id);
    else if (!rep || rep->type != REDIS_REPLY_INTEGER)
        le_warn(MOD, "%s: automatic standby not written (store unavailable)", id);
    free(id);
}

static void write_urgent(le_cst_run *c, const le_jv *pgm)
{
    le_jv *o = le_cst_copy(pgm);
    le_jv *m = (le_jv *)le_jv_get(o, "Urgent");
    if (m && m->type == LE_JV_INT)
        m->i = 1;
    else if (!m)
        le_jv_set_int(o, "Urgent", 1);
    le_buf b = { 0 };
    le_jv_to_json(o, &b);
    le_buf_append(&b, "", 1);
    le_jv_free(o);
    char sver[24];
    snprintf(sver, sizeof(sver), "%" PRId64, c->cur->sver);
    const char *argv[] = { "EVAL", URGENT_LUA, "1", c->key, c->cur->pgm, sver, (const char *)b.p };
    char *id = le_xstrdup(c->id);
    if (le_store_cmdargv(urgent_cb, id, 7, argv, NULL) != 0) {
        le_warn(MOD, "%s: automatic standby not written (store unavailable)", c->id);
        free(id);
    }
    le_buf_free(&b);
}

/* The slots PGM shows now (its video layers' inputs), 0 if none. */
static uint32_t shown_slots(le_cst_run *c, const le_scn_caster *sc, const le_jv *pgm)
{
    le_jv *ov = le_cst_prog_pgm(c, sc, le_wall_ms());
    const le_jv *sj = ov ? ov : pgm;
    le_sg_scene *pic = le_xcalloc(1, sizeof(*pic));
    char(*images)[LE_SCN_PATH_MAX] = le_xcalloc(LE_SG_MAX_IMAGES, LE_SCN_PATH_MAX);
    uint32_t mask = 0;
    if (le_scn_picture_of(sc, sj, 640, 360, CR.o.material_dir, pic, images, NULL) == LE_OK)
        for (int k = 0; k < pic->nlayers; k++)
            if (pic->layers[k].input >= 0 && pic->layers[k].input < LE_SE_SLOTS)
                mask |= 1u << pic->layers[k].input;
    free(images);
    free(pic);
    le_jv_free(ov);
    return mask;
}

void le_cst_urgent_tick(le_cst_run *c)
{
    const le_scn_caster *sc = c->cur;
    int64_t after = CR.o.urgent_after_ms;
    if (!c->eng || !sc || after <= 0)
        return;
    if (!c->urg)
        c->urg = le_xcalloc(1, sizeof(*c->urg));
    struct le_cst_urg *u = c->urg;
    const le_jv *pgm = *sc->pgm ? le_jv_get(sc->scenes, sc->pgm) : NULL;
    const char *um = le_jv_get_str(sc->config, "UrgentMaterialId");
    uint32_t mask = pgm && um && *um && !le_scn_is_urgent(pgm) ? shown_slots(c, sc, pgm) : 0;
    le_se_stats st;
    le_se_get_stats(c->eng, &st);
    if (mask != u->mask) {   /* another picture (or standby, or nothing shown): watch afresh */
        u->mask = mask;
        u->watch_from = st.clock_ms;
    }
    if (!mask)
        return;
    int64_t seen = u->watch_from;   /* the newest picture of any slot PGM shows */
    for (int i = 0; i < LE_SE_SLOTS; i++) {
        le_se_slot_stats ss;
        if (!(mask & (1u << i)) || le_se_slot_stats_get(c->eng, i, &ss) != LE_OK)
            continue;
        int64_t t = ss.paused ? st.clock_ms : ss.has_picture ? ss.last_frame_ms : -1;
        if (t > seen)
            seen = t;
    }
    uint64_t now = le_mono_ms();
    if (st.clock_ms - seen < after || (u->sent_ms && now < u->sent_ms + RESEND_MS))
        return;
    u->sent_ms = now;
    le_warn(MOD, "%s: every source PGM shows has been lost for %lld ms (caster_urgent_after): PGM switches to "
                 "the standby video %s",
            c->id, (long long)(st.clock_ms - seen), um);
    write_urgent(c, pgm);
}

void le_cst_urgent_stop(le_cst_run *c)
{
    free(c->urg);
    c->urg = NULL;
}
