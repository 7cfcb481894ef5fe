/* Publishing studio engine outputs (studio/output.h). */
#include "studio/output.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "control/domains.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "media/amf.h"
#include "media/stream.h"

#define MOD "studio"

void le_so_end(le_so *o, const char *reason)
{
    if (o->pub.st) {
        le_info(MOD, "%s/%s/%s: scene output ends (%s; %" PRIu64 " frames)", o->domain, o->app, o->name, reason,
                o->frames);
        le_publish_end(&o->pub, LE_PUB_END_UNPUBLISHED, reason);
    }
    memset(&o->pub, 0, sizeof(o->pub));
    o->live = 0;
    o->refused_at = 0;
}

void le_so_reset(le_so *o, const char *reason)
{
    le_so_end(o, reason);
    if (o->vhdr)
        le_pkt_unref(o->vhdr);
    if (o->ahdr)
        le_pkt_unref(o->ahdr);
    o->vhdr = o->ahdr = NULL;
    o->frames = 0;
}

static void pub_kick(void *ctx, const char *reason)
{
    le_so *o = ctx;
    /* ForbidLiveStream of the output or the node's stop: this publish ends
     * now; a later body tries again after LE_SO_REPUBLISH_MS (a forbid
     * still in force refuses it again). */
    le_so_end(o, reason ? reason : "kicked");
    o->refused_at = le_mono_ms();
}
static const le_pub_ops pub_ops = { .kick = pub_kick };

static void push_meta(le_so *o)
{
    le_buf b = { 0 };
    le_amf_put_string(&b, "onMetaData");
    le_amf_put_ecma_start(&b, 8);
    le_amf_put_prop_number(&b, "width", o->w);
    le_amf_put_prop_number(&b, "height", o->h);
    le_amf_put_prop_number(&b, "framerate", o->fps);
    le_amf_put_prop_number(&b, "videocodecid", 7);
    le_amf_put_prop_number(&b, "videodatarate", o->kbps);
    le_amf_put_prop_number(&b, "audiocodecid", 10);
    le_amf_put_prop_number(&b, "audiosamplerate", 44100);
    le_amf_put_prop_string(&b, "encoder", "livedge studio");
    le_amf_put_object_end(&b);
    le_pkt *p = le_pkt_new(LE_PKT_DATA, 0, b.p, (uint32_t)b.len);
    le_buf_free(&b);
    le_stream_push(o->pub.st, p);
    le_pkt_unref(p);
}

/* Studio outputs are new streams of their domain: they take the block list
 * (ForbidLiveStream stops one), the online list, the history and the
 * publish callbacks; the access check is skipped (the node itself
 * publishes them, there is no signed URL or client address to check). */
le_domain *le_so_play_domain(const char *name)
{
    le_domain *d = le_domain_get(name);
    if (d && d->edge && d->play)
        d = le_domain_get(d->play);
    return d && !d->edge ? d : NULL;
}

static int out_begin(le_so *o)
{
    char why[256];
    le_domain *d = le_so_play_domain(o->domain);
    if (!d || !d->cf) {
        le_warn(MOD, "%s: no play domain %s on this node; output %s/%s not published", o->owner, o->domain, o->app,
                o->name);
        return LE_ENOTFOUND;
    }
    le_pub_info info;
    memset(&info, 0, sizeof(info));
    info.kind = LE_PUB_STUDIO;
    info.client_ip = "127.0.0.1";
    info.source_url = o->owner;
    info.usrargs = "";
    info.no_access_check = 1;
    int rc = le_publish_begin(&o->pub, d->cf, o->app, o->name, &info, &pub_ops, o, why, sizeof(why));
    if (rc != LE_OK) {
        le_warn(MOD, "%s/%s/%s: publish refused: %s", o->domain, o->app, o->name, why);
        return rc;
    }
    o->live = 1;
    le_info(MOD, "%s/%s/%s: scene output live (%dx%d, %d kbit/s)", o->domain, o->app, o->name, o->w, o->h,
            o->kbps);
    push_meta(o);
    return LE_OK;
}

void le_so_keep_header(le_so *o, le_pkt *p)
{
    le_pkt **slot = p->type == LE_PKT_VIDEO ? &o->vhdr : &o->ahdr;
    if (*slot)
        le_pkt_unref(*slot);
    *slot = le_pkt_ref(p);
}

int le_so_deliver(le_so *o, le_pkt *p)
{
    if (p->flags & LE_PKT_SEQHDR)
        le_so_keep_header(o, p);
    if (!o->live) {
        /* A publish begins at a video keyframe once the headers are
         * known, and sends them first, so players get the decoder config
         * (also after a refusal or a kick: at the next keyframe). */
        uint64_t now = le_mono_ms();
        int key = p->type == LE_PKT_VIDEO && (p->flags & LE_PKT_KEY) && !(p->flags & LE_PKT_SEQHDR);
        if (!key || !o->vhdr || (o->refused_at && now < o->refused_at + LE_SO_REPUBLISH_MS)) {
            le_pkt_unref(p);
            return 0;
        }
        if (out_begin(o) != LE_OK) {
            o->refused_at = now;
            le_pkt_unref(p);
            return 0;
        }
        o->refused_at = 0;
        le_stream_push(o->pub.st, o->vhdr);
        if (o->ahdr)
            le_stream_push(o->pub.st, o->ahdr);
    }
    int frame = p->type == LE_PKT_VIDEO && !(p->flags & LE_PKT_SEQHDR);
    if (frame)
        o->frames++;
    le_stream_push(o->pub.st, p);
    le_pkt_unref(p);
    return frame;
}
