/* RFC 6381 codec strings from decoder configuration records
 * (media/codecs.h): the strings players compare with what they decode. */
#include <string.h>

#include "core/err.h"
#include "media/codecs.h"
#include "media/flv.h"
#include "tap.h"

static char out[64];

static int cs(uint8_t codec, const uint8_t *b, size_t n)
{
    return le_codec_string(codec, b, n, out, sizeof(out));
}

int main(void)
{
    /* H.264: the SPS's profile, constraint flags and level, lower-case hex. */
    static const uint8_t high40[] = { 1, 0x64, 0x00, 0x28, 0xff, 0xe1 };
    is_int(cs(LE_CODEC_H264, high40, sizeof(high40)), LE_OK, "avcC High 4.0");
    is_str(out, "avc1.640028", "... avc1.640028");
    static const uint8_t cbase[] = { 1, 0x42, 0xc0, 0x1e };
    cs(LE_CODEC_H264, cbase, sizeof(cbase));
    is_str(out, "avc1.42c01e", "avcC Constrained Baseline 3.0: avc1.42c01e");
    is_int(cs(LE_CODEC_H264, cbase, 3), LE_EPROTO, "avcC of 3 bytes: LE_EPROTO");
    is_str(out, "", "... and no string");
    static const uint8_t badver[] = { 0, 0x64, 0x00, 0x28 };
    is_int(cs(LE_CODEC_H264, badver, sizeof(badver)), LE_EPROTO, "avcC version 0: LE_EPROTO");
    is_int(cs(LE_CODEC_H264, NULL, 4), LE_EPROTO, "no avcC: LE_EPROTO");

    /* HEVC (ISO 14496-15 annex E): Main, level 3.1, progressive/frame-only
     * constraints; the compatibility flags bit-reversed. */
    static const uint8_t main31[] = { 1, 0x01, 0x60, 0, 0, 0, 0xb0, 0, 0, 0, 0, 0, 93, 0xf0 };
    is_int(cs(LE_CODEC_H265, main31, sizeof(main31)), LE_OK, "hvcC Main L3.1");
    is_str(out, "hvc1.1.6.L93.B0", "... hvc1.1.6.L93.B0");
    /* Main 10, high tier, level 4, two constraint bytes, profile space 1. */
    static const uint8_t m10[] = { 1, 0x40 | 0x20 | 0x02, 0x20, 0, 0, 0, 0x90, 0x01, 0, 0, 0, 0, 120 };
    cs(LE_CODEC_H265, m10, sizeof(m10));
    is_str(out, "hvc1.A2.4.H120.90.01", "hvcC space A, Main 10, high tier 4.0: hvc1.A2.4.H120.90.01");
    static const uint8_t noc[] = { 1, 0x01, 0x60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 90 };
    cs(LE_CODEC_H265, noc, sizeof(noc));
    is_str(out, "hvc1.1.6.L90", "hvcC without constraint flags: no trailing bytes");
    is_int(cs(LE_CODEC_H265, main31, 12), LE_EPROTO, "hvcC of 12 bytes: LE_EPROTO");

    /* AV1: profile, two-digit level, tier, bit depth. */
    static const uint8_t av8[] = { 0x81, 0x08, 0x0c, 0x00 };
    is_int(cs(LE_CODEC_AV1, av8, sizeof(av8)), LE_OK, "av1C Main 4.0 8-bit");
    is_str(out, "av01.0.08M.08", "... av01.0.08M.08");
    static const uint8_t av10[] = { 0x81, 0x0d, 0xc0, 0x00 };
    cs(LE_CODEC_AV1, av10, sizeof(av10));
    is_str(out, "av01.0.13H.10", "av1C level 13, high tier, 10-bit: av01.0.13H.10");
    static const uint8_t av12[] = { 0x81, 0x40 | 0x05, 0x60, 0x00 };
    cs(LE_CODEC_AV1, av12, sizeof(av12));
    is_str(out, "av01.2.05M.12", "av1C professional 12-bit: av01.2.05M.12");
    static const uint8_t avbad[] = { 0x01, 0x08, 0x0c, 0x00 };
    is_int(cs(LE_CODEC_AV1, avbad, sizeof(avbad)), LE_EPROTO, "av1C without its marker: LE_EPROTO");

    /* AAC: the AudioSpecificConfig's object type, escaped form too. */
    static const uint8_t lc[] = { 0x12, 0x10 };
    cs(LE_CODEC_AAC, lc, sizeof(lc));
    is_str(out, "mp4a.40.2", "AAC-LC: mp4a.40.2");
    static const uint8_t he[] = { 0x2b, 0x92, 0x08, 0x00 };
    cs(LE_CODEC_AAC, he, sizeof(he));
    is_str(out, "mp4a.40.5", "HE-AAC (explicit SBR): mp4a.40.5");
    static const uint8_t ps[] = { 0xeb, 0x09 };
    cs(LE_CODEC_AAC, ps, sizeof(ps));
    is_str(out, "mp4a.40.29", "HE-AAC v2 (PS): mp4a.40.29");
    static const uint8_t esc[] = { 0xf8, 0xa0 };
    cs(LE_CODEC_AAC, esc, sizeof(esc));
    is_str(out, "mp4a.40.37", "escaped object type 32 + 5: mp4a.40.37");
    is_int(cs(LE_CODEC_AAC, esc, 1), LE_EPROTO, "escaped object type cut short: LE_EPROTO");
    is_int(cs(LE_CODEC_AAC, NULL, 0), LE_EPROTO, "no AudioSpecificConfig: LE_EPROTO");

    /* No configuration needed. */
    is_int(cs(LE_CODEC_MP3, NULL, 0), LE_OK, "MP3");
    is_str(out, "mp4a.40.34", "... mp4a.40.34");
    cs(LE_CODEC_OPUS, NULL, 0);
    is_str(out, "opus", "Opus: opus");

    /* Not carried by HLS; a buffer too small. */
    is_int(cs(LE_CODEC_VP9, av8, sizeof(av8)), LE_EINVAL, "VP9: LE_EINVAL");
    char small[8];
    is_int(le_codec_string(LE_CODEC_H264, high40, sizeof(high40), small, sizeof(small)), LE_EINVAL,
           "an 8-byte buffer for avc1.640028: LE_EINVAL");
    is_str(small, "", "... and an empty string");
    is_int(le_codec_string(LE_CODEC_H265, main31, sizeof(main31), small, sizeof(small)), LE_EINVAL,
           "an 8-byte buffer for an HEVC string: LE_EINVAL");
    is_str(small, "", "... and an empty string");

    is_str(le_codec_string_default(LE_CODEC_H264), "avc1.640028", "default H.264: High 4.0");
    is_str(le_codec_string_default(LE_CODEC_AAC), "mp4a.40.2", "default AAC: LC");
    ok(le_codec_string_default(LE_CODEC_VP9) == NULL, "no default for VP9");
    return done_testing();
}
