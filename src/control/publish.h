/* The publish lifecycle as the control plane sees it: the checks before a
 * publish is accepted, and what happens when it starts and ends (block
 * list, cluster online list and history, the publish callbacks). The RTMP
 * session calls these three and nothing else of the control plane. */
#ifndef LE_PUBLISH_H
#define LE_PUBLISH_H
#include <stddef.h>
#include <stdint.h>
#include "conf/conf.h"
#include "media/stream.h"

typedef struct le_pub_info {
    const char *client_ip;     /* the broadcaster */
    const char *local_ip;      /* our address on that connection (EdgeNodeAddr) */
    const char *push_domain;   /* host it came in on if a push domain, else NULL */
    const char *usrargs;       /* query string of the publish, "" if none */
    uint64_t conn_id;
} le_pub_info;

/* 0, or LE_EDENIED with the reason (for the log line) in why. */
int le_publish_check(const le_conf_domain *dom, const char *app, const char *name,
                     const le_pub_info *info, char *why, size_t whylen);
void le_publish_started(le_stream *st, const le_pub_info *info);
/* Exactly once per started publish, whatever ends it. A publisher that
 * drops ends its publish here at once, even while its players wait
 * (publish_reconnect_grace); the one that comes back starts a new one. */
void le_publish_ended(le_stream *st, const char *reason);

#endif
