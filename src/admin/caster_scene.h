/* The caster actions' shared load / plan / write cycle (actions_caster_scene.c,
 * actions_caster_run.c, actions_caster_chan.c, and with the programme's
 * version actions_caster_prog.c; docs/STUDIO.md, "Scenes and running"): a
 * caster loaded from its hash, a plan computed from it, one Lua script
 * writing the plan if nothing changed meanwhile.
 *
 * Every write of a scene, of the status or of the programme goes through
 * le_cs_start / le_cs_start_kind: the script checks that the caster exists,
 * that its version field (`sver`, the scenes' version, or `pver`, the
 * programme's; bumped by every such write) is the one the plan was computed
 * from, and that every object the plan refers to still exists (404 of that
 * kind otherwise); a changed version reloads and plans again. A successful
 * write publishes "caster {CasterId}" on the events channel. */
#ifndef LE_ADMIN_CASTER_SCENE_H
#define LE_ADMIN_CASTER_SCENE_H
#include <stdint.h>
#include "admin/admin.h"
#include "core/json.h"
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
    const struct le_cs_kind *kind;
    int64_t ver;            /* the kind's version field as loaded */
    int tries;
    le_cs_plan plan;
    le_jv *sets;            /* field -> string value */
    le_jv *dels;            /* array of fields */
    le_jv *musts;           /* array of fields that must exist: res:, rloc:, layout:, comp:, scene:, ep: */
    le_jv *body;            /* the answer */
    void *arg;              /* the action's own (freed with free_arg) */
    void (*free_arg)(void *);
};

/* Parses CasterId (404 InvalidCaster.NotFound if it cannot exist), checks
 * the store, loads the caster and runs plan; the write is checked
 * against the scenes' version `sver`. */
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

/* ---- other versions of the same cycle ---- */

/* A caster's hash as parallel field / value arrays (the shape
 * le_scn_caster_load and le_prg_load take), without the version field. */
typedef struct le_cs_hash {
    const char **f, **v;
    size_t *fl, *vl, n;
} le_cs_hash;

/* What a write is checked against and what more a load makes: the
 * version field `ver` ("sver" for scenes and status, "pver" for the
 * programme, actions_caster_prog.c), load (NULL: nothing) called with
 * the hash after the caster loaded, reset (NULL: nothing) before each
 * load or reload to drop what load made in arg. */
typedef struct le_cs_kind {
    const char *ver;
    void (*load)(le_cs *c, const le_cs_hash *h);
    void (*reset)(void *arg);
} le_cs_kind;
/* le_cs_start with that kind (le_cs_start: "sver", no more). */
void le_cs_start_kind(le_admin_req *r, const le_cs_kind *kind, le_cs_plan plan, void *arg,
                      void (*free_arg)(void *));

#endif
