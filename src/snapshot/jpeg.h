/* One video keyframe to a JPEG image: decode (libavcodec H.264 or HEVC),
 * convert to full-range 4:2:0 (libswscale, same size) and encode with
 * libavcodec's mjpeg encoder. Pure: bytes in, bytes out, no logging, no
 * shared state; safe to call from any thread (every call owns its codec
 * contexts). docs/SNAPSHOT.md describes how the snapshotter uses it. */
#ifndef LE_SNAPSHOT_JPEG_H
#define LE_SNAPSHOT_JPEG_H
#include <stddef.h>
#include <stdint.h>

/* Inputs larger than this are refused (LE_ETOOBIG) before any decode. */
#define LE_SNAP_FRAME_MAX ((size_t)32 << 20)
#define LE_SNAP_CONFIG_MAX ((size_t)64 << 10)
/* Decoded pictures wider or taller than this are refused (LE_ETOOBIG). */
#define LE_SNAP_DIM_MAX 8192
/* The mjpeg encoder's fixed quantiser (2 best .. 31 worst). */
#define LE_SNAP_JPEG_QSCALE 4

typedef struct le_snap_image {
    uint8_t *data;   /* JPEG bytes (malloc'd; le_snap_image_free) */
    size_t len;
    int width, height;   /* the decoded picture's size, which the JPEG keeps */
} le_snap_image;

/* codec: LE_CODEC_H264 or LE_CODEC_H265 (media/flv.h). config: the FLV
 * sequence header payload (AVCDecoderConfigurationRecord or
 * HEVCDecoderConfigurationRecord); frame: the keyframe's payload as FLV
 * carries it (length-prefixed NAL units), both without their FLV tag
 * header bytes. LE_OK with out filled; LE_EINVAL (another codec, empty
 * input), LE_ETOOBIG (over the bounds above), LE_EPROTO (the decoder
 * refused the bytes or gave no picture), LE_ENOMEM, LE_EIO (a codec is
 * missing from libavcodec, or the encoder failed). out is zeroed on
 * error. */
int le_snap_jpeg_encode(int codec, const uint8_t *config, size_t config_len, const uint8_t *frame,
                        size_t frame_len, le_snap_image *out);
void le_snap_image_free(le_snap_image *img);

#endif
