/* H.264 / HEVC elementary streams to FLV tag bodies (pure, over bytes): an
 * encoder's Annex B headers to a decoder configuration record, Annex B
 * access units to 4-byte length-prefixed NAL units, and the video tag
 * bodies (legacy AVC, enhanced RTMP 'hvc1'). */
#ifndef LE_PIPE_FLVOUT_H
#define LE_PIPE_FLVOUT_H
#include <stddef.h>
#include <stdint.h>

#include "core/util.h"

/* Appends the NAL units of an Annex B buffer (3- or 4-byte start codes)
 * to out, each behind a 4-byte big-endian length. Input that does not
 * start with a start code is taken as already length-prefixed and copied.
 * 0, or LE_EPROTO when nothing is found. */
int le_pipe_annexb_to_avcc(const uint8_t *b, size_t n, le_buf *out);

/* An AVCDecoderConfigurationRecord (ISO 14496-15 5.3.3.1) from Annex B SPS
 * and PPS (an encoder's global-header extradata), with the high-profile
 * chroma/bit-depth fields. A record already (first byte 1) is copied.
 * 0, or LE_EPROTO (no SPS or PPS, SPS too short). */
int le_pipe_avcc_record(const uint8_t *b, size_t n, le_buf *out);

/* An HEVCDecoderConfigurationRecord (ISO 14496-15 8.3.3.1) from Annex B
 * VPS, SPS and PPS: profile, tier, level, chroma format and bit depths read
 * from the SPS, one array per parameter set type. 0, or LE_EPROTO (a set
 * missing, an SPS that cannot be read). */
int le_pipe_hvcc_record(const uint8_t *b, size_t n, le_buf *out);

/* Enhanced RTMP HEVC ('hvc1') tag bodies: SequenceStart around a record,
 * CodedFrames (with composition time) around length-prefixed NAL units. */
void le_pipe_flv_hevc_seqhdr(const uint8_t *rec, size_t n, le_buf *out);
void le_pipe_flv_hevc_frame(int key, int32_t cts, const uint8_t *nalus, size_t n, le_buf *out);

/* FLV AVC video tag bodies: the sequence header around a record, and a
 * coded frame (keyframe or inter frame, composition time in ms) around
 * length-prefixed NAL units. */
void le_pipe_flv_avc_seqhdr(const uint8_t *rec, size_t n, le_buf *out);
void le_pipe_flv_avc_frame(int key, int32_t cts, const uint8_t *nalus, size_t n, le_buf *out);

#endif
