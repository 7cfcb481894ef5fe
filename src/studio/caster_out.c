/* PGM's side output and recording (caster_int.h, docs/STUDIO.md
 * "Outputs"): the config's SideOutputUrl is a relay push (relay/push.h) of
 * PGM's output 0, by the id "caster:{CasterId}"; its RecordConfig pins a
 * recording of the same stream (record/recorder.h le_record_pin). Both
 * follow the stream's name and domain, and end when the caster stops on
 * this node. */
#include "studio/caster_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "control/domains.h"
#include "core/err.h"
#include "core/json.h"
#include "core/log.h"
#include "core/util.h"
#include "record/config.h"
#include "record/recorder.h"
#include "relay/push.h"
#include "relay/client.h"

#define MOD "caster"
#define URL_MAX 1024
#define APP "caster"

struct le_cst_outs {
    /* the push running now ("" none): its URL and the stream it reads */
    char push_url[URL_MAX];
    char push_dom[LE_CST_DOMAIN_MAX], push_name[LE_CST_STREAM_MAX];
    /* the pinned recording (rec_on): its stream and config */
    int rec_on;
    char rec_dom[LE_CST_DOMAIN_MAX], rec_name[LE_CST_STREAM_MAX];
    le_rec_config rec;
    /* the last refusal logged (a setting that cannot be used is logged once) */
    char push_bad[200], rec_bad[200];
};

static void push_id(const le_cst_run *c, char *out, size_t n)
{
    snprintf(out, n, "caster:%s", c->id);
}

static void push_stop(le_cst_run *c, const char *why)
{
    struct le_cst_outs *o = c->outs;
    if (!o->push_url[0])
        return;
    char id[LE_CST_ID_MAX + 8], masked[URL_MAX];
    push_id(c, id, sizeof(id));
    le_push_stop_id(id);
    le_info(MOD, "%s: side output to %s ends (%s)", c->id, le_relay_mask_url(o->push_url, masked, sizeof(masked)),
            why);
    o->push_url[0] = o->push_dom[0] = o->push_name[0] = '\0';
}

static void rec_stop(le_cst_run *c, const char *why)
{
    struct le_cst_outs *o = c->outs;
    if (!o->rec_on)
        return;
    le_record_unpin(o->rec_dom, APP, o->rec_name);
    le_info(MOD, "%s: recording of %s/" APP "/%s ends (%s)", c->id, o->rec_dom, o->rec_name, why);
    o->rec_on = 0;
}

/* Logs a refusal once per distinct text (memo holds the last one). */
static void refuse(le_cst_run *c, char *memo, size_t n, const char *what)
{
    if (strcmp(memo, what) == 0)
        return;
    le_warn(MOD, "%s: %s", c->id, what);
    snprintf(memo, n, "%s", what);
}

static void apply_push(le_cst_run *c, const char *dom, const char *name)
{
    struct le_cst_outs *o = c->outs;
    const char *url = le_jv_get_str(c->cur->config, "SideOutputUrl");
    if (!url || !*url || !dom) {
        push_stop(c, !dom ? "PGM is not published" : "SideOutputUrl cleared");
        o->push_bad[0] = '\0';
        return;
    }
    if ((strncasecmp(url, "rtmp://", 7) != 0 && strncasecmp(url, "rtmps://", 8) != 0) || strlen(url) >= URL_MAX) {
        /* SetCasterConfig takes http(s) and srt URLs too; the relay push
         * speaks RTMP and RTMPS only. */
        push_stop(c, "SideOutputUrl not usable");
        refuse(c, o->push_bad, sizeof(o->push_bad),
               "SideOutputUrl is not an rtmp:// or rtmps:// URL: no side output");
        return;
    }
    if (strcmp(o->push_url, url) == 0 && strcmp(o->push_dom, dom) == 0 && strcmp(o->push_name, name) == 0)
        return;
    push_stop(c, o->push_url[0] ? "SideOutputUrl or PGM's stream changed" : "restart");
    char id[LE_CST_ID_MAX + 8], masked[URL_MAX];
    push_id(c, id, sizeof(id));
    int rc = le_push_start_id(id, dom, APP, name, url);
    if (rc == LE_EEXIST) {   /* a push of that id left by an earlier run of this caster */
        le_push_stop_id(id);
        rc = le_push_start_id(id, dom, APP, name, url);
    }
    if (rc != LE_OK) {
        char why[160];
        snprintf(why, sizeof(why), "side output refused by the relay push (%s)", le_strerror(rc));
        refuse(c, o->push_bad, sizeof(o->push_bad), why);
        return;
    }
    o->push_bad[0] = '\0';
    snprintf(o->push_url, sizeof(o->push_url), "%s", url);
    snprintf(o->push_dom, sizeof(o->push_dom), "%s", dom);
    snprintf(o->push_name, sizeof(o->push_name), "%s", name);
    le_info(MOD, "%s: side output %s/" APP "/%s -> %s", c->id, dom, name,
            le_relay_mask_url(url, masked, sizeof(masked)));
}

static void apply_record(le_cst_run *c, const char *dom, const char *name)
{
    struct le_cst_outs *o = c->outs;
    char why[128];
    le_rec_config cfg;
    int rc = dom ? le_rec_config_from_caster(le_jv_get(c->cur->config, "RecordConfig"), &cfg, why, sizeof(why))
                 : LE_ENOTFOUND;
    if (rc == LE_ENOTFOUND) {
        rec_stop(c, !dom ? "PGM is not published" : "RecordConfig cleared");
        o->rec_bad[0] = '\0';
        return;
    }
    if (rc != LE_OK) {
        char msg[200];
        snprintf(msg, sizeof(msg), "RecordConfig not usable (%s): PGM not recorded", why);
        rec_stop(c, "RecordConfig not usable");
        refuse(c, o->rec_bad, sizeof(o->rec_bad), msg);
        return;
    }
    if (o->rec_on && strcmp(o->rec_dom, dom) == 0 && strcmp(o->rec_name, name) == 0 && le_rec_config_same(&o->rec, &cfg))
        return;
    if (o->rec_on && (strcmp(o->rec_dom, dom) != 0 || strcmp(o->rec_name, name) != 0))
        rec_stop(c, "PGM's stream changed");
    rc = le_record_pin(dom, APP, name, &cfg);
    if (rc != LE_OK) {
        char msg[160];
        snprintf(msg, sizeof(msg), "PGM not recorded (%s)", le_strerror(rc));
        refuse(c, o->rec_bad, sizeof(o->rec_bad), msg);
        return;
    }
    o->rec_bad[0] = '\0';
    o->rec_on = 1;
    o->rec = cfg;
    snprintf(o->rec_dom, sizeof(o->rec_dom), "%s", dom);
    snprintf(o->rec_name, sizeof(o->rec_name), "%s", name);
    char fl[32] = "";
    for (int i = 0; i < cfg.nformats; i++)
        snprintf(fl + strlen(fl), sizeof(fl) - strlen(fl), "%s%s", i ? "," : "", le_rec_fmt_name(cfg.formats[i].fmt));
    le_info(MOD, "%s: PGM %s/" APP "/%s recorded (%s) into bucket %s", c->id, dom, name, fl,
            cfg.oss_bucket[0] ? cfg.oss_bucket : "default");
}

void le_cst_outputs_apply(le_cst_run *c)
{
    if (!c || !c->cur || !c->eng)
        return;
    if (!c->outs)
        c->outs = le_xcalloc(1, sizeof(*c->outs));
    /* PGM's output 0 (caster/{SceneId without dashes}) on the play domain
     * it is published on (a push domain's play domain, as out_begin). */
    const le_cst_scene *s = &c->sc[LE_CST_PGM];
    const le_cst_out *out = &s->out[0];
    const char *dom = NULL;
    if (s->running && s->nout > 0 && out->name[0]) {
        le_domain *d = le_domain_get(out->domain);
        if (d && d->edge && d->play)
            d = le_domain_get(d->play);
        if (d && !d->edge && d->cf)
            dom = d->name;
    }
    apply_push(c, dom, out->name);
    apply_record(c, dom, out->name);
}

void le_cst_outputs_stop(le_cst_run *c)
{
    if (!c || !c->outs)
        return;
    push_stop(c, "caster stops");
    rec_stop(c, "caster stops");
    free(c->outs);
    c->outs = NULL;
}
