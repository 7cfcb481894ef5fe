/* A caster's programme (docs/STUDIO.md, "Programmes"): episodes that take
 * PGM over at their StartTime, and what is on air at a wall time. Pure:
 * request parameters and stored JSON in, JSON and numbers out; no Redis,
 * no clock of its own (every time is given, ms since 1970).
 *
 * An episode is the field ep:{EpisodeId} of the caster's hash, a JSON
 * object answered (with Duration and Status added) by
 * DescribeCasterProgram:
 *   {EpisodeId, EpisodeName, EpisodeType (Resource|Component),
 *    ResourceId ("" for Component), ComponentIds[] (bottom to top),
 *    StartTime, EndTime (UTC ISO 8601), SwitchType (TimeFirst|ContentFirst;
 *    always TimeFirst for Component)}
 * and epend:{EpisodeId} holds the wall time (ms) a ContentFirst episode's
 * file ended, written by the node running the caster.
 *
 * On air at time t: the episode with the latest StartTime <= t, while t is
 * before its end: EndTime (TimeFirst), the recorded end (ContentFirst: the
 * file played out; none recorded yet: open). Episodes' [StartTime,
 * EndTime) never overlap (the actions refuse it), so a ContentFirst
 * episode that plays past its EndTime ends at the next episode's
 * StartTime at the latest. Status at t: 0 before StartTime, 1 on air,
 * 2 afterwards. */
#ifndef LE_STUDIO_PROGRAM_H
#define LE_STUDIO_PROGRAM_H
#include <stddef.h>
#include <stdint.h>
#include "core/json.h"
#include "studio/config.h"
#include "studio/scene.h"

#define LE_PRG_MAX 1000          /* episodes of one caster */
#define LE_PRG_NONE INT64_MAX    /* no boundary, no end */

enum { LE_PRG_RESOURCE = 1, LE_PRG_COMPONENT = 2 };

/* "YYYY-MM-DDThh:mm:ssZ", optionally with .f, .ff or .fff seconds before
 * the Z: 0 or LE_EINVAL. le_prg_time_fmt writes the first form, or the
 * second with 3 digits when ms is not whole seconds. */
int le_prg_time_parse(const char *s, int64_t *ms);
char *le_prg_time_fmt(int64_t ms, char out[32]);

/* One episode's parameters, read through g as prefix + name ("" for
 * AddCasterEpisode / ModifyCasterEpisode, "Episodes.N." or "Episode.N."
 * for the Program actions): EpisodeType, EpisodeName, ResourceId,
 * ComponentIds (ComponentIds.M, ComponentId.M, or a JSON array),
 * StartTime, EndTime, Duration (s: EndTime = StartTime + Duration when
 * EndTime is absent), SwitchType. old NULL (Add): EpisodeType, StartTime
 * and EndTime (or Duration) are required. old given (Modify): absent
 * parameters keep old's values; an EpisodeType different from old's is
 * refused. id: the EpisodeId stored. 0 (*out the new object) or a negative
 * code with e filled. Checks only what the parameters say; le_prg_check
 * checks them against the caster. */
int le_prg_parse(le_cst_get g, void *ctx, const char *prefix, const le_jv *old, const char *id, le_jv **out,
                 le_cst_err *e);

/* ComponentIds.N, else ComponentId.N (N = 1, 2, ... while given; at most
 * LE_CST_COMP_MAX + 1 read, so a longer list shows as too long), read
 * through g as prefix + name: a new array of the values as given (an empty
 * one included), NULL when neither .1 is given. The scene actions read
 * their ComponentIds with it too. */
le_jv *le_prg_id_list(le_cst_get g, void *ctx, const char *prefix);

/* The slot (0 for RV01) of c's resource rid, -1 none. */
int le_prg_res_slot(const le_scn_caster *c, const char *rid);

/* ep against caster c: ResourceId names a resource of c (404
 * InvalidResource.NotFound), every ComponentId a component (404
 * InvalidComponent.NotFound), and a ContentFirst episode's resource is
 * not a LiveStreamUrl (400 InvalidParameter.Malformed). */
int le_prg_check(const le_scn_caster *c, const le_jv *ep, le_cst_err *e);

typedef struct le_prg_ep {
    le_jv *obj;                  /* the stored object (owned by the le_prg) */
    const char *id, *resource;   /* into obj */
    int type, content_first;
    int64_t start_ms, end_ms;
    int64_t ended_ms;            /* ContentFirst: recorded end, -1 none */
} le_prg_ep;

/* The episodes, sorted by StartTime. */
typedef struct le_prg {
    le_prg_ep *ep;
    size_t n, cap;
} le_prg;

/* From the caster hash's fields (ep:* and epend:*; others ignored).
 * Objects that do not parse are counted in *bad. 0. */
int le_prg_load(const char *const *fields, const size_t *flen, const char *const *vals, const size_t *vlen,
                size_t n, le_prg *out, int *bad);
void le_prg_free(le_prg *p);
/* Adopts obj (a parsed episode) in StartTime order; one with the same
 * EpisodeId is replaced (its recorded end dropped). 0 or LE_EINVAL (obj
 * not an episode: freed). */
int le_prg_add(le_prg *p, le_jv *obj);
/* Removes episode id: 1 removed, 0 not there. */
int le_prg_remove(le_prg *p, const char *id);
/* Index of episode id, -1 none. */
int le_prg_find(const le_prg *p, const char *id);
/* An episode other than skip_id whose [StartTime, EndTime) meets
 * [start_ms, end_ms): its index, -1 none. */
int le_prg_overlap(const le_prg *p, const char *skip_id, int64_t start_ms, int64_t end_ms);
/* Records a ContentFirst episode's end. */
void le_prg_set_ended(le_prg *p, const char *id, int64_t ended_ms);

/* The episode's effective end (above): LE_PRG_NONE for an open one. */
int64_t le_prg_end_of(const le_prg_ep *ep);
/* The episode on air at t: its index, -1 none. */
int le_prg_on_air(const le_prg *p, int64_t t);
/* Status of episode i at t: 0, 1 or 2. */
int le_prg_status(const le_prg *p, size_t i, int64_t t);
/* The first time after t where what is on air may change (a StartTime, a
 * TimeFirst EndTime or a recorded end), LE_PRG_NONE if none. */
int64_t le_prg_next_boundary(const le_prg *p, int64_t t);

/* PGM's scene object while ep is on air: a copy of the stored PGM scene
 * pgm with, for a Resource episode, EffectResourceId = ResourceId,
 * FollowEnable 1 (its sound) and ComponentIds = the episode's; for a
 * Component episode the episode's ComponentIds added above the scene's
 * own (one not already there). Every other member (Urgent included) is
 * kept. A new object. */
le_jv *le_prg_pgm(const le_jv *pgm, const le_prg_ep *ep);

/* The episode as DescribeCasterProgram answers it: the stored fields, the
 * Duration (s) and the Status at now. */
le_jv *le_prg_describe(const le_prg *p, size_t i, int64_t now);

#endif
