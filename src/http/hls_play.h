/* Live HLS playback from the in-memory segment ring: `GET /App/Stream.m3u8`
 * and `GET /App/Stream-SEQ.ts` (livedge(8), URLS SERVED). */
#ifndef LE_HTTP_HLS_PLAY_H
#define LE_HTTP_HLS_PLAY_H
#include "http/server.h"

void le_hls_play_playlist(le_http_conn *c, const le_http_route *rt);
void le_hls_play_segment(le_http_conn *c, const le_http_route *rt);

/* Adds the `.m3u8` and `-SEQ.ts` routes to the HTTP server (http/server.h);
 * time-shift's routes take precedence over them. */
void le_hls_play_init(void);

#endif
