/* Carousels (livedge(8), docs/STUDIO.md "Carousels"): AddCasterEpisodeGroup,
 * AddCasterEpisodeGroupContent, DeleteCasterEpisodeGroup.
 *
 * State in Redis, so any node's admin port drives any carousel:
 *   {prefix}carousels                 set of the ProgramIds
 *   {prefix}carouseltoken:{token}     string, the ProgramId a ClientToken made
 *   {prefix}carousel:{ProgramId}      hash: config (the JSON: ProgramId,
 *                                     DomainName, Items[]{ItemId, ItemName,
 *                                     VodUrl}, StartTime, RepeatNum,
 *                                     SideOutputUrl, CallbackUrl, CreateTime,
 *                                     ClientToken), status, item, loop
 *                                     (studio/carousel.c writes the last three)
 * Every write is one Lua script, then the event "carousel {ProgramId}" so
 * the node that runs it (studio/carousel.h) reads it again. */
#include "admin/actions.h"
#include "admin/admin.h"
#include "admin/params.h"
#include "control/domains.h"
#include "core/err.h"
#include "core/json.h"
#include "core/util.h"
#include "store/store.h"
#include "studio/carousel.h"
#include "studio/config.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* KEYS token, carousels, carousel; ARGV id, config, max, carousel key
 * prefix. {id, config} of the token (new or earlier); -1 over the quota. */
static const char CREATE_LUA[] =
    "local have = redis.call('GET', KEYS[1]) "
    "if have then "
    "  local cfg = redis.call('HGET', ARGV[4] .. have, 'config') "
    "  return { have, cfg or '' } "
    "end "
    "if redis.call('SCARD', KEYS[2]) >= tonumber(ARGV[3]) then return -1 end "
    "redis.call('SET', KEYS[1], ARGV[1]) "
    "redis.call('SADD', KEYS[2], ARGV[1]) "
    "redis.call('HSET', KEYS[3], 'config', ARGV[2], 'status', '0', 'item', '0', 'loop', '0') "
    "return { ARGV[1], ARGV[2] }";

/* KEYS carousel, carousels; ARGV id, token key prefix. 1, 0 unknown. */
static const char DELETE_LUA[] =
    "local cfg = redis.call('HGET', KEYS[1], 'config') "
    "if not cfg then return 0 end "
    "local ok, j = pcall(cjson.decode, cfg) "
    "if ok and type(j) == 'table' and type(j.ClientToken) == 'string' then "
    "  local tk = ARGV[2] .. j.ClientToken "
    "  if redis.call('GET', tk) == ARGV[1] then redis.call('DEL', tk) end "
    "end "
    "redis.call('DEL', KEYS[1]) "
    "redis.call('SREM', KEYS[2], ARGV[1]) "
    "return 1";

typedef struct cq {
    le_admin_req *r;
    char id[40];
} cq;

static const char *req_get(void *ctx, const char *name)
{
    return le_admin_param(ctx, name);
}

static void create_cb(redisReply *rep, void *arg)
{
    cq *q = arg;
    if (rep && rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 && rep->element[0]->type == REDIS_REPLY_STRING &&
        rep->element[1]->type == REDIS_REPLY_STRING) {
        le_jv *body = le_jv_obj();
        le_jv_set_str(body, "ProgramId", rep->element[0]->str);
        le_jv *ids = le_jv_set_arr(body, "ItemIds");
        le_jv *cfg = le_cst_decode(rep->element[1]->str, rep->element[1]->len);
        const le_jv *items = le_jv_get(cfg, "Items");
        for (const le_jv *x = items && items->type == LE_JV_ARR ? items->first : NULL; x; x = x->next) {
            const char *iid = le_jv_get_str(x, "ItemId");
            le_jv_push_str(ids, iid ? iid : "");
        }
        le_jv_free(cfg);
        le_control_publish_event("carousel %s", rep->element[0]->str);
        le_admin_reply(q->r, body);
    } else if (rep && rep->type == REDIS_REPLY_INTEGER && rep->integer == -1) {
        char msg[96];
        snprintf(msg, sizeof(msg), "Number of resource exceeded: at most %d carousels.", LE_CRL_MAX);
        le_admin_error(q->r, 500, "ResourceNumberExceed", msg);
    } else {
        le_params_unavailable(q->r);
    }
    free(q);
}

/* The parsed carousel (adopted) stored under a new ProgramId, or the one
 * the ClientToken already made. */
static void create(le_admin_req *r, const char *token, le_jv *cfg)
{
    const char *dn = le_jv_get_str(cfg, "DomainName");
    if (!le_domain_get(dn)) {
        le_admin_error(r, 404, "InvalidDomain.NotFound", "The domain provided does not belong to you.");
        le_jv_free(cfg);
        return;
    }
    char id[37], ts[21], tkey[200], skey[200], ckey[300], pfx[300], maxs[16];
    le_uuid_v4(id, 0);
    le_jv *o = le_jv_obj();
    le_jv_set_str(o, "ProgramId", id);
    for (const le_jv *x = cfg->first; x; x = x->next) {
        if (strcmp(x->key, "Items") != 0) {
            le_jv_set(o, x->key, le_cst_copy(x));
            continue;
        }
        le_jv *items = le_jv_set_arr(o, "Items");
        for (const le_jv *it = x->first; it; it = it->next) {
            char iid[37];
            le_uuid_v4(iid, 0);
            le_jv *ni = le_jv_push_obj(items);
            le_jv_set_str(ni, "ItemId", iid);
            le_jv_set_str(ni, "ItemName", le_jv_get_str(it, "ItemName"));
            le_jv_set_str(ni, "VodUrl", le_jv_get_str(it, "VodUrl"));
        }
    }
    le_jv_set_str(o, "CreateTime", le_fmt_utc(le_wall_ms(), ts));
    le_jv_set_str(o, "ClientToken", token);
    le_jv_free(cfg);
    le_buf b = { 0 };
    le_jv_to_json(o, &b);
    le_jv_free(o);
    le_buf_append(&b, "", 1);
    le_store_key(tkey, sizeof(tkey), "carouseltoken:%s", token);
    le_store_key(skey, sizeof(skey), "carousels");
    le_store_key(ckey, sizeof(ckey), "carousel:%s", id);
    le_store_key(pfx, sizeof(pfx), "carousel:");
    snprintf(maxs, sizeof(maxs), "%d", LE_CRL_MAX);
    cq *q = le_xcalloc(1, sizeof(*q));
    q->r = r;
    const char *argv[] = { "EVAL", CREATE_LUA, "3", tkey, skey, ckey, id, (const char *)b.p, maxs, pfx };
    if (le_store_cmdargv(create_cb, q, 10, argv, NULL) != 0) {
        le_params_unavailable(r);
        free(q);
    }
    le_buf_free(&b);
}

static int token_param(le_admin_req *r, const char **out)
{
    if (le_admin_require(r, "ClientToken", out) != 0)
        return LE_EINVAL;
    if (!le_cst_token_ok(*out)) {
        le_params_invalid_why(r, "ClientToken", "1 to 64 printable ASCII characters");
        return LE_EINVAL;
    }
    return LE_OK;
}

static void add_group(le_admin_req *r)
{
    const char *token;
    le_cst_err e;
    le_jv *cfg = NULL;
    if (token_param(r, &token) != 0 || le_params_store(r) != 0)
        return;
    if (le_crl_parse(req_get, r, &cfg, &e) != LE_OK) {
        le_admin_error(r, e.status, e.code, e.msg);
        return;
    }
    create(r, token, cfg);
}

static void add_group_content(le_admin_req *r)
{
    const char *token, *content;
    le_cst_err e;
    le_jv *cfg = NULL;
    if (token_param(r, &token) != 0 || le_admin_require(r, "Content", &content) != 0 || le_params_store(r) != 0)
        return;
    if (le_crl_parse_content(content, strlen(content), &cfg, &e) != LE_OK) {
        le_admin_error(r, e.status, e.code, e.msg);
        return;
    }
    create(r, token, cfg);
}

/* DeleteCasterEpisodeGroup answers {requestId, retCode, description}
 * (besides the RequestId every answer has): retCode 0 "OK", or 1 with the
 * reason when there is no such ProgramId. */
static void answer_ret(le_admin_req *r, int code, const char *desc)
{
    le_jv *body = le_jv_obj();
    le_jv_set_str(body, "requestId", le_admin_request_id(r));
    le_jv_set_int(body, "retCode", code);
    le_jv_set_str(body, "description", desc);
    le_admin_reply(r, body);
}

static void delete_cb(redisReply *rep, void *arg)
{
    cq *q = arg;
    if (!rep || rep->type != REDIS_REPLY_INTEGER) {
        le_params_unavailable(q->r);
    } else if (rep->integer == 1) {
        le_control_publish_event("carousel %s", q->id);
        answer_ret(q->r, 0, "OK");
    } else {
        answer_ret(q->r, 1, "InvalidProgramId.NotFound: no carousel has this ProgramId.");
    }
    free(q);
}

static void delete_group(le_admin_req *r)
{
    const char *id;
    if (le_admin_require(r, "ProgramId", &id) != 0 || le_params_store(r) != 0)
        return;
    if (!le_cst_id_ok(id) || strlen(id) >= sizeof(((cq *)0)->id)) {
        answer_ret(r, 1, "InvalidProgramId.NotFound: no carousel has this ProgramId.");
        return;
    }
    char ckey[300], skey[200], tpfx[200];
    le_store_key(ckey, sizeof(ckey), "carousel:%s", id);
    le_store_key(skey, sizeof(skey), "carousels");
    le_store_key(tpfx, sizeof(tpfx), "carouseltoken:");
    cq *q = le_xcalloc(1, sizeof(*q));
    q->r = r;
    snprintf(q->id, sizeof(q->id), "%s", id);
    const char *argv[] = { "EVAL", DELETE_LUA, "2", ckey, skey, id, tpfx };
    if (le_store_cmdargv(delete_cb, q, 7, argv, NULL) != 0) {
        le_params_unavailable(r);
        free(q);
    }
}

void le_actions_carousel_register(void)
{
    le_admin_register("AddCasterEpisodeGroup", add_group);
    le_admin_register("AddCasterEpisodeGroupContent", add_group_content);
    le_admin_register("DeleteCasterEpisodeGroup", delete_group);
}
