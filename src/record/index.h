/* The record index in Redis, shared by every node (docs/CONTRACT.md):
 *   {prefix}recidx:{d/a/s}     zset start ms -> entry JSON, one per finished
 *                              file and slice: {"fmt","slice","key","bucket",
 *                              "endpoint","url","start","end","duration",
 *                              "width","height","bytes","node"}; kept
 *                              LE_REC_INDEX_KEEP_MS
 *   {prefix}recfiles:{d/a/s}   hash RecordId -> RecordInfo JSON, the index
 *                              files CreateLiveStreamRecordIndexFiles made
 * The actions DescribeLiveStreamRecordContent, CreateLiveStreamRecordIndexFiles
 * and DescribeLiveStreamRecordIndexFile(s) answer from these
 * (admin/actions_recindex.c). */
#ifndef LE_RECORD_INDEX_H
#define LE_RECORD_INDEX_H
#include <stddef.h>
#include <stdint.h>
#include "core/util.h"
#include "record/writer.h"

#define LE_REC_INDEX_KEEP_MS (31LL * 86400 * 1000)

typedef struct le_rec_entry {
    int fmt, slice;
    char key[LE_REC_KEY_MAX + 8];
    char bucket[64], endpoint[256];
    char url[2048];
    int64_t start_ms, end_ms, duration_ms;
    int width, height;
    uint64_t bytes;
    char node[128];
} le_rec_entry;

/* Pure. Decoder: LE_OK or LE_EPROTO. */
void le_rec_entry_to_json(le_buf *out, const le_rec_entry *e);
int le_rec_entry_from_json(const char *js, size_t n, le_rec_entry *out);

/* Records a finished file (durable write: queued while Redis is down). */
int le_rec_index_add(const char *domain, const char *app, const char *stream, const le_rec_entry *e);

/* "{prefix}recidx:{d}/{a}/{s}" and "{prefix}recfiles:{d}/{a}/{s}" into out
 * (le_store_key); return out. */
char *le_rec_index_key(char *out, size_t n, const char *domain, const char *app, const char *stream);
char *le_rec_files_key(char *out, size_t n, const char *domain, const char *app, const char *stream);

/* Whole files and playlists start at most this long before a window they
 * overlap (the longest CycleDuration): the range read starts this early. */
#define LE_REC_INDEX_LOOKBACK_MS (21600LL * 1000)
/* Entries one range read returns at most. */
#define LE_REC_INDEX_MAX_READ 20000

/* Entries overlapping [start_ms, end_ms) (start < end_ms and end > start_ms)
 * in start order, slices only (slices = 1) or whole files and playlists
 * only (slices = 0): each(entry, arg) once per entry (entries that do not
 * decode are skipped), then done(rc, truncated, arg) exactly once; never
 * from inside the call. rc LE_OK, or LE_EIO (Redis did not answer: each was
 * not called); truncated: more than LE_REC_INDEX_MAX_READ index entries
 * were in the read range, only the first were given. Returns LE_OK, or
 * LE_EIO (store not running; nothing is called). */
typedef void (*le_rec_index_each)(const le_rec_entry *e, void *arg);
typedef void (*le_rec_index_done)(int rc, int truncated, void *arg);
int le_rec_index_range(const char *domain, const char *app, const char *stream, int64_t start_ms, int64_t end_ms,
                       int slices, le_rec_index_each each, le_rec_index_done done, void *arg);

/* A TS slice as the playlist builder needs it. */
typedef struct le_rec_slice {
    int64_t start_ms, end_ms, duration_ms;
    int width, height;
    const char *uri;            /* written verbatim */
} le_rec_slice;

/* Pure: the URI a playlist gives an entry: its url, or
 * "/record/{bucket}/{key}" when it has none. Returns out. */
char *le_rec_slice_uri(const le_rec_entry *e, char *out, size_t n);

/* Pure: a VOD playlist (EXT-X-PLAYLIST-TYPE:VOD, EXT-X-ENDLIST) over n TS
 * slices in start order: EXTINF from each duration, EXT-X-DISCONTINUITY
 * before a slice that does not follow the one before it (a gap or an overlap
 * of more than LE_REC_CONTIG_MS, or another resolution). Returns the sum of
 * the durations (ms). */
#define LE_REC_CONTIG_MS 1000
int64_t le_rec_m3u8_build(le_buf *out, const le_rec_slice *s, size_t n);

#endif
