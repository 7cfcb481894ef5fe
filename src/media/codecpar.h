/* FLV sequence headers to libav codec parameters: the AAC
 * AudioSpecificConfig's sample rate and channels (pure, over bytes), and a
 * decoder configuration record or AudioSpecificConfig as a stream's
 * extradata. Shared by the HLS segmenter and the MP4 recording writer. */
#ifndef LE_CODECPAR_H
#define LE_CODECPAR_H
#include <stddef.h>
#include <stdint.h>

struct AVCodecParameters;

/* Sample rate and channels from an AudioSpecificConfig (ISO 14496-3
 * 1.6.2.1): an escaped audioObjectType and an explicit 24-bit rate are
 * read; channelConfiguration 0 or a reserved value gives 2, 7 gives 8.
 * 0 or LE_EPROTO (too short, reserved rate index, rate 0). */
int le_aac_asc_params(const uint8_t *b, size_t n, int *rate, int *channels);
/* The AudioSpecificConfig's audioObjectType (escaped values read: 31 is
 * 32 + the next 6 bits): 2 AAC-LC, 5 SBR, 29 PS, ...; LE_EPROTO when too
 * short or 0. */
int le_aac_asc_object_type(const uint8_t *b, size_t n);

/* Copies b[0..n) into par's extradata (padded as libavcodec wants; par's
 * previous extradata, if any, is the caller's). 0 or LE_ENOMEM. */
int le_codecpar_extradata(struct AVCodecParameters *par, const uint8_t *b, size_t n);

#endif
