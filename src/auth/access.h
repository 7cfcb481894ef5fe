/* The access policy for one request (livedge(8), "Access control"), in
 * order: IP black and white lists, referer lists (HTTP only), domain
 * online, URL signature. The block list (publish only) stays in
 * control/publish.c, after these.
 *
 * Keys: plays check the play domain's aliauth; a publish through a push
 * domain checks the push domain's own keys if it has any (the file's
 * push_aliauth block, or aliauth set through the API on the push domain's
 * name, the latter winning), else the play domain's.
 *
 * Every entry point takes the domain's settings as the caller resolved them
 * and re-reads the domain's current settings by name, so a change made
 * through BatchSetLiveDomainConfigs applies to the next publish or play even
 * on a connection that was opened before it.
 *
 * Refusals return LE_EDENIED with the reason in why, for the caller's one
 * log line; the wire only ever gets the protocol's error code. */
#ifndef LE_ACCESS_H
#define LE_ACCESS_H
#include <stddef.h>
#include <stdint.h>
#include "auth/aliauth.h"
#include "conf/conf.h"

enum { LE_ACCESS_PUBLISH = 1, LE_ACCESS_PLAY, LE_ACCESS_HTTP };

typedef struct le_access_req {
    int kind;                  /* LE_ACCESS_* */
    const char *client_ip;     /* text, no port */
    const char *stream;        /* StreamName (no extension): tx_secret signs it */
    const char *uri;           /* the signed path, see auth/aliauth.h */
    const char *query;         /* raw query string without '?', NULL if none */
    const char *pre1, *pre2;   /* B/C path form prefix segments, NULL if none */
    const char *referer;       /* HTTP: the Referer header, NULL if absent */
    const char *push_domain;   /* publish through a push domain: its name, else NULL */
    int64_t now_s;             /* unix seconds */
} le_access_req;

/* The whole chain. g (may be NULL) receives how the signature passed, for
 * signing the segment URIs of a playlist (le_access_sign). */
int le_access_check(const le_conf_domain *dom, const le_access_req *rq, le_aliauth_grant *g,
                    char *why, size_t whylen);

/* Conveniences for the three callers. uri is built from app and name for
 * RTMP ("/App/Stream"). push_domain: the push domain the publish came
 * through, NULL if it came on the play domain. */
int le_access_check_publish(const le_conf_domain *dom, const char *push_domain, const char *client_ip,
                            const char *app, const char *name, const char *query, int64_t now_s,
                            char *why, size_t whylen);
int le_access_check_play(const le_conf_domain *dom, const char *client_ip, const char *app,
                         const char *name, const char *query, int64_t now_s, char *why,
                         size_t whylen);
/* HTTP: FLV, playlists, segments, the time-shift playlists and the
 * timeline query, each with its own uri. */
int le_access_check_http(const le_conf_domain *dom, const char *client_ip, const char *referer,
                         const char *stream, const char *uri, const char *query,
                         const char *pre1, const char *pre2, int64_t now_s,
                         le_aliauth_grant *g, char *why, size_t whylen);

/* Signs another URI of the same domain the way g passed (see
 * le_aliauth_sign): a path prefix or a query string to add. */
int le_access_sign(const le_conf_domain *dom, const le_aliauth_grant *g, const char *uri,
                   const char *stream, char *prefix, size_t prefixsz, char *query, size_t querysz);

/* The query a player of uri (stream: its stream name) would carry to pass
 * the domain's URL signature now: type A "{now}-0-0-{md5}", the B and C
 * query forms, tx_secret valid for ali_auth_delta. "" when the domain signs
 * nothing. 0 or LE_EINVAL / LE_ETOOBIG (querysz). */
int le_access_sign_play(const le_conf_domain *dom, const char *uri, const char *stream, char *query,
                        size_t querysz);

/* The domain's settings as they are now (dom itself if it is gone). */
const le_conf_domain *le_access_current(const le_conf_domain *dom);

/* Refusals since start, by step (for /metrics). */
typedef struct le_access_stats {
    uint64_t ip, referer, offline, auth;
} le_access_stats;
const le_access_stats *le_access_stats_get(void);

#endif
