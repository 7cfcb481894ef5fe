#include "media/tap.h"
#include "media/stream.h"
#include "core/log.h"
#include "core/util.h"

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

typedef struct item {
    int kind;
    le_pkt *pkt;               /* LE_TAP_PKT: a reference */
} item;

struct le_tap {
    le_sub sub;
    const le_tap_ops *ops;
    void *ctx;
    size_t max_bytes;
    item *q;                   /* ring */
    size_t head, n, cap, bytes;
    le_pkt *meta, *vseq, *aseq; /* the latest headers of this publish */
    int has_video;             /* this publish has sent video */
    int live;                  /* between PUBLISH and UNPUBLISH as queued */
    int skipping;
    uint64_t behind_since_ms;  /* monotonic; 0 while not behind */
    int drop_pending;          /* ops->drop not yet called */
    struct event *ev;
    le_tap_stats stats;
};

static struct event_base *ev_base;
void le_tap_init(struct event_base *base) { ev_base = base; }

static void set_pkt(le_pkt **slot, le_pkt *p)
{
    if (*slot)
        le_pkt_unref(*slot);
    *slot = p ? le_pkt_ref(p) : NULL;
}

static void wake_soon(le_tap *t)
{
    if (t->ev && !event_pending(t->ev, EV_TIMEOUT, NULL))
        event_active(t->ev, EV_TIMEOUT, 0);
}

static void enqueue(le_tap *t, int kind, le_pkt *p)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        item *q = le_xmalloc(cap * sizeof(*q));
        for (size_t i = 0; i < t->n; i++)
            q[i] = t->q[(t->head + i) % t->cap];
        free(t->q);
        t->q = q;
        t->cap = cap;
        t->head = 0;
    }
    t->q[(t->head + t->n) % t->cap] = (item){ kind, p ? le_pkt_ref(p) : NULL };
    t->n++;
    if (p) {
        t->bytes += p->len;
        t->stats.queued_pkts++;
    }
    wake_soon(t);
}

/* Throws the queued packets away (markers stay, in order). */
static uint64_t flush_pkts(le_tap *t)
{
    uint64_t lost = 0;
    size_t w = 0;
    for (size_t i = 0; i < t->n; i++) {
        item it = t->q[(t->head + i) % t->cap];
        if (it.pkt) {
            le_pkt_unref(it.pkt);
            lost++;
            continue;
        }
        t->q[(t->head + w++) % t->cap] = it;
    }
    t->n = w;
    t->bytes = 0;
    return lost;
}

static void forget_headers(le_tap *t)
{
    set_pkt(&t->meta, NULL);
    set_pkt(&t->vseq, NULL);
    set_pkt(&t->aseq, NULL);
    t->has_video = 0;
}

static void sub_packet(le_sub *s, le_pkt *p)
{
    le_tap *t = s->ctx;
    if (p->flags & LE_PKT_META) {
        set_pkt(&t->meta, p);
        enqueue(t, LE_TAP_PKT, p);
        return;
    }
    if (p->flags & LE_PKT_SEQHDR) {
        set_pkt(p->type == LE_PKT_VIDEO ? &t->vseq : &t->aseq, p);
        enqueue(t, LE_TAP_PKT, p);
        return;
    }
    if (p->type == LE_PKT_VIDEO)
        t->has_video = 1;

    /* The players' policy (le_feed_policy) on this tap's own bound. */
    uint64_t now = le_mono_ms();
    int64_t drop_ms = le_stream_get_limits()->viewer_drop_ms;
    if (t->bytes > t->max_bytes) {
        if (!t->behind_since_ms)
            t->behind_since_ms = now;
        t->skipping = 1;
    } else if (t->bytes <= t->max_bytes / 2) {
        t->behind_since_ms = 0;
    }
    if (t->behind_since_ms && now - t->behind_since_ms > (uint64_t)drop_ms) {
        uint64_t lost = flush_pkts(t);
        t->stats.dropped += lost;
        t->stats.drops++;
        t->behind_since_ms = 0;
        t->skipping = 1;
        t->drop_pending = 1;
        le_warn("tap", "%s: consumer over %zu bytes for %lld ms, %llu packets dropped",
                le_stream_key(s->st), t->max_bytes, (long long)drop_ms, (unsigned long long)lost);
        enqueue(t, LE_TAP_DROPPED, NULL);
    }
    if (t->skipping) {
        int resume_here = t->has_video ? p->type == LE_PKT_VIDEO && (p->flags & LE_PKT_KEY)
                                       : p->type == LE_PKT_AUDIO;
        if (!resume_here || t->bytes > t->max_bytes / 2) {
            t->stats.skipped++;
            return;
        }
        t->skipping = 0;
        le_pkt *hdrs[3] = { t->meta, t->vseq, t->aseq };
        for (int i = 0; i < 3; i++)
            if (hdrs[i])
                enqueue(t, LE_TAP_PKT, hdrs[i]);
    }
    enqueue(t, LE_TAP_PKT, p);
}

static void sub_unpublish(le_sub *s)
{
    le_tap *t = s->ctx;
    forget_headers(t);
    if (t->live)
        enqueue(t, LE_TAP_UNPUBLISH, NULL);
    t->live = 0;
}

static void sub_publish(le_sub *s)
{
    le_tap *t = s->ctx;
    if (t->live) {   /* replaced in place (takeover): close the old publish */
        forget_headers(t);
        enqueue(t, LE_TAP_UNPUBLISH, NULL);
    }
    t->live = 1;
    enqueue(t, LE_TAP_PUBLISH, NULL);
}

static const le_sub_ops tap_sub_ops = { sub_packet, sub_unpublish, sub_publish };

static void wake_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    le_tap *t = arg;
    if (t->drop_pending) {
        t->drop_pending = 0;
        if (t->ops->drop) {
            /* The consumer may close the tap here: look again through a
             * pending wake only if it did not (then the event is gone). */
            int more = t->n > 0;
            if (more)
                event_active(t->ev, EV_TIMEOUT, 0);
            t->ops->drop(t, t->ctx);
            return;
        }
    }
    if (t->n > 0 && t->ops->wake)
        t->ops->wake(t, t->ctx);   /* may close t */
}

le_tap *le_tap_open(le_stream *st, const le_tap_ops *ops, void *ctx, size_t max_bytes)
{
    if (!st || !ops)
        return NULL;
    le_tap *t = le_xcalloc(1, sizeof(*t));
    t->ops = ops;
    t->ctx = ctx;
    t->max_bytes = max_bytes ? max_bytes : 1;
    t->sub.ops = &tap_sub_ops;
    t->sub.ctx = t;
    if (ev_base)
        t->ev = event_new(ev_base, -1, 0, wake_cb, t);
    t->live = le_stream_is_live(st);
    if (t->live)
        enqueue(t, LE_TAP_PUBLISH, NULL);
    le_stream_attach(st, &t->sub);   /* replays the join through sub_packet */
    return t;
}

void le_tap_close(le_tap *t)
{
    if (!t)
        return;
    le_stream_detach(&t->sub);
    flush_pkts(t);
    free(t->q);
    forget_headers(t);
    if (t->ev)
        event_free(t->ev);
    free(t);
}

int le_tap_next(le_tap *t, le_pkt **out)
{
    *out = NULL;
    if (t->n == 0)
        return LE_TAP_NONE;
    item it = t->q[t->head];
    t->head = (t->head + 1) % t->cap;
    t->n--;
    if (it.pkt) {
        t->bytes -= it.pkt->len;
        *out = it.pkt;
    }
    return it.kind;
}

void le_tap_get_stats(const le_tap *t, le_tap_stats *out)
{
    *out = t->stats;
    out->bytes = t->bytes;
    out->items = t->n;
}

le_stream *le_tap_stream(const le_tap *t) { return t->sub.st; }
