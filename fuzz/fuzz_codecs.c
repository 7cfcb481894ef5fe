/* libFuzzer target for the RFC 6381 codec strings (src/media/codecs.c): the
 * first byte picks the codec and the output size, the rest is the decoder
 * configuration record (avcC, hvcC, av1C, AudioSpecificConfig). A success
 * is a terminated string that fits and starts with the codec's prefix; an
 * error leaves "". Nothing may be read outside the record.
 *   clang -g -fsanitize=fuzzer,address,undefined -I../src fuzz_codecs.c \
 *     ../src/media/codecs.c ../src/media/codecpar.c ../src/core/util.c ../src/core/err.c -lavcodec -lavutil */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "media/codecs.h"
#include "media/flv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct { uint8_t codec; const char *prefix; } c[8] = {
        { LE_CODEC_H264, "avc1." }, { LE_CODEC_H265, "hvc1." }, { LE_CODEC_AV1, "av01." },
        { LE_CODEC_AAC, "mp4a.40." }, { LE_CODEC_MP3, "mp4a.40.34" }, { LE_CODEC_OPUS, "opus" },
        { LE_CODEC_VP9, NULL }, { LE_CODEC_NONE, NULL },
    };
    if (size < 1)
        return 0;
    unsigned pick = data[0] & 7, outsz = 1 + (data[0] >> 3);   /* 1..32 bytes */
    /* The record in its own allocation, so ASan sees any read past it. */
    uint8_t *cfg = malloc(size - 1 ? size - 1 : 1);
    memcpy(cfg, data + 1, size - 1);
    char out[40];
    memset(out, 'x', sizeof(out));
    int rc = le_codec_string(c[pick].codec, size > 1 ? cfg : NULL, size - 1, out, outsz);
    size_t len = strnlen(out, outsz);
    if (len == outsz)
        abort();   /* not terminated within out */
    if (rc == LE_OK) {
        if (!c[pick].prefix || strncmp(out, c[pick].prefix, strlen(c[pick].prefix)) != 0)
            abort();
    } else if (out[0] != '\0' || (rc != LE_EPROTO && rc != LE_EINVAL)) {
        abort();
    }
    free(cfg);
    return 0;
}
