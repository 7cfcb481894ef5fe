/* RFC 6381 codec strings (the CODECS attribute of an HLS master playlist,
 * docs/HLS.md "Master playlist") from a stream's decoder configuration
 * records, as FLV carries them after the tag header. Pure functions over
 * bytes, so the playlist tells players what they will really decode.
 *
 *   H.264  avc1.PPCCLL      profile, constraint flags, level (avcC bytes 1-3)
 *   HEVC   hvc1.[A-C]P.F.TL.CC...  ISO 14496-15 annex E, from the hvcC
 *   AV1    av01.P.LLT.DD    profile, level, tier, bit depth (av1C)
 *   AAC    mp4a.40.AOT      the AudioSpecificConfig's object type
 *   MP3    mp4a.40.34       Opus  opus */
#ifndef LE_CODECS_H
#define LE_CODECS_H
#include <stddef.h>
#include <stdint.h>

/* The codec string of codec (LE_CODEC_*, media/flv.h) from its decoder
 * configuration record cfg[0..n) (avcC, hvcC, av1C, AudioSpecificConfig;
 * MP3 and Opus need none) into out. LE_OK; LE_EPROTO when cfg is missing or
 * too short to read; LE_EINVAL for a codec HLS does not carry, or an out
 * too small. out is "" on error. */
int le_codec_string(uint8_t codec, const uint8_t *cfg, size_t n, char *out, size_t outsz);

/* A generic string for codec when its configuration is not known yet
 * (H.264 High 4.0, HEVC Main 4.0, AV1 Main 4.0 8-bit, AAC-LC, MP3, Opus),
 * or NULL for a codec HLS does not carry. */
const char *le_codec_string_default(uint8_t codec);

#endif
