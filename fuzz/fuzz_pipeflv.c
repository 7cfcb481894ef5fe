/* libFuzzer target for the pipeline's Annex B helpers (pipeline/flvout.h):
 * any bytes as an access unit and as H.264 and HEVC encoder headers.
 * Every length-prefixed NAL unit written must lie inside the output and the
 * output can never be longer than the input plus one length per start code;
 * a record always starts with version 1 and lists one SPS and one PPS. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/util.h"
#include "pipeline/flvout.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    le_buf b = { 0 };
    if (le_pipe_annexb_to_avcc(data, size, &b) == 0) {
        if (b.len > size + 4 * (size / 3 + 1))
            abort();
        if ((size >= 3 && data[0] == 0 && data[1] == 0 && data[2] == 1) ||
            (size >= 4 && data[0] == 0 && data[1] == 0 && data[2] == 0 && data[3] == 1)) {
            for (size_t i = 0; i < b.len;) {
                if (i + 4 > b.len)
                    abort();
                uint32_t l = le_rd_be32(b.p + i);
                if (l == 0 || l > b.len - i - 4)
                    abort();
                i += 4 + l;
            }
        }
    }
    le_buf_free(&b);
    if (le_pipe_avcc_record(data, size, &b) == 0) {
        if (b.len < 1 || b.p[0] != 1)
            abort();
        if (size > 0 && data[0] != 1) {
            if (b.len < 11 || b.p[5] != 0xe1)
                abort();
            size_t sn = le_rd_be16(b.p + 6);
            if (8 + sn + 3 > b.len || b.p[8 + sn] != 1)
                abort();
            size_t pn = le_rd_be16(b.p + 9 + sn);
            if (11 + sn + pn > b.len)
                abort();
        }
    }
    le_buf_free(&b);
    if (le_pipe_hvcc_record(data, size, &b) == 0) {
        if (b.len < 23 || b.p[0] != 1 || b.p[22] != 3)
            abort();
        size_t off = 23;
        for (int i = 0; i < 3; i++) {
            if (off + 5 > b.len || le_rd_be16(b.p + off + 1) != 1)
                abort();
            off += 5 + le_rd_be16(b.p + off + 3);
        }
        if (off != b.len)
            abort();
    }
    le_buf_free(&b);
    return 0;
}
