/* The caster scene actions' shared part (actions_caster_scene.c,
 * actions_caster_run.c, actions_caster_chan.c; docs/STUDIO.md, "Scenes and
 * running"): a caster
 * loaded from its hash, a plan computed from it, one Lua script writing
 * the plan if nothing changed the caster's scenes or status meanwhile.
 *
 * Every write of a scene or of the status goes through le_cs_run: the
 * script checks that the caster exists, that its hash field `sver` (the
 * scenes' version, bumped by every such write) is the one the plan was
 * computed from, and that every object the plan refers to still exists
 * (404 of that kind otherwise); a changed `sver` reloads and plans again.
 * A successful write publishes "caster {CasterId}" on the events channel. */
#ifndef LE_ADMIN_CASTER_SCENE_H
#define LE_ADMIN_CASTER_SCENE_H
#include <stdint.h>
#include "admin/admin.h"
#include "core/json.h"
#include "store/store.h"
#include "studio/scene.h"

typedef struct le_cs le_cs;

/* What a plan decided. */
enum { LE_CS_ERR = 0,   /* an error was answered */
       LE_CS_READ,      /* answer c->body, nothing to write */
       LE_CS_WRITE };   /* write c->sets / c->dels (checking c->musts), then answer c->body */
typedef int (*le_cs_plan)(le_cs *c);

struct le_cs {
    le_admin_req *r;
    char caster[LE_SCN_ID_MAX];
    le_scn_caster cst;      /* the loaded caster */
    int64_t sver;
    int tries;
    le_cs_plan plan;
    le_jv *sets;            /* field -> string value */
    le_jv *dels;            /* array of fields */
    le_jv *musts;           /* array of fields that must exist: res:, rloc:, layout:, comp:, scene: */
    le_jv *body;            /* the answer */
    void *arg;              /* the action's own (freed with free_arg) */
    void (*free_arg)(void *);
};

/* Parses CasterId (404 InvalidCaster.NotFound if it cannot exist), checks
 * the store, loads the caster and runs plan. */
void le_cs_start(le_admin_req *r, le_cs_plan plan, void *arg, void (*free_arg)(void *));

/* A scene as the plans change it. */
typedef struct le_cs_scene {
    char id[LE_SCN_ID_MAX], name[LE_SCN_ID_MAX];
    int type, status, follow;
    int urgent;             /* "Urgent": 1, the standby video (kept by every write but a take) */
    char layout[LE_SCN_ID_MAX], effect[LE_SCN_ID_MAX];
    le_jv *comps, *audio, *mix;   /* arrays, owned */
} le_cs_scene;
void le_cs_scene_read(const le_jv *o, le_cs_scene *s);
le_jv *le_cs_scene_json(const le_cs_scene *s);
void le_cs_scene_free(le_cs_scene *s);
/* Queues scene s as the field scene:{id} of the plan. */
void le_cs_set_scene(le_cs *c, const le_cs_scene *s);
void le_cs_set(le_cs *c, const char *field, const char *value);
void le_cs_must(le_cs *c, const char *fmt, const char *id);

/* The SceneId parameter `name`: 400 InvalidSceneId.Malformed when absent,
 * 404 InvalidScene.NotFound when the caster has no such scene. NULL then. */
const le_jv *le_cs_scene_param(le_cs *c, const char *name);

/* The scenes' URLs (docs/STUDIO.md): the caster's play domain, or NULL
 * with 404 InvalidConfiguration.NotFound "DomainName is not configured"
 * answered (404 InvalidDomainName.NotFound for a domain that is gone). */
const char *le_cs_domain(le_cs *c);
/* A scene's StreamUrl (rtmp) into out; "" when the domain is unknown. */
void le_cs_stream_url(const le_cs *c, const char *scene_id, char *out, size_t n);
/* StreamInfo objects of a PGM scene pushed onto arr: every LiveTemplate x
 * flv, rtmp, m3u8. */
void le_cs_stream_infos(const le_cs *c, const char *scene_id, le_jv *arr);

void le_actions_caster_run_register(void);

/* ---- the versioned write, also used by the programme actions
 * (actions_caster_prog.c, version field `pver`) ---- */

/* A caster's hash (an HGETALL reply, an array) as the parallel arrays
 * le_scn_caster_load and le_prg_load take, without the version field
 * ver_field (its value into *ver, left as is when absent). LE_OK, or
 * LE_ENOTFOUND when the hash has no field "info" (no caster); free h
 * with le_cs_hash_free either way. The strings point into rep. */
typedef struct le_cs_hash {
    const char **f, **v;
    size_t *fl, *vl, n;
} le_cs_hash;
int le_cs_hash_split(const struct redisReply *rep, const char *ver_field, int64_t *ver, le_cs_hash *h);
void le_cs_hash_free(le_cs_hash *h);

/* One Lua script on the caster's hash: if ver_field still holds ver and
 * every field of musts exists (rloc:{RVnn}: or chan:{RVnn}), sets the
 * field -> string object sets, deletes the array dels and bumps ver_field;
 * cb gets the reply, to pass to le_cs_write_result. LE_OK or LE_EIO (no
 * store; cb is not called). */
int le_cs_write(le_store_cb cb, void *arg, const char *caster, const char *ver_field, int64_t ver,
                const le_jv *sets, const le_jv *dels, const le_jv *musts);
/* That reply: LE_OK when written (the caller publishes and answers);
 * LE_EAGAIN when the version changed and retry is set (the caller loads
 * and plans again); else the error is answered (404 InvalidCaster, or by
 * the missing field's kind: layout:, comp:, scene:, ep:, otherwise
 * InvalidResource; 503 for the rest) and LE_ENOTFOUND / LE_EIO returned. */
int le_cs_write_result(le_admin_req *r, const struct redisReply *rep, int retry);

#endif
