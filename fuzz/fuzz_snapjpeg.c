/* libFuzzer target for snapshot/jpeg.c: the first byte picks H.264 or
 * HEVC, the next two give the length of the sequence header payload, the
 * rest is the keyframe. le_snap_jpeg_encode must answer LE_OK with a JPEG
 * or an LE_* code with nothing allocated.
 *   clang -g -fsanitize=fuzzer,address,undefined -I../src fuzz_snapjpeg.c \
 *     ../src/snapshot/jpeg.c ../src/media/codecpar.c ../src/core/util.c \
 *     ../src/core/err.c -lavcodec -lswscale -lavutil */
#include <stdint.h>
#include <stdlib.h>

#include <libavutil/log.h>

#include "core/err.h"
#include "media/flv.h"
#include "snapshot/jpeg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    av_log_set_level(AV_LOG_QUIET);
    if (size < 3)
        return 0;
    int codec = data[0] & 1 ? LE_CODEC_H265 : LE_CODEC_H264;
    size_t clen = (size_t)data[1] << 8 | data[2];
    data += 3;
    size -= 3;
    if (clen > size)
        clen = size;
    le_snap_image img;
    int rc = le_snap_jpeg_encode(codec, data, clen, data + clen, size - clen, &img);
    if (rc == LE_OK) {
        if (!img.data || img.len < 4 || img.width <= 0 || img.height <= 0 || img.width > LE_SNAP_DIM_MAX)
            abort();
    } else if (img.data || rc >= 0) {
        abort();
    }
    le_snap_image_free(&img);
    return 0;
}
