/* On-demand recording: whether a publish covered by a config with OnDemand
 * 1 or 2 is recorded (docs/RECORD.md, "On demand").
 *  - OnDemand 1: a GET to the notify config's OnDemandUrl with domain, app,
 *    stream, codec and vbitrate (kbit/s) in the query, sent once the
 *    metadata gives codec and bitrate (or 1 s after the first audio or video packet); the
 *    reply body (at most LE_REC_ONDEMAND_MAX_BODY bytes: a longer one is a
 *    failure) decides: NeedRecord, Format intersected with the config's
 *    formats (case-insensitive), Interval per format overriding
 *    CycleDuration, clamped to 5-21600 s. A non-200 status, a timeout (5 s,
 *    no retry) or a body that is not that JSON means no recording.
 *  - OnDemand 2: the publish's query string asks for it with
 *    LE_REC_ONDEMAND_PARAM=on (also 1, true, yes). */
#ifndef LE_RECORD_ONDEMAND_H
#define LE_RECORD_ONDEMAND_H
#include <stddef.h>
#include <stdint.h>
#include "record/config.h"

#define LE_REC_ONDEMAND_MAX_BODY 2048
#define LE_REC_ONDEMAND_TIMEOUT_MS 5000
#define LE_REC_ONDEMAND_PARAM "record"

typedef struct le_rec_ondemand_reply {
    int need_record;
    int has_formats;            /* Format was given */
    unsigned formats;           /* bit (1 << LE_REC_*) per format named */
    int interval_s[LE_REC_NFMT];/* 0: not given; else clamped to 5..21600 */
} le_rec_ondemand_reply;

/* Pure. LE_OK, or LE_EPROTO (not JSON, NeedRecord missing or not a bool,
 * Interval not an object, Format not an array of strings). Unknown keys and
 * formats are ignored. */
int le_rec_ondemand_parse(const char *body, size_t n, le_rec_ondemand_reply *out);
/* Applies a reply to a copy of the config: formats intersected, cycles
 * overridden. 1: record (cfg has at least one format left), 0: not. */
int le_rec_ondemand_apply(const le_rec_ondemand_reply *r, le_rec_config *cfg);
/* Pure: the query "domain=..&app=..&stream=..&codec=..&vbitrate=.." appended. */
void le_rec_ondemand_query(le_buf *out, const char *domain, const char *app, const char *stream,
                           const char *codec, int vbitrate_kbps);
/* Mode 2: 1 when usrargs (a query string, may be NULL) switches recording on. */
int le_rec_ondemand_arg(const char *usrargs);

/* Mode 1: asks url. cb(rc, reply, arg) exactly once, never from inside:
 * rc LE_OK with the parsed reply, or LE_EIO (no answer, non-200, too long)
 * / LE_EPROTO (bad body), reply NULL; why says what for the log. Returns
 * LE_OK with *out set (for le_rec_ondemand_cancel), or LE_EINVAL (bad URL;
 * cb never called). */
typedef struct le_rec_ondemand_req le_rec_ondemand_req;
typedef void (*le_rec_ondemand_cb)(int rc, const le_rec_ondemand_reply *reply, const char *why, void *arg);
int le_rec_ondemand_ask(const char *url, const char *domain, const char *app, const char *stream,
                        const char *codec, int vbitrate_kbps, le_rec_ondemand_cb cb, void *arg,
                        le_rec_ondemand_req **out);
void le_rec_ondemand_cancel(le_rec_ondemand_req *rq);

#endif
