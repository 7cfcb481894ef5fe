/* RTMP chunk reader and writer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "rtmp/chunk.h"
#include "tap.h"

/* A message as received, with its payload copied out (msg.data is only
 * valid until the next read). */
typedef struct got {
    le_rtmp_msg m;
    uint8_t *data;
} got;

typedef struct sink {
    got v[64];
    int n;
} sink;

static void sink_clear(sink *s)
{
    for (int i = 0; i < s->n; i++)
        free(s->v[i].data);
    s->n = 0;
}

/* Feeds buf in one call sequence; returns 0 or the first error. */
static int feed(le_chunk_reader *r, const uint8_t *buf, size_t len, sink *s)
{
    size_t pos = 0;
    while (pos < len) {
        size_t used = 0;
        le_rtmp_msg m;
        int rc = le_chunk_read(r, buf + pos, len - pos, &used, &m);
        if (rc < 0)
            return rc;
        if (used > len - pos)
            return -100;
        pos += used;
        if (rc == 0) {
            if (pos != len)
                return -101; /* 0 must mean everything was consumed */
            break;
        }
        if (s->n < 64) {
            s->v[s->n].m = m;
            s->v[s->n].data = malloc(m.len ? m.len : 1);
            memcpy(s->v[s->n].data, m.data, m.len);
            s->n++;
        }
    }
    return 0;
}

/* Feeds buf split into pieces of `step` bytes. */
static int feed_step(le_chunk_reader *r, const uint8_t *buf, size_t len, size_t step, sink *s)
{
    for (size_t off = 0; off < len; off += step) {
        size_t n = len - off < step ? len - off : step;
        int rc = feed(r, buf + off, n, s);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static uint8_t *pattern(uint32_t len, uint32_t seed)
{
    uint8_t *p = malloc(len ? len : 1);
    for (uint32_t i = 0; i < len; i++)
        p[i] = (uint8_t)(i * 31 + seed * 7 + (i >> 8));
    return p;
}

static int msg_is(const got *g, uint32_t csid, uint8_t type, uint32_t ts, uint32_t msid,
                  const uint8_t *data, uint32_t len)
{
    return g->m.csid == csid && g->m.type == type && g->m.ts == ts && g->m.msid == msid &&
           g->m.len == len && (len == 0 || memcmp(g->data, data, len) == 0);
}

static void test_round_trip(void)
{
    static const uint32_t csids[] = { 2, 3, 63, 64, 319, 320, 65599 };
    static const uint32_t sizes[] = { 0, 1, 127, 128, 129, 256, 1000, 4097, 70000 };
    static const uint32_t chunks[] = { 1, 2, 128, 4096, 60000, 0x7fffffff };
    static const uint32_t tss[] = { 0, 1000, 0xfffffe, 0xffffff, 0x1000000, 0xffffffff };

    for (size_t c = 0; c < sizeof csids / sizeof *csids; c++) {
        int bad = 0, n = 0;
        for (size_t k = 0; k < sizeof chunks / sizeof *chunks; k++) {
            le_chunk_reader *r = le_chunk_reader_new(1 << 20, 8);
            if (le_chunk_reader_set_chunk_size(r, chunks[k]) != 0)
                bad++;
            for (size_t z = 0; z < sizeof sizes / sizeof *sizes; z++) {
                /* chunk size 1 with 70000 bytes is slow under ASan and
                 * proves nothing the small sizes do not. */
                if (chunks[k] == 1 && sizes[z] > 4097)
                    continue;
                for (size_t t = 0; t < sizeof tss / sizeof *tss; t++) {
                    uint32_t len = sizes[z], ts = tss[t];
                    uint8_t *data = pattern(len, (uint32_t)(z + t));
                    size_t sz = le_chunk_write_size(csids[c], ts, len, chunks[k]);
                    uint8_t *out = malloc(sz);
                    size_t w = le_chunk_write(out, sz, csids[c], LE_MSG_VIDEO, ts, 7 + (uint32_t)t,
                                              data, len, chunks[k]);
                    sink s = { .n = 0 };
                    if (w != sz || le_chunk_write(out, sz - 1, csids[c], LE_MSG_VIDEO, ts, 1, data,
                                                  len, chunks[k]) != 0)
                        bad++;
                    else if (feed(r, out, w, &s) != 0 || s.n != 1 ||
                             !msg_is(&s.v[0], csids[c], LE_MSG_VIDEO, ts, 7 + (uint32_t)t, data, len))
                        bad++;
                    n++;
                    sink_clear(&s);
                    free(out);
                    free(data);
                }
            }
            le_chunk_reader_free(r);
        }
        is_int(bad, 0, "round trip csid %u: %d messages over sizes, chunk sizes, timestamps",
               (unsigned)csids[c], n);
    }
}

static void test_writer_bytes(void)
{
    uint8_t data[200], out[300];
    for (int i = 0; i < 200; i++)
        data[i] = (uint8_t)i;
    /* ts needing the extended field, csid 3, chunk size 128: type-0 header
     * with 0xFFFFFF + 4 bytes, then a type-3 header repeating them. */
    size_t w = le_chunk_write(out, sizeof out, 3, LE_MSG_AUDIO, 0x01020304, 1, data, 200, 128);
    is_int(w, 1 + 11 + 4 + 128 + 1 + 4 + 72, "ext ts message size");
    static const uint8_t h0[] = { 0x03, 0xff, 0xff, 0xff, 0x00, 0x00, 0xc8, 0x08,
                                  0x01, 0x00, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04 };
    ok(memcmp(out, h0, sizeof h0) == 0, "type-0 header with extended ts, msid little-endian");
    static const uint8_t h3[] = { 0xc3, 0x01, 0x02, 0x03, 0x04 };
    ok(memcmp(out + 16 + 128, h3, sizeof h3) == 0, "type-3 header repeats extended ts");
    ok(memcmp(out + 16 + 128 + 5, data + 128, 72) == 0, "second chunk payload");

    w = le_chunk_write(out, sizeof out, 64, LE_MSG_AUDIO, 5, 1, data, 10, 128);
    ok(w == 2 + 11 + 10 && out[0] == 0x00 && out[1] == 0x00, "csid 64: 2-byte basic header");
    w = le_chunk_write(out, sizeof out, 65599, LE_MSG_AUDIO, 5, 1, data, 10, 128);
    ok(w == 3 + 11 + 10 && out[0] == 0x01 && out[1] == 0xff && out[2] == 0xff,
       "csid 65599: 3-byte basic header");
    is_int(le_chunk_write_size(1, 0, 10, 128), 0, "csid 1 refused");
    is_int(le_chunk_write_size(65600, 0, 10, 128), 0, "csid 65600 refused");
    is_int(le_chunk_write_size(3, 0, 10, 0), 0, "chunk size 0 refused");
}

/* A stream of three interleavable messages exercising fmt0 with ext ts,
 * 2- and 3-byte basic headers and small chunks. */
static size_t build_stream(uint8_t *out, size_t cap, uint8_t *datas[3], uint32_t lens[3])
{
    size_t n = 0;
    static const uint32_t csid[3] = { 4, 100, 40000 };
    static const uint32_t ts[3] = { 0x12345678, 33, 0xffffff };
    for (int i = 0; i < 3; i++)
        n += le_chunk_write(out + n, cap - n, csid[i], (uint8_t)(8 + i), ts[i], (uint32_t)i,
                            datas[i], lens[i], 10);
    return n;
}

static void test_splits(void)
{
    uint32_t lens[3] = { 37, 0, 25 };
    uint8_t *datas[3] = { pattern(37, 1), pattern(0, 2), pattern(25, 3) };
    uint8_t buf[512];
    size_t n = build_stream(buf, sizeof buf, datas, lens);
    static const uint32_t csid[3] = { 4, 100, 40000 };
    static const uint32_t ts[3] = { 0x12345678, 33, 0xffffff };

    int bad = 0;
    for (size_t k = 0; k <= n; k++) {
        le_chunk_reader *r = le_chunk_reader_new(1000, 8);
        le_chunk_reader_set_chunk_size(r, 10);
        sink s = { .n = 0 };
        if (feed(r, buf, k, &s) != 0 || feed(r, buf + k, n - k, &s) != 0 || s.n != 3)
            bad++;
        else
            for (int i = 0; i < 3; i++)
                if (!msg_is(&s.v[i], csid[i], (uint8_t)(8 + i), ts[i], (uint32_t)i, datas[i], lens[i]))
                    bad++;
        sink_clear(&s);
        le_chunk_reader_free(r);
    }
    is_int(bad, 0, "split at every one of %zu byte offsets", n + 1);

    for (size_t step = 1; step <= 3; step++) {
        le_chunk_reader *r = le_chunk_reader_new(1000, 8);
        le_chunk_reader_set_chunk_size(r, 10);
        sink s = { .n = 0 };
        int rc = feed_step(r, buf, n, step, &s);
        ok(rc == 0 && s.n == 3 &&
           msg_is(&s.v[0], 4, 8, 0x12345678, 0, datas[0], 37) &&
           msg_is(&s.v[1], 100, 9, 33, 1, datas[1], 0) &&
           msg_is(&s.v[2], 40000, 10, 0xffffff, 2, datas[2], 25),
           "fed %zu byte(s) at a time", step);
        sink_clear(&s);
        le_chunk_reader_free(r);
    }
    for (int i = 0; i < 3; i++)
        free(datas[i]);
}

/* Hand-built headers. */
static size_t put(uint8_t *p, const uint8_t *src, size_t n)
{
    memcpy(p, src, n);
    return n;
}

static void test_fmt_sequences(void)
{
    uint8_t b[256];
    size_t n = 0;
    sink s = { .n = 0 };
    le_chunk_reader *r = le_chunk_reader_new(1000, 8);

    /* csid 4: fmt0 ts 1000 len 3 type 8 msid 1 "abc" */
    static const uint8_t m0[] = { 0x04, 0x00, 0x03, 0xe8, 0x00, 0x00, 0x03, 0x08, 1, 0, 0, 0,
                                  'a', 'b', 'c' };
    /* fmt1: delta 20, len 2, type 9 "de" */
    static const uint8_t m1[] = { 0x44, 0x00, 0x00, 0x14, 0x00, 0x00, 0x02, 0x09, 'd', 'e' };
    /* fmt2: delta 30 "fg" */
    static const uint8_t m2[] = { 0x84, 0x00, 0x00, 0x1e, 'f', 'g' };
    /* fmt3: same delta again "hi" */
    static const uint8_t m3[] = { 0xc4, 'h', 'i' };
    n += put(b + n, m0, sizeof m0);
    n += put(b + n, m1, sizeof m1);
    n += put(b + n, m2, sizeof m2);
    n += put(b + n, m3, sizeof m3);
    int rc = feed(r, b, n, &s);
    ok(rc == 0 && s.n == 4, "fmt0/1/2/3 sequence: four messages");
    if (s.n == 4) {
        ok(msg_is(&s.v[0], 4, 8, 1000, 1, (const uint8_t *)"abc", 3), "fmt0 absolute");
        ok(msg_is(&s.v[1], 4, 9, 1020, 1, (const uint8_t *)"de", 2), "fmt1 delta, new len/type, msid kept");
        ok(msg_is(&s.v[2], 4, 9, 1050, 1, (const uint8_t *)"fg", 2), "fmt2 delta");
        ok(msg_is(&s.v[3], 4, 9, 1080, 1, (const uint8_t *)"hi", 2), "fmt3 new message repeats the delta");
    }
    sink_clear(&s);

    /* fmt3 right after fmt0 adds the fmt0 timestamp field (as ffmpeg does). */
    static const uint8_t f0[] = { 0x05, 0x00, 0x00, 0x28, 0x00, 0x00, 0x01, 0x08, 1, 0, 0, 0, 'x' };
    static const uint8_t f3[] = { 0xc5, 'y' };
    n = 0;
    n += put(b + n, f0, sizeof f0);
    n += put(b + n, f3, sizeof f3);
    rc = feed(r, b, n, &s);
    ok(rc == 0 && s.n == 2 && s.v[0].m.ts == 40 && s.v[1].m.ts == 80, "fmt3 after fmt0: delta = fmt0 ts");
    sink_clear(&s);

    /* 32-bit wrap: fmt0 ts 0xfffffff0 (extended), fmt2 delta 0x20. */
    static const uint8_t w0[] = { 0x06, 0xff, 0xff, 0xff, 0x00, 0x00, 0x01, 0x08, 1, 0, 0, 0,
                                  0xff, 0xff, 0xff, 0xf0, 'x' };
    static const uint8_t w2[] = { 0x86, 0x00, 0x00, 0x20, 'y' };
    n = 0;
    n += put(b + n, w0, sizeof w0);
    n += put(b + n, w2, sizeof w2);
    rc = feed(r, b, n, &s);
    ok(rc == 0 && s.n == 2 && s.v[0].m.ts == 0xfffffff0u && s.v[1].m.ts == 0x10,
       "timestamp wraps at 2^32");
    sink_clear(&s);

    /* Extended delta on fmt2, then fmt3 new messages carrying their own
     * 4-byte delta, and a two-chunk fmt3 continuation repeating it. */
    le_chunk_reader_set_chunk_size(r, 2);
    static const uint8_t e0[] = { 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x08, 1, 0, 0, 0,
                                  'a', 'b', 0xc7, 'c' };
    static const uint8_t e2[] = { 0x87, 0xff, 0xff, 0xff, 0x01, 0x00, 0x00, 0x00, 'd', 'e',
                                  0xc7, 0x01, 0x00, 0x00, 0x00, 'f' };
    static const uint8_t e3[] = { 0xc7, 0x00, 0x00, 0x00, 0x05, 'g', 'h', 0xc7, 0x00, 0x00, 0x00, 0x05, 'i' };
    n = 0;
    n += put(b + n, e0, sizeof e0);
    n += put(b + n, e2, sizeof e2);
    n += put(b + n, e3, sizeof e3);
    rc = feed(r, b, n, &s);
    ok(rc == 0 && s.n == 3, "ext ts on fmt2 and fmt3 chunks: three messages");
    if (s.n == 3) {
        ok(msg_is(&s.v[0], 7, 8, 0, 1, (const uint8_t *)"abc", 3), "plain two-chunk message");
        ok(msg_is(&s.v[1], 7, 8, 0x01000000, 1, (const uint8_t *)"def", 3),
           "fmt2 extended delta; fmt3 continuation's 4 ext bytes skipped");
        ok(msg_is(&s.v[2], 7, 8, 0x01000005, 1, (const uint8_t *)"ghi", 3),
           "fmt3 new message takes its delta from its own ext field");
    }
    sink_clear(&s);
    le_chunk_reader_set_chunk_size(r, 128);

    /* csid 100 sent with a 3-byte basic header (legal, if wasteful). */
    static const uint8_t l3[] = { 0x01, 36, 0, 0x00, 0x00, 0x01, 0x00, 0x00, 0x01, 0x14, 0, 0, 0, 0, 'z' };
    static const uint8_t l2[] = { 0xc0, 36, 'q' };
    n = 0;
    n += put(b + n, l3, sizeof l3);
    n += put(b + n, l2, sizeof l2);
    rc = feed(r, b, n, &s);
    ok(rc == 0 && s.n == 2 && s.v[0].m.csid == 100 && s.v[1].m.csid == 100 && s.v[1].m.ts == 2 &&
       s.v[1].data[0] == 'q', "3-byte and 2-byte basic headers name the same csid");
    sink_clear(&s);

    /* Interleaving: chunks of two messages alternate, chunk size 2. */
    le_chunk_reader_set_chunk_size(r, 2);
    static const uint8_t iv[] = {
        0x08, 0, 0, 1, 0, 0, 4, 0x09, 1, 0, 0, 0, 'A', 'B',
        0x09, 0, 0, 2, 0, 0, 3, 0x08, 1, 0, 0, 0, '1', '2',
        0xc8, 'C', 'D',
        0xc9, '3',
    };
    rc = feed(r, iv, sizeof iv, &s);
    ok(rc == 0 && s.n == 2 && msg_is(&s.v[0], 8, 9, 1, 1, (const uint8_t *)"ABCD", 4) &&
       msg_is(&s.v[1], 9, 8, 2, 1, (const uint8_t *)"123", 3), "interleaved chunk streams");
    sink_clear(&s);

    /* A new header in the middle of a message: the rest was dropped without
     * an Abort. */
    static const uint8_t mid[] = { 0x0a, 0, 0, 1, 0, 0, 4, 0x09, 1, 0, 0, 0, 'A', 'B',
                                   0x8a, 0, 0, 1, 'C' };
    is_int(feed(r, mid, sizeof mid, &s), LE_EPROTO, "fmt2 header mid-message rejected");
    sink_clear(&s);
    le_chunk_reader_free(r);
}

static void test_truncated(void)
{
    le_chunk_reader *r = le_chunk_reader_new(1000, 8);
    static const uint8_t m[] = { 0x04, 0x00, 0x00, 0x01, 0x00, 0x00, 0x05, 0x08, 1, 0, 0, 0,
                                 'a', 'b', 'c', 'd', 'e' };
    le_rtmp_msg msg;
    size_t used = 99;
    is_int(le_chunk_reader_partial(r), 0, "new reader: on a boundary");
    is_int(le_chunk_read(r, m, 7, &used, &msg), 0, "header cut short: needs more");
    is_int(used, 7, "header bytes consumed");
    is_int(le_chunk_reader_partial(r), 1, "inside a header: partial");
    is_int(le_chunk_read(r, m + 7, 8, &used, &msg), 0, "payload cut short: needs more");
    is_int(used, 8, "partial payload consumed");
    is_int(le_chunk_reader_partial(r), 1, "inside a payload: partial");
    is_int(le_chunk_read(r, m + 15, 2, &used, &msg), 1, "rest completes the message");
    ok(msg.len == 5 && memcmp(msg.data, "abcde", 5) == 0, "message intact");
    is_int(le_chunk_reader_partial(r), 0, "message complete: on a boundary");
    is_int(le_chunk_read(r, m, 0, &used, &msg), 0, "empty input");
    is_int(used, 0, "nothing consumed");

    /* A message of two chunks, input ending between them: partial, though
     * no chunk is open. */
    static uint8_t body[200], wire[300];
    size_t wl = le_chunk_write(wire, sizeof(wire), 6, LE_MSG_VIDEO, 40, 1, body, sizeof(body), 128);
    is_int(le_chunk_read(r, wire, 12 + 128, &used, &msg), 0, "first chunk of two: needs more");
    is_int(le_chunk_reader_partial(r), 1, "between two chunks of a message: partial");
    is_int(le_chunk_read(r, wire + 12 + 128, wl - 12 - 128, &used, &msg), 1, "second chunk completes it");
    is_int(le_chunk_reader_partial(r), 0, "both chunks read: on a boundary");
    le_chunk_reader_free(r);
}

static void test_limits(void)
{
    le_chunk_reader *r = le_chunk_reader_new(1000, 4);
    is_int(le_chunk_reader_set_chunk_size(r, 0), LE_EPROTO, "chunk size 0 rejected");
    is_int(le_chunk_reader_set_chunk_size(r, 0x80000000u), LE_EPROTO, "chunk size 2^31 rejected");
    is_int(le_chunk_reader_set_chunk_size(r, 0xffffffffu), LE_EPROTO, "chunk size 2^32-1 rejected");
    is_int(le_chunk_reader_set_chunk_size(r, 1), 0, "chunk size 1 accepted");
    is_int(le_chunk_reader_set_chunk_size(r, 0x7fffffff), 0, "chunk size 2^31-1 accepted");
    le_chunk_reader_free(r);

    /* Declared 16 MiB on a 1000-byte limit: refused at the header, nothing
     * allocated for it. */
    sink s = { .n = 0 };
    r = le_chunk_reader_new(1000, 4);
    static const uint8_t big[] = { 0x04, 0, 0, 0, 0xff, 0xff, 0xff, 0x09, 1, 0, 0, 0, 'x' };
    is_int(feed(r, big, sizeof big, &s), LE_ETOOBIG, "message over max_msg rejected");
    is_int(le_chunk_reader_mem(r), 0, "nothing allocated for it");
    le_chunk_reader_free(r);

    /* Declared within the limit but never sent: memory follows the data. */
    r = le_chunk_reader_new(0xffffff, 4);
    is_int(feed(r, big, sizeof big, &s), 0, "16 MiB message within limit, 1 byte sent");
    ok(le_chunk_reader_mem(r) <= 256, "buffer sized by data received (%zu bytes)", le_chunk_reader_mem(r));
    le_chunk_reader_free(r);

    r = le_chunk_reader_new(10, 4);
    static const uint8_t atlim[] = { 0x04, 0, 0, 0, 0, 0, 10, 0x09, 1, 0, 0, 0,
                                     '0', '1', '2', '3', '4', '5', '6', '7', '8', '9' };
    is_int(feed(r, atlim, sizeof atlim, &s), 0, "message of exactly max_msg accepted");
    is_int(s.n, 1, "and delivered");
    sink_clear(&s);
    /* fmt1 may also declare a length. */
    static const uint8_t f1big[] = { 0x44, 0, 0, 0, 0, 0, 11, 0x09 };
    is_int(feed(r, f1big, sizeof f1big, &s), LE_ETOOBIG, "fmt1 over max_msg rejected");
    le_chunk_reader_free(r);

    static const uint8_t f3[] = { 0xc4, 'x' }, f2[] = { 0x84, 0, 0, 0, 'x' },
                         f1[] = { 0x44, 0, 0, 0, 0, 0, 1, 8, 'x' };
    r = le_chunk_reader_new(1000, 4);
    is_int(feed(r, f3, sizeof f3, &s), LE_EPROTO, "fmt3 on a fresh csid rejected");
    le_chunk_reader_free(r);
    r = le_chunk_reader_new(1000, 4);
    is_int(feed(r, f2, sizeof f2, &s), LE_EPROTO, "fmt2 on a fresh csid rejected");
    le_chunk_reader_free(r);
    r = le_chunk_reader_new(1000, 4);
    is_int(feed(r, f1, sizeof f1, &s), LE_EPROTO, "fmt1 on a fresh csid rejected");
    le_chunk_reader_free(r);

    r = le_chunk_reader_new(1000, 4);
    int rc = 0;
    uint8_t out[64];
    for (uint32_t c = 2; c < 6 && rc == 0; c++) {
        size_t w = le_chunk_write(out, sizeof out, c, 8, 0, 1, (const uint8_t *)"x", 1, 128);
        rc = feed(r, out, w, &s);
    }
    is_int(rc, 0, "four csids within max_csids 4");
    size_t w = le_chunk_write(out, sizeof out, 70, 8, 0, 1, (const uint8_t *)"x", 1, 128);
    is_int(feed(r, out, w, &s), LE_ETOOBIG, "fifth csid rejected");
    sink_clear(&s);
    le_chunk_reader_free(r);
}

static void test_abort(void)
{
    le_chunk_reader *r = le_chunk_reader_new(1000, 8);
    sink s = { .n = 0 };
    uint8_t *data = pattern(300, 9);
    uint8_t out[400];
    size_t w = le_chunk_write(out, sizeof out, 4, 9, 100, 1, data, 300, 128);
    /* First chunk only (1 + 11 + 128 bytes), then the peer aborts. */
    is_int(feed(r, out, 140, &s), 0, "first chunk of 300-byte message");
    le_chunk_reader_abort(r, 4);
    le_chunk_reader_abort(r, 99); /* unknown csid: ignored */
    uint8_t *d2 = pattern(20, 3);
    size_t w2 = le_chunk_write(out, sizeof out, 4, 9, 200, 1, d2, 20, 128);
    is_int(feed(r, out, w2, &s), 0, "new fmt0 message after abort accepted");
    ok(s.n == 1 && msg_is(&s.v[0], 4, 9, 200, 1, d2, 20), "delivered intact");
    sink_clear(&s);

    /* Abort while the reader is inside a chunk: the chunk's rest is
     * discarded, the stream continues. */
    w = le_chunk_write(out, sizeof out, 4, 9, 300, 1, data, 300, 128);
    is_int(feed(r, out, 50, &s), 0, "inside a chunk");
    le_chunk_reader_abort(r, 4);
    is_int(feed(r, out + 50, 140 - 50, &s), 0, "rest of the chunk discarded");
    w2 = le_chunk_write(out, sizeof out, 4, 9, 400, 1, d2, 20, 128);
    is_int(feed(r, out, w2, &s), 0, "next message");
    ok(s.n == 1 && msg_is(&s.v[0], 4, 9, 400, 1, d2, 20), "delivered intact after mid-chunk abort");
    (void)w;
    sink_clear(&s);
    free(data);
    free(d2);
    le_chunk_reader_free(r);
}

/* The first chunk (128 bytes) of a len-byte message on csid, as an attacker
 * sends it: a partial message that stays in reassembly. */
static size_t partial(uint8_t *out, uint32_t csid, uint32_t len)
{
    size_t n = 0;
    out[n++] = (uint8_t)csid;                      /* fmt 0, csid < 64 */
    memset(out + n, 0, 3);                         /* timestamp */
    out[n + 3] = (uint8_t)(len >> 16);
    out[n + 4] = (uint8_t)(len >> 8);
    out[n + 5] = (uint8_t)len;
    out[n + 6] = 9;                                /* video */
    memset(out + n + 7, 0, 4);                     /* msid */
    n += 11;
    memset(out + n, 'v', 128);
    return n + 128;
}

static void test_budget(void)
{
    uint8_t buf[256];
    sink s = { .n = 0 };

    /* Before publish: a few KiB in all, whatever the message size limit. */
    le_chunk_reader *r = le_chunk_reader_new(8u << 20, 64);
    le_chunk_reader_set_budget(r, 4096, NULL);
    int rc = 0;
    uint32_t c;
    for (c = 2; c < 64 && rc == 0; c++)
        rc = feed(r, buf, partial(buf, c, 3000), &s);
    is_int(rc, LE_ETOOBIG, "partial messages on many csids: refused over the reader's bound");
    ok(c < 64 && c > 10, "... after %u csids", (unsigned)(c - 2));
    ok(le_chunk_reader_mem(r) <= 4096, "held stays within the bound (%zu bytes)", le_chunk_reader_mem(r));
    le_chunk_reader_free(r);

    /* A declared length over the reader's bound is refused at its header,
     * before a byte is held. */
    r = le_chunk_reader_new(8u << 20, 64);
    le_chunk_reader_set_budget(r, 4096, NULL);
    is_int(feed(r, buf, partial(buf, 3, 5000), &s), LE_ETOOBIG, "a message declared over the bound: refused");
    is_int(le_chunk_reader_mem(r), 0, "... nothing allocated");
    le_chunk_reader_free(r);

    /* Exactly at the bound, in any split, is delivered; raising the bound
     * (publish) lets bigger messages through. */
    r = le_chunk_reader_new(8u << 20, 64);
    le_chunk_reader_set_budget(r, 4096, NULL);
    uint8_t *data = pattern(4096, 5);
    uint8_t out[5000];
    size_t w = le_chunk_write(out, sizeof out, 3, 20, 0, 0, data, 4096, 128);
    is_int(feed_step(r, out, w, 7, &s), 0, "a message of exactly the bound, fed 7 bytes at a time");
    ok(s.n == 1 && msg_is(&s.v[0], 3, 20, 0, 0, data, 4096), "... delivered intact");
    sink_clear(&s);
    free(data);
    data = pattern(100000, 6);
    uint8_t *big = malloc(120000);
    w = le_chunk_write(big, 120000, 6, 9, 0, 1, data, 100000, 4096);
    le_chunk_reader_set_budget(r, 3 * 100000, NULL);
    is_int(le_chunk_reader_set_chunk_size(r, 4096), 0, "chunk size 4096");
    is_int(feed(r, big, w, &s), 0, "after raising the bound, a 100 kB message");
    ok(s.n == 1 && msg_is(&s.v[0], 6, 9, 0, 1, data, 100000), "... delivered intact");
    sink_clear(&s);
    le_chunk_reader_free(r);

    /* The shared budget: what every reader holds counts; the reader that
     * would cross it fails, the others are untouched, and freeing a reader
     * gives its share back. */
    le_chunk_budget node = { 0, 150000 };
    le_chunk_reader *a = le_chunk_reader_new(8u << 20, 64), *b = le_chunk_reader_new(8u << 20, 64);
    le_chunk_reader_set_budget(a, 0, &node);
    le_chunk_reader_set_budget(b, 0, &node);
    is_int(le_chunk_reader_set_chunk_size(a, 4096), 0, "a: chunk size 4096");
    is_int(le_chunk_reader_set_chunk_size(b, 4096), 0, "b: chunk size 4096");
    is_int(feed(a, big, w, &s), 0, "a: a 100 kB message within the shared budget");
    sink_clear(&s);
    is_int(node.used, le_chunk_reader_mem(a), "the budget counts what a holds (%zu)", node.used);
    is_int(feed(b, big, w, &s), LE_ENOMEM, "b: crossing the shared budget is refused");
    ok(node.used <= node.max, "the budget was never crossed (%zu <= %zu)", node.used, node.max);
    sink_clear(&s);
    le_chunk_reader_free(b);
    is_int(node.used, le_chunk_reader_mem(a), "freeing b gives its share back");
    b = le_chunk_reader_new(8u << 20, 64);
    le_chunk_reader_set_budget(b, 0, &node);
    le_chunk_reader_set_budget(b, 0, NULL);
    is_int(node.used, le_chunk_reader_mem(a), "leaving the budget takes b's holding out of it");
    le_chunk_reader_free(a);
    is_int(node.used, 0, "freeing a empties the budget");
    le_chunk_reader_free(b);
    free(big);
    free(data);
}

int main(void)
{
    test_round_trip();
    test_writer_bytes();
    test_splits();
    test_fmt_sequences();
    test_truncated();
    test_limits();
    test_abort();
    test_budget();
    return done_testing();
}
