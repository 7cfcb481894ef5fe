/* Push: copies of local streams published to remote RTMP servers (a CDN,
 * Tencent Cloud, nginx-rtmp, another livedge). Two sources of targets:
 *  - per-domain push rules (livedge.conf(5) `push` in a domain block, and
 *    the domain config function of the same name through
 *    BatchSetLiveDomainConfigs): every publish of the domain (or of one
 *    app) is pushed to each target URL template while it lives;
 *  - one-off pushes the admin API starts and stops by id (the Tencent CAR
 *    actions StartPublishStream / StartPublishStreamWithURL /
 *    StopPublishStream: the id is the UserId).
 * Every push reads the local stream through a tap (media/tap.h: bounded,
 * a target that falls behind skips to the next keyframe), reconnects with
 * the relay backoff while the local stream lives, and is listed as a relay
 * of kind "push". */
#ifndef LE_RELAY_PUSH_H
#define LE_RELAY_PUSH_H
#include <stddef.h>
#include <stdint.h>

struct event_base;

/* Registers the stream's publish/unpublish hooks (media/stream.h). */
int le_push_init(struct event_base *base);
void le_push_free(void);

/* Expands a target template: {AppName}, {StreamName}, {UserId} (= the
 * stream name), {usrargs} (the publish's query string, "" if none).
 * Unknown {names} are kept as written. Pure. LE_OK, or LE_ETOOBIG when the
 * result does not fit n. */
int le_push_expand(const char *tmpl, const char *app, const char *name, const char *usrargs, char *out,
                   size_t n);

/* Signs a target URL for a connection now: appends to its query (after
 * '&', or '?' when it has none, nothing after a trailing '?' or '&')
 *   type LE_AUTH_TX  txSecret=md5hex(key + StreamName + txTime)&txTime=..,
 *                    txTime = expires_s in upper-case hex;
 *   type LE_AUTH_A   auth_key={expires_s}-0-0-md5hex(URI-{expires_s}-0-0-key)
 *                    (aliauth type A);
 * URI is the URL's path (/App/Stream), StreamName its last segment.
 * LE_AUTH_NONE copies url. Pure. LE_OK; LE_EINVAL (another type, no key,
 * no path or stream name); LE_ETOOBIG when out (n bytes) is too small. */
int le_push_sign(const char *url, int type, const char *key, int64_t expires_s, char *out, size_t n);

/* One-off push by id: pushes local stream domain/app/name to url (already
 * signed) from now until le_push_stop_id or the process ends; while the
 * local stream is not live the push waits for it. LE_OK; LE_EEXIST if id
 * already runs (the caller stops it first or answers an error); LE_EINVAL
 * for a URL that is not rtmp://. */
int le_push_start_id(const char *id, const char *domain, const char *app, const char *name, const char *url);
/* LE_OK, or LE_ENOTFOUND when no push has that id. */
int le_push_stop_id(const char *id);

#endif
