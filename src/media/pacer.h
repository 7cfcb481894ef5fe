/* Write pacing for viewers. On this machine a viewer's cost is set by
 * writes per second, not bytes (STYLE 5), and a publisher's packets arrive
 * one read at a time, so writing each as it comes would cost one writev per
 * viewer per packet. Instead a viewer appends live packets to its pending
 * buffer; one node-wide timer moves every dirty viewer's pending bytes into
 * its socket output every LE_PACE_MS (evbuffer_add_buffer moves chains, no
 * copy) or writes them itself (see le_pacer_init). The delay this adds is
 * bounded by the interval. A new viewer's first burst (headers and GOP)
 * bypasses the pacer so its first frame is not held. */
#ifndef LE_PACER_H
#define LE_PACER_H
#include <stddef.h>

#define LE_PACE_MS 40

struct evbuffer;
struct event_base;

typedef struct le_pacer_ent {
    struct evbuffer *pending;    /* owned */
    struct evbuffer *out;        /* the socket's output (not owned) */
    int fd;                      /* the socket, for the direct write; -1: none */
    struct le_pacer_ent *next;   /* dirty list */
    int dirty;
} le_pacer_ent;

/* With fd >= 0, a tick that finds nothing queued ahead writes straight to
 * the socket and gives the output buffer only what the kernel did not take:
 * the socket layer then re-arms no write event in the common case. */
void le_pacer_init(le_pacer_ent *e, struct evbuffer *out, int fd);
/* Schedules a flush of e->pending (call after appending to it). */
void le_pacer_mark(le_pacer_ent *e);
/* Moves pending bytes to the output now. */
void le_pacer_flush(le_pacer_ent *e);
/* Bytes queued in both buffers (the slow-viewer measure). */
size_t le_pacer_queued(const le_pacer_ent *e);
/* Unlinks and frees; call before the output buffer goes away. */
void le_pacer_release(le_pacer_ent *e);
void le_pacer_shutdown(void);

#endif
