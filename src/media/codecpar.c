/* FLV sequence headers to codec parameters (media/codecpar.h). */
#include "media/codecpar.h"

#include <libavcodec/avcodec.h>
#include <string.h>

#include "core/err.h"

static const int aac_rates[13] = {
    96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350,
};

/* Reads n (<= 24) bits at *pos of b[0..len); 0 past the end (callers check
 * the length first). */
static unsigned bits_at(const uint8_t *b, size_t len, size_t *pos, unsigned n)
{
    unsigned v = 0;
    for (unsigned i = 0; i < n; i++, (*pos)++) {
        size_t byte = *pos >> 3;
        unsigned bit = byte < len ? (b[byte] >> (7 - (*pos & 7))) & 1 : 0;
        v = v << 1 | bit;
    }
    return v;
}

/* audioObjectType: 5 bits, 31 escapes to 32 + the next 6. */
static unsigned read_aot(const uint8_t *b, size_t n, size_t *pos)
{
    unsigned aot = bits_at(b, n, pos, 5);
    return aot == 31 ? 32 + bits_at(b, n, pos, 6) : aot;
}

int le_aac_asc_object_type(const uint8_t *b, size_t n)
{
    size_t pos = 0;
    if (n < 1 || (n < 2 && b[0] >> 3 == 31))
        return LE_EPROTO;
    unsigned aot = read_aot(b, n, &pos);
    return aot ? (int)aot : LE_EPROTO;
}

int le_aac_asc_params(const uint8_t *b, size_t n, int *rate, int *channels)
{
    if (n < 2)
        return LE_EPROTO;
    size_t pos = 0;
    read_aot(b, n, &pos);
    unsigned idx = bits_at(b, n, &pos, 4);
    int r;
    if (idx == 15) {
        if (n * 8 < pos + 24 + 4)
            return LE_EPROTO;
        r = (int)bits_at(b, n, &pos, 24);
    } else if (idx < 13) {
        r = aac_rates[idx];
    } else {
        return LE_EPROTO;
    }
    if (r <= 0)
        return LE_EPROTO;
    unsigned ch = bits_at(b, n, &pos, 4);
    *rate = r;
    *channels = ch == 7 ? 8 : ch == 0 || ch > 7 ? 2 : (int)ch;
    return LE_OK;
}

int le_codecpar_extradata(AVCodecParameters *par, const uint8_t *b, size_t n)
{
    par->extradata = av_mallocz(n + AV_INPUT_BUFFER_PADDING_SIZE);
    if (!par->extradata)
        return LE_ENOMEM;
    memcpy(par->extradata, b, n);
    par->extradata_size = (int)n;
    return LE_OK;
}
