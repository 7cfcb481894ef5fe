/* AddTrancodeSEI on the node holding the publisher (docs/TRANSCODE.md): the
 * requests arrive on the SEI channel (transcode/config.h); from Delay ms
 * after arrival, the next Repeat keyframes (Pattern keyframe) or frames
 * (Pattern frame; Repeat -1: no end) of the stream's H.264 or HEVC video get
 * the user-data SEI NAL (transcode/sei.h) before their first slice, through
 * the stream's packet filter (media/stream.h). A new request for a stream
 * replaces the one running. Other codecs are left alone. Loop thread only. */
#ifndef LE_TRANS_SEI_APPLY_H
#define LE_TRANS_SEI_APPLY_H
#include <stdint.h>
#include "media/stream.h"
#include "transcode/config.h"

/* Registers the per-stream state, the stream filter and the channel
 * subscription. LE_OK, or LE_ETOOBIG when no stream slot is left. */
int le_sei_apply_init(void);

/* Starts q on st now (what a channel message addressed to this node does). */
int le_sei_apply_request(le_stream *st, const le_trans_sei_req *q);

/* SEIs inserted since start (tests; /metrics has livedge_sei_inserted_total
 * and livedge_sei_requests_total, the requests this node took). */
uint64_t le_sei_apply_count(void);

#endif
