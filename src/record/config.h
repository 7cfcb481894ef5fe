/* Record configs and record notify configs, as the recording actions store
 * them in Redis (shared by every node of the cluster; docs/CONTRACT.md):
 *   {prefix}reccfg:{domain}     hash "app/stream" -> config JSON; app "*"
 *                               is every app, stream "" the app level
 *   {prefix}recnotify:{domain}  string, notify config JSON
 *   {prefix}rectask:{d/a/s}     string, the recording task running for a
 *                               stream: JSON {"node","manual","start"}, PX
 *                               LE_REC_TASK_TTL_MS, refreshed by its node
 *   {prefix}record:cmd          channel: RealTimeRecordCommand to the node
 *                               holding the publisher, "start|stop NODE d/a/s"
 * The encoders and decoders are pure; the lookups are asynchronous (store). */
#ifndef LE_RECORD_CONFIG_H
#define LE_RECORD_CONFIG_H
#include <stddef.h>
#include <stdint.h>
#include "core/util.h"
#include "record/tmpl.h"

#define LE_REC_TASK_TTL_MS 15000
#define LE_REC_TASK_REFRESH_MS 5000
#define LE_REC_CMD_CHANNEL "record:cmd"

enum { LE_REC_FLV = 0, LE_REC_MP4 = 1, LE_REC_M3U8 = 2, LE_REC_NFMT = 3 };
/* "flv", "mp4", "m3u8" (case-insensitive for the parser); LE_EINVAL if none. */
int le_rec_fmt_parse(const char *s);
const char *le_rec_fmt_name(int fmt);

#define LE_REC_CYCLE_DEFAULT_S 3600
#define LE_REC_CYCLE_MIN_S 5          /* the on-demand Interval range */
#define LE_REC_CYCLE_MAX_S 21600
#define LE_REC_SLICE_DEFAULT_S 30

typedef struct le_rec_format {
    int fmt;                    /* LE_REC_* */
    int cycle_s;                /* CycleDuration */
    char prefix[LE_REC_KEY_MAX];        /* OssObjectPrefix, "" = default */
    char slice_prefix[LE_REC_KEY_MAX];  /* SliceOssObjectPrefix (m3u8), "" = default */
} le_rec_format;

enum { LE_REC_ONDEMAND_OFF = 0, LE_REC_ONDEMAND_HTTP = 1, LE_REC_ONDEMAND_ARG = 2 };

typedef struct le_rec_config {
    char domain[256], app[256], stream[256];  /* app "*": every app; stream "": app level */
    char oss_endpoint[256], oss_bucket[64];
    int on_demand;              /* LE_REC_ONDEMAND_* */
    int64_t start_ms, end_ms;   /* stream level only; 0 when unset */
    int64_t create_ms;
    int nformats;
    le_rec_format formats[LE_REC_NFMT];   /* one per format at most */
} le_rec_config;

typedef struct le_rec_notify_cfg {
    char domain[256];
    char notify_url[1024];      /* http:// or https:// */
    char on_demand_url[1024];   /* OnDemandUrl, "" if none (mode 1 then records nothing) */
    int need_status;            /* NeedStatusNotify */
} le_rec_notify_cfg;

/* JSON (the field names of DescribeLiveRecordConfig's LiveAppRecord and of
 * DescribeLiveRecordNotifyConfig) in and out. Decoders: LE_OK or LE_EPROTO. */
void le_rec_config_to_json(le_buf *out, const le_rec_config *c);
int le_rec_config_from_json(const char *js, size_t n, le_rec_config *out);
void le_rec_notify_to_json(le_buf *out, const le_rec_notify_cfg *c);
int le_rec_notify_from_json(const char *js, size_t n, le_rec_notify_cfg *out);

/* A production studio's RecordConfig (SetCasterConfig; docs/STUDIO.md
 * "Outputs") into a config for le_record_pin: rc is the stored JSON
 * object, {"VideoFormat":[{"Format","OssObjectPrefix",
 * "SliceOssObjectPrefix","CycleDuration"}],"OssBucket","OssEndpoint"};
 * the spellings of the API reference's examples are read too (videoFormat,
 * format, Prefix/prefix, SlicePrefix/slicePrefix, Interval/interval,
 * ossBucket, Endpoint/endpoint), and {StartTime}/{EndTime} in a prefix mean
 * {EscapedStartTime}/{EscapedEndTime}. Domain, app and stream are left
 * empty. Pure. LE_OK; LE_ENOTFOUND when rc is absent, not an object or has
 * no formats (no recording); LE_EINVAL with a reason in why (a format
 * unknown or given twice, more than three, a CycleDuration outside
 * 5-21600, a template the checks refuse, a bad OssBucket). */
struct le_jv;
int le_rec_config_from_caster(const struct le_jv *rc, le_rec_config *out, char *why, size_t whylen);

/* 1 when a and b record the same way: the same bucket, endpoint and
 * formats (format, cycle, prefixes, in order); names and times are not
 * compared. */
int le_rec_config_same(const le_rec_config *a, const le_rec_config *b);

/* The hash field of a config: "app/stream" ("app/" at app level). */
void le_rec_config_field(const char *app, const char *stream, char *out, size_t n);

/* Which config applies to a publish of app/stream at now_ms, from up to
 * three candidates (stream level, app level, "*"), any of which may be NULL:
 * the most specific; a stream-level one only inside its StartTime/EndTime
 * window when it has one. NULL if none applies. */
const le_rec_config *le_rec_config_pick(const le_rec_config *stream_lvl, const le_rec_config *app_lvl,
                                        const le_rec_config *any_app, int64_t now_ms);

/* Looks up what applies to domain/app/stream (one HMGET for the three
 * fields, one GET of the notify config): cb(rc, cfg, notify, arg) once,
 * never from inside the call. rc LE_OK with cfg (NULL: none applies) and
 * notify (NULL: none); LE_EIO when Redis did not answer. The pointers are
 * valid during the callback. Returns LE_OK or LE_EIO (store not running;
 * cb never called). */
typedef void (*le_rec_lookup_cb)(int rc, const le_rec_config *cfg, const le_rec_notify_cfg *notify, void *arg);
int le_rec_config_lookup(const char *domain, const char *app, const char *stream, int64_t now_ms,
                         le_rec_lookup_cb cb, void *arg);

#endif
