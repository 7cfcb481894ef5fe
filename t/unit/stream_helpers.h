/* Helpers the stream-level unit tests share (test_stream, test_feed,
 * test_tap): a publisher handle that counts kicks, one-packet pushes, and a
 * short sleep for the tests that wait out a time bound. Include after tap.h
 * and media/stream.h. */
#ifndef LE_T_STREAM_HELPERS_H
#define LE_T_STREAM_HELPERS_H
#include <time.h>

static int kicked;
static void kick(void *ctx, const char *reason) { (void)ctx; (void)reason; kicked++; }
static const le_pub_ops pub = { kick };

/* Pushes one packet; the stream takes its own references. */
static inline void push(le_stream *st, uint8_t type, uint32_t ts, const uint8_t *d, uint32_t n)
{
    le_pkt *p = le_pkt_new(type, ts, d, n);
    le_stream_push(st, p);
    le_pkt_unref(p);
}

static inline void nap_ms(long ms)
{
    struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&t, NULL);
}
#endif
