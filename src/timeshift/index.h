/* The time-shift index (docs/CONTRACT.md, Time-shift): what is known of one persisted
 * segment, its file name, its Redis member, and the Redis side.
 *
 * Two faces. The upper half is pure (numbers and strings in and out; unit
 * tested in t/unit/test_tsindex.c): file names, index members, discontinuity
 * and gap rules, span merging for the timeline. The lower half talks to
 * Redis through store/store.h.
 *
 * Layout (relative to data_dir):
 *   ts/{domain}/{app}/{stream}/{YYYYMMDD}/{start_ms}-{seq}-{dur_ms}-{dseq}[-d].ts
 * YYYYMMDD is the UTC day of start_ms. Domain, app and stream are names that
 * passed le_name_valid (or are domains the node serves); everything else is
 * digits, so a file name never carries a byte a peer chose.
 *
 * Redis (every key under redis_prefix):
 *   ts:{domain}/{app}/{stream}   zset, score start_ms, member
 *                                "{start_ms}|{dur_ms}|{seq}|{disc}|{dseq}|{YYYYMMDD}/{file}"
 *   ts:streams:{domain}          set of "{app}/{stream}" that have a zset
 *   ts:domains                   set of domains that have streams
 * Members are deterministic functions of the file name, so indexing a file
 * twice (a retry, a reindex) is a no-op. */
#ifndef LE_TS_INDEX_H
#define LE_TS_INDEX_H
#include <stddef.h>
#include <stdint.h>

/* One persisted segment. */
typedef struct le_tsi_ent {
    int64_t start_ms;           /* wall clock of its first packet (unix ms) */
    int64_t duration_ms;
    uint64_t seq;               /* time-shift media sequence, see timeshift.h */
    uint64_t dseq;              /* discontinuity sequence this segment belongs to */
    int disc;                   /* a discontinuity starts here (restart, gap) */
} le_tsi_ent;

/* A segment longer than this is refused by the writer and the parsers; it
 * also bounds how far before a window's start a covering segment may begin. */
#define LE_TSI_MAX_SEG_MS 60000
/* Two segments further apart than this (end of one to start of the next)
 * are separated by a discontinuity, and by a gap in the timeline. */
#define LE_TSI_GAP_MS 1000
#define LE_TSI_NAME_MAX 96      /* file name, NUL included */
#define LE_TSI_REL_MAX 112      /* "YYYYMMDD/" + name */
#define LE_TSI_MEMBER_MAX 192

/* "YYYYMMDD" (UTC) of a unix ms instant. */
void le_tsi_day(int64_t ms, char out[9]);

/* "{start_ms}-{seq}-{dur_ms}-{dseq}[-d].ts". 0, or LE_EINVAL for values out
 * of range (negative start, duration outside 1..LE_TSI_MAX_SEG_MS). */
int le_tsi_name_build(const le_tsi_ent *e, char *out, size_t outsz);
/* Strict inverse of le_tsi_name_build: decimal digits without leading zeros
 * (so one segment has one name), exactly that shape. 0 or LE_EINVAL. */
int le_tsi_name_parse(const char *name, size_t n, le_tsi_ent *e);
/* "{YYYYMMDD}/{name}" */
int le_tsi_rel_build(const le_tsi_ent *e, char *out, size_t outsz);

/* The zset member. Parse checks that the path is the one the numbers give
 * (nothing from Redis ever names a file by itself). 0 or LE_EINVAL. */
int le_tsi_member_build(const le_tsi_ent *e, char *out, size_t outsz);
int le_tsi_member_parse(const char *s, size_t n, le_tsi_ent *e);

/* Timeline spans (unix ms). Entries must come in start order; a segment
 * starting within LE_TSI_GAP_MS of the current span's end extends it. Add
 * returns 0, or LE_ETOOBIG when out is full (the entry is not counted). */
typedef struct le_tsi_span {
    int64_t start_ms, end_ms;
} le_tsi_span;
int le_tsi_span_add(le_tsi_span *out, size_t max, size_t *n, const le_tsi_ent *e);

/* Playlist preparation for the time-shift modes, pure. Marks in disc_out[i]
 * whether listed entry i gets EXT-X-DISCONTINUITY: a different dseq or a gap
 * of more than LE_TSI_GAP_MS from the previous listed entry (never the first
 * one: EXT-X-DISCONTINUITY-SEQUENCE is the first entry's dseq). With
 * consecutive_tail, returns the index of the first entry of the longest
 * suffix whose seq numbers are consecutive (a sliding playlist must list
 * only those, or a segment's implied number would change as the window
 * moves); otherwise 0. */
size_t le_tsi_prepare(const le_tsi_ent *e, size_t n, int consecutive_tail, int *disc_out);

/* ---- Redis ---- */

/* "{prefix}ts:{domain}/{app}/{stream}" */
char *le_tsi_key(char *out, size_t outsz, const char *domain, const char *app, const char *name);

/* Queues (le_store_write: durable, replayed after a Redis outage) the zset
 * entry and the set memberships. Call only once the file is on disk. */
int le_tsi_add(const char *domain, const char *app, const char *name, const le_tsi_ent *e);

/* Queues the ZREM of these entries (the sweep, after their files are gone). */
int le_tsi_remove(const char *domain, const char *app, const char *name, const le_tsi_ent *e,
                  size_t n);

/* Entries with min_ms <= start <= max_ms (max_excl: < max_ms), in start
 * order (rev: newest first), at most limit. cb runs once: ok 0 with the
 * Redis failure (store down, error reply) and no entries, else ok 1.
 * Members that do not parse are skipped (and counted in *bad). The array is
 * the callee's, valid during cb only. */
typedef void (*le_tsi_range_cb)(int ok, const le_tsi_ent *e, size_t n, size_t bad, void *arg);
int le_tsi_range(const char *domain, const char *app, const char *name, int64_t min_ms,
                 int64_t max_ms, int max_excl, int rev, size_t limit, le_tsi_range_cb cb, void *arg);

#endif
