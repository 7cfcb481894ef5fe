/* The node: the one event base, the running configuration and what is
 * derived from it (domain resolution, limits), the listeners, reload and
 * shutdown. Modules reach the configuration through these accessors only. */
#ifndef LE_NODE_H
#define LE_NODE_H
#include <stdint.h>
#include "conf/conf.h"

struct event_base;

struct event_base *le_node_base(void);
const le_conf *le_node_conf(void);
/* Where MaterialId files are: caster_material_dir, else {data_dir}/material
 * ("" none). */
const char *le_node_material_dir(void);

/* The domain of a request (livedge.8) is the `vhost` argument if given (must be
 * known), else the host (port removed) if it names a play or push domain,
 * else default_domain. Returns the play domain, or NULL (refuse). *is_push
 * tells whether the host was the push domain. */
const le_conf_domain *le_node_resolve_domain(const char *vhost, const char *host, int *is_push);
const le_conf_domain *le_node_domain(const char *play_domain);

/* Counters for /metrics and the admin side. */
typedef struct le_node_stats {
    uint64_t conns_rtmp, conns_http;          /* open now */
    uint64_t conns_total;                     /* accepted since start */
    uint64_t bytes_in, bytes_out;
    uint64_t players_dropped;                 /* slow viewers cut */
    uint64_t bad_clients;                     /* closed for bad input */
} le_node_stats;
le_node_stats *le_node_stats_get(void);

/* Lifecycle, driven by main.c. */
/* 0, or a negative LE_E* with err filled. */
int le_node_start(le_conf *conf, const char *conf_path, char *err, size_t errlen);
int le_node_run(void);          /* until SIGTERM/SIGINT; returns exit code */
void le_node_free(void);

#endif
