/* RTMP connections: accept, handshake, chunk stream, commands; a publish
 * runs through control/publish.h (le_publish_begin / le_publish_end), a
 * play joins the stream's RTMP feed. Wire replies come from rtmp/msg.h. */
#ifndef LE_RTMP_SESSION_H
#define LE_RTMP_SESSION_H
#include <stddef.h>

struct event_base;

int le_rtmp_listen(struct event_base *base, const char *addr, char *err, size_t errlen);
int le_rtmp_port(void);
/* rtmps_listen: the same sessions over TLS (net.h le_net_listener_set_tls,
 * no ALPN); le_tls_init must have loaded the default certificate. Its port,
 * 0 when not listening. */
int le_rtmps_listen(struct event_base *base, const char *addr, char *err, size_t errlen);
int le_rtmps_port(void);
/* Stops accepting on both; publishers and players are closed (shutdown). */
void le_rtmp_shutdown(void);
/* Periodic work: handshake and idle timeouts. Called by the node's tick. */
void le_rtmp_tick(void);

#endif
