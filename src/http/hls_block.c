/* Held LL-HLS requests: per-stream wait lists, one deferred wake-up event
 * and one sweep timer for the whole node (http/hls_block.h). */
#include "http/hls_block.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/access.h"
#include "conf/conf.h"
#include "core/err.h"
#include "core/keytab.h"
#include "core/log.h"
#include "core/util.h"
#include "media/stream.h"
#include "node.h"

typedef struct waitlist waitlist;

typedef struct hls_wait {
    le_http_conn *c;
    waitlist *wl;
    struct hls_wait *prev, *next;
    le_hls_blockq q;
    le_hls_answer_fn answer;
    int64_t deadline;           /* mono ms */
    le_http_route rt;           /* app, name, vhost, version; dom re-read */
    char domain[256];
    le_aliauth_grant grant;
    int has_grant;
} hls_wait;

struct waitlist {
    char *key;                  /* le_stream_key */
    le_keytab_ent ke;
    hls_wait *head, *tail;
    size_t n;
    int dirty;                  /* woken, on the dirty list */
    waitlist *dirty_next;
};

static struct {
    le_keytab lists;
    size_t total;
    waitlist *dirty;
    struct event *wake_ev;      /* deferred: answers the dirty lists */
    struct event *sweep_ev;     /* timeouts, every LE_HLS_HOLD_SWEEP_MS while any is held */
    int sweep_on;
} hb;

size_t le_hls_block_count(void) { return hb.total; }

int le_hls_block_ready(const le_hls *h, uint64_t msn, int part)
{
    uint64_t next = le_hls_next_seq(h);
    if (msn < next)
        return 1;   /* sealed (or rotated out): its parts are all there is */
    if (msn > next || part < 0)
        return 0;
    const le_hls_seg *open = le_hls_open_seg(h);
    return open && open->seq == msn && open->nparts > (size_t)part;
}

static waitlist *list_find(const char *key)
{
    le_keytab_ent *e = le_keytab_find(&hb.lists, key);
    return e ? LE_KEYTAB_OBJ(e, waitlist, ke) : NULL;
}

static void list_free_if_empty(waitlist *wl)
{
    if (wl->n || wl->dirty)
        return;
    le_keytab_remove(&hb.lists, &wl->ke);
    free(wl->key);
    free(wl);
}

static void unlink_wait(hls_wait *w)
{
    waitlist *wl = w->wl;
    if (!wl)
        return;
    if (w->prev)
        w->prev->next = w->next;
    else
        wl->head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        wl->tail = w->prev;
    w->prev = w->next = NULL;
    w->wl = NULL;
    wl->n--;
    hb.total--;
    list_free_if_empty(wl);
}

/* The connection closed while held (from the reaper). */
static void wait_close(void *ctx)
{
    hls_wait *w = ctx;
    unlink_wait(w);
    free(w);
}

static void answer(hls_wait *w, int timed_out)
{
    le_http_conn *c = w->c;
    unlink_wait(w);
    le_http_conn_resume(c);
    const le_conf_domain *dom = le_node_domain(w->domain);
    if (!dom) {   /* the domain went away with a reload */
        le_http_reply_error(c, 404, "InvalidStream.NotFound", "no live HLS for this stream");
    } else {
        w->rt.dom = dom;
        w->rt.grant = w->has_grant ? &w->grant : NULL;
        w->answer(c, &w->rt, &w->q, timed_out);
    }
    free(w);
}

/* Answers what is ready (or timed out) on wl, and everything when the
 * stream ended. */
static void check_list(waitlist *wl, int64_t now)
{
    hls_wait *w = wl->head;
    if (!w)
        return;
    le_stream *st = le_stream_find(w->domain, w->rt.app, w->rt.name, 0);
    le_hls *h = st ? le_hls_of(st) : NULL;
    int ended = !st || !h || !le_stream_is_live(st);
    while (w) {
        hls_wait *nx = w->next;
        if (le_http_conn_closing(w->c)) {
            w = nx;     /* the reaper frees it (wait_close) */
            continue;
        }
        if (ended || le_hls_block_ready(h, w->q.msn, w->q.part))
            answer(w, 0);
        else if (now >= w->deadline)
            answer(w, 1);
        w = nx;
    }
}

static void wake_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    int64_t now = (int64_t)le_mono_ms();
    while (hb.dirty) {
        waitlist *wl = hb.dirty;
        hb.dirty = wl->dirty_next;
        wl->dirty_next = NULL;
        wl->dirty = 0;
        if (wl->n) {
            wl->n++;    /* keeps wl while its last waiter is answered */
            check_list(wl, now);
            wl->n--;
        }
        list_free_if_empty(wl);
    }
}

static void sweep_arm(void)
{
    struct timeval tv = { 0, LE_HLS_HOLD_SWEEP_MS * 1000 };
    evtimer_add(hb.sweep_ev, &tv);
    hb.sweep_on = 1;
}

/* The sweep also checks readiness: a safety net should a wake-up be
 * missed, at the cost of a few loads per held request per sweep. */
static void sweep_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    hb.sweep_on = 0;
    int64_t now = (int64_t)le_mono_ms();
    LE_KEYTAB_FOREACH(&hb.lists, e, nx) {
        waitlist *wl = LE_KEYTAB_OBJ(e, waitlist, ke);
        wl->n++;
        check_list(wl, now);
        wl->n--;
        list_free_if_empty(wl);   /* removing the current entry is allowed (core/keytab.h) */
    }
    if (hb.total)
        sweep_arm();
}

static void on_wake(const le_stream *st)
{
    waitlist *wl = hb.total ? list_find(le_stream_key(st)) : NULL;
    if (!wl || wl->dirty)
        return;
    wl->dirty = 1;
    wl->dirty_next = hb.dirty;
    hb.dirty = wl;
    if (hb.wake_ev)
        event_active(hb.wake_ev, EV_TIMEOUT, 0);
}

int le_hls_block(le_http_conn *c, const le_http_route *rt, const char *stream_key, const le_hls_blockq *q,
                 int64_t timeout_ms, le_hls_answer_fn fn)
{
    waitlist *wl = list_find(stream_key);
    if (hb.total >= LE_HLS_HOLD_TOTAL || (wl && wl->n >= LE_HLS_HOLD_PER_STREAM))
        return LE_ETOOBIG;
    struct event_base *base = le_node_base();
    if (!hb.wake_ev) {
        hb.wake_ev = event_new(base, -1, 0, wake_cb, NULL);
        hb.sweep_ev = evtimer_new(base, sweep_cb, NULL);
        if (!hb.wake_ev || !hb.sweep_ev) {
            if (hb.wake_ev)
                event_free(hb.wake_ev);
            if (hb.sweep_ev)
                event_free(hb.sweep_ev);
            hb.wake_ev = hb.sweep_ev = NULL;
            return LE_ENOMEM;
        }
    }
    if (!wl) {
        wl = le_xcalloc(1, sizeof(*wl));
        wl->key = le_xstrdup(stream_key);
        if (le_keytab_insert(&hb.lists, &wl->ke, wl->key) != LE_OK) {
            free(wl->key);
            free(wl);
            return LE_ENOMEM;
        }
    }
    hls_wait *w = le_xcalloc(1, sizeof(*w));
    w->c = c;
    w->q = *q;
    w->answer = fn;
    w->deadline = (int64_t)le_mono_ms() + timeout_ms;
    w->rt = *rt;
    w->rt.req = NULL;
    w->rt.file = NULL;
    w->rt.dom = NULL;
    w->rt.grant = NULL;
    if (rt->grant) {
        w->grant = *rt->grant;
        w->has_grant = 1;
    }
    snprintf(w->domain, sizeof(w->domain), "%s", rt->dom->name);
    w->wl = wl;
    w->prev = wl->tail;
    if (wl->tail)
        wl->tail->next = w;
    else
        wl->head = w;
    wl->tail = w;
    wl->n++;
    hb.total++;
    le_http_conn_hold(c, w, wait_close);
    if (!hb.sweep_on)
        sweep_arm();
    return LE_OK;
}

void le_hls_block_init(void)
{
    le_hls_set_wake(on_wake);
}
