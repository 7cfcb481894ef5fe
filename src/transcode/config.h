/* Transcoding configs as the transcode actions store them in Redis (shared
 * by every node; docs/TRANSCODE.md):
 *   {prefix}trans:{domain}      hash "app/template" -> config JSON
 *   {prefix}transdomains        set of the domains with a config
 *   {prefix}transsei:{d/a/s}    string, the last AddTrancodeSEI request of a
 *                               stream (JSON), PX LE_TRANS_SEI_TTL_MS
 *   {prefix}trans:sei           channel: AddTrancodeSEI to the node holding
 *                               the publisher, "NODE d/a/s JSON"
 * The encoders and decoders are pure; the lookup is asynchronous (store). */
#ifndef LE_TRANS_CONFIG_H
#define LE_TRANS_CONFIG_H
#include <stddef.h>
#include <stdint.h>
#include "core/util.h"
#include "transcode/sei.h"
#include "transcode/template.h"

#define LE_TRANS_SEI_CHANNEL "trans:sei"
#define LE_TRANS_SEI_TTL_MS (86400LL * 1000)
#define LE_TRANS_MAX_PER_DOMAIN 100     /* templates of one domain at most */

typedef struct le_trans_cfg {
    char app[256];
    le_trans_tpl tpl;
    int64_t create_ms;
} le_trans_cfg;

/* "always" or "ondemand" (case-insensitive); LE_EINVAL for anything else. */
int le_trans_mode_parse(const char *s);
const char *le_trans_mode_name(int mode);

/* The hash field: "app/template". */
void le_trans_cfg_field(const char *app, const char *tpl, char *out, size_t n);

/* JSON in and out: {"App","Template","Mode","CreateTime"} and for a custom
 * template "Custom":true, "Width","Height","FPS","VideoBitrate",
 * "TemplateType". A standard template's numbers come from le_trans_std when
 * read. Decoder: LE_OK, or LE_EPROTO for anything malformed or outside the
 * limits the actions check. */
void le_trans_cfg_to_json(le_buf *out, const le_trans_cfg *c);
int le_trans_cfg_from_json(const char *js, size_t n, le_trans_cfg *out);

/* The templates configured for domain/app (one HGETALL): cb(rc, cfgs, n,
 * arg) once, never from inside the call; rc LE_OK (n may be 0) or LE_EIO
 * when Redis did not answer. Unreadable entries are skipped with a log
 * line. The array is valid during the callback. Returns LE_OK, or LE_EIO
 * (store not running; cb never called). */
typedef void (*le_trans_list_cb)(int rc, const le_trans_cfg *cfgs, size_t n, void *arg);
int le_trans_config_list(const char *domain, const char *app, le_trans_list_cb cb, void *arg);

/* An AddTrancodeSEI request as stored and sent. */
enum { LE_SEI_KEYFRAME = 0, LE_SEI_FRAME = 1 };
typedef struct le_trans_sei_req {
    char text[LE_SEI_TEXT_MAX + 1];  /* NUL-terminated, valid UTF-8 */
    size_t text_len;
    int pattern;                /* LE_SEI_KEYFRAME or LE_SEI_FRAME */
    int64_t repeat;             /* -1: every frame from then on */
    int64_t delay_ms;
    int64_t time_ms;            /* when the request was accepted */
} le_trans_sei_req;
void le_trans_sei_to_json(le_buf *out, const le_trans_sei_req *r);
int le_trans_sei_from_json(const char *js, size_t n, le_trans_sei_req *out);

#endif
