/* Running a caster through the API (API reference chapter 17; livedge(8),
 * docs/STUDIO.md "Scenes and running"): StartCaster, StopCaster,
 * StartCasterScene, StopCasterScene, DescribeCasterStreamUrl, and the
 * scenes' play URLs. These actions only change the caster's hash (status,
 * start, the scenes' Status); the node holding the caster's lease starts
 * or stops the media when the events channel tells it (studio/caster.h).
 *
 * URLs: the scene's stream is caster/{name} of the caster's DomainName
 * (its play domain for a push domain), name = le_scn_stream_name; a PGM
 * LiveTemplate output is caster/{name}_{tmpl}. The host is that domain's
 * name (players resolve it to a node, as the StreamUrl of the other
 * actions), with the port the node advertises for RTMP (rtmp_advertise,
 * else rtmp_listen) and the port it serves HTTP on, each left out when it
 * is the protocol's default. With the domain's URL signature on, every URL
 * carries a token made now: valid for the domain's ali_auth_delta (type A,
 * B and C query forms; tx_secret: txTime = now + delta). */
#include "admin/actions.h"
#include "admin/admin.h"
#include "admin/caster_scene.h"
#include "admin/params.h"
#include "auth/access.h"
#include "auth/aliauth.h"
#include "control/cluster.h"
#include "control/domains.h"
#include "core/err.h"
#include "core/json.h"
#include "core/util.h"
#include "http/server.h"
#include "node.h"
#include "studio/config.h"
#include "studio/scene.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- URLs ---- */

/* The domain the caster's streams live on: its play domain, or the
 * domain itself. */
static le_domain *stream_domain(const le_cs *c)
{
    const char *dn = le_jv_get_str(c->cst.config, "DomainName");
    le_domain *d = dn && *dn ? le_domain_get(dn) : NULL;
    if (!d)
        return NULL;
    le_domain *p = le_params_play_domain(d);
    return p ? p : d;
}

const char *le_cs_domain(le_cs *c)
{
    const char *dn = le_jv_get_str(c->cst.config, "DomainName");
    if (!dn || !*dn) {
        le_admin_error(c->r, 404, "InvalidConfiguration.NotFound", "DomainName is not configured");
        return NULL;
    }
    le_domain *d = stream_domain(c);
    if (!d) {
        le_admin_error(c->r, 404, "InvalidDomainName.NotFound", "DomainName of the caster is not a domain of the node.");
        return NULL;
    }
    return d->name;
}

/* The port after the last ':' of "host:port", 0 if none. */
static int port_of(const char *addr)
{
    const char *colon = addr ? strrchr(addr, ':') : NULL;
    return colon ? atoi(colon + 1) : 0;
}

static int http_port(void)
{
    int p = le_http_port();
    if (p <= 0) {
        const le_conf *cf = le_node_conf();
        p = cf && cf->http_listen ? port_of(cf->http_listen) : 0;
    }
    return p;
}

/* The query signing uri (and stream, for tx_secret) with d's URL signature,
 * "" when it signs nothing. */
static int sign(const le_domain *d, const char *uri, const char *stream, char *query, size_t qn)
{
    query[0] = '\0';
    if (!d || !d->cf)
        return LE_OK;
    const le_conf_domain *cur = le_access_current(d->cf);
    if (!cur || cur->auth_type == LE_AUTH_NONE)
        return LE_OK;
    le_aliauth_grant g;
    memset(&g, 0, sizeof(g));
    int64_t now = le_wall_ms() / 1000;
    g.key = cur->auth_key1 && cur->auth_key1[0] ? 1 : 2;
    switch (cur->auth_type) {
    case LE_AUTH_A:
        g.form = LE_AUTHF_A;
        snprintf(g.ts, sizeof(g.ts), "%" PRId64, now);
        snprintf(g.rand, sizeof(g.rand), "0");
        snprintf(g.uid, sizeof(g.uid), "0");
        break;
    case LE_AUTH_B:
        g.form = LE_AUTHF_B_QUERY;
        le_aliauth_b_format(now, g.ts);
        break;
    case LE_AUTH_C:
        g.form = LE_AUTHF_C_QUERY;
        snprintf(g.ts, sizeof(g.ts), "%" PRIx64, (uint64_t)now);
        break;
    case LE_AUTH_TX:
        g.form = LE_AUTHF_TX;
        snprintf(g.ts, sizeof(g.ts), "%" PRIx64,
                 (uint64_t)(now + (cur->auth_delta_s > 0 ? cur->auth_delta_s : 1800)));
        break;
    default:
        return LE_EINVAL;
    }
    char prefix[8];
    return le_access_sign(d->cf, &g, uri, stream, prefix, sizeof(prefix), query, qn);
}

/* fmt "rtmp", "flv" or "m3u8" for stream caster/{name} of d. */
static void play_url(const le_domain *d, const char *fmt, const char *name, char *out, size_t n)
{
    char uri[200], q[512], port[16] = "";
    int rtmp = !strcmp(fmt, "rtmp");
    int p = rtmp ? port_of(le_cluster_rtmp_addr()) : http_port();
    if (p > 0 && p != (rtmp ? 1935 : 80))
        snprintf(port, sizeof(port), ":%d", p);
    snprintf(uri, sizeof(uri), "/caster/%s%s%s", name, rtmp ? "" : ".", rtmp ? "" : fmt);
    if (sign(d, uri, name, q, sizeof(q)) != LE_OK)
        q[0] = '\0';
    snprintf(out, n, "%s://%s%s%s%s%s", rtmp ? "rtmp" : "http", d->name, port, uri, q[0] ? "?" : "", q);
}

void le_cs_stream_url(const le_cs *c, const char *scene_id, char *out, size_t n)
{
    char name[LE_SCN_ID_MAX];
    le_domain *d = stream_domain(c);
    out[0] = '\0';
    if (d && le_scn_stream_name(scene_id, NULL, name, sizeof(name)) == LE_OK)
        play_url(d, "rtmp", name, out, n);
}

void le_cs_stream_infos(const le_cs *c, const char *scene_id, le_jv *arr)
{
    static const char *const fmts[] = { "flv", "rtmp", "m3u8" };
    le_domain *d = stream_domain(c);
    const le_jv *lt = le_jv_get(le_jv_get(c->cst.config, "TranscodeConfig"), "LiveTemplate");
    for (const le_jv *t = d && lt && lt->type == LE_JV_ARR ? lt->first : NULL; t; t = t->next) {
        char name[LE_SCN_ID_MAX + 32], url[LE_CST_URL_MAX + 1];
        if (t->type != LE_JV_STR || le_scn_stream_name(scene_id, t->s, name, sizeof(name)) != LE_OK)
            continue;
        for (int f = 0; f < 3; f++) {
            le_jv *o = le_jv_push_obj(arr);
            play_url(d, fmts[f], name, url, sizeof(url));
            le_jv_set_str(o, "VideoFormat", fmts[f]);
            le_jv_set_str(o, "OutputStreamUrl", url);
            le_jv_set_str(o, "TranscodeConfig", t->s);
        }
    }
}

/* ---- StartCaster, StopCaster ---- */

/* The caster's scene of kind pgm (0 PVW, 1 PGM), made when missing. */
static void scene_or_new(le_cs *c, int pgm, le_cs_scene *s)
{
    const char *id = pgm ? c->cst.pgm : c->cst.pvw;
    const le_jv *o = *id ? le_jv_get(c->cst.scenes, id) : NULL;
    if (o && o->type == LE_JV_OBJ) {
        le_cs_scene_read(o, s);
        return;
    }
    char nid[37];
    le_uuid_v4(nid, 0);
    le_jv *n = le_scn_new(nid, pgm ? "PGM" : "PVW", pgm);
    le_cs_scene_read(n, s);
    le_jv_free(n);
    le_cs_set(c, pgm ? "pgm" : "pvw", nid);
}

static int plan_start(le_cs *c)
{
    if (!le_cs_domain(c))
        return LE_CS_ERR;
    const char *ct = le_jv_get_str(le_jv_get(c->cst.config, "TranscodeConfig"), "CasterTemplate");
    if (!ct || !*ct) {
        le_admin_error(c->r, 404, "InvalidConfiguration.NotFound", "transcode is not configured.");
        return LE_CS_ERR;
    }
    if (c->cst.status) {
        le_admin_error(c->r, 400, "IncorrectCasterStatus.Inuse", "Caster is in use.");
        return LE_CS_ERR;
    }
    char ts[21], url[LE_CST_URL_MAX + 1];
    le_cs_scene s[2];
    static const char *const box[2] = { "PvwSceneInfos", "PgmSceneInfos" };
    for (int k = 0; k < 2; k++) {
        scene_or_new(c, k, &s[k]);
        s[k].status = 1;
        le_cs_set_scene(c, &s[k]);
        le_jv *si = le_jv_push_obj(le_jv_set_arr(le_jv_set_obj(c->body, box[k]), "SceneInfo"));
        le_jv_set_str(si, "SceneId", s[k].id);
        le_cs_stream_url(c, s[k].id, url, sizeof(url));
        le_jv_set_str(si, "StreamUrl", url);
        if (k == 1)
            le_cs_stream_infos(c, s[k].id, le_jv_set_arr(le_jv_set_obj(si, "StreamInfos"), "StreamInfo"));
        le_cs_scene_free(&s[k]);
    }
    le_cs_set(c, "status", "1");
    le_cs_set(c, "start", le_fmt_utc(le_wall_ms(), ts));
    return LE_CS_WRITE;
}

static int plan_stop(le_cs *c)
{
    for (const le_jv *x = c->cst.scenes->first; x; x = x->next) {
        le_cs_scene s;
        le_cs_scene_read(x, &s);
        if (s.status) {
            s.status = 0;
            le_cs_set_scene(c, &s);
        }
        le_cs_scene_free(&s);
    }
    le_cs_set(c, "status", "0");
    le_jv_push_str(c->dels, "start");
    return LE_CS_WRITE;
}

static void start_caster(le_admin_req *r) { le_cs_start(r, plan_start, NULL, NULL); }
static void stop_caster(le_admin_req *r) { le_cs_start(r, plan_stop, NULL, NULL); }

/* ---- StartCasterScene, StopCasterScene: PVW only ---- */

static int plan_scene_run(le_cs *c, int on)
{
    const le_jv *so = le_cs_scene_param(c, "SceneId");
    if (!so)
        return LE_CS_ERR;
    le_cs_scene s;
    le_cs_scene_read(so, &s);
    if (s.type != 0 || strcmp(s.id, c->cst.pvw)) {
        le_admin_error(c->r, 400, "InvalidParameter.Malformed",
                       "Only the PVW scene can be started or stopped: SceneId is not the PVW scene.");
        le_cs_scene_free(&s);
        return LE_CS_ERR;
    }
    if (!c->cst.status) {
        le_admin_error(c->r, 400, "IncorrectCasterStatus", "Caster is not started.");
        le_cs_scene_free(&s);
        return LE_CS_ERR;
    }
    if (on) {
        char url[LE_CST_URL_MAX + 1];
        if (!le_cs_domain(c)) {
            le_cs_scene_free(&s);
            return LE_CS_ERR;
        }
        le_cs_stream_url(c, s.id, url, sizeof(url));
        le_jv_set_str(c->body, "StreamUrl", url);
    }
    s.status = on;
    le_cs_set_scene(c, &s);
    le_cs_scene_free(&s);
    return LE_CS_WRITE;
}

static int plan_scene_start(le_cs *c) { return plan_scene_run(c, 1); }
static int plan_scene_stop(le_cs *c) { return plan_scene_run(c, 0); }
static void start_scene(le_admin_req *r) { le_cs_start(r, plan_scene_start, NULL, NULL); }
static void stop_scene(le_admin_req *r) { le_cs_start(r, plan_scene_stop, NULL, NULL); }

/* ---- DescribeCasterStreamUrl ---- */

static int plan_stream_url(le_cs *c)
{
    if (!le_cs_domain(c))
        return LE_CS_ERR;
    le_jv_set_str(c->body, "CasterId", c->caster);
    le_jv *arr = le_jv_set_arr(c->body, "CasterStreams");
    const char *ids[2] = { c->cst.pvw, c->cst.pgm };
    int64_t total = 0;
    for (int k = 0; k < 2; k++) {
        char url[LE_CST_URL_MAX + 1];
        if (!*ids[k] || !le_jv_get(c->cst.scenes, ids[k]))
            continue;
        le_jv *o = le_jv_push_obj(arr);
        le_jv_set_str(o, "SceneId", ids[k]);
        le_cs_stream_url(c, ids[k], url, sizeof(url));
        le_jv_set_str(o, "StreamUrl", url);
        le_jv_set_int(o, "OutputType", k);
        le_jv *si = le_jv_set_arr(o, "StreamInfos");
        if (k == 1)
            le_cs_stream_infos(c, ids[k], si);
        total++;
    }
    le_jv_set_int(c->body, "Total", total);
    return LE_CS_READ;
}

static void stream_url(le_admin_req *r) { le_cs_start(r, plan_stream_url, NULL, NULL); }

void le_actions_caster_run_register(void)
{
    le_admin_register("StartCaster", start_caster);
    le_admin_register("StopCaster", stop_caster);
    le_admin_register("StartCasterScene", start_scene);
    le_admin_register("StopCasterScene", stop_scene);
    le_admin_register("DescribeCasterStreamUrl", stream_url);
}
