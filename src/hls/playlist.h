/* m3u8 text from a list of segment descriptors. Pure: no stream, no muxer,
 * no I/O; live HLS and time-shift both build their playlists here. */
#ifndef LE_HLS_PLAYLIST_H
#define LE_HLS_PLAYLIST_H
#include <stddef.h>
#include <stdint.h>
#include "core/util.h"

typedef struct le_m3u8_seg {
    uint64_t seq;               /* media sequence number */
    int64_t duration_ms;
    int disc;                   /* EXT-X-DISCONTINUITY before this segment */
    int64_t pdt_ms;             /* EXT-X-PROGRAM-DATE-TIME (wall ms); 0: omit */
    const char *uri;            /* relative or absolute, written verbatim */
} le_m3u8_seg;

typedef struct le_m3u8_opts {
    /* EXT-X-TARGETDURATION is the ceiling of the longest listed segment, but
     * never below this (seconds): a live playlist's target must not shrink
     * while a player follows it (RFC 8216 6.2.1). 0 for none. */
    int min_target_s;
    uint64_t disc_seq;          /* EXT-X-DISCONTINUITY-SEQUENCE of the first segment */
    int endlist;                /* append EXT-X-ENDLIST */
    int playlist_type;          /* 0 none, 1 EVENT, 2 VOD */
    int start_offset_zero;      /* EXT-X-START:TIME-OFFSET=0 */
} le_m3u8_opts;

/* The target duration the playlist would carry (seconds). */
int le_m3u8_target(const le_m3u8_seg *segs, size_t n, int min_target_s);

/* Appends the playlist text to out. segs must be in sequence order. */
void le_m3u8_build(le_buf *out, const le_m3u8_seg *segs, size_t n, const le_m3u8_opts *o);

#endif
