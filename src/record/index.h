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

#endif
