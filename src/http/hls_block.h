/* Held LL-HLS requests (docs/HLS.md, "Blocking playlist reload"): a
 * playlist request carrying _HLS_msn (and _HLS_part), or a request for the
 * part the playlist hints at (EXT-X-PRELOAD-HINT) before it is made, waits
 * until what it names exists, the stream ends, or a timeout.
 *
 * Why this shape: a live stream may have thousands of players each holding
 * a request. None has a timer: waiters sit on their stream's list, woken
 * by the segmenter after each part (le_hls_set_wake), and one shared sweep
 * (every LE_HLS_HOLD_SWEEP_MS while any request is held) answers those
 * whose timeout passed. A connection that closes while held frees its
 * waiter from the reaper (le_http_conn_hold). */
#ifndef LE_HTTP_HLS_BLOCK_H
#define LE_HTTP_HLS_BLOCK_H
#include <stddef.h>
#include <stdint.h>
#include "hls/segmenter.h"
#include "http/server.h"

/* Bounds on held requests: per stream and for the node. Over either, the
 * request is answered 503 at once (a player retries later). */
#define LE_HLS_HOLD_PER_STREAM 20000
#define LE_HLS_HOLD_TOTAL 100000
#define LE_HLS_HOLD_SWEEP_MS 100

/* What a held request names. */
typedef struct le_hls_blockq {
    uint64_t msn;       /* media sequence number (_HLS_msn, or the part's segment) */
    int part;           /* part index in it; -1: the whole segment */
    int skip;           /* _HLS_skip=YES: a delta playlist */
    int is_part;        /* a part request (Stream-MSN.PART.m4s), not a playlist */
} le_hls_blockq;

/* Answers a held request: timed_out 0 when what it waits for exists (or
 * can no longer come: the stream ended, the segment was sealed without
 * that part), 1 when the timeout passed. rt is rebuilt from what the
 * request passed (rt->req and rt->file are NULL). Must answer (ending with
 * le_http_conn_done or a close), never hold again. */
typedef void (*le_hls_answer_fn)(le_http_conn *c, const le_http_route *rt, const le_hls_blockq *q,
                                 int timed_out);

/* Whether segment msn's part (part < 0: the whole segment) exists in h, or
 * never will (msn is sealed already): 1; 0 while it may still come. */
int le_hls_block_ready(const le_hls *h, uint64_t msn, int part);

/* Holds the request on stream_key's list (le_stream_key) for at most
 * timeout_ms: LE_OK, the connection is then the waiter's until answer runs;
 * LE_ETOOBIG over a bound (the caller answers). */
int le_hls_block(le_http_conn *c, const le_http_route *rt, const char *stream_key, const le_hls_blockq *q,
                 int64_t timeout_ms, le_hls_answer_fn answer);

/* Requests held now (node-wide). */
size_t le_hls_block_count(void);

/* Registers the wake-up with the segmenter glue. Call once at startup. */
void le_hls_block_init(void);

#endif
