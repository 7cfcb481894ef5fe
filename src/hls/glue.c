/* Glue: one segmenter per published stream, and what a dead stream leaves.
 *
 * A stream whose publisher left keeps its segments only while a player that
 * read its last playlist may still fetch them: LINGER = (hls_window +
 * LE_HLS_EXTRA_SEGS) fragments, the segments' Cache-Control max-age. Then the
 * segmenter is freed and only its numbering is kept (seq_mem), so that a
 * republish continues the media sequence with a discontinuity. Dead streams
 * still lingering are also budgeted together (LE_HLS_DEAD_BYTES,
 * LE_HLS_DEAD_STREAMS): over either, the oldest is freed early. The
 * remembered numberings are capped too (LE_HLS_SEQ_MEM_MAX, oldest dropped);
 * a dropped one only means that name restarts at 0, long after any player
 * could hold its old segment URLs. */
#include "hls/segmenter.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "core/keytab.h"
#include "core/log.h"
#include "core/util.h"
#include "media/stream.h"
#include "core/err.h"

/* Segment bytes all lingering dead streams may hold together, and their
 * number. */
#define LE_HLS_DEAD_BYTES (256u << 20)
#define LE_HLS_DEAD_STREAMS 4096
/* Remembered numberings of freed segmenters (a few dozen bytes each). */
#define LE_HLS_SEQ_MEM_MAX 65536

/* Where a stream's numbering stopped when its segmenter was freed. The
 * table's insertion order is the age order: remembering a key again moves it
 * to the newest end. */
typedef struct seq_mem {
    char *key;
    uint64_t next_seq, disc_seq;
    le_keytab_ent ke;
} seq_mem;
static le_keytab seq_table;

static struct event_base *ev_base;
static le_hls_wake_fn wake_fn;
static le_hls_domain_fn domain_of;
static int ext_slot = LE_ENOTFOUND;   /* the stream's "hls" extension slot */

static seq_mem *seq_find(const char *key)
{
    le_keytab_ent *e = le_keytab_find(&seq_table, key);
    return e ? LE_KEYTAB_OBJ(e, seq_mem, ke) : NULL;
}

static void seq_remove(seq_mem *m)
{
    le_keytab_remove(&seq_table, &m->ke);
    free(m->key);
    free(m);
}

static void seq_remember(const char *key, uint64_t next_seq, uint64_t disc_seq)
{
    seq_mem *m = seq_find(key);
    if (m)
        seq_remove(m);
    while (le_keytab_count(&seq_table) >= LE_HLS_SEQ_MEM_MAX)
        seq_remove(LE_KEYTAB_OBJ(le_keytab_first(&seq_table), seq_mem, ke));
    m = le_xcalloc(1, sizeof(*m));
    m->key = le_xstrdup(key);
    m->next_seq = next_seq;
    m->disc_seq = disc_seq;
    le_keytab_insert(&seq_table, &m->ke, m->key);
}

/* The per-stream object hung on the "hls" extension slot. */
typedef struct hls_ext {
    le_hls *h;
    le_sub sub;
    le_stream *st;
    struct event *detach_ev;   /* deferred work after unpublish */
    struct event *release_ev;  /* the linger timer */
    int dead;                  /* on the dead list */
    char *follow[3];           /* domain, app, name whose numbering st follows */
    size_t dead_bytes;         /* le_hls_bytes when it died */
    struct hls_ext *older, *newer;
} hls_ext;

static hls_ext *dead_oldest, *dead_newest;
static size_t dead_count, dead_total;

static void dead_unlink(hls_ext *x)
{
    if (!x->dead)
        return;
    if (x->older)
        x->older->newer = x->newer;
    else
        dead_oldest = x->newer;
    if (x->newer)
        x->newer->older = x->older;
    else
        dead_newest = x->older;
    x->older = x->newer = NULL;
    x->dead = 0;
    dead_count--;
    dead_total -= x->dead_bytes;
    x->dead_bytes = 0;
    if (x->release_ev)
        event_del(x->release_ev);
}

static void ext_free(void *p)
{
    hls_ext *x = p;
    dead_unlink(x);
    seq_remember(le_stream_key(x->st), le_hls_next_seq(x->h), le_hls_disc_seq(x->h));
    if (x->detach_ev)
        event_free(x->detach_ev);
    if (x->release_ev)
        event_free(x->release_ev);
    le_hls_free(x->h);
    for (int i = 0; i < 3; i++)
        free(x->follow[i]);
    free(x);
}

/* Frees a dead stream's segmenter (ext_free runs from le_stream_set_ext).
 * Never from inside one of the stream's own callbacks. */
static void release(hls_ext *x)
{
    if (x->sub.st)
        le_stream_detach(&x->sub);
    le_debug("hls", "%s: segments of the ended stream freed", le_stream_key(x->st));
    le_stream_set_ext(x->st, ext_slot, NULL, NULL);
}

static void sub_packet(le_sub *s, le_pkt *p)
{
    hls_ext *x = s->ctx;
    le_hls_feed(x->h, p);
}

static void sub_unpublish(le_sub *s)
{
    hls_ext *x = s->ctx;
    le_hls_end(x->h);
    if (!x->detach_ev || x->dead)
        return;
    x->dead = 1;
    x->dead_bytes = le_hls_bytes(x->h);
    x->older = dead_newest;
    if (dead_newest)
        dead_newest->newer = x;
    else
        dead_oldest = x;
    dead_newest = x;
    dead_count++;
    dead_total += x->dead_bytes;
    int64_t linger = le_hls_fragment_ms(x->h) * (le_hls_window(x->h) + LE_HLS_EXTRA_SEGS);
    struct timeval tv = { (time_t)(linger / 1000), (suseconds_t)(linger % 1000) * 1000 };
    evtimer_add(x->release_ev, &tv);
    /* Detaching lets the stream be collected once idle (its numbering is
     * remembered); not from inside the stream's own callback, though. */
    event_active(x->detach_ev, EV_TIMEOUT, 0);
}

static void sub_publish(le_sub *s)
{
    hls_ext *x = s->ctx;
    dead_unlink(x);
    le_hls_end(x->h);   /* no-op unless the old publisher was replaced in place */
}

static const le_sub_ops hls_sub_ops = { sub_packet, sub_unpublish, sub_publish };

static void detach_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    hls_ext *x = arg;
    if (x->sub.st && !le_stream_is_live(x->sub.st))
        le_stream_detach(&x->sub);
    /* Over budget: the oldest dead streams go first (maybe this one). */
    while (dead_oldest && (dead_total > LE_HLS_DEAD_BYTES || dead_count > LE_HLS_DEAD_STREAMS))
        release(dead_oldest);
}

static void release_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    hls_ext *x = arg;
    if (x->dead && !le_stream_is_live(x->st))
        release(x);
}

void le_hls_set_wake(le_hls_wake_fn fn)
{
    wake_fn = fn;
}

static void ext_notify(void *arg)
{
    hls_ext *x = arg;
    if (wake_fn)
        wake_fn(x->st);
}

static void on_publish(le_stream *st)
{
    const le_conf_domain *d = domain_of ? domain_of(le_stream_domain(st)) : NULL;
    if (!d || !d->hls)
        return;
    hls_ext *x = le_stream_ext(st, ext_slot);
    if (!x) {
        const char *key = le_stream_key(st);
        seq_mem *m = seq_find(key);
        x = le_xcalloc(1, sizeof(*x));
        x->h = le_hls_new(key, m ? m->next_seq : 0, m ? m->disc_seq : 0);
        if (m)
            seq_remove(m);   /* the segmenter holds the numbering now */
        x->st = st;
        le_hls_set_notify(x->h, ext_notify, x);
        x->sub.ops = &hls_sub_ops;
        x->sub.ctx = x;
        if (ev_base) {
            x->detach_ev = event_new(ev_base, -1, 0, detach_cb, x);
            x->release_ev = evtimer_new(ev_base, release_cb, x);
        }
        if (le_stream_set_ext(st, ext_slot, x, ext_free) != LE_OK) {
            ext_free(x);
            return;
        }
    }
    dead_unlink(x);
    /* A rendition's publish follows its source again (le_hls_follow). */
    le_hls_set_seq_fn(x->h, NULL, NULL);
    /* Settings are read per publish: a reload applies from the next one. */
    le_hls_set_params(x->h, d->hls_fragment_ms, d->hls_window);
    /* hls_variant, hls_part (livedge.conf(5)); a changed variant starts a
     * new muxer, so the next segment carries a discontinuity. */
    le_hls_set_variant(x->h, d->hls_variant, d->hls_part_ms);
    if (!x->sub.st)
        le_stream_attach(st, &x->sub);
}

int le_hls_init(struct event_base *base, le_hls_domain_fn domain)
{
    ev_base = base;
    domain_of = domain;
    if ((ext_slot = le_stream_ext_register("hls")) < 0)
        return ext_slot;
    return le_stream_on_publish(on_publish);
}

le_hls *le_hls_of(const le_stream *st)
{
    hls_ext *x = le_stream_ext(st, ext_slot);
    return x ? x->h : NULL;
}

/* le_hls_seq_fn of a stream that follows another: that stream's segmenter,
 * found by name each time (it may be gone or republished meanwhile). */
static int follow_seq(void *arg, int64_t start_ts, uint64_t *seq)
{
    hls_ext *x = arg;
    le_stream *o = le_stream_find(x->follow[0], x->follow[1], x->follow[2], 0);
    le_hls *h = o ? le_hls_of(o) : NULL;
    return h ? le_hls_seq_at(h, start_ts, seq) : LE_ENOTFOUND;
}

void le_hls_follow(const le_stream *st, const char *domain, const char *app, const char *name)
{
    hls_ext *x = st ? le_stream_ext(st, ext_slot) : NULL;
    if (!x)
        return;
    for (int i = 0; i < 3; i++)
        free(x->follow[i]);
    x->follow[0] = le_xstrdup(domain);
    x->follow[1] = le_xstrdup(app);
    x->follow[2] = le_xstrdup(name);
    le_hls_set_seq_fn(x->h, follow_seq, x);
}
