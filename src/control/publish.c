/* The publish lifecycle (control/publish.h has the order). */
#include "control/publish.h"
#include "auth/access.h"
#include "control/blocklist.h"
#include "control/cluster.h"
#include "control/notify.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MOD "publish"

const char *le_pub_kind_name(le_pub_kind kind)
{
    switch (kind) {
    case LE_PUB_RTMP: return "rtmp";
    case LE_PUB_RELAY_PULL: return "relay-pull";
    case LE_PUB_EDGE: return "edge";
    case LE_PUB_TRANSCODE: return "transcode";
    case LE_PUB_STUDIO: return "studio";
    }
    return "unknown";
}

/* The current publisher's handle, in the stream's "publish" slot while a
 * publish runs (le_publish_kind reads its kind). */
static int pub_slot = LE_ENOTFOUND;

static le_publish *current(const le_stream *st)
{
    return pub_slot >= 0 ? le_stream_ext(st, pub_slot) : NULL;
}

static void set_current(le_stream *st, le_publish *p)
{
    if (pub_slot < 0)
        pub_slot = le_stream_ext_register("publish");
    if (pub_slot >= 0)
        le_stream_set_ext(st, pub_slot, p, NULL);
}

int le_publish_kind(const le_stream *st)
{
    const le_publish *p = st && le_stream_is_live(st) ? current(st) : NULL;
    return p ? (int)p->kind : LE_ENOTFOUND;
}

const char *le_publish_usrargs(const le_stream *st)
{
    const le_publish *p = st && le_stream_is_live(st) ? current(st) : NULL;
    return p ? (p->usrargs ? p->usrargs : "") : NULL;
}

int le_publish_check(const le_conf_domain *dom, const char *app, const char *name,
                     const le_pub_info *info, char *why, size_t whylen)
{
    if (!info->no_access_check) {
        int rc = le_access_check_publish(dom, info->push_domain, info->client_ip, app, name,
                                         info->usrargs ? info->usrargs : "", le_wall_ms() / 1000, why,
                                         whylen);
        if (rc != 0)
            return rc;
    }
    if (!info->no_blocklist && le_blocklist_blocked(dom->name, app, name)) {
        snprintf(why, whylen, "stream is forbidden (ForbidLiveStream)");
        return LE_EDENIED;
    }
    return LE_OK;
}

int le_publish_begin(le_publish *p, const le_conf_domain *dom, const char *app, const char *name,
                     const le_pub_info *info, const le_pub_ops *ops, void *owner, char *why, size_t whylen)
{
    memset(p, 0, sizeof(*p));
    if (whylen)
        why[0] = '\0';
    int rc = le_publish_check(dom, app, name, info, why, whylen);
    if (rc != LE_OK)
        return rc;
    le_stream *st = le_stream_find(dom->name, app, name, 1);
    /* The kind is set before the slot is taken so that the stream's
     * publish hooks (which run inside le_stream_publish) can read it; a
     * refused publish puts the current publisher's back. */
    le_publish *old = current(st);
    p->kind = info->kind;
    p->usrargs = le_xstrdup(info->usrargs ? info->usrargs : "");
    set_current(st, p);
    rc = le_stream_publish(st, ops, owner);
    if (rc != LE_OK) {
        free(p->usrargs);
        p->usrargs = NULL;
        set_current(st, old);
        snprintf(why, whylen, "stream is already being published");
        return rc;
    }
    p->st = st;
    p->owner = owner;
    p->no_online_entry = info->no_online_entry;
    p->no_callbacks = info->no_callbacks;
    le_debug(MOD, "%s started (%s%s%s)", le_stream_key(st), le_pub_kind_name(info->kind),
             info->source_url ? " from " : "", info->source_url ? info->source_url : "");
    if (!info->no_online_entry)
        le_cluster_started(st, info);
    if (!info->no_callbacks)
        le_notify_publish_started(st, info);
    return LE_OK;
}

void le_publish_end(le_publish *p, int how, const char *reason)
{
    le_stream *st = p->st;
    if (!st)
        return;
    p->st = NULL;   /* before anything that could call back into the owner */
    if (current(st) == p)
        set_current(st, NULL);
    free(p->usrargs);
    p->usrargs = NULL;
    le_debug(MOD, "%s ended: %s", le_stream_key(st), reason);
    if (!p->no_online_entry)
        le_cluster_ended(st);
    if (!p->no_callbacks)
        le_notify_publish_ended(st, reason);
    if (how == LE_PUB_END_UNPUBLISHED)
        le_stream_end(st, p->owner);
    else
        le_stream_unpublish(st, p->owner);
}
