/* Recording writers: one le_recw writes one format of one recording task
 * as a sequence of files (FLV, fragmented MP4, or m3u8 = TS slices plus a
 * playlist per cycle). It runs on a writer thread, never on the reactor:
 * it opens, writes, fsyncs and renames files, and knows nothing of streams,
 * Redis or the loop. docs/RECORD.md, "Files", describes the rules:
 *  - each file (and slice) is written as "<path>.tmp" and renamed when
 *    complete; on_file is called after the rename, never before;
 *  - a file starts with onMetaData and the sequence headers (kept from the
 *    latest seen: the writer copies them, it never keeps a packet);
 *  - a file is cut at the first video keyframe (any audio frame when there
 *    is no video) once cycle_ms of media has been written; a codec or
 *    resolution change (a new sequence header that differs) starts a new
 *    file; slices are cut the same way at slice_ms;
 *  - timestamps start near 0 in each file and never go backwards; a step
 *    of more than LE_REC_JUMP_MS either way starts a new file (m3u8: a new
 *    slice after EXT-X-DISCONTINUITY), never clamped;
 *  - FLV: onMetaData duration and filesize patched at close;
 *    MP4: fragmented (moov up front, a fragment every fragment_ms at a
 *    keyframe), so a killed node leaves every file playable up to its last
 *    complete fragment; the .tmp of a killed file is what is left;
 *  - before each file: free space at dir >= min_free, else LE_EIO-free
 *    "paused" state (on_status) until it returns (checked at keyframes, at
 *    most once a second); a write error (ENOSPC, EIO) closes the file (it is
 *    still renamed and reported if it has media) and pauses the same way.
 *
 * Threads: a le_recw is used by one thread at a time (the recorder
 * serializes its jobs). Packets passed to le_recw_feed are only read during
 * the call; their references belong to the caller. */
#ifndef LE_RECORD_WRITER_H
#define LE_RECORD_WRITER_H
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include "media/pkt.h"
#include "record/tmpl.h"

#define LE_REC_JUMP_MS 5000

typedef struct le_rec_file {
    int fmt;                    /* LE_REC_* (record/config.h) */
    int is_slice;               /* a TS slice of an m3u8 recording; else a whole file or playlist */
    uint64_t sequence;          /* {Sequence} of this file (slices: of the slice) */
    char key[LE_REC_KEY_MAX + 8];   /* object key below the bucket, extension included */
    char path[PATH_MAX];        /* where it is on disk (final name) */
    int64_t start_ms, end_ms;   /* UTC unix ms: wall clock of its first packet, + its media duration */
    int64_t duration_ms;        /* media duration */
    uint64_t bytes;
    int width, height;          /* from onMetaData / the sequence header, 0 if unknown */
    char playlist_key[LE_REC_KEY_MAX + 8]; /* slices: their cycle's playlist key */
} le_rec_file;

enum { LE_RECW_PAUSED = 1, LE_RECW_RESUMED = 2 };

typedef struct le_recw_params {
    int fmt;                    /* LE_REC_FLV, LE_REC_MP4, LE_REC_M3U8 */
    const char *dir;            /* the bucket's directory: keys are paths below it */
    const char *app, *stream;
    const char *prefix;         /* OssObjectPrefix template, NULL/"": LE_REC_DEFAULT_PREFIX */
    const char *slice_prefix;   /* m3u8 slices, NULL/"": LE_REC_DEFAULT_SLICE_PREFIX */
    int64_t cycle_ms;           /* > 0 */
    int64_t slice_ms;           /* m3u8; <= 0: LE_REC_SLICE_DEFAULT_S */
    int64_t fragment_ms;        /* mp4; <= 0: 2000 */
    uint64_t min_free;          /* bytes; 0: no check */
    uint64_t first_sequence;    /* {Sequence} of the first file (a resumed task continues) */
    /* A file or slice is complete and renamed (on the writer's thread). */
    void (*on_file)(const le_rec_file *f, void *arg);
    /* LE_RECW_PAUSED (why: the reason) / LE_RECW_RESUMED (on the writer's thread). */
    void (*on_status)(int status, const char *why, void *arg);
    void *arg;
} le_recw_params;

typedef struct le_recw le_recw;

/* Copies what it needs of p. NULL with err filled for a bad template or
 * format (nothing is opened yet). */
le_recw *le_recw_new(const le_recw_params *p, char *err, size_t errlen);
/* One packet; wall_ms is the UTC unix ms it arrived at. LE_OK, or a
 * negative LE_* code for a packet that was not written (the writer stays
 * usable: paused, or waiting for a keyframe). */
int le_recw_feed(le_recw *w, const le_pkt *p, int64_t wall_ms);
/* The publisher left: finishes the open file (final fragment, playlist) and
 * reports it. The next packet starts a new file. */
void le_recw_close(le_recw *w);
/* Closes (as le_recw_close) and frees. NULL is fine. */
void le_recw_free(le_recw *w);
/* {Sequence} the next file gets. */
uint64_t le_recw_next_sequence(const le_recw *w);
int le_recw_paused(const le_recw *w);

#endif
