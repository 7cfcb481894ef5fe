/* Record callbacks (AddLiveRecordNotifyConfig): a POST with a JSON body to
 * the domain's NotifyUrl
 *   - once per finished file (slices of m3u8 recordings are not announced,
 *     their playlist is): {"domain","app","stream","uri","duration",
 *     "start_time","stop_time"}; uri is the object key, duration seconds
 *     with 3 decimals, the times unix seconds;
 *   - with NeedStatusNotify, {"domain","app","stream","event"} for
 *     record_started, record_paused and record_resumed.
 * Delivery as the publish callbacks (control/notify.h): through the
 * outbound HTTP client, never blocking, 5 s per attempt, retried 5 times 1 s
 * apart, exactly one per file, events of one stream in order; signed with
 * ALI-LIVE-SIGNATURE / ALI-LIVE-TIMESTAMP when the domain has a
 * notify_auth_key. Bounded (LE_RECN_MAX_QUEUED; past it the oldest not yet
 * sent is dropped, logged, counted). */
#ifndef LE_RECORD_NOTIFY_H
#define LE_RECORD_NOTIFY_H
#include <stddef.h>
#include <stdint.h>
#include "core/util.h"

struct event_base;

#define LE_RECN_MAX_QUEUED 10000

/* Pure: the bodies. */
void le_recn_file_json(le_buf *out, const char *domain, const char *app, const char *stream, const char *uri,
                       int64_t duration_ms, int64_t start_s, int64_t stop_s);
void le_recn_status_json(le_buf *out, const char *domain, const char *app, const char *stream, const char *event);

void le_recn_init(struct event_base *base);
void le_recn_free(void);

/* Queue one callback to url (sign_key: the domain's notify_auth_key or
 * NULL). LE_OK, or LE_EINVAL for a URL the client refuses. */
int le_recn_file(const char *url, const char *sign_key, const char *domain, const char *app, const char *stream,
                 const char *uri, int64_t duration_ms, int64_t start_s, int64_t stop_s);
int le_recn_status(const char *url, const char *sign_key, const char *domain, const char *app, const char *stream,
                   const char *event);

/* Callbacks not finished yet (the graceful stop waits for 0, bounded). */
size_t le_recn_pending(void);

typedef struct le_recn_stats {
    uint64_t sent, failed, dropped;
} le_recn_stats;
void le_recn_get_stats(le_recn_stats *out);

#endif
