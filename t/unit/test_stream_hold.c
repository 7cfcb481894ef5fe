/* Players held for a first publisher (le_stream_hold, le_stream_end_wait):
 * what an edge pull (relay/edge.h) relies on. A held player is told
 * nothing until a publish comes (then it follows it, whatever its tracks)
 * or the hold runs out (then it is told unpublish, once); the hold extends
 * an earlier wait and never touches a live stream. No sockets: subscribers
 * record. */
#include "tap.h"
#include "media_samples.h"
#include "media/stream.h"
#include "conf/conf.h"
#include "core/err.h"
#include "core/util.h"

#include <stdlib.h>
#include <string.h>

typedef struct rec {
    le_sub sub;
    int packets, unpublished, published;
} rec;

static void rec_packet(le_sub *s, le_pkt *p)
{
    (void)p;
    ((rec *)s->ctx)->packets++;
}
static void rec_unpublish(le_sub *s) { ((rec *)s->ctx)->unpublished++; }
static void rec_publish(le_sub *s) { ((rec *)s->ctx)->published++; }
static const le_sub_ops rec_ops = { rec_packet, rec_unpublish, rec_publish };

static void rec_init(rec *r)
{
    memset(r, 0, sizeof(*r));
    r->sub.ops = &rec_ops;
    r->sub.ctx = r;
    r->sub.is_player = 1;
}

#include "stream_helpers.h"

/* Waits (ticking) until st's wait is over, at most 5 s; its length in ms. */
static uint64_t wait_out(le_stream *st)
{
    uint64_t t0 = le_mono_ms();
    while (le_stream_in_grace(st) && le_mono_ms() - t0 < 5000) {
        nap_ms(10);
        le_stream_grace_tick();
    }
    return le_mono_ms() - t0;
}

int main(void)
{
    int a;
    le_stream_limits lim = *le_stream_get_limits();
    lim.reconnect_grace_ms = 10000;
    le_stream_set_limits(&lim);

    /* Nobody comes: the held player is told unpublish when the hold ends. */
    le_stream *st = le_stream_find("d.example", "live", "h1", 1);
    le_stream_hold(st, 200);
    ok(le_stream_in_grace(st) && !le_stream_is_live(st), "hold: a stream never published waits");
    rec p1, p2;
    rec_init(&p1);
    le_stream_attach(st, &p1.sub);
    is_int(le_stream_viewers(st), 1, "hold: the held player counts as a viewer");
    le_stream_grace_tick();
    is_int(p1.unpublished, 0, "hold: not told before its time");
    uint64_t waited = wait_out(st);
    ok(!le_stream_in_grace(st), "hold: over without a publisher");
    is_int(p1.unpublished, 1, "hold: the player is told unpublish once it runs out");
    ok(waited >= 100, "hold: not before its time (%llu ms)", (unsigned long long)waited);
    le_stream_detach(&p1.sub);

    /* A publish within the hold: the players (attached before and after the
     * hold started) follow it and are never told unpublish. */
    st = le_stream_find("d.example", "live", "h2", 1);
    rec_init(&p1);
    rec_init(&p2);
    le_stream_hold(st, 300);
    le_stream_attach(st, &p1.sub);
    le_stream_hold(st, 100);   /* shorter: does not cut the running wait */
    le_stream_attach(st, &p2.sub);
    is_int(le_stream_publish(st, &pub, &a), LE_OK, "hold: a publisher comes");
    ok(!le_stream_in_grace(st), "hold: ended by the publish");
    push(st, LE_PKT_VIDEO, 0, vseq, sizeof(vseq));
    push(st, LE_PKT_VIDEO, 0, key, sizeof(key));
    nap_ms(350);
    le_stream_grace_tick();
    ok(p1.published == 1 && p2.published == 1, "hold: both players are told publish");
    ok(p1.unpublished == 0 && p2.unpublished == 0, "hold: ... and follow it (no unpublish past the hold)");
    le_stream_hold(st, 100);
    ok(!le_stream_in_grace(st), "hold: nothing on a live stream");

    /* The stream ended for good; a later hold forgets its old tracks: a
     * video-only publish is followed, not refused as a track change. */
    push(st, LE_PKT_AUDIO, 0, aseq, sizeof(aseq));
    push(st, LE_PKT_AUDIO, 20, araw, sizeof(araw));
    le_stream_end(st, &a);
    is_int(p1.unpublished + p2.unpublished, 2, "end: the players end at the unpublish");
    le_stream_detach(&p1.sub);
    le_stream_detach(&p2.sub);
    rec_init(&p1);
    le_stream_hold(st, 1000);
    le_stream_attach(st, &p1.sub);
    is_int(le_stream_publish(st, &pub, &a), LE_OK, "hold again: a publisher comes");
    push(st, LE_PKT_VIDEO, 0, vseq, sizeof(vseq));
    push(st, LE_PKT_VIDEO, 0, key, sizeof(key));
    push(st, LE_PKT_VIDEO, 40, inter, sizeof(inter));
    ok(p1.published == 1 && p1.unpublished == 0, "hold again: the player follows other tracks than the last publish's");
    le_stream_end(st, &a);
    le_stream_detach(&p1.sub);

    /* le_stream_end_wait: the waiting players end now. */
    st = le_stream_find("d.example", "live", "h3", 1);
    rec_init(&p1);
    le_stream_hold(st, 5000);
    le_stream_attach(st, &p1.sub);
    le_stream_end_wait(st);
    ok(!le_stream_in_grace(st) && p1.unpublished == 1, "end_wait: the held player ends at once");
    le_stream_end_wait(st);
    is_int(p1.unpublished, 1, "end_wait: told once");
    le_stream_detach(&p1.sub);

    le_stream_shutdown();
    return done_testing();
}
