/* The HLS glue's budget for ended streams (docs/ARCHITECTURE.md, "hls"): a
 * stream whose publisher left keeps its segmenter for the playlist window,
 * but all such streams together are capped (LE_HLS_DEAD_STREAMS); past the
 * cap the oldest are freed first, the newest kept. */
#include "tap.h"
#include "hls/segmenter.h"
#include "media/stream.h"
#include "conf/conf.h"
#include "core/err.h"

#include <event2/event.h>
#include <stdio.h>
#include <string.h>

#include "stream_helpers.h"

/* Mirrors glue.c: the number of ended streams whose segments are kept. */
#define DEAD_MAX 4096
#define EXTRA 8

static le_conf_domain dom;
static const le_conf_domain *lookup(const char *d) { return strcmp(d, "glue.test") == 0 ? &dom : NULL; }

static le_stream *nth(int i, int create)
{
    char name[32];
    snprintf(name, sizeof(name), "s%d", i);
    return le_stream_find("glue.test", "live", name, create);
}

int main(void)
{
    struct event_base *base = event_base_new();
    dom.hls = 1;
    dom.hls_fragment_ms = 60000;   /* a long window: only the budget frees anything here */
    dom.hls_window = 3;
    le_stream_set_base(base);
    is_int(le_hls_init(base, lookup), LE_OK, "glue registered");

    int owner;
    for (int i = 0; i < DEAD_MAX + EXTRA; i++) {
        le_stream *st = nth(i, 1);
        le_stream_publish(st, &pub, &owner);
        le_stream_unpublish(st, &owner);
        event_base_loop(base, EVLOOP_NONBLOCK);   /* the deferred detach, which applies the budget */
    }
    event_base_loop(base, EVLOOP_NONBLOCK);

    int kept = 0, first_kept = -1;
    for (int i = 0; i < DEAD_MAX + EXTRA; i++) {
        le_stream *st = nth(i, 0);
        if (st && le_hls_of(st)) {
            kept++;
            if (first_kept < 0)
                first_kept = i;
        }
    }
    is_int(kept, DEAD_MAX, "ended streams keeping segments: capped at the budget");
    is_int(first_kept, EXTRA, "the oldest ended streams were freed first");
    ok(nth(DEAD_MAX + EXTRA - 1, 0) && le_hls_of(nth(DEAD_MAX + EXTRA - 1, 0)), "the newest is kept");

    /* A republish of a freed stream continues: it gets a segmenter again. */
    le_stream *st0 = nth(0, 1);
    le_stream_publish(st0, &pub, &owner);
    ok(le_hls_of(st0) != NULL, "a freed stream that publishes again gets a segmenter");
    le_stream_unpublish(st0, &owner);
    event_base_loop(base, EVLOOP_NONBLOCK);

    le_stream_shutdown();
    event_base_free(base);
    return done_testing();
}
