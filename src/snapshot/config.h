/* Snapshot configs as the snapshot actions store them in Redis, and the
 * snapshot index (docs/SNAPSHOT.md, "Keys"):
 *   {prefix}snapcfg:{domain}    hash AppName -> config JSON (the fields of
 *                               DescribeLiveSnapshotConfig); "*" is every app
 *   {prefix}snapdomains         set of the domains with a config
 *   {prefix}snapidx:{d/a/s}     zset CreateTime ms -> entry JSON, one per
 *                               SequenceOssObject written; at most
 *                               LE_SNAP_INDEX_MAX entries and
 *                               LE_SNAP_INDEX_KEEP_MS old
 *   {prefix}snapseq:{d/a/s}     counter, the last {Sequence} used
 * Encoders and decoders are pure; the lookup is asynchronous (store). */
#ifndef LE_SNAPSHOT_CONFIG_H
#define LE_SNAPSHOT_CONFIG_H
#include <stddef.h>
#include <stdint.h>
#include "core/util.h"
#include "record/tmpl.h"

#define LE_SNAP_INTERVAL_MIN_S 5      /* TimeInterval range, seconds */
#define LE_SNAP_INTERVAL_MAX_S 3600
#define LE_SNAP_INDEX_MAX 20000       /* index entries per stream at most */
#define LE_SNAP_INDEX_KEEP_MS (7LL * 86400 * 1000)

typedef struct le_snap_config {
    char domain[256], app[256];        /* app "*": every app of the domain */
    int interval_s;                    /* TimeInterval */
    char oss_endpoint[256], oss_bucket[64];
    char overwrite[LE_REC_KEY_MAX];    /* OverwriteOssObject, "" none */
    char sequence[LE_REC_KEY_MAX];     /* SequenceOssObject, "" none */
    int64_t create_ms;
} le_snap_config;

/* An OverwriteOssObject (sequence 0) or SequenceOssObject (sequence 1)
 * template: le_rec_tmpl_check's rules, then only {AppName} and
 * {StreamName}, plus {UnixTimestamp} and {Sequence} in a sequence
 * template, which needs one of those two. LE_OK or LE_EINVAL with why. */
int le_snap_tmpl_check(const char *tmpl, int sequence, char *why, size_t whylen);

/* JSON in and out. The decoder: LE_OK or LE_EPROTO (also for a value out
 * of range or a template the check refuses). */
void le_snap_config_to_json(le_buf *out, const le_snap_config *c);
int le_snap_config_from_json(const char *js, size_t n, le_snap_config *out);

/* One index entry: what DescribeLiveStreamSnapshotInfo lists. */
typedef struct le_snap_entry {
    int64_t create_ms;
    char oss_endpoint[256], oss_bucket[64];
    char object[LE_REC_KEY_MAX + 8];
} le_snap_entry;
void le_snap_entry_to_json(le_buf *out, const le_snap_entry *e);
int le_snap_entry_from_json(const char *js, size_t n, le_snap_entry *out);

/* The config that applies to a publish of app in domain: the app's own,
 * else the domain's "*" one. cb(rc, cfg, arg) once, never from inside the
 * call: LE_OK with cfg (NULL: none applies), LE_EIO when Redis did not
 * answer. Returns LE_OK, or LE_EIO (store not running; cb never called). */
typedef void (*le_snap_lookup_cb)(int rc, const le_snap_config *cfg, void *arg);
int le_snap_config_lookup(const char *domain, const char *app, le_snap_lookup_cb cb, void *arg);

#endif
