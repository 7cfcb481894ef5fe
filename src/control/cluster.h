/* What the nodes sharing one Redis know of each other's streams:
 *  {prefix}online            hash "node|domain/app/stream" -> JSON record,
 *                            refreshed by a 5 s heartbeat; entries older
 *                            than LE_CLUSTER_STALE_MS belong to a dead node
 *                            and are ignored (and removed by readers);
 *  {prefix}pubhist:{domain}  zset publish ms -> JSON record (StopTime set
 *                            when the publish ends);
 *  {prefix}bitrate:{d/a/s}   zset minute ms -> JSON sample (rates);
 *  {prefix}usernum:{d/a/s}   zset minute ms -> "minute|node|viewers";
 *  {prefix}samples:{domain}  set of "app/stream" that have samples. */
#ifndef LE_CLUSTER_H
#define LE_CLUSTER_H
#include <stdint.h>
#include "control/publish.h"
#include "media/stream.h"

#define LE_CLUSTER_HEARTBEAT_MS 5000
#define LE_CLUSTER_STALE_MS 15000
#define LE_CLUSTER_KEEP_MS (31LL * 86400 * 1000)

void le_cluster_init(void);
void le_cluster_free(void);
void le_cluster_tick(void);
const char *le_cluster_node(void);

void le_cluster_started(le_stream *st, const le_pub_info *info);
void le_cluster_ended(le_stream *st);

/* Live rates of a local stream (over the last heartbeat interval). */
typedef struct le_cluster_rates {
    double video_fps, audio_fps, bitrate_kbps;
} le_cluster_rates;
int le_cluster_rates_get(const le_stream *st, le_cluster_rates *out);

#endif
