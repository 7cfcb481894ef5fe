/* libFuzzer target for the chunk reader. Differential: the same bytes fed
 * whole and in input-chosen splits must yield the same messages and the
 * same error, with SetChunkSize and Abort applied as a session would, and
 * each reader within its own bound and a shared budget.
 *   clang -g -fsanitize=fuzzer,address,undefined -I../src fuzz_chunk.c \
 *     ../src/rtmp/chunk.c ../src/core/util.c ../src/core/err.c */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "rtmp/chunk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct trace {
    uint64_t h;      /* running hash of every message */
    unsigned n;
    int rc;
} trace;

static void mix(trace *t, uint64_t v)
{
    t->h = (t->h ^ v) * 0x100000001b3ull;
}

static void on_msg(le_chunk_reader *r, trace *t, const le_rtmp_msg *m)
{
    mix(t, m->csid);
    mix(t, m->type);
    mix(t, m->ts);
    mix(t, m->msid);
    mix(t, m->len);
    for (uint32_t i = 0; i < m->len; i++)
        mix(t, m->data[i]);
    t->n++;
    if (m->type == LE_MSG_SET_CHUNK_SIZE && m->len >= 4) {
        if (le_chunk_reader_set_chunk_size(r, le_rd_be32(m->data)) < 0)
            t->rc = -1000;
    } else if (m->type == LE_MSG_ABORT && m->len >= 4) {
        le_chunk_reader_abort(r, le_rd_be32(m->data));
    }
}

/* Feeds p[0..n); returns 0 to go on, else stops (error recorded). */
static int feed(le_chunk_reader *r, trace *t, const uint8_t *p, size_t n)
{
    size_t pos = 0;
    while (pos < n) {
        size_t used = 0;
        le_rtmp_msg m;
        int rc = le_chunk_read(r, p + pos, n - pos, &used, &m);
        if (used > n - pos)
            abort();
        pos += used;
        if (rc < 0) {
            t->rc = rc;
            return -1;
        }
        if (rc == 0) {
            if (pos != n)
                abort();
            break;
        }
        on_msg(r, t, &m);
        if (t->rc)
            return -1;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    /* First byte: initial chunk size; second: split pattern seed. */
    uint32_t cs = data[0] ? data[0] : 1;
    uint8_t seed = data[1];
    data += 2;
    size -= 2;

    trace a = { 0xcbf29ce484222325ull, 0, 0 }, b = a;
    le_chunk_reader *ra = le_chunk_reader_new(1 << 16, 8);
    le_chunk_reader *rb = le_chunk_reader_new(1 << 16, 8);
    le_chunk_reader_set_chunk_size(ra, cs);
    le_chunk_reader_set_chunk_size(rb, cs);
    /* Bounds that inputs reach: a reader's own, and a node budget; the seed
     * picks which is the lower. */
    size_t own = seed & 1 ? 1u << 15 : 1u << 17, node = seed & 1 ? 1u << 17 : 1u << 15;
    le_chunk_budget ba = { 0, node }, bb = { 0, node };
    le_chunk_reader_set_budget(ra, own, &ba);
    le_chunk_reader_set_budget(rb, own, &bb);

    feed(ra, &a, data, size);
    size_t off = 0;
    unsigned k = seed;
    while (off < size && !b.rc) {
        k = k * 1103515245u + 12345u;
        size_t step = 1 + (k >> 16) % 7;
        if (step > size - off)
            step = size - off;
        feed(rb, &b, data + off, step);
        off += step;
    }
    if (a.h != b.h || a.n != b.n || a.rc != b.rc)
        abort();
    if (le_chunk_reader_mem(ra) > own || ba.used > node || ba.used != le_chunk_reader_mem(ra) ||
        bb.used != le_chunk_reader_mem(rb))
        abort();
    le_chunk_reader_free(ra);
    le_chunk_reader_free(rb);
    if (ba.used || bb.used)
        abort();
    return 0;
}
