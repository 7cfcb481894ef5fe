#include "control/publish.h"
#include "auth/access.h"
#include "control/blocklist.h"
#include "control/cluster.h"
#include "control/notify.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"

#include <stdio.h>

int le_publish_check(const le_conf_domain *dom, const char *app, const char *name,
                     const le_pub_info *info, char *why, size_t whylen)
{
    /* IP lists, domain online, URL auth (auth/access.h), then the block
     * list (ForbidLiveStream). */
    int rc = le_access_check_publish(dom, info->push_domain, info->client_ip, app, name, info->usrargs,
                                     le_wall_ms() / 1000, why, whylen);
    if (rc != 0)
        return rc;
    if (le_blocklist_blocked(dom->name, app, name)) {
        snprintf(why, whylen, "stream is forbidden (ForbidLiveStream)");
        return LE_EDENIED;
    }
    return 0;
}

void le_publish_started(le_stream *st, const le_pub_info *info)
{
    le_cluster_started(st, info);
    le_notify_publish_started(st, info);
}

void le_publish_ended(le_stream *st, const char *reason)
{
    le_debug("publish", "%s ended: %s", le_stream_key(st), reason);
    le_cluster_ended(st);
    le_notify_publish_ended(st, reason);
}
