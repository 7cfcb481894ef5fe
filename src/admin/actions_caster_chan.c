/* The production studio's channel and standby actions (API reference
 * chapter 17; livedge(8), docs/STUDIO.md "Channels" and "Standby"):
 * SetCasterChannel, DescribeCasterChannels, EffectCasterUrgent.
 *
 * A channel is the field chan:{RVnn} of the caster's hash (studio/scene.h):
 * {ChannelId, ResourceId, SeekOffset, PlayStatus, SeekSeq}. With
 * ChannelEnable 1 slot RVnn shows the resource bound to channel RVnn. The
 * standby video is "Urgent": 1 on the PGM scene. Both are written through
 * the scene actions' load / plan / write cycle (admin/caster_scene.h), so
 * the sver check serialises them with every scene write. */
#include "admin/actions.h"
#include "admin/admin.h"
#include "admin/caster_scene.h"
#include "admin/params.h"
#include "core/err.h"
#include "core/json.h"
#include "core/util.h"
#include "node.h"
#include "studio/config.h"
#include "studio/scene.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- SetCasterChannel ---- */

static int is_file(const le_jv *res)
{
    const char *live = le_jv_get_str(res, "LiveStreamUrl");
    return !(live && *live);
}

static int plan_set_channel(le_cs *c)
{
    le_admin_req *r = c->r;
    const char *cid, *rid;
    if (le_admin_require(r, "ChannelId", &cid) != 0 || le_admin_require(r, "ResourceId", &rid) != 0)
        return LE_CS_ERR;
    if (!c->cst.channels) {
        le_admin_error(r, 400, "IncorrectChannel.Disable",
                       "Channels are not enabled: SetCasterConfig ChannelEnable=1 while the caster is stopped.");
        return LE_CS_ERR;
    }
    int ch = le_cst_location(cid, 'V');
    if (ch < 1 || ch > LE_CST_RES_MAX) {
        le_admin_error(r, 400, "InvalidChannelId.Malformed", "Specified parameter ChannelId is invalid: RV01 to RV12.");
        return LE_CS_ERR;
    }
    const le_jv *res = le_cst_id_ok(rid) && strlen(rid) < LE_SCN_ID_MAX ? le_jv_get(c->cst.resources, rid) : NULL;
    if (!res || res->type != LE_JV_OBJ) {
        le_admin_error(r, 404, "InvalidResource.NotFound", "Resource is not found.");
        return LE_CS_ERR;
    }
    for (int i = 0; i < LE_CST_RES_MAX; i++) {
        const char *x = i != ch - 1 && c->cst.chan[i] ? le_jv_get_str(c->cst.chan[i], "ResourceId") : NULL;
        if (x && !strcmp(x, rid)) {
            le_admin_error(r, 400, "ResourceOfChannelExist", "Resource has been set to channel already");
            return LE_CS_ERR;
        }
    }
    const char *so = le_admin_param(r, "SeekOffset"), *ps = le_admin_param(r, "PlayStatus");
    if (so && !*so)
        so = NULL;
    if (ps && !*ps)
        ps = NULL;
    int64_t seek = 0, play = LE_SCN_PLAY, seq = 0, oseek = 0, oplay = LE_SCN_PLAY;
    if (so && le_params_int_range(so, 0, INT32_MAX, &seek) != LE_OK) {
        le_params_invalid_why(r, "SeekOffset", "ms from the file's first frame, 0 to 2147483647");
        return LE_CS_ERR;
    }
    if (ps && strcmp(ps, "0") && strcmp(ps, "1")) {
        le_params_invalid_why(r, "PlayStatus", "1 (play) or 0 (pause)");
        return LE_CS_ERR;
    }
    if ((so || ps) && !is_file(res)) {
        le_admin_error(r, 400, "InvalidParameter.Malformed",
                       "SeekOffset and PlayStatus apply to file resources (VodUrl, MaterialId) only.");
        return LE_CS_ERR;
    }
    /* The same resource keeps its offset and play status unless given. */
    const le_jv *old = c->cst.chan[ch - 1];
    const char *orid = old ? le_jv_get_str(old, "ResourceId") : NULL;
    le_jv_get_int(old, "SeekSeq", &seq);
    if (orid && !strcmp(orid, rid)) {
        le_jv_get_int(old, "SeekOffset", &oseek);
        le_jv_get_int(old, "PlayStatus", &oplay);
    }
    if (!so)
        seek = oseek;
    else
        seq++;   /* every given SeekOffset seeks, the same one twice too */
    play = ps ? ps[0] - '0' : oplay;

    char chan[8], field[16];
    snprintf(chan, sizeof(chan), "RV%02d", ch);
    snprintf(field, sizeof(field), "chan:%s", chan);
    le_jv *o = le_jv_obj();
    le_jv_set_str(o, "ChannelId", chan);
    le_jv_set_str(o, "ResourceId", rid);
    le_jv_set_int(o, "SeekOffset", seek);
    le_jv_set_int(o, "PlayStatus", play);
    le_jv_set_int(o, "SeekSeq", seq);
    le_buf b = { 0 };
    le_jv_to_json(o, &b);
    le_buf_append(&b, "", 1);
    le_jv_free(o);
    le_cs_set(c, field, (const char *)b.p);
    le_buf_free(&b);
    le_cs_must(c, "res:%s", rid);
    return LE_CS_WRITE;
}

static void set_channel(le_admin_req *r) { le_cs_start(r, plan_set_channel, NULL, NULL); }

/* ---- DescribeCasterChannels ---- */

static int plan_describe_channels(le_cs *c)
{
    le_jv *arr = le_jv_set_arr(c->body, "Channels");
    int n = 0;
    for (int i = 0; i < LE_CST_RES_MAX; i++) {
        const char *rid = c->cst.chan[i] ? le_jv_get_str(c->cst.chan[i], "ResourceId") : NULL;
        const le_jv *res = rid && *rid ? le_jv_get(c->cst.resources, rid) : NULL;
        if (!res)
            continue;   /* never set, or its resource was deleted: empty */
        const char *live = le_jv_get_str(res, "LiveStreamUrl"), *vod = le_jv_get_str(res, "VodUrl");
        char id[8];
        snprintf(id, sizeof(id), "RV%02d", i + 1);
        le_jv *o = le_jv_push_obj(arr);
        le_jv_set_str(o, "ChannelId", id);
        le_jv_set_str(o, "ResourceId", rid);
        le_jv_set_str(o, "StreamUrl", live && *live ? live : vod && *vod ? vod : "");
        n++;
    }
    le_jv_set_int(c->body, "Total", n);
    return LE_CS_READ;
}

static void describe_channels(le_admin_req *r) { le_cs_start(r, plan_describe_channels, NULL, NULL); }

/* ---- EffectCasterUrgent ---- */

/* The standby file of UrgentMaterialId where this node's casters read it
 * (node.h le_node_material_dir). */
static int material_path(const char *mat, char *out, size_t n)
{
    const char *dir = le_node_material_dir();
    if (!*dir)
        return LE_ENOTFOUND;
    return (size_t)snprintf(out, n, "%s/%s", dir, mat) < n ? LE_OK : LE_ETOOBIG;
}

static int plan_urgent(le_cs *c)
{
    const le_jv *so = le_cs_scene_param(c, "SceneId");
    if (!so)
        return LE_CS_ERR;
    le_cs_scene s;
    le_cs_scene_read(so, &s);
    int rc = LE_CS_ERR;
    const char *um = le_jv_get_str(c->cst.config, "UrgentMaterialId");
    char path[LE_SCN_PATH_MAX];
    if (strcmp(s.id, c->cst.pgm)) {
        le_admin_error(c->r, 400, "InvalidParameter.Malformed",
                       "Only the PGM scene can be switched to the standby video.");
    } else if (!um || !*um || !le_cst_id_ok(um) || material_path(um, path, sizeof(path)) != LE_OK ||
               access(path, R_OK) != 0) {
        le_admin_error(c->r, 404, "UrgentMaterialNotFound", "Urgent material is not found");
    } else if (!s.status) {
        le_admin_error(c->r, 400, "IncorrectSceneStatus", "Scene is not started.");
    } else {
        s.urgent = 1;
        le_cs_set_scene(c, &s);
        rc = LE_CS_WRITE;
    }
    le_cs_scene_free(&s);
    return rc;
}

static void effect_urgent(le_admin_req *r) { le_cs_start(r, plan_urgent, NULL, NULL); }

void le_actions_caster_chan_register(void)
{
    le_admin_register("SetCasterChannel", set_channel);
    le_admin_register("DescribeCasterChannels", describe_channels);
    le_admin_register("EffectCasterUrgent", effect_urgent);
}
