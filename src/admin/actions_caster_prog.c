/* The production studio's programme actions (livedge(8), docs/STUDIO.md
 * "Programmes"): AddCasterEpisode, AddCasterProgram, ModifyCasterEpisode,
 * ModifyCasterProgram, DeleteCasterEpisode, DeleteCasterProgram,
 * DescribeCasterProgram.
 *
 * Episodes are the fields ep:{EpisodeId} of the caster's hash (studio/
 * program.h). Every action loads the hash, plans its change against the
 * caster and the programme as loaded, and writes it with the studio's
 * versioned write (admin/caster_scene.h, le_cs_start_kind), which checks
 * that the programme's version `pver` is still the one the plan saw (else
 * it loads and plans again) and that every resource and component the
 * episodes name still exists. */
#include "admin/actions.h"
#include "admin/admin.h"
#include "admin/caster_scene.h"
#include "admin/params.h"
#include "core/err.h"
#include "core/json.h"
#include "core/util.h"
#include "studio/config.h"
#include "studio/program.h"
#include "studio/scene.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROWS_MAX 100
#define ROWS_DEFAULT 20

/* The programme as loaded, in c->arg. */
#define PRG(a) ((le_prg *)(a)->arg)

static void episode_nf(le_admin_req *r)
{
    le_admin_error(r, 404, "InvalidEpisode.NotFound", "Episode is not found.");
}

static void prg_load(le_cs *c, const le_cs_hash *h)
{
    int bad = 0;
    le_prg_load(h->f, h->fl, h->v, h->vl, h->n, PRG(c), &bad);
}

static void prg_reset(void *arg)
{
    le_prg_free(arg);
}

static void prg_free(void *arg)
{
    le_prg_free(arg);
    free(arg);
}

static void pa_start(le_admin_req *r, le_cs_plan plan)
{
    static const le_cs_kind programme = { "pver", prg_load, prg_reset };
    le_cs_start_kind(r, &programme, plan, le_xcalloc(1, sizeof(le_prg)), prg_free);
}

/* ---- planning helpers ---- */

static const char *req_get(void *ctx, const char *name)
{
    return le_admin_param(ctx, name);
}

static void answer(le_cs *a, const le_cst_err *e)
{
    le_admin_error(a->r, e->status, e->code, e->msg);
}

/* Checks episode o (parsed, id in it) against the caster and the programme
 * (its own old version, skip, left out), then adopts it into the loaded programme and
 * queues its write. 0, or an error answered (o freed). */
static int stage(le_cs *a, le_jv *o, int modify)
{
    le_cst_err e;
    memset(&e, 0, sizeof(e));
    const char *id = le_jv_get_str(o, "EpisodeId");
    char eid[LE_SCN_ID_MAX];
    snprintf(eid, sizeof(eid), "%s", id ? id : "");
    if (le_prg_check(&a->cst, o, &e) != LE_OK) {
        answer(a, &e);
        le_jv_free(o);
        return LE_EINVAL;
    }
    int64_t st = 0, en = 0;
    le_prg_time_parse(le_jv_get_str(o, "StartTime"), &st);
    le_prg_time_parse(le_jv_get_str(o, "EndTime"), &en);
    int k = le_prg_overlap(PRG(a), eid, st, en);
    if (k >= 0) {
        char msg[200];
        snprintf(msg, sizeof(msg), "The episode's time overlaps episode %s: episodes may not overlap.",
                 PRG(a)->ep[k].id);
        le_admin_error(a->r, 400, "InvalidParameter.Malformed", msg);
        le_jv_free(o);
        return LE_EINVAL;
    }
    if (!modify && PRG(a)->n >= LE_PRG_MAX) {
        char msg[120];
        snprintf(msg, sizeof(msg), "Number of episodes exceeded: at most %d episodes per caster.", LE_PRG_MAX);
        le_admin_error(a->r, 400, "ResourceNumberExceed", msg);
        le_jv_free(o);
        return LE_EINVAL;
    }
    char field[LE_SCN_ID_MAX + 8];
    le_buf b = { 0 };
    le_jv_to_json(o, &b);
    le_buf_append(&b, "", 1);
    snprintf(field, sizeof(field), "ep:%s", eid);
    le_jv_set_str(a->sets, field, (const char *)b.p);
    le_buf_free(&b);
    if (modify) {
        snprintf(field, sizeof(field), "epend:%s", eid);
        le_jv_push_str(a->dels, field);
        snprintf(field, sizeof(field), "ep:%s", eid);
        le_jv_push_str(a->musts, field);
    }
    const char *rid = le_jv_get_str(o, "ResourceId");
    if (rid && *rid) {
        snprintf(field, sizeof(field), "res:%s", rid);
        le_jv_push_str(a->musts, field);
    }
    const le_jv *ids = le_jv_get(o, "ComponentIds");
    for (const le_jv *x = ids ? ids->first : NULL; x; x = x->next) {
        snprintf(field, sizeof(field), "comp:%s", x->s);
        le_jv_push_str(a->musts, field);
    }
    le_prg_add(PRG(a), o);
    return LE_OK;
}

/* The prefix of episode n of the Program actions ("Episodes.n." or
 * "Episode.n."), or NULL when the request has no such episode. */
static const char *episode_prefix(le_admin_req *r, int n, char *buf, size_t bn)
{
    static const char *const bases[] = { "Episodes", "Episode" };
    static const char *const names[] = { "EpisodeId", "EpisodeType", "EpisodeName", "ResourceId", "StartTime",
                                         "EndTime", "Duration", "SwitchType", "ComponentIds", "ComponentIds.1",
                                         "ComponentId.1" };
    for (int b = 0; b < 2; b++) {
        snprintf(buf, bn, "%s.%d.", bases[b], n);
        for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
            char full[96];
            snprintf(full, sizeof(full), "%s%s", buf, names[k]);
            if (le_admin_param(r, full))
                return buf;
        }
    }
    return NULL;
}

/* ---- AddCasterEpisode, AddCasterProgram ---- */

static int add_one(le_cs *a, const char *prefix, char id[37])
{
    le_cst_err e;
    memset(&e, 0, sizeof(e));
    le_jv *o = NULL;
    le_uuid_v4(id, 0);
    if (le_prg_parse(req_get, a->r, prefix, NULL, id, &o, &e) != LE_OK) {
        answer(a, &e);
        return LE_EINVAL;
    }
    return stage(a, o, 0);
}

static int plan_add_episode(le_cs *a)
{
    char id[37];
    if (add_one(a, "", id) != LE_OK)
        return LE_CS_ERR;
    le_jv_set_str(a->body, "EpisodeId", id);
    return LE_CS_WRITE;
}

static int plan_add_program(le_cs *a)
{
    char pfx[32];
    le_jv *ids = le_jv_arr();
    for (int n = 1; n <= LE_PRG_MAX + 1 && episode_prefix(a->r, n, pfx, sizeof(pfx)); n++) {
        char id[37];
        if (add_one(a, pfx, id) != LE_OK) {
            le_jv_free(ids);
            return LE_CS_ERR;
        }
        le_jv_push_str(ids, id);
    }
    if (ids->n == 0) {
        le_jv_free(ids);
        le_admin_error(a->r, 400, "MissingParameter", "Episodes is mandatory for this action.");
        return LE_CS_ERR;
    }
    le_jv_set(a->body, "EpisodeIds", ids);
    return LE_CS_WRITE;
}

/* ---- ModifyCasterEpisode, ModifyCasterProgram ---- */

static int modify_one(le_cs *a, const char *prefix)
{
    char name[64];
    snprintf(name, sizeof(name), "%sEpisodeId", prefix);
    const char *id;
    if (le_admin_require(a->r, name, &id) != 0)
        return LE_EINVAL;
    int k = le_prg_find(PRG(a), id);
    if (k < 0) {
        episode_nf(a->r);
        return LE_EINVAL;
    }
    le_cst_err e;
    memset(&e, 0, sizeof(e));
    le_jv *o = NULL;
    if (le_prg_parse(req_get, a->r, prefix, PRG(a)->ep[k].obj, PRG(a)->ep[k].id, &o, &e) != LE_OK) {
        answer(a, &e);
        return LE_EINVAL;
    }
    return stage(a, o, 1);
}

static int plan_modify_episode(le_cs *a)
{
    if (modify_one(a, "") != LE_OK)
        return LE_CS_ERR;
    le_jv_set_str(a->body, "CasterId", a->caster);
    le_jv_set_str(a->body, "EpisodeId", le_admin_param(a->r, "EpisodeId"));
    return LE_CS_WRITE;
}

static int plan_modify_program(le_cs *a)
{
    char pfx[32];
    int n = 1;
    for (; n <= LE_PRG_MAX + 1 && episode_prefix(a->r, n, pfx, sizeof(pfx)); n++)
        if (modify_one(a, pfx) != LE_OK)
            return LE_CS_ERR;
    le_jv_set_str(a->body, "CasterId", a->caster);
    return LE_CS_WRITE;
}

/* ---- DeleteCasterEpisode, DeleteCasterProgram ---- */

static int plan_delete_episode(le_cs *a)
{
    const char *id;
    if (le_admin_require(a->r, "EpisodeId", &id) != 0)
        return LE_CS_ERR;
    if (le_prg_find(PRG(a), id) < 0) {
        episode_nf(a->r);
        return LE_CS_ERR;
    }
    char field[LE_SCN_ID_MAX + 8];
    snprintf(field, sizeof(field), "ep:%s", id);
    le_jv_push_str(a->dels, field);
    le_jv_push_str(a->musts, field);
    snprintf(field, sizeof(field), "epend:%s", id);
    le_jv_push_str(a->dels, field);
    le_jv_set_str(a->body, "CasterId", a->caster);
    le_jv_set_str(a->body, "EpisodeId", id);
    return LE_CS_WRITE;
}

static int plan_delete_program(le_cs *a)
{
    char field[LE_SCN_ID_MAX + 8];
    for (size_t i = 0; i < PRG(a)->n; i++) {
        snprintf(field, sizeof(field), "ep:%s", PRG(a)->ep[i].id);
        le_jv_push_str(a->dels, field);
        snprintf(field, sizeof(field), "epend:%s", PRG(a)->ep[i].id);
        le_jv_push_str(a->dels, field);
    }
    le_jv_set_str(a->body, "CasterId", a->caster);
    return LE_CS_WRITE;
}

/* ---- DescribeCasterProgram ---- */

static int int_param(le_cs *a, const char *name, int64_t lo, int64_t hi, int64_t dflt, int64_t *out)
{
    const char *v = le_admin_param(a->r, name);
    *out = dflt;
    if (!v || !*v)
        return LE_OK;
    if (le_params_int_range(v, lo, hi, out) != LE_OK) {
        char why[80];
        snprintf(why, sizeof(why), "an integer %" PRId64 "-%" PRId64, lo, hi);
        le_params_invalid_why(a->r, name, why);
        return LE_EINVAL;
    }
    return LE_OK;
}

static int time_filter(le_cs *a, const char *name, int64_t dflt, int64_t *out)
{
    const char *v = le_admin_param(a->r, name);
    *out = dflt;
    if (!v || !*v)
        return LE_OK;
    if (le_prg_time_parse(v, out) != LE_OK) {
        if (!strcmp(name, "StartTime"))
            le_admin_error(a->r, 400, "InvalidStartTime.Malformed",
                           "Specified start time is malformed: use UTC YYYY-MM-DDThh:mm:ssZ.");
        else
            le_admin_error(a->r, 400, "InvalidEndTime.Malformed",
                           "Specified end time is malformed: use UTC YYYY-MM-DDThh:mm:ssZ.");
        return LE_EINVAL;
    }
    return LE_OK;
}

static int plan_describe(le_cs *a)
{
    static const char *const types[] = { "Resource", "Component", NULL };
    const char *eid = le_admin_param(a->r, "EpisodeId"), *type = NULL;
    int64_t from, to, page, rows, status;
    if (le_params_enum(a->r, "EpisodeType", types, NULL, &type) != 0 ||
        time_filter(a, "StartTime", INT64_MIN, &from) != LE_OK || time_filter(a, "EndTime", INT64_MAX, &to) != LE_OK ||
        int_param(a, "Page", 1, 1000000, 1, &page) != LE_OK ||
        int_param(a, "Rows", 1, ROWS_MAX, ROWS_DEFAULT, &rows) != LE_OK ||
        int_param(a, "Status", -1, 2, -1, &status) != LE_OK)
        return LE_CS_ERR;
    if (eid && *eid && le_prg_find(PRG(a), eid) < 0) {
        episode_nf(a->r);
        return LE_CS_ERR;
    }
    int64_t now = le_wall_ms();
    const char *pn = le_jv_get_str(a->cst.config, "ProgramName");
    int64_t pe = 0;
    le_jv_get_int(a->cst.config, "ProgramEffect", &pe);
    le_jv_set_str(a->body, "CasterId", a->caster);
    le_jv_set_str(a->body, "ProgramName", pn ? pn : "");
    le_jv_set_int(a->body, "ProgramEffect", pe);
    le_jv *arr = le_jv_set_arr(a->body, "Episodes");
    int64_t total = 0, skip = (page - 1) * rows;
    for (size_t i = 0; i < PRG(a)->n; i++) {
        const le_prg_ep *x = &PRG(a)->ep[i];
        if (eid && *eid && strcmp(eid, x->id))
            continue;
        if (type && (x->type == LE_PRG_RESOURCE) != !strcmp(type, "Resource"))
            continue;
        if (x->start_ms < from || x->start_ms >= to)
            continue;
        if (status >= 0 && le_prg_status(PRG(a), i, now) != status)
            continue;
        if (total++ >= skip && (int64_t)arr->n < rows)
            le_jv_push(arr, le_prg_describe(PRG(a), i, now));
    }
    le_jv_set_int(a->body, "Total", total);
    return LE_CS_READ;
}

/* ---- registration ---- */

static void add_episode(le_admin_req *r) { pa_start(r, plan_add_episode); }
static void add_program(le_admin_req *r) { pa_start(r, plan_add_program); }
static void modify_episode(le_admin_req *r) { pa_start(r, plan_modify_episode); }
static void modify_program(le_admin_req *r) { pa_start(r, plan_modify_program); }
static void delete_episode(le_admin_req *r) { pa_start(r, plan_delete_episode); }
static void delete_program(le_admin_req *r) { pa_start(r, plan_delete_program); }
static void describe_program(le_admin_req *r) { pa_start(r, plan_describe); }

void le_actions_caster_prog_register(void)
{
    le_admin_register("AddCasterEpisode", add_episode);
    le_admin_register("AddCasterProgram", add_program);
    le_admin_register("ModifyCasterEpisode", modify_episode);
    le_admin_register("ModifyCasterProgram", modify_program);
    le_admin_register("DeleteCasterEpisode", delete_episode);
    le_admin_register("DeleteCasterProgram", delete_program);
    le_admin_register("DescribeCasterProgram", describe_program);
}
