/* User-data SEI for AddTrancodeSEI (docs/TRANSCODE.md): builds a
 * user_data_unregistered SEI NAL unit (payload type 5, a 16-byte UUID, then
 * the text) for H.264 (NAL type 6) and HEVC (prefix SEI, NAL type 39), and
 * inserts such a NAL into an FLV video tag body whose payload is
 * length-prefixed NAL units (AVCC/HVCC, legacy or enhanced FLV). Pure: bytes
 * in, bytes out. */
#ifndef LE_TRANS_SEI_H
#define LE_TRANS_SEI_H
#include <stddef.h>
#include <stdint.h>
#include "core/util.h"

#define LE_SEI_TEXT_MAX 4000
#define LE_SEI_UUID_LEN 16
/* The longest NAL le_sei_build makes: header, type, size bytes, UUID, text
 * with an emulation prevention byte per 2 bytes at worst, trailing bits. */
#define LE_SEI_NAL_MAX (2 + 1 + 17 + (LE_SEI_UUID_LEN + LE_SEI_TEXT_MAX) * 3 / 2 + 2)

/* livedge's UUID: 0de15351-8b26-4310-8533-322014653b99. */
extern const uint8_t LE_SEI_UUID[LE_SEI_UUID_LEN];

/* The SEI NAL (header and escaped RBSP, no length prefix or start code) for
 * codec (LE_CODEC_H264 or LE_CODEC_H265 of media/flv.h) appended to out.
 * LE_OK; LE_ETOOBIG for text over LE_SEI_TEXT_MAX bytes; LE_EINVAL for
 * another codec. The text is bytes, not necessarily NUL-free. */
int le_sei_build(int codec, const uint8_t uuid[LE_SEI_UUID_LEN], const uint8_t *text, size_t len, le_buf *out);

/* The NAL unit length size (1, 2 or 4) from a decoder configuration record
 * (AVCDecoderConfigurationRecord or HEVCDecoderConfigurationRecord, the
 * payload of a sequence header tag after its FLV header). LE_EPROTO. */
int le_sei_nalu_len_size(int codec, const uint8_t *rec, size_t n);

/* Inserts nal (with a len_size-byte big-endian length prefix) into the FLV
 * video tag body b of n bytes, before its first slice (after any access
 * unit delimiter, parameter sets and SEI), into out (a new body of exactly
 * n + len_size + nal_len bytes). Reads no byte outside b.
 * LE_OK; LE_EINVAL: not an H.264/HEVC coded frame (sequence headers, end of
 * sequence, other codecs), or codec differs from the body's; LE_EPROTO: the
 * NAL lengths overrun the body; LE_ENOTFOUND: no slice in the body;
 * LE_ETOOBIG: nal_len does not fit len_size bytes. out is untouched unless LE_OK. */
int le_sei_insert(int codec, const uint8_t *b, size_t n, int len_size, const uint8_t *nal, size_t nal_len,
                  le_buf *out);

#endif
