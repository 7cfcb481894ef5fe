/* What the nodes sharing one Redis know of each other's streams:
 *  {prefix}online            hash "node|domain/app/stream" -> JSON record,
 *                            refreshed by a 5 s heartbeat; entries older
 *                            than LE_CLUSTER_STALE_MS belong to a dead node
 *                            and are ignored (and removed by readers);
 *  {prefix}pubhist:{domain}  zset publish ms -> JSON record (StopTime set
 *                            when the publish ends); trimmed on every write
 *                            to LE_CLUSTER_KEEP_MS and LE_CLUSTER_HIST_MAX;
 *  {prefix}bitrate:{d/a/s}   zset minute ms -> JSON sample (rates);
 *  {prefix}usernum:{d/a/s}   zset minute ms -> "minute|node|viewers";
 *  {prefix}sampled:{domain}  zset last sample minute ms -> "app/stream",
 *                            the streams that have samples (trimmed to
 *                            LE_CLUSTER_KEEP_MS);
 *  {prefix}nodeaddr:{node}   string "host:port", the RTMP address the node
 *                            advertises (rtmp_advertise), set with every
 *                            heartbeat, expiring after LE_CLUSTER_STALE_MS. */
#ifndef LE_CLUSTER_H
#define LE_CLUSTER_H
#include <stdint.h>
#include "control/publish.h"
#include "media/stream.h"

#define LE_CLUSTER_HEARTBEAT_MS 5000
#define LE_CLUSTER_STALE_MS 15000
/* History kept: the 30-day query window of the history actions, plus a day. */
#define LE_CLUSTER_KEEP_MS (31LL * 86400 * 1000)
/* Records kept per history key (publish and control history) at most. */
#define LE_CLUSTER_HIST_MAX 500000

void le_cluster_init(void);
void le_cluster_free(void);
void le_cluster_tick(void);
const char *le_cluster_node(void);
/* The RTMP address this node advertises: rtmp_advertise, else rtmp_listen
 * with a wildcard host (0.0.0.0, [::]) as loopback and port 0 as the bound
 * port. */
const char *le_cluster_rtmp_addr(void);

void le_cluster_started(le_stream *st, const le_pub_info *info);
void le_cluster_ended(le_stream *st);

/* Live rates of a local stream (over the last heartbeat interval). */
typedef struct le_cluster_rates {
    double video_fps, audio_fps, bitrate_kbps;
} le_cluster_rates;
int le_cluster_rates_get(const le_stream *st, le_cluster_rates *out);
/* A frame rate or bitrate as the API renders it: at most two decimals, no
 * trailing zeros ("30.01", "192", "0"). Returns out. */
char *le_cluster_fmt_rate(double v, char out[32]);
/* Rounds to the two decimals kept in Redis. */
double le_cluster_round_rate(double v);
/* Trims a history zset (scored by unix ms) on write: older than
 * LE_CLUSTER_KEEP_MS before now_ms, and beyond the newest LE_CLUSTER_HIST_MAX. */
void le_cluster_trim_history(const char *zkey, int64_t now_ms);

#endif
