/* The HTTP playback listener (http_listen): HTTP-FLV, live HLS, later the
 * time-shift playlists and the timeline query. */
#ifndef LE_HTTP_SERVER_H
#define LE_HTTP_SERVER_H
#include <stddef.h>

struct event_base;

/* Binds and starts accepting on "HOST:PORT". 0 or -1 with err filled. */
int le_http_listen(struct event_base *base, const char *addr, char *err, size_t errlen);
/* The bound port (after "…:0" binds an ephemeral one); 0 if not listening. */
int le_http_port(void);
/* Stops accepting and closes every HTTP connection (shutdown). */
void le_http_shutdown(void);

#endif
