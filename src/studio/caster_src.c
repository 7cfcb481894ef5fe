/* The slot sources of a running caster (studio/caster.h): a LiveStreamUrl
 * of this node read through a tap, another one pulled by an ingest into the
 * hidden stream caster/{CasterId}_RVnn and tapped, a file handed to the
 * engine; a channel's seek and pause; the standby video's slot. */
#include "studio/caster_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "control/domains.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "http/server.h"
#include "media/stream.h"
#include "media/tap.h"
#include "node.h"
#include "record/recorder.h"
#include "relay/ingest.h"
#include "relay/relay.h"
#include "rtmp/session.h"

#define MOD "caster"
_Static_assert(LE_SCN_URGENT_SLOT == LE_SE_URGENT_SLOT, "the standby slot of scene.h and engine.h");
#define TAP_BYTES (8u << 20)
#define KICK_RETRY_MS 5000

/* ---- where a LiveStreamUrl is ---- */

static int loopback(const char *h)
{
    return strcmp(h, "127.0.0.1") == 0 || strcasecmp(h, "localhost") == 0 || strcmp(h, "::1") == 0;
}

/* The local play domain a URL names: a domain of this node by host name,
 * or this node's own loopback port (its default domain). NULL: remote. */
static const char *local_domain(const le_cst_url *u)
{
    le_domain *d = le_domain_match(u->host);
    if (d && d->edge && d->play)
        d = le_domain_get(d->play);
    if (d && !d->edge)
        return d->name;
    if (!loopback(u->host))
        return NULL;
    int rtmp = strcmp(u->scheme, "rtmp") == 0, http = strcmp(u->scheme, "http") == 0;
    int port = u->port ? u->port : rtmp ? 1935 : 80;
    if ((rtmp && port == le_rtmp_port()) || (http && port == le_http_port()))
        return le_node_conf()->default_domain;
    return NULL;
}

/* ---- the tap ---- */

static void tap_wake(le_tap *t, void *ctx)
{
    le_cst_slot *s = ctx;
    le_cst_run *c = s->owner;
    le_pkt *p;
    int k;
    while ((k = le_tap_next(t, &p)) != LE_TAP_NONE) {
        if (k == LE_TAP_UNPUBLISH || k == LE_TAP_DROPPED) {
            if (c->eng)
                le_se_source_reset(c->eng, s->idx);
            continue;
        }
        if (k != LE_TAP_PKT)
            continue;
        if (c->eng && p->type != LE_PKT_DATA) {
            if (le_se_feed(c->eng, s->idx, p) == LE_OK)
                s->fed++;
            else
                s->refused++;
        }
        le_pkt_unref(p);
    }
}
static const le_tap_ops tap_ops = { .wake = tap_wake, .drop = NULL };

/* ---- the ingest ---- */

static void ing_kicked(void *ctx, const char *reason)
{
    le_cst_slot *s = ctx;
    le_info(MOD, "%s: RV%02d's pulled stream was kicked (%s); retry in %d s", s->owner->id, s->idx + 1,
            reason ? reason : "", KICK_RETRY_MS / 1000);
    s->retry_at = le_mono_ms() + KICK_RETRY_MS;
}
static const le_ingest_ops ing_ops = { .kicked = ing_kicked };

static void slot_stop(le_cst_slot *s, const char *reason)
{
    if (s->tap) {
        le_tap_close(s->tap);
        s->tap = NULL;
    }
    if (s->in) {
        le_ingest_stop(s->in, reason);
        s->in = NULL;
    }
    s->retry_at = 0;
    s->domain[0] = s->app[0] = s->name[0] = '\0';
}

static void slot_live(le_cst_run *c, le_cst_slot *s)
{
    int i = s->idx;
    le_cst_url u;
    if (le_cst_url_split(s->src.url, &u) != LE_OK) {
        le_warn(MOD, "%s: RV%02d: LiveStreamUrl %s is not an app/stream URL; the slot shows black", c->id, i + 1,
                s->src.url);
        return;
    }
    const char *dom = local_domain(&u);
    if (dom) {
        snprintf(s->domain, sizeof(s->domain), "%s", dom);
        snprintf(s->app, sizeof(s->app), "%s", u.app);
        snprintf(s->name, sizeof(s->name), "%s", u.name);
    } else {
        if (strcmp(u.scheme, "rtmp") != 0 && strcmp(u.scheme, "http") != 0 && strcmp(u.scheme, "https") != 0) {
            le_warn(MOD, "%s: RV%02d: %s sources are not pulled (rtmp, http and https are); the slot shows black",
                    c->id, i + 1, u.scheme);
            return;
        }
        if (!*c->domain || !le_domain_get(c->domain)) {
            le_warn(MOD, "%s: RV%02d: no DomainName to pull %s into; the slot shows black", c->id, i + 1, s->src.url);
            return;
        }
        snprintf(s->domain, sizeof(s->domain), "%s", c->domain);
        snprintf(s->app, sizeof(s->app), "caster");
        snprintf(s->name, sizeof(s->name), "%s_RV%02d", c->id, i + 1);
        const char *urls[1] = { s->src.url };
        le_ingest_opts o = {
            .domain = s->domain,
            .app = s->app,
            .name = s->name,
            .urls = urls,
            .nurls = 1,
            .relay_kind = LE_RELAY_PULL,
            /* A hidden input: not listed, no callbacks, no checks. */
            .info = { .kind = LE_PUB_RELAY_PULL, .no_access_check = 1, .no_blocklist = 1, .no_online_entry = 1,
                      .no_callbacks = 1 },
        };
        s->in = le_ingest_start(&o, &ing_ops, s);
        if (!s->in) {
            le_warn(MOD, "%s: RV%02d: cannot pull %s", c->id, i + 1, s->src.url);
            return;
        }
        le_info(MOD, "%s: RV%02d pulls %s into %s/caster/%s", c->id, i + 1, s->src.url, s->domain, s->name);
    }
    le_stream *st = le_stream_find(s->domain, s->app, s->name, 1);
    if (!st) {
        le_warn(MOD, "%s: RV%02d: no stream %s/%s/%s", c->id, i + 1, s->domain, s->app, s->name);
        return;
    }
    s->tap = le_tap_open(st, &tap_ops, s, TAP_BYTES);
    le_info(MOD, "%s: RV%02d reads %s/%s/%s", c->id, i + 1, s->domain, s->app, s->name);
}

/* ---- the face (caster_int.h) ---- */

/* The standby slot's source: UrgentMaterialId's file, looped, while PGM is
 * switched to it (docs/STUDIO.md, "Standby"); empty otherwise. */
static void urgent_source(const le_scn_caster *sc, le_scn_src *src)
{
    const le_jv *pgm = *sc->pgm ? le_jv_get(sc->scenes, sc->pgm) : NULL;
    const char *um = le_jv_get_str(sc->config, "UrgentMaterialId");
    if (!le_scn_is_urgent(pgm) || !um || !*um || !le_cst_id_ok(um) || !CR.o.material_dir || !*CR.o.material_dir)
        return;
    if ((size_t)snprintf(src->path, sizeof(src->path), "%s/%s", CR.o.material_dir, um) >= sizeof(src->path))
        return;
    src->kind = LE_SCN_SRC_FILE;
    src->repeat = -1;
}

/* A channel's SeekOffset and PlayStatus on its file slot (docs/STUDIO.md,
 * "Channels"): fresh (the source was just given) applies the offset when it
 * is above 0 and a pause; afterwards each new SeekSeq seeks and each change
 * of PlayStatus pauses or plays. */
static void channel_control(le_cst_run *c, le_cst_slot *s, const le_scn_caster *sc, int fresh)
{
    const le_jv *ch = sc->channels && s->idx < LE_CST_RES_MAX ? sc->chan[s->idx] : NULL;
    if (fresh) {
        s->chan_seq = 0;
        s->chan_paused = 0;
    }
    if (!ch || s->src.kind != LE_SCN_SRC_FILE)
        return;
    int64_t seq = 0, off = 0, play = LE_SCN_PLAY;
    le_jv_get_int(ch, "SeekSeq", &seq);
    le_jv_get_int(ch, "SeekOffset", &off);
    le_jv_get_int(ch, "PlayStatus", &play);
    if ((fresh && off > 0) || (!fresh && seq != s->chan_seq)) {
        int rc = le_se_seek(c->eng, s->idx, off);
        if (rc == LE_OK)
            le_info(MOD, "%s: channel RV%02d seeks to %lld ms", c->id, s->idx + 1, (long long)off);
        else
            le_warn(MOD, "%s: channel RV%02d: the engine refused the seek (%s)", c->id, s->idx + 1, le_strerror(rc));
    }
    s->chan_seq = seq;
    int paused = play == LE_SCN_PAUSE;
    if (paused != s->chan_paused) {
        if (le_se_pause(c->eng, s->idx, paused) == LE_OK)
            le_info(MOD, "%s: channel RV%02d %s", c->id, s->idx + 1, paused ? "paused" : "plays");
        s->chan_paused = paused;
    }
}

void le_cst_sources_apply(le_cst_run *c, const le_scn_caster *sc)
{
    if (!c->eng)
        return;
    const char *record_dir = le_record_root();
    for (int i = 0; i < LE_SE_SLOTS; i++) {
        le_cst_slot *s = &c->slot[i];
        s->owner = c;
        s->idx = i;
        le_scn_src src;
        memset(&src, 0, sizeof(src));
        src.kind = LE_SCN_SRC_NONE;
        if (i == LE_SE_URGENT_SLOT)
            urgent_source(sc, &src);
        if (i < LE_CST_RES_MAX && sc->res[i]) {
            le_cst_err e;
            memset(&e, 0, sizeof(e));
            if (le_scn_source(sc->res[i], CR.o.material_dir, record_dir && *record_dir ? record_dir : NULL, &src,
                              &e) != LE_OK) {
                if (s->set && s->src.kind != LE_SCN_SRC_NONE)
                    le_warn(MOD, "%s: RV%02d cannot be read (%s: %s); the slot shows black", c->id, i + 1, e.code,
                            e.msg);
                memset(&src, 0, sizeof(src));
                src.kind = LE_SCN_SRC_NONE;
            }
        }
        if (s->set && memcmp(&src, &s->src, sizeof(src)) == 0) {
            channel_control(c, s, sc, 0);
            continue;
        }
        slot_stop(s, "caster source changed");
        s->src = src;
        s->set = 1;
        int rc;
        if (src.kind == LE_SCN_SRC_LIVE)
            rc = le_se_set_source(c->eng, i, 1, NULL, 0, 0, 0);
        else if (src.kind == LE_SCN_SRC_FILE)
            rc = le_se_set_source(c->eng, i, 0, src.path, src.repeat, src.begin_ms, src.end_ms);
        else
            rc = le_se_set_source(c->eng, i, 0, NULL, 0, 0, 0);
        if (rc != LE_OK) {
            le_warn(MOD, "%s: RV%02d: the engine refused the source (%s)", c->id, i + 1, le_strerror(rc));
            s->set = 0;
            continue;
        }
        if (src.kind == LE_SCN_SRC_LIVE) {
            slot_live(c, s);
        } else if (src.kind == LE_SCN_SRC_FILE && i == LE_SE_URGENT_SLOT) {
            le_info(MOD, "%s: PGM shows the standby video %s", c->id, src.path);
        } else if (src.kind == LE_SCN_SRC_FILE) {
            le_info(MOD, "%s: RV%02d plays %s", c->id, i + 1, src.path);
        }
        channel_control(c, s, sc, 1);
    }
}

void le_cst_sources_tick(le_cst_run *c)
{
    uint64_t now = le_mono_ms();
    for (int i = 0; i < LE_SE_SLOTS; i++) {
        le_cst_slot *s = &c->slot[i];
        if (s->in && s->retry_at && now >= s->retry_at) {
            s->retry_at = 0;
            le_ingest_retry(s->in);
        }
    }
}

void le_cst_sources_stop(le_cst_run *c)
{
    for (int i = 0; i < LE_SE_SLOTS; i++) {
        slot_stop(&c->slot[i], "caster stopped");
        memset(&c->slot[i].src, 0, sizeof(c->slot[i].src));
        c->slot[i].set = 0;
        c->slot[i].chan_seq = 0;
        c->slot[i].chan_paused = 0;
    }
}
