/* m3u8 text from a list of segment descriptors. Pure: no stream, no muxer,
 * no I/O; live HLS and time-shift both build their playlists here. */
#ifndef LE_HLS_PLAYLIST_H
#define LE_HLS_PLAYLIST_H
#include <stddef.h>
#include <stdint.h>
#include "core/util.h"

/* A partial segment (LL-HLS, EXT-X-PART). */
typedef struct le_m3u8_part {
    int64_t duration_ms;
    int independent;            /* INDEPENDENT=YES */
    const char *uri;
} le_m3u8_part;

typedef struct le_m3u8_seg {
    uint64_t seq;               /* media sequence number */
    int64_t duration_ms;
    int disc;                   /* EXT-X-DISCONTINUITY before this segment */
    int64_t pdt_ms;             /* EXT-X-PROGRAM-DATE-TIME (wall ms); 0: omit */
    const char *uri;            /* relative or absolute, written verbatim */
    /* fmp4: EXT-X-MAP:URI, written before the first listed segment and
     * again whenever it changes. NULL: none. */
    const char *map_uri;
    /* LL-HLS: EXT-X-PART lines written before the segment's EXTINF. */
    const le_m3u8_part *parts;
    size_t nparts;
    /* LL-HLS: the open segment (last in the list): only its parts are
     * written, no EXTINF, and it does not count for the target duration. */
    int open;
} le_m3u8_seg;

/* EXT-X-RENDITION-REPORT: where another rendition's playlist ends. */
typedef struct le_m3u8_report {
    const char *uri;
    uint64_t last_msn;
    int last_part;              /* < 0: omit LAST-PART */
} le_m3u8_report;

typedef struct le_m3u8_opts {
    /* EXT-X-TARGETDURATION is the ceiling of the longest listed segment, but
     * never below this (seconds): a live playlist's target must not shrink
     * while a player follows it (RFC 8216 6.2.1). 0 for none. */
    int min_target_s;
    uint64_t disc_seq;          /* EXT-X-DISCONTINUITY-SEQUENCE of the first segment */
    int endlist;                /* append EXT-X-ENDLIST */
    int playlist_type;          /* 0 none, 1 EVENT, 2 VOD */
    int start_offset_zero;      /* EXT-X-START:TIME-OFFSET=0 */
    int version;                /* EXT-X-VERSION; below 3 means 3 */
    int independent_segments;   /* EXT-X-INDEPENDENT-SEGMENTS */
    /* LL-HLS (RFC 8216bis), all off when part_target_ms is 0:
     * EXT-X-PART-INF:PART-TARGET, EXT-X-SERVER-CONTROL with
     * CAN-BLOCK-RELOAD=YES, PART-HOLD-BACK and (when > 0) CAN-SKIP-UNTIL. */
    int64_t part_target_ms;
    int64_t part_hold_back_ms;
    int64_t can_skip_until_ms;
    /* A delta update: this many segments before segs[0] are replaced by
     * EXT-X-SKIP:SKIPPED-SEGMENTS (the media sequence counts them). */
    uint64_t skipped;
    const char *preload_hint_uri;   /* EXT-X-PRELOAD-HINT:TYPE=PART; NULL: none */
    const le_m3u8_report *reports;
    size_t nreports;
} le_m3u8_opts;

/* The target duration the playlist would carry (seconds). */
int le_m3u8_target(const le_m3u8_seg *segs, size_t n, int min_target_s);

/* Appends the playlist text to out. segs must be in sequence order. */
void le_m3u8_build(le_buf *out, const le_m3u8_seg *segs, size_t n, const le_m3u8_opts *o);
/* Appends the EXT-X-RENDITION-REPORT lines alone (what le_m3u8_build writes
 * for o->reports), for a playlist kept without them (http/hls_cache.h). */
void le_m3u8_reports(le_buf *out, const le_m3u8_report *r, size_t n);

#endif
