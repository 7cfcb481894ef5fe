/* Inside the running casters (studio/caster.c, caster_src.c): one caster
 * this node knows of, its lease, engine, slot sources and scene outputs.
 * Not a module face: only the two files of this module include it. */
#ifndef LE_STUDIO_CASTER_INT_H
#define LE_STUDIO_CASTER_INT_H
#include <stddef.h>
#include <stdint.h>

#include "control/lease.h"
#include "control/publish.h"
#include "studio/caster.h"
#include "studio/caster_url.h"
#include "studio/engine.h"
#include "studio/output.h"
#include "studio/scene.h"

#define LE_CST_ID_MAX LE_SCN_ID_MAX
#define LE_CST_KEY_MAX 300
#define LE_CST_DOMAIN_MAX 256
#define LE_CST_STREAM_MAX 128
#define LE_CST_SCENES 2
enum { LE_CST_PVW = 0, LE_CST_PGM = 1 };   /* engine scene index */

struct le_tap;
struct le_ingest;
struct redisReply;

/* An HGETALL reply split into parallel field/value arrays (the strings
 * stay the reply's): the n pairs whose field and value are both strings. */
typedef struct le_cst_hash {
    const char **f, **v;
    size_t *fl, *vl;
    size_t n;
} le_cst_hash;
/* caster.c: h from rep (an array reply); le_cst_hash_free frees the arrays. */
void le_cst_hash_split(const struct redisReply *rep, le_cst_hash *h);
void le_cst_hash_free(le_cst_hash *h);

/* One slot (RVnn) as this node feeds it. */
struct le_cst_run;
typedef struct le_cst_slot {
    struct le_cst_run *owner;    /* the tap's and ingest's context is the slot */
    int idx;
    le_scn_src src;              /* what is applied (kind NONE: empty) */
    int set;                     /* src was given to the engine */
    char domain[LE_CST_DOMAIN_MAX], app[LE_CST_STREAM_MAX], name[LE_CST_STREAM_MAX];  /* live: the tapped stream */
    struct le_tap *tap;
    struct le_ingest *in;        /* a remote LiveStreamUrl pulled into caster/{CasterId}_RVnn */
    uint64_t retry_at;           /* after a kick of the ingest */
    uint64_t fed, refused;
    int64_t chan_seq;            /* the channel's SeekSeq last applied (caster_src.c) */
    int chan_paused;             /* PlayStatus 0 applied */
} le_cst_slot;

/* One output of a scene: the published stream caster/{name}
 * (studio/output.h). */
typedef le_so le_cst_out;

typedef struct le_cst_scene {
    int running, nout;
    le_cst_out out[LE_SE_MAX_OUT];   /* each keeps its last sequence headers */
    char *key;                   /* what was applied (graph, images, outputs) */
    char err[80];                /* the last refusal's code, logged once */
} le_cst_scene;

/* A PGM output body waiting for the broadcast delay (SetCasterConfig
 * Delay). */
typedef struct le_cst_dq {
    struct le_cst_dq *next;
    int out;
    uint64_t due;                /* mono ms */
    le_pkt *p;
} le_cst_dq;
#define LE_CST_DQ_MAX_BYTES (64u << 20)   /* per caster */

struct le_cst_prog;   /* caster_prog.c: the programme's schedule */
struct le_cst_urg;    /* caster_urgent.c: the standby state */
struct le_cst_outs;   /* caster_out.c: side output and recording of PGM */

typedef struct le_cst_run {
    struct le_cst_run *next;
    char id[LE_CST_ID_MAX];
    char key[LE_CST_KEY_MAX];
    le_lease lease;              /* caster:lease:{CasterId} */
    int loading, reload, dead, pending, bad_logged;   /* pending: load replies */
    uint64_t gen, seen_ms;
    int status, fps;
    char domain[LE_CST_DOMAIN_MAX];   /* the outputs' DomainName */
    le_se *eng;
    uint64_t started_ms, slow_logged_ms, slow_dropped, slow_ticks;
    le_cst_slot slot[LE_SE_SLOTS];
    le_cst_scene sc[LE_CST_SCENES];
    /* the broadcast delay of PGM's outputs */
    uint64_t bdelay_ms;
    le_cst_dq *dq_head, *dq_tail;
    size_t dq_bytes;
    int dq_needkey[LE_SE_MAX_OUT];   /* video of that output waits for a keyframe after a drop */
    uint64_t dq_logged_ms, dq_since_log;
    le_scn_caster *cur;          /* the caster as last read (NULL before); the holder's scenes come from it */
    struct le_cst_prog *prog;
    struct le_cst_urg *urg;
    struct le_cst_outs *outs;
} le_cst_run;

typedef struct le_cst_rt {
    struct event_base *base;
    le_pipe_pool *pool;
    le_caster_opts o;
    char material_dir[LE_SCN_PATH_MAX];
    le_cst_run *list;
    int up, stopped, scanning;
    uint64_t gen, last_scan;
    le_caster_stats st;
} le_cst_rt;
extern le_cst_rt CR;

/* caster.c: scene idx (LE_CST_PVW, LE_CST_PGM) of c->cur as it should be
 * at wall time at_unix_ms (ms since 1970; 0: now), PGM through the
 * programme (le_cst_prog_pgm), handed to the engine when it differs from
 * what was last handed: for a time ahead of now as a timed change
 * (le_se_set_scene_at), applied at the first tick at or after it. */
void le_cst_scene_apply(le_cst_run *c, int idx, int64_t at_unix_ms);

/* caster_prog.c: the programme (docs/STUDIO.md, "Programmes").
 * le_cst_prog_pgm: the PGM scene object to show at wall time unix_ms, a new
 * object the caller frees (le_jv_free), or NULL when PGM shows its stored
 * scene (no programme in effect, no episode on air then).
 * le_cst_prog_apply: after every read of the caster (c->cur is new).
 * le_cst_prog_tick: the 1 s tick of the holder (schedules the boundaries
 * ahead with le_cst_scene_apply and timed sources).
 * le_cst_prog_event: the engine's event (engine.h LE_SE_EV_*).
 * le_cst_prog_stop: the caster stops on this node (frees c->prog). */
struct le_jv *le_cst_prog_pgm(le_cst_run *c, const le_scn_caster *sc, int64_t unix_ms);
void le_cst_prog_apply(le_cst_run *c);
void le_cst_prog_tick(le_cst_run *c);
void le_cst_prog_event(le_cst_run *c, int slot, int ev, int64_t clock_ms);
void le_cst_prog_stop(le_cst_run *c);

/* caster_urgent.c: the standby video (docs/STUDIO.md, "Standby"):
 * automatic standby when every PGM source has been lost for
 * caster_urgent_after. le_cst_urgent_tick: the 1 s tick of the holder;
 * le_cst_urgent_stop frees c->urg. */
void le_cst_urgent_tick(le_cst_run *c);
void le_cst_urgent_stop(le_cst_run *c);

/* caster_out.c: PGM's side output (SideOutputUrl, a relay push) and its
 * recording (RecordConfig). le_cst_outputs_apply: after every read (and
 * when PGM's streams change); le_cst_outputs_stop frees c->outs. */
void le_cst_outputs_apply(le_cst_run *c);
void le_cst_outputs_stop(le_cst_run *c);

/* caster_src.c: the slots of a running caster from its resources (only
 * what changed), the 1 s upkeep (ingest retries), and stopping them all. */
void le_cst_sources_apply(le_cst_run *c, const le_scn_caster *sc);
void le_cst_sources_tick(le_cst_run *c);
void le_cst_sources_stop(le_cst_run *c);

#endif
