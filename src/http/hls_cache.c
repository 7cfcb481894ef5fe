/* Playlist text kept between requests: see hls_cache.h. */
#include "http/hls_cache.h"

#include <event2/buffer.h>
#include <stdlib.h>
#include <string.h>

#include "auth/aliauth.h"
#include "core/util.h"

#define SLOTS 64

struct le_hls_pl {
    unsigned refs;
    size_t len;
    char text[];
};

typedef struct slot {
    const void *hls;
    const void *dom;
    uint64_t gen;
    unsigned flags;
    /* The names the playlist's URIs carry (le_http_route's). */
    char app[sizeof(((le_http_route *)0)->app)], name[sizeof(((le_http_route *)0)->name)];
    char vhost[sizeof(((le_http_route *)0)->vhost)];
    le_hls_pl *pl;      /* NULL: unused */
} slot;

static slot slots[SLOTS];
static uint64_t hits, misses;

static void pl_unref(le_hls_pl *t)
{
    if (t && --t->refs == 0)
        free(t);
}

static void pl_unref_cb(const void *data, size_t len, void *t)
{
    (void)data;
    (void)len;
    pl_unref(t);
}

const char *le_hls_pl_text(const le_hls_pl *t, size_t *len)
{
    *len = t->len;
    return t->text;
}

void le_hls_pl_add_to(struct evbuffer *out, le_hls_pl *t)
{
    t->refs++;
    if (evbuffer_add_reference(out, t->text, t->len, pl_unref_cb, t) != 0)
        t->refs--;
}

int le_hls_pl_cacheable(const le_http_route *rt)
{
    return rt->grant == NULL || rt->grant->form == LE_AUTHF_NONE;
}

static slot *slot_of(const void *hls, unsigned flags)
{
    uint64_t k = (uint64_t)(uintptr_t)hls;
    k = le_hash64(&k, sizeof(k), flags + LE_HASH64_INIT);
    return &slots[k % SLOTS];
}

le_hls_pl *le_hls_pl_get(const le_http_route *rt, const void *hls, uint64_t gen, unsigned flags)
{
    slot *s = slot_of(hls, flags);
    if (!s->pl || s->hls != hls || s->gen != gen || s->flags != flags || s->dom != rt->dom ||
        strcmp(s->name, rt->name) != 0 || strcmp(s->app, rt->app) != 0 || strcmp(s->vhost, rt->vhost) != 0) {
        misses++;
        return NULL;
    }
    hits++;
    return s->pl;
}

le_hls_pl *le_hls_pl_put(const le_http_route *rt, const void *hls, uint64_t gen, unsigned flags,
                         const char *text, size_t len)
{
    slot *s = slot_of(hls, flags);
    pl_unref(s->pl);
    memcpy(s->app, rt->app, sizeof(s->app));
    memcpy(s->name, rt->name, sizeof(s->name));
    memcpy(s->vhost, rt->vhost, sizeof(s->vhost));
    s->pl = le_xmalloc(sizeof(*s->pl) + len);
    s->pl->refs = 1;
    s->pl->len = len;
    memcpy(s->pl->text, text, len);
    s->hls = hls;
    s->dom = rt->dom;
    s->gen = gen;
    s->flags = flags;
    return s->pl;
}

void le_hls_pl_stats(uint64_t *h, uint64_t *m)
{
    *h = hits;
    *m = misses;
}
