/* RFC 6381 codec strings (media/codecs.h). */
#include "media/codecs.h"

#include <stdio.h>

#include "core/err.h"
#include "media/codecpar.h"
#include "media/flv.h"

static int put(char *out, size_t outsz, int k)
{
    if (k < 0 || (size_t)k >= outsz) {
        if (outsz)
            out[0] = '\0';
        return LE_EINVAL;
    }
    return LE_OK;
}

/* hvcC (ISO 14496-15 8.3.3.1): general_profile_space, tier, profile_idc;
 * 32 compatibility flags; 48 constraint bits; level. The string (annex
 * E.3): the flags bit-reversed in hex, the constraint bytes up to the last
 * non-zero one. */
static int hevc(const uint8_t *b, size_t n, char *out, size_t outsz)
{
    if (n < 13)
        return LE_EPROTO;
    static const char *space[4] = { "", "A", "B", "C" };
    uint32_t compat = (uint32_t)b[2] << 24 | (uint32_t)b[3] << 16 | (uint32_t)b[4] << 8 | b[5], rev = 0;
    for (int i = 0; i < 32; i++)
        if (compat & (1u << i))
            rev |= 1u << (31 - i);
    int k = snprintf(out, outsz, "hvc1.%s%u.%X.%c%u", space[b[1] >> 6], (unsigned)(b[1] & 0x1f), rev,
                     (b[1] & 0x20) ? 'H' : 'L', (unsigned)b[12]);
    if (put(out, outsz, k) != LE_OK)
        return LE_EINVAL;
    int last = -1;
    for (int i = 0; i < 6; i++)
        if (b[6 + i])
            last = i;
    for (int i = 0; i <= last; i++) {
        int m = snprintf(out + k, outsz - (size_t)k, ".%02X", b[6 + i]);
        if (put(out + k, outsz - (size_t)k, m) != LE_OK) {
            out[0] = '\0';
            return LE_EINVAL;
        }
        k += m;
    }
    return LE_OK;
}

/* av1C (AV1 ISOBMFF binding 2.3): marker and version 0x81, seq_profile and
 * seq_level_idx_0, then tier, high_bitdepth, twelve_bit. */
static int av1(const uint8_t *b, size_t n, char *out, size_t outsz)
{
    if (n < 4 || b[0] != 0x81)
        return LE_EPROTO;
    unsigned profile = b[1] >> 5, level = b[1] & 0x1f;
    int tier = b[2] >> 7, high = (b[2] >> 6) & 1, twelve = (b[2] >> 5) & 1;
    int depth = high ? (profile == 2 && twelve ? 12 : 10) : 8;
    return put(out, outsz, snprintf(out, outsz, "av01.%u.%02u%c.%02d", profile, level, tier ? 'H' : 'M', depth));
}

int le_codec_string(uint8_t codec, const uint8_t *cfg, size_t n, char *out, size_t outsz)
{
    if (outsz)
        out[0] = '\0';
    if (!cfg)
        n = 0;
    switch (codec) {
    case LE_CODEC_H264:
        /* avcC: configurationVersion 1, then the SPS's profile_idc,
         * constraint_set flags and level_idc. */
        if (n < 4 || cfg[0] != 1)
            return LE_EPROTO;
        return put(out, outsz, snprintf(out, outsz, "avc1.%02x%02x%02x", cfg[1], cfg[2], cfg[3]));
    case LE_CODEC_H265:
        return hevc(cfg, n, out, outsz);
    case LE_CODEC_AV1:
        return av1(cfg, n, out, outsz);
    case LE_CODEC_AAC: {
        int aot = le_aac_asc_object_type(cfg, n);
        if (aot < 0)
            return aot;
        return put(out, outsz, snprintf(out, outsz, "mp4a.40.%d", aot));
    }
    case LE_CODEC_MP3:
        return put(out, outsz, snprintf(out, outsz, "mp4a.40.34"));
    case LE_CODEC_OPUS:
        return put(out, outsz, snprintf(out, outsz, "opus"));
    default:
        return LE_EINVAL;
    }
}

const char *le_codec_string_default(uint8_t codec)
{
    switch (codec) {
    case LE_CODEC_H264: return "avc1.640028";
    case LE_CODEC_H265: return "hvc1.1.6.L120.90";
    case LE_CODEC_AV1: return "av01.0.08M.08";
    case LE_CODEC_AAC: return "mp4a.40.2";
    case LE_CODEC_MP3: return "mp4a.40.34";
    case LE_CODEC_OPUS: return "opus";
    default: return NULL;
    }
}
