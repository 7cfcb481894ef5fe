/* HTTP-FLV playback: `GET /App/Stream.flv` (livedge(8), URLS SERVED). */
#ifndef LE_HTTP_FLV_PLAY_H
#define LE_HTTP_FLV_PLAY_H
#include "http/server.h"

/* Serves the request: 404 with the error body when the stream is not live,
 * headers only for HEAD, otherwise takes the connection over and streams
 * until the publisher leaves, the viewer goes away or falls too far behind. */
void le_flv_play_start(le_http_conn *c, const le_http_route *rt);

/* Adds the `.flv` route to the HTTP server (http/server.h). */
void le_flv_play_init(void);

#endif
