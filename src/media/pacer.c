#include "media/pacer.h"
#include "node.h"

#include <event2/buffer.h>
#include <event2/event.h>

static le_pacer_ent *dirty;
static struct event *timer;

static void tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    le_pacer_ent *list = dirty;
    dirty = NULL;
    while (list) {
        le_pacer_ent *e = list;
        list = e->next;
        e->next = NULL;
        e->dirty = 0;
        /* Nothing queued ahead: one writev now. An error (EAGAIN, or a dead
         * peer) leaves the bytes for the socket layer, which reports it. */
        if (e->fd >= 0 && evbuffer_get_length(e->out) == 0)
            evbuffer_write(e->pending, e->fd);
        if (evbuffer_get_length(e->pending))
            evbuffer_add_buffer(e->out, e->pending);
    }
}

void le_pacer_init(le_pacer_ent *e, struct evbuffer *out, int fd)
{
    e->pending = evbuffer_new();
    e->out = out;
    e->fd = fd;
    e->next = NULL;
    e->dirty = 0;
}

void le_pacer_mark(le_pacer_ent *e)
{
    if (e->dirty)
        return;
    e->dirty = 1;
    e->next = dirty;
    dirty = e;
    if (!timer)
        timer = evtimer_new(le_node_base(), tick, NULL);
    if (!evtimer_pending(timer, NULL)) {
        struct timeval tv = { 0, LE_PACE_MS * 1000 };
        evtimer_add(timer, &tv);
    }
}

void le_pacer_flush(le_pacer_ent *e)
{
    if (e->pending && evbuffer_get_length(e->pending))
        evbuffer_add_buffer(e->out, e->pending);
}

size_t le_pacer_queued(const le_pacer_ent *e)
{
    return evbuffer_get_length(e->out) + (e->pending ? evbuffer_get_length(e->pending) : 0);
}

void le_pacer_release(le_pacer_ent *e)
{
    if (e->dirty) {
        for (le_pacer_ent **pp = &dirty; *pp; pp = &(*pp)->next)
            if (*pp == e) {
                *pp = e->next;
                break;
            }
        e->dirty = 0;
    }
    if (e->pending)
        evbuffer_free(e->pending);
    e->pending = NULL;
}

void le_pacer_shutdown(void)
{
    dirty = NULL;
    if (timer)
        event_free(timer);
    timer = NULL;
}
