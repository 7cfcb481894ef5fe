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

/* le_hls_set_wake: how held LL-HLS requests learn of new parts. */
static int wakes;
static const le_stream *woken;
static void on_wake(const le_stream *st)
{
    wakes++;
    woken = st;
}

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

    /* hls_variant and hls_part are applied at publish; the segmenter's
     * notify reaches the wake function with the stream (at the end here). */
    le_hls_set_wake(on_wake);
    dom.hls_variant = LE_HLS_VARIANT_LOWLATENCY;
    dom.hls_part_ms = 100;
    le_stream *v = le_stream_find("glue.test", "live", "ll", 1);
    le_stream_publish(v, &pub, &owner);
    le_hls *h = le_hls_of(v);
    ok(h && le_hls_variant(h) == LE_HLS_VARIANT_LOWLATENCY, "hls_variant lowlatency applied at publish");
    ok(h && le_hls_part_ms(h) == 100, "hls_part 100 ms applied at publish");
    wakes = 0;
    le_stream_unpublish(v, &owner);
    ok(wakes >= 1 && woken == v, "the end of the publish wakes held requests of that stream");
    event_base_loop(base, EVLOOP_NONBLOCK);
    dom.hls_variant = LE_HLS_VARIANT_FMP4;
    le_stream_publish(v, &pub, &owner);
    ok(le_hls_variant(le_hls_of(v)) == LE_HLS_VARIANT_FMP4, "a republish takes the domain's new variant");
    le_stream_unpublish(v, &owner);
    event_base_loop(base, EVLOOP_NONBLOCK);
    le_hls_set_wake(NULL);

    le_stream_shutdown();
    event_base_free(base);
    return done_testing();
}
