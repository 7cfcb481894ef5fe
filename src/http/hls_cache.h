/* Playlist text kept between requests (docs/HLS.md, "Playlist cache").
 *
 * Hundreds of players of one stream ask for the same playlist: every TS
 * player polls it, and every LL-HLS player's blocking reload is answered
 * in the same sweep when a part appears. Building it is a few hundred
 * formatted lines (one URI per part), so the text built for one request
 * is kept and sent to the next ones while the segmenter's generation
 * (le_hls_gen) holds. Only unsigned playlists are kept: a signed one
 * carries the requester's own signatures. One entry per (stream, kind),
 * direct-mapped over a small table: a collision only costs a rebuild. */
#ifndef LE_HTTP_HLS_CACHE_H
#define LE_HTTP_HLS_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "http/server.h"

struct evbuffer;

/* What besides the segmenter's state shapes the text. */
#define LE_HLS_PL_TS 1u     /* the MPEG-TS playlist */
#define LE_HLS_PL_SKIP 2u   /* a delta update (_HLS_skip=YES) */
#define LE_HLS_PL_LIVE 4u   /* the stream is live (a preload hint is listed) */

/* A kept playlist: refcounted, so a response sends it by reference
 * (evbuffer_add_reference) and a replacement never frees it under a slow
 * reader. */
typedef struct le_hls_pl le_hls_pl;
const char *le_hls_pl_text(const le_hls_pl *t, size_t *len);
/* Appends t to out by reference (t lives until libevent has sent it). */
void le_hls_pl_add_to(struct evbuffer *out, le_hls_pl *t);

/* 1 when rt's playlist may be kept and served to others. */
int le_hls_pl_cacheable(const le_http_route *rt);
/* The playlist kept for playlist `flags` of segmenter `hls` at generation
 * gen, as rt names it (app, stream, vhost), or NULL. Borrowed: valid until
 * the next le_hls_pl_put. */
le_hls_pl *le_hls_pl_get(const le_http_route *rt, const void *hls, uint64_t gen, unsigned flags);
/* Keeps a copy of text for those keys (replacing what shared its slot);
 * returns it, borrowed as above. */
le_hls_pl *le_hls_pl_put(const le_http_route *rt, const void *hls, uint64_t gen, unsigned flags,
                         const char *text, size_t len);
/* Counters for tests and benchmarks: playlists served from the cache, and built. */
void le_hls_pl_stats(uint64_t *hits, uint64_t *misses);

#endif
