/* Live HLS playback from the in-memory segment ring: `GET /App/Stream.m3u8`
 * and `GET /App/Stream-SEQ.ts` (livedge(8), URLS SERVED). */
#ifndef LE_HTTP_HLS_PLAY_H
#define LE_HTTP_HLS_PLAY_H
#include "core/util.h"
#include "http/server.h"

struct le_hls_pl;

void le_hls_play_playlist(le_http_conn *c, const le_http_route *rt);
/* Answers 200 with the playlist text in b (Cache-Control: no-cache; HEAD:
 * the headers only), counts the bytes out, frees b; the response is done.
 * Every live playlist (TS, fmp4, LL-HLS, the adaptive master) ends here. */
void le_hls_play_send_m3u8(le_http_conn *c, const le_http_route *rt, le_buf *b);
/* The same for text that stays the caller's (copied), and for a kept
 * playlist (sent by reference, http/hls_cache.h). */
void le_hls_play_send_text(le_http_conn *c, const le_http_route *rt, const char *text, size_t len);
void le_hls_play_send_kept(le_http_conn *c, const le_http_route *rt, struct le_hls_pl *t);
void le_hls_play_segment(le_http_conn *c, const le_http_route *rt);

/* The URI of file (of stream name, in rt's app) as a playlist lists it:
 * relative ("File"), with the vhost argument the playlist came with. Under
 * a URL signature (livedge.conf(5), aliauth) each URI is signed the way the
 * playlist's URL passed: same key, same timestamp, so it expires with the
 * playlist; a type B/C path form makes it absolute ("/{p1}/{p2}/App/File").
 * 0, or LE_ETOOBIG when it does not fit outsz. */
int le_hls_play_uri(const le_http_route *rt, const char *name, const char *file, char *out, size_t outsz);

/* The adaptive master playlist `GET /App/Stream_abr.m3u8` (http/hls_master.c):
 * the source and its renditions (transcode/rendition.h). */
void le_hls_master_init(void);

/* Adds the `.m3u8` and `-SEQ.ts` routes to the HTTP server (http/server.h);
 * time-shift's routes take precedence over them. */
void le_hls_play_init(void);

/* fmp4 and lowlatency (http/hls_ll.c): the playlist of h for the request
 * (blocking reload and delta updates in lowlatency); the routes of the
 * init section, segments and parts (`Stream-init-N.mp4`, `Stream-SEQ.m4s`,
 * `Stream-SEQ.PART.m4s`), added by le_hls_play_init. */
struct le_stream;
struct le_hls;
void le_hls_ll_playlist(le_http_conn *c, const le_http_route *rt, struct le_stream *st, struct le_hls *h);
void le_hls_ll_init(void);
/* A value drawn at startup that every segment and part ETag carries, so a
 * restarted node's reused numbers never match a cached validator. */
unsigned le_hls_boot_tag(void);

#endif
