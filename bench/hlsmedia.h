/* bench/hlsmedia.h: the video frames inside HLS media, for bench/hlsload
 * (bench/README). A player's bytes go in (TS as they arrive, fMP4 objects
 * whole); out comes, per video frame, its PTS (90 kHz) and a key: the hash
 * of its last 32 payload bytes, which are the same bytes in the publisher's
 * FLV (AVCC), in TS (Annex B: only the NAL length prefixes became start
 * codes, at the front) and in fMP4 (AVCC), so the publish tap can match
 * frames without mapping timestamps. */
#ifndef LE_BENCH_HLSMEDIA_H
#define LE_BENCH_HLSMEDIA_H
#include <stddef.h>
#include <stdint.h>

typedef void (*hm_frame_fn)(void *arg, int64_t pts90, uint64_t key, uint64_t now);

typedef struct hm_state {
    /* TS */
    uint8_t pkt[188];
    unsigned pkt_len;
    int vpid;                  /* -1 until a video PES start is seen */
    int pes_open;
    int64_t pes_pts;
    uint8_t tail[32];
    unsigned tail_len;
    /* fMP4: the video track of the last init section */
    uint32_t vtrack, vscale;
    hm_frame_fn frame;
    void *arg;
} hm_state;

/* The key of a frame whose last n (<= 32) bytes are t. */
uint64_t hm_tail_key(const uint8_t *t, size_t n);

void hm_init(hm_state *m, hm_frame_fn fn, void *arg);
/* TS: a new segment starts; its bytes; it is complete (its last frame). */
void hm_ts_reset(hm_state *m);
void hm_ts_feed(hm_state *m, const uint8_t *p, size_t n, uint64_t now);
void hm_ts_end(hm_state *m, uint64_t now);
/* fMP4: a whole init section (sets the video track) or moof+mdat pairs. */
void hm_mp4(hm_state *m, const uint8_t *p, size_t n, uint64_t now);

#endif
