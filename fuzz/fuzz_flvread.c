/* libFuzzer target for the streaming FLV reader (media/flvread.h): the
 * input is fed whole to one reader and in pieces (sizes from the input) to
 * another; both must report the same tags and the same end. Every event
 * must keep what flvread.h promises.
 *   clang -g -fsanitize=fuzzer,address,undefined -I../src fuzz_flvread.c \
 *     ../src/media/flvread.c ../src/core/util.c ../src/core/err.c */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "media/flvread.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_TAG 4096

typedef struct {
    int rc;
    uint64_t tags, bytes, pend;   /* pend: streamed bytes of the unfinished tag */
    uint32_t hash;
} result;

static void run(const uint8_t *data, size_t size, int keep, int split, result *out)
{
    le_flvread r;
    le_flvread_init(&r, MAX_TAG, keep);
    memset(out, 0, sizeof(*out));
    out->rc = LE_EAGAIN;
    size_t off = 0, step = 1;
    while (off < size) {
        size_t n = size - off;
        if (split) {
            step = (step * 7 + data[off]) % 23 + 1;
            if (n > step)
                n = step;
        }
        const uint8_t *p = data + off;
        off += n;
        le_flvread_ev ev;
        int k;
        while ((k = le_flvread_next(&r, &p, &n, &ev)) != LE_EAGAIN) {
            if (k < 0) {
                out->rc = k;
                if (k != LE_EPROTO && k != LE_ETOOBIG)
                    abort();
                le_flvread_free(&r);
                return;
            }
            if (k == LE_FLVREAD_BODY) {
                if (!ev.data || ev.len == 0 || ev.offset + ev.len > ev.size || ev.size > MAX_TAG || keep)
                    abort();
                for (size_t i = 0; i < ev.len; i++)
                    out->hash = out->hash * 31 + ev.data[i];
                out->pend += ev.len;
            } else if (k == LE_FLVREAD_TAG) {
                if (ev.size > MAX_TAG || (keep && (ev.len != ev.size || (ev.size && !ev.data))))
                    abort();
                if (keep) {
                    for (size_t i = 0; i < ev.len; i++)
                        out->hash = out->hash * 31 + ev.data[i];
                    out->bytes += ev.len;
                } else {
                    if (out->pend != ev.size)
                        abort();
                    out->bytes += out->pend;
                    out->pend = 0;
                }
                out->hash = out->hash * 31 + ev.type + ev.ts;
                out->tags++;
            } else if (k != LE_FLVREAD_HEADER) {
                abort();
            }
        }
        if (n != 0)
            abort();
    }
    le_flvread_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    result a, b, c;
    run(data, size, 1, 0, &a);
    run(data, size, 1, 1, &b);
    run(data, size, 0, 1, &c);
    if (a.rc != b.rc || a.tags != b.tags || a.hash != b.hash || a.bytes != b.bytes)
        abort();
    if (a.rc != c.rc || a.tags != c.tags || a.bytes != c.bytes)
        abort();
    return 0;
}
