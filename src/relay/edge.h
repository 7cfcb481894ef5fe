/* Origin/edge: a play, on a domain served in edge mode, of a stream that is
 * not live on this node is relayed from the node of the cluster that
 * ingests it (livedge(8), "Origin and edge"; livedge.conf(5), edge).
 *
 * Edge mode: the domain block's `edge on` (every app), or a lazy-pull
 * record set with SetLiveLazyPullStreamInfoConfig for the app or for
 * ali_all_app ({prefix}lazypull:{domain}, mirrored on every node).
 *
 * The origin is found in the cluster's online list ({prefix}online, an
 * entry of the stream whose heartbeat is fresh and whose node is not this
 * one); its RTMP address is the one it advertises ({prefix}nodeaddr:{node},
 * control/cluster.h). Edge copies add no online entry of their own, so an
 * edge only ever pulls from a real ingest: no loops.
 *
 * One pull (relay/ingest.h, kind LE_PUB_EDGE with every skip flag, relay
 * kind LE_RELAY_EDGE) per stream serves every viewer of it here. Players
 * wait for it through the stream's hold (media/stream.h, le_stream_hold) at
 * most edge_wait; it stops once the stream has had no viewer for edge_idle.
 * A viewer arriving before that reuses it. A ForbidLiveStream of the
 * stream ends it at once and no pull starts while the stream is forbidden.
 *
 * Viewers of edge copies are reported with the heartbeat in
 * {prefix}edgeusers:{domain} (hash "node|app/stream" -> JSON UserNum,
 * Heartbeat), which DescribeLiveStreamOnlineUserNum adds to the origin's
 * count (less the pull's own connection there). */
#ifndef LE_RELAY_EDGE_H
#define LE_RELAY_EDGE_H
#include <stdint.h>
#include "conf/conf.h"
#include "core/json.h"

struct event_base;

void le_edge_init(struct event_base *base);
void le_edge_free(void);   /* stops every pull */

/* A play of domain dom, app/name. 0: not an edge case (not in edge mode,
 * live here from a real publisher, or forbidden): the caller goes on as
 * before. 1: the stream is (or will be) an edge copy: a pull runs or
 * starts, and when the stream is not live yet it is held (le_stream_hold,
 * edge_wait): the caller attaches its player to le_stream_find(...) and
 * waits for the publish (or the end of the wait). Every call counts as
 * activity for edge_idle (HLS playlists call it on each request). */
int le_edge_want(const le_conf_domain *dom, const char *app, const char *name);

/* Whether domain/app is in edge mode (file or lazy-pull record). */
int le_edge_mode(const le_conf_domain *dom, const char *app);
/* edge_wait of the domain, ms. */
int64_t le_edge_wait_ms(const le_conf_domain *dom);

/* ---- lazy-pull records (SetLiveLazyPullStreamInfoConfig) ---- */

#define LE_EDGE_ALL_APPS "ali_all_app"

/* rec: an object with the record's fields (AppName, PullDomainName,
 * PullAppName, PullProtocol, PullArgs, TranscodeLazy, PullAuthType,
 * PullAuthKey), adopted. Replaces the record of that AppName, persists,
 * tells every node. */
void le_edge_lazy_set(const char *domain, const char *app, le_jv *rec);
/* Deletes app's record (ali_all_app: every record of the domain). Returns
 * how many were deleted. */
int le_edge_lazy_delete(const char *domain, const char *app);
/* The domain's records (app NULL: all), as a new array of objects. */
le_jv *le_edge_lazy_list(const char *domain, const char *app);

#endif
