/* libFuzzer target for the user-data SEI builder and its insertion into FLV
 * video bodies (src/transcode/sei.c). The first byte picks the codec and
 * NALU length size, the second the text length (taken from the end of the
 * input); the rest is the body. Insertion must never read outside the body,
 * and a success is exactly n + length size + NAL bytes.
 *   clang -g -fsanitize=fuzzer,address,undefined -I../src fuzz_sei.c \
 *     ../src/transcode/sei.c ../src/media/flv.c ../src/media/amf.c ../src/core/util.c ../src/core/err.c */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/util.h"
#include "media/flv.h"
#include "transcode/sei.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    static const int LS[4] = { 1, 2, 4, 3 };
    int codec = (data[0] & 1) ? LE_CODEC_H265 : LE_CODEC_H264, ls = LS[(data[0] >> 1) & 3];
    size_t tl = data[1];
    data += 2;
    size -= 2;
    if (tl > size)
        tl = size;
    /* The body in a buffer of exactly its size, so ASan sees any overread. */
    size_t n = size - tl;
    uint8_t *body = malloc(n ? n : 1);
    if (n)
        memcpy(body, data, n);
    le_buf nal = { 0 }, out = { 0 };
    if (le_sei_build(codec, LE_SEI_UUID, data + n, tl, &nal) != LE_OK || nal.len > LE_SEI_NAL_MAX)
        abort();
    int rc = le_sei_insert(codec, body, n, ls, nal.p, nal.len, &out);
    if (rc == LE_OK) {
        if (out.len != n + (size_t)ls + nal.len)
            abort();
        /* The output is a body the inserter takes again. */
        le_buf again = { 0 };
        if (le_sei_insert(codec, out.p, out.len, ls, nal.p, nal.len, &again) != LE_OK)
            abort();
        le_buf_free(&again);
    } else if (out.len != 0 || (rc != LE_EINVAL && rc != LE_EPROTO && rc != LE_ENOTFOUND && rc != LE_ETOOBIG)) {
        abort();
    }
    int l2 = le_sei_nalu_len_size(codec, body, n);
    if (l2 != LE_EPROTO && l2 != 1 && l2 != 2 && l2 != 4)
        abort();
    le_buf_free(&nal);
    le_buf_free(&out);
    free(body);
    return 0;
}
