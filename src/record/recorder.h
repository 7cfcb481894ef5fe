/* The recorder: every publish that a record config (record/config.h)
 * covers, or that RealTimeRecordCommand starts, becomes a recording task.
 * docs/RECORD.md walks through it. On the reactor thread a task is a tap
 * (media/tap.h: bounded by record_queue_bytes, a task that falls behind
 * skips to the next keyframe, counted); its packets go in batches to the
 * writer threads (record/writer.h: one le_recw per format), which hand the
 * batch back when done so the references are released on the loop. Files
 * the writers finish come back to the loop too, and are then indexed
 * (record/index.h), announced (record/notify.h) and uploaded (record/s3.h)
 * in that order of starting; nothing here touches the disk or the network
 * from the loop.
 *
 * Task lifetime:
 *  - automatic: the publish starts (after the on-demand decision, when the
 *    config asks for one: record/ondemand.h), the task ends with the
 *    publish; a publisher that returns within record_stitch continues the
 *    same task (record_paused / record_resumed), after it a new file starts;
 *  - manual (RealTimeRecordCommand start): from the command to stop or to
 *    the end of the publish; it does not restart by itself;
 *  - while a task runs, {prefix}rectask:{d/a/s} names its node
 *    (record/config.h), refreshed every LE_REC_TASK_REFRESH_MS. */
#ifndef LE_RECORD_RECORDER_H
#define LE_RECORD_RECORDER_H
#include <stddef.h>
#include <stdint.h>

struct event_base;

/* Starts the writer threads and registers the stream hooks and the command
 * channel. LE_OK, or LE_EIO with err filled (threads, record_root). */
int le_record_init(struct event_base *base, char *err, size_t errlen);
/* Once a second from the node's tick: task keys, stitch windows, retries
 * of space checks. */
void le_record_tick(void);
/* The node is stopping: every task closes its files (final fragment, final
 * playlist) and its callbacks are queued; waits for the writers up to
 * wait_ms. */
void le_record_stop(int64_t wait_ms);
void le_record_free(void);

/* RealTimeRecordCommand, on the node holding the publisher: LE_OK;
 * LE_EEXIST (start: a task runs), LE_ENOTFOUND (the stream is not live
 * here; stop: no task), LE_EINVAL (no record config applies). The reply
 * comes later (a config lookup), through cb(rc, arg), never from inside. */
typedef void (*le_record_cmd_cb)(int rc, void *arg);
int le_record_command(int start, const char *domain, const char *app, const char *stream, le_record_cmd_cb cb,
                      void *arg);

/* A stream recorded with a given config instead of the looked-up one (a
 * caster's RecordConfig, docs/STUDIO.md "Outputs"): from now until
 * le_record_unpin, every publish of domain/app/stream (domain: the play
 * domain the stream lives on) is recorded with cfg, whatever the domain's
 * record configs say; OnDemand is ignored; the domain's record notify
 * config still announces the files. If the stream is live now, its task
 * starts at once: a task already recording it with another config (or an
 * automatic one) is ended first, its files closed. The same cfg again
 * changes nothing. LE_OK; LE_EINVAL (no format, an empty name); LE_EIO
 * (the recorder is not running). */
struct le_rec_config;
int le_record_pin(const char *domain, const char *app, const char *stream, const struct le_rec_config *cfg);
/* Ends the task of a pinned stream (its files are closed, indexed and
 * announced as usual) and forgets the pin. LE_OK, or LE_ENOTFOUND when the
 * stream is not pinned. */
int le_record_unpin(const char *domain, const char *app, const char *stream);

/* The local root (record_root, or {data_dir}/record), absolute. */
const char *le_record_root(void);
/* The URL a local file is served at: {record_url_base}/record/{bucket}/{key}
 * (docs/RECORD.md, "Playing recordings"), or the object URL when s3 is
 * configured. Returns out. */
char *le_record_url(const char *bucket, const char *key, char *out, size_t n);

typedef struct le_record_stats {
    uint64_t tasks_now;         /* recording tasks running */
    uint64_t files, bytes;      /* finished files (and slices), bytes written */
    uint64_t skipped;           /* packets the taps skipped (behind) */
    uint64_t paused_now, pauses;/* tasks paused for disk space now, pauses in all */
    uint64_t write_errors;
    uint64_t ondemand_yes, ondemand_no, ondemand_failed;
} le_record_stats;
void le_record_get_stats(le_record_stats *out);

#endif
